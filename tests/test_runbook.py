"""tdgen.runbook: which notebooks run, the run-time record, and the bundle a remote run brings back."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import nbformat
import pytest

from tdgen import runbook


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
    path = runbook.write_runtime("smoke", {"01_a": 1.04, "02_b": 2.0}, tmp_path)
    record = json.loads(path.read_text())
    assert record["notebooks"] == {"01_a": 1.0, "02_b": 2.0} and record["total_s"] == 3.0
    assert record["profile"] == "smoke" and record["device"]
    runbook.write_runtime("smoke", {"02_b": 5.0}, tmp_path)
    assert json.loads(path.read_text())["notebooks"] == {"02_b": 5.0}


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
