"""Results files as data: schema validation, re-derived verdicts, provenance, and the CI comparison."""

import json
import subprocess
from pathlib import Path

import pytest

from tdgen import compare, dashboard, provenance, results

ROOT = Path(__file__).resolve().parents[1]


def _test(name="a", value=0.5, ci=(0.4, 0.6), threshold=0.3, direction=">=", primary=True, units=5) -> dict:
    kind = "none" if ci is None else "range" if units < 3 else "t99" if units < 5 else "boot-t95"
    test = results.ClaimTest(
        name, "ρ", value, ci, "seeds" if ci else None, threshold, direction, primary, interval=kind, units=units
    )
    return test.to_json()


def _claim(number=1, tests=None, verdict=None) -> dict:
    tests = [_test()] if tests is None else tests
    return {
        "claim": number,
        "title": "T",
        "statement": "S",
        "notebook": "notebooks/01_x",
        "profile": "quick",
        "verdict": verdict or results.claim_verdict(tests),
        "figure": None,
        "tests": tests,
    }


def _write(folder: Path, name: str, content: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_stored_claim_verdict_that_its_tests_contradict_is_an_error(tmp_path):
    tests = [_test(value=0.1, ci=None), _test(name="b", value=0.2, ci=None)]  # both fail ≥ 0.3
    path = _write(tmp_path / "results" / "quick", "claim1.json", _claim(tests=tests, verdict="reproduced"))
    with pytest.raises(results.ResultsFileError, match=r"claim1\.json: field 'verdict' says 'reproduced'"):
        results.read_claim(path)


def test_a_stored_test_verdict_that_its_numbers_contradict_is_an_error(tmp_path):
    claim = _claim()
    claim["tests"][0]["value"], claim["tests"][0]["ci"] = 0.1, [0.0, 0.2]  # now fails, still says reproduced
    path = _write(tmp_path, "claim1.json", claim)
    with pytest.raises(results.ResultsFileError, match=r"field 'tests\[0\]\.verdict'"):
        results.read_claim(path)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c: c.update(tests=[]), "tests"),
        (lambda c: c.pop("statement"), "statement"),
        (lambda c: c.update(claim="1"), "claim"),
        (lambda c: c["tests"][0].update(direction=">"), r"tests\[0\]\.direction"),
        (lambda c: c["tests"][0].update(threshold=None), r"tests\[0\]\.threshold"),
        (lambda c: c["tests"][0].update(ci=[0.6, 0.4]), r"tests\[0\]\.ci"),
        (lambda c: c["tests"][0].update(value="0.5"), r"tests\[0\]\.value"),
        (lambda c: c["tests"][0].update(primary="yes"), r"tests\[0\]\.primary"),
        (lambda c: c["tests"][0].pop("name"), r"tests\[0\]\.name"),
        (lambda c: c["tests"][0].pop("interval"), r"tests\[0\]\.interval"),  # a file from before issue 14
        (lambda c: c["tests"][0].pop("units"), r"tests\[0\]\.units"),
        (lambda c: c["tests"][0].update(interval="percentile95"), r"tests\[0\]\.interval"),
        (lambda c: c["tests"][0].update(units=0), r"tests\[0\]\.units"),
        (lambda c: c["tests"][0].update(units=True), r"tests\[0\]\.units"),
        (lambda c: c["tests"][0].update(units=None), r"tests\[0\]\.units"),  # an interval needs its units
        (lambda c: c["tests"][0].update(interval="none"), r"tests\[0\]\.interval"),  # but ci is an interval
        (lambda c: c["tests"][0].update(units=2), r"tests\[0\]\.interval"),  # 2 units: a range, not boot-t95
        (lambda c: c["tests"][0].update(units=4), r"tests\[0\]\.interval"),  # 4 units: a 99% kind
        (lambda c: c["tests"][0].update(interval="t99"), r"tests\[0\]\.interval"),  # 5 units: a 95% kind
        (lambda c: c["tests"][0].update(interval="range"), r"tests\[0\]\.interval"),  # 5 units: an interval
        (lambda c: c.update(tests=[_test(ci=None) | {"interval": "t99"}]), r"tests\[0\]\.interval"),
        (lambda c: c.update(tests=[_test(primary=False)], verdict="not reproduced"), "tests"),
    ],
)
def test_a_malformed_results_file_names_the_file_and_the_field(tmp_path, edit, field):
    claim = _claim()
    edit(claim)
    path = _write(tmp_path, "claim1.json", claim)
    with pytest.raises(results.ResultsFileError, match=rf"claim1\.json: field '{field}'"):
        results.read_claim(path)


