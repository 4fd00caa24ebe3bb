"""tdgen.runbook: which notebooks run, the run-time record, and the bundle a remote run brings back."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import nbformat
import pytest

from tdgen import profiles, results, runbook


def _book(root: Path) -> None:
    (root / "notebooks").mkdir()
    for name in ("01_a", "02_b", "03_c"):
        nbformat.write(nbformat.v4.new_notebook(), root / "notebooks" / f"{name}.ipynb")
    (root / "notebooks" / "01_a.py").write_text("# not a notebook to run\n")


def test_notebooks_are_the_numbered_ipynb_in_order(tmp_path):
    _book(tmp_path)
    assert [p.name for p in runbook.notebooks(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "03_c.ipynb"]
    assert [p.name for p in runbook.notebooks(tmp_path, ["03", "01"])] == ["01_a.ipynb", "03_c.ipynb"]
    with pytest.raises(ValueError, match="no notebook numbered 07; the notebooks are 01, 02, 03"):
        runbook.notebooks(tmp_path, ["01", "07"])


def test_run_notebook_executes_at_the_profile_in_the_notebooks_folder(tmp_path):
    _book(tmp_path)
    notebook = nbformat.v4.new_notebook()
    code = (
        "import os, pathlib\n"
        "pathlib.Path('seen.txt').write_text(os.environ['TDGEN_PROFILE'] + ' ' + os.environ['TDGEN_ROOT'])"
    )
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    path = tmp_path / "notebooks" / "04_env.ipynb"
    nbformat.write(notebook, path)
    seconds = runbook.run_notebook(path, "smoke", tmp_path)
    assert seconds > 0
    assert (tmp_path / "notebooks" / "seen.txt").read_text() == f"smoke {tmp_path}"
    assert nbformat.read(path, as_version=4).cells[0].outputs == []  # the committed notebook stays output-free


def test_runtime_records_this_run(tmp_path):
    path = runbook.write_runtime("smoke", {"01_a": 1.04, "02_b": 2.0}, tmp_path, "cpu (cpu) ×1")
    record = json.loads(path.read_text())
    assert record["notebooks"] == {"01_a": 1.0, "02_b": 2.0} and record["total_s"] == 3.0
    assert record["profile"] == "smoke" and record["device"] == "cpu (cpu) ×1" and record["jobs"] == 1
    runbook.write_runtime("smoke", {"02_b": 5.0}, tmp_path, None, ["01_a"], jobs=2, agents_s=3.04, wall_s=9.0)
    record = json.loads(path.read_text())
    assert record["notebooks"] == {"02_b": 5.0} and record["failed"] == ["01_a"]
    assert (record["jobs"], record["agents_s"], record["wall_s"]) == (2, 3.0, 9.0)


def test_device_is_asked_of_another_process():
    assert runbook.device_name().startswith("cpu (")  # the tests' JAX sees the CPU only


def test_agent_sets_are_every_agent_the_notebooks_load_once():
    sets = runbook.agent_sets(profiles.PROFILES["gpu"])
    assert sets[0] == ("DQN", "Breakout-MinAtar") and len(sets) == len(set(sets))
    assert {("PPO", "Freeway-MinAtar"), ("DQN", "Freeway-MinAtar"), ("PPO", "maze")} <= set(sets)
    assert len(sets) == 2 * 4 + 1  # PPO and DQN on four games (Breakout's DQN shared by claims 3-5), maze teachers


def test_bundle_holds_the_results_and_one_figure_archive(tmp_path):
    (tmp_path / "results" / "gpu").mkdir(parents=True)
    (tmp_path / "figures" / "gpu").mkdir(parents=True)
    (tmp_path / "results" / "gpu" / "claim1.json").write_text("{}")
    (tmp_path / "figures" / "gpu" / "a.png").write_bytes(b"png")
    out = tmp_path / "out"
    written = runbook.export_bundle("gpu", tmp_path, out)
    assert sorted(p.name for p in written) == ["claim1.json", "figures-gpu.tar.gz"]
    with tarfile.open(out / "figures-gpu.tar.gz") as archive:
        assert archive.getnames() == ["figures/gpu/a.png"]


def test_bundle_refuses_a_file_over_the_limit(tmp_path, monkeypatch):
    (tmp_path / "results" / "gpu").mkdir(parents=True)
    (tmp_path / "results" / "gpu" / "claim1.json").write_text("x" * 100)
    monkeypatch.setattr(runbook, "MAX_FILE_BYTES", 10)
    with pytest.raises(ValueError, match=r"claim1\.json would be 100 bytes, over the limit of 10"):
        runbook.export_bundle("gpu", tmp_path, tmp_path / "out")


def _record(claim: int, value: float, root: Path) -> None:
    """A results file of ``claim`` at smoke with one primary test (ρ ≤ −0.7) and one secondary."""
    tests = [
        results.ClaimTest("a", "ρ", value, (value - 0.05, value + 0.05), "seeds", -0.7, "<=", interval="t99", units=3),
        results.ClaimTest("b", "ρ", 0.1, None, None, 0.5, ">=", primary=False),
    ]
    results.record_claim(claim, "Title", "Statement", f"notebooks/0{claim}_x", "smoke", tests, figure=None)


def test_a_failing_notebook_is_reported_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    (tmp_path / "notebooks").mkdir()
    for name, code in (("01_fails", "raise RuntimeError('planted')"), ("02_runs", "print('ran')")):
        notebook = nbformat.v4.new_notebook()
        notebook.cells.append(nbformat.v4.new_code_cell(code))
        nbformat.write(notebook, tmp_path / "notebooks" / f"{name}.ipynb")
    monkeypatch.setenv("TDGEN_ROOT", str(tmp_path))
    _record(2, -0.9, tmp_path)  # what notebook 02 would have written
    assert runbook.main(["smoke", "--out", str(tmp_path / "out")]) == 1
    record = json.loads((tmp_path / "results" / "smoke" / "runtime.json").read_text())
    assert record["failed"] == ["01_fails"] and list(record["notebooks"]) == ["02_runs"]
    captured = capsys.readouterr()
    assert "01_fails.ipynb FAILED" in captured.err and "planted" in captured.err and "failed: 01_fails" in captured.err
    assert "claim 2: reproduced (1/1 primary tests)" in captured.out
    assert json.loads((tmp_path / "out" / "runtime.json").read_text()) == record  # exported after each notebook


FRACTION = runbook.MEMORY_FRACTION_VAR


def test_notebooks_run_side_by_side_after_the_agents(tmp_path, monkeypatch, capsys):
    (tmp_path / "notebooks").mkdir()
    for name in ("01_a", "02_b"):
        notebook = nbformat.v4.new_notebook()
        seen = f"pathlib.Path('{name}.txt').write_text(os.environ['{FRACTION}'])"
        code = f"import os, pathlib, time\ntime.sleep(2)\n{seen}"
        notebook.cells.append(nbformat.v4.new_code_cell(code))
        nbformat.write(notebook, tmp_path / "notebooks" / f"{name}.ipynb")
    monkeypatch.setenv("TDGEN_ROOT", str(tmp_path))
    monkeypatch.delenv(FRACTION, raising=False)
    trained = []
    monkeypatch.setattr(runbook, "train_agents", lambda *args: trained.append(args) or 1.5)
    monkeypatch.setattr(runbook, "verdicts", lambda profile, stems, root: [f"{len(stems)} verdicts"])
    assert runbook.main(["smoke", "--jobs", "2"]) == 0
    assert trained == [("smoke", 2, tmp_path, {FRACTION: "0.450"})]  # two processes share a GPU's memory
    assert (tmp_path / "notebooks" / "01_a.txt").read_text() == "0.450" and FRACTION not in os.environ
    record = json.loads((tmp_path / "results" / "smoke" / "runtime.json").read_text())
    assert list(record["notebooks"]) == ["01_a", "02_b"] and (record["jobs"], record["agents_s"]) == (2, 1.5)
    assert record["wall_s"] < record["total_s"] + record["agents_s"]  # the two 2-second notebooks overlapped
    assert "2 verdicts" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        runbook.main(["smoke", "--jobs", "0"])
    with pytest.raises(SystemExit):
        runbook.main(["smoke", "--only", "07"])
    assert "no notebook numbered 07; the notebooks are 01, 02" in capsys.readouterr().err


def test_verdicts_read_each_finished_notebooks_results(tmp_path, monkeypatch):
    monkeypatch.setenv("TDGEN_ROOT", str(tmp_path))
    _record(1, -0.9, tmp_path)
    _record(3, -0.2, tmp_path)
    assert runbook.verdicts("smoke", ["01_a", "03_c"], tmp_path) == [
        "claim 1: reproduced (1/1 primary tests)",
        "claim 3: not reproduced (0/1 primary tests)",
    ]
    with pytest.raises(FileNotFoundError, match=r"04_d finished but wrote no .*results/smoke/claim4\.json"):
        runbook.verdicts("smoke", ["04_d"], tmp_path)
    (tmp_path / "results" / "smoke" / "claim1.json").write_text('{"claim": 1}')
    with pytest.raises(results.ResultsFileError, match=r"claim1\.json"):
        runbook.verdicts("smoke", ["01_a"], tmp_path)