def test_unreadable_json_and_a_misnumbered_file_name_the_file(tmp_path):
    with pytest.raises(results.ResultsFileError, match=r"claim2\.json: not a readable JSON file"):
        results.read_claim(_write(tmp_path, "claim2.json", "{not json"))
    with pytest.raises(results.ResultsFileError, match=r"claim3\.json: field 'claim' is 1"):
        results.read_claim(_write(tmp_path, "claim3.json", _claim(number=1)))


def test_only_claim_n_json_files_are_read(tmp_path):
    folder = tmp_path / "results" / "quick"
    for name, number in (("claim2.json", 2), ("claim10.json", 10), ("claim01.json", 1), ("claim_old.json", 3)):
        _write(folder, name, _claim(number=number))
    _write(folder, "claimX.json", "garbage")
    assert [c["claim"] for c in results.load_claims("quick", tmp_path)] == [2, 10]


def test_dashboard_rederives_verdicts_from_numbers():
    claim = _claim(tests=[_test(value=0.1, ci=None)])
    claim["verdict"] = claim["tests"][0]["verdict"] = "reproduced"  # stored strings lie; the numbers do not
    text = dashboard.dashboard([claim], "quick")
    assert "| 0 of 1 | *not reproduced* |" in text
    assert "**reproduced**" not in text


def test_a_missing_value_or_interval_end_is_not_reproduced():
    assert results.test_verdict(_test(value=float("nan"), ci=None)) == "not reproduced"
    assert results.test_verdict(_test(ci=(0.4, float("inf")))) == "not reproduced"
    assert results.claim_verdict([]) == "not reproduced"


def test_a_range_is_never_reproduced_and_the_dashboard_says_range():
    test = _test(value=0.9, ci=(0.8, 1.0), units=2)  # both units far beyond the threshold 0.3
    assert test["interval"] == "range" and test["units"] == 2
    assert results.test_verdict(test) == "not reproduced"
    results.validate_claim(_claim(tests=[test]), Path("claim1.json"))
    text = dashboard.dashboard([_claim(tests=[test, _test(name="b")])], "quick")
    assert "| range [0.8, 1] | 2 |" in text
    assert "| [0.4, 0.6] (boot-t95; seeds) | 5 |" in text


def test_record_claim_writes_provenance_and_keeps_an_identical_rerun(tmp_path, monkeypatch):
    monkeypatch.setenv("TDGEN_ROOT", str(tmp_path))
    (tmp_path / provenance.LOCK_FILE).write_text("jax==0.0\n")
    tests = [results.ClaimTest("a", "ρ", 0.5, (0.4, 0.6), "seeds", 0.3, ">=", interval="boot-t95", units=5)]
    first = results.record_claim(1, "T", "S", "notebooks/01_x", "smoke", tests)
    path = tmp_path / "results" / "smoke" / "claim1.json"
    stored = path.read_bytes()
    p = first["provenance"]
    assert p["profile"] == "smoke" and p["lock_sha256"] == provenance.file_sha256(tmp_path / provenance.LOCK_FILE)
    assert set(p["versions"]) == {"python", *provenance.PACKAGES} and p["device"].startswith("cpu")
    assert p["wall_time_s"] >= 0 and "OPENBLAS_CORETYPE" in p["numeric_env"]
    results.record_claim(1, "T", "S", "notebooks/01_x", "smoke", tests)  # same numbers, same environment
    assert path.read_bytes() == stored
    moved = [results.ClaimTest("a", "ρ", 0.51, (0.4, 0.6), "seeds", 0.3, ">=", interval="boot-t95", units=5)]
    results.record_claim(1, "T", "S", "notebooks/01_x", "smoke", moved)
    assert json.loads(path.read_text())["tests"][0]["value"] == 0.51


def test_same_environment_needs_the_same_lock_and_cpu():
    base = {"lock_sha256": "abc", "versions": {"jax": "1"}, "cpu": "X", "cpu_flags_sha256": "f", "device": "cpu"}
    base |= {"numeric_env": {"OPENBLAS_CORETYPE": "Haswell"}, "profile": "quick", "commit": "1", "wall_time_s": 3}
    assert provenance.same_environment(base, base | {"commit": "2", "wall_time_s": 9})
    assert not provenance.same_environment(base, base | {"cpu": "Y"})
    assert not provenance.same_environment(base, base | {"numeric_env": {"OPENBLAS_CORETYPE": None}})
    assert not provenance.same_environment(base | {"lock_sha256": None}, base | {"lock_sha256": None})
    assert not provenance.same_environment(None, base)


def test_differences_key_tests_by_name_and_ignore_provenance():
    old = _claim(tests=[_test("a", 0.5), _test("b", 0.7)]) | {"provenance": {"commit": "1"}}
    new = _claim(tests=[_test("b", 0.7 * (1 + 1e-12)), _test("a", 0.25, ci=(0.2, 0.3))]) | {"provenance": {}}
    found = {d.field: d for d in compare.differences(old, new, "claim1.json")}
    assert set(found) == {"tests['a'].value", "tests['a'].ci[0]", "tests['a'].ci[1]", "tests['a'].verdict", "verdict"}
    assert found["tests['a'].value"].relative == pytest.approx(0.5)
    assert compare.changed_verdicts(old, new) == [
        "a: reproduced → not reproduced",
        "claim 1: reproduced → not reproduced",
    ]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.mark.parametrize(("same", "fails"), [(True, True), (False, False)])
def test_compare_folder_fails_only_within_the_committed_environment(tmp_path, same, fails):
    env = {"lock_sha256": "abc", "cpu": "X", "profile": "quick", "commit": "1"}
    folder = tmp_path / "results" / "quick"
    _write(folder, "claim1.json", _claim() | {"provenance": env})
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "results")
    regenerated = _claim(tests=[_test(value=0.5 + 1e-6)]) | {"provenance": env | {"cpu": "X" if same else "Y"}}
    _write(folder, "claim1.json", regenerated)
    [report] = compare.compare_folder(folder)
    assert report.strict is same and report.failed is fails
    text = compare.format_reports([report])
    assert "tests['a'].value" in text and ("FAILED" in text) is fails
    _write(folder, "claim1.json", _claim() | {"provenance": env | {"commit": "2"}})
    assert not compare.compare_folder(folder)[0].failed  # the same numbers: nothing differs


def test_commit_outside_git_is_the_one_named_for_the_copy(tmp_path, monkeypatch):
    monkeypatch.delenv(provenance.COMMIT_ENV_VAR, raising=False)
    assert provenance.commit(tmp_path) is None  # tmp_path is no git checkout
    monkeypatch.setenv(provenance.COMMIT_ENV_VAR, "0123abcd")
    assert provenance.commit(tmp_path) == "0123abcd+copy"
    assert provenance.commit(ROOT).split("+")[0] != "0123abcd"  # a checkout's own HEAD wins


def test_provenance_table_shows_each_claims_commit_lock_and_wall_time():
    p = {"commit": "0123456789abcdef+dirty", "lock_sha256": "feedbeef" * 8, "versions": {"jax": "0.10.2"}}
    p |= {"device": "cpu (cpu) ×1", "cpu": "AMD EPYC", "cpu_count": 2, "wall_time_s": 90.0}
    p |= {"numeric_env": {"OPENBLAS_CORETYPE": "Haswell"}}
    table = dashboard.provenance_table([_claim() | {"provenance": p}, _claim(number=2)])
    assert table.splitlines()[0] == "| | Claim 1 | Claim 2 |"
    assert "| commit | `0123456789` (modified) | – |" in table  # a file without provenance says so
    assert "| lock | `feedbeeffeed` | – |" in table and "| jax | 0.10.2 | – |" in table
    assert "| CPU | AMD EPYC, 2 cores | – |" in table and "| OPENBLAS_CORETYPE | Haswell | – |" in table
    assert "| wall time | 1.5 min | – |" in table
