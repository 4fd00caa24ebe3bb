"""The execution-cache guard and the notebook pairing check."""

from pathlib import Path

import jupytext
import pytest
import yaml

from tdgen import booktools

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_cache_is_cleared_when_package_source_changes(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    cache = tmp_path / "_build" / ".jupyter_cache"
    assert not booktools.cache_guard(cache, package, "quick")  # first build: the guard makes the folder
    assert (cache / booktools.MARKER).exists()
    (cache / "global.db").write_text("executed notebooks")  # the build fills the cache
    (cache / "executed").mkdir()
    assert not booktools.cache_guard(cache, package, "quick")  # unchanged: cache kept
    assert (cache / "global.db").exists()
    (package / "a.py").write_text("x = 2\n")
    assert booktools.cache_guard(cache, package, "quick")  # changed: cache cleared, the folder still its own
    assert sorted(p.name for p in cache.iterdir()) == [booktools.MARKER]
    assert booktools.cache_guard(cache, package, "smoke")  # another profile: cleared too


def test_empty_folder_is_adopted(tmp_path):
    cache = tmp_path / ".jupyter_cache"
    cache.mkdir()
    assert not booktools.cache_guard(cache, tmp_path, "quick")
    assert (cache / booktools.MARKER).exists()


def test_cache_of_the_previous_guard_is_its_own(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    cache = tmp_path / ".jupyter_cache"
    (cache / "executed" / "abc").mkdir(parents=True)
    (cache / "global.db").write_text("executed notebooks")
    (cache / "__version__.txt").write_text("1.0.1")
    (cache / booktools.LEGACY_STAMP).write_text(booktools.source_hash(package, "quick") + "\n")
    # Its own (no refusal), and cleared once: the old stamp did not count the lock.
    assert booktools.cache_guard(cache, package, "quick")
    assert sorted(p.name for p in cache.iterdir()) == [booktools.MARKER]
    assert not booktools.cache_guard(cache, package, "quick")  # nothing changed since: kept


def test_a_changed_lock_clears_the_execution_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TDGEN_ROOT", str(tmp_path))
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("x = 1\n")
    (tmp_path / "requirements.lock").write_text("jax==0.10.2\n")
    cache = tmp_path / ".jupyter_cache"
    booktools.cache_guard(cache, package, "quick")
    (cache / "global.db").write_text("executed notebooks")
    assert not booktools.cache_guard(cache, package, "quick")
    (tmp_path / "requirements.lock").write_text("jax==0.10.3\n")
    assert booktools.cache_guard(cache, package, "quick")
    assert not (cache / "global.db").exists()


def make_agents_cache(root: Path) -> Path:
    """A ``cache/`` folder as the notebooks leave it, with a legacy stamp beside the agents for good measure."""
    entry = root / "cache" / "quick" / "DQNConfig-0123456789abcdef"
    entry.mkdir(parents=True)
    (entry / "result.msgpack").write_bytes(b"trained agents")
    (root / "cache" / booktools.LEGACY_STAMP).write_text("0" * 64 + "\n")
    return root / "cache"


@pytest.mark.parametrize("target", [".", "cache", "cache/quick", "notes.txt", "project"])
def test_guard_refuses_what_it_did_not_make(tmp_path, monkeypatch, capsys, target):
    monkeypatch.chdir(tmp_path)
    make_agents_cache(tmp_path)
    Path("notes.txt").write_text("a file")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "global.db").write_text("not ours: no stamp")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    assert booktools.main(["cache-guard", target]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"cache-guard: refusing to clear {target}:") and "nothing was deleted" in error
    assert "\n" not in error.rstrip("\n")  # one line
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    with pytest.raises(booktools.ForeignPathError, match=target):
        booktools.cache_guard(Path(target), tmp_path, "quick")


def test_guard_command_makes_a_missing_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert booktools.main(["cache-guard", "_build/.jupyter_cache"]) == 0
    assert (tmp_path / "_build" / ".jupyter_cache" / booktools.MARKER).exists()


def test_committed_notebook_pairs_are_in_sync():
    assert booktools.unsynced_pairs(NOTEBOOKS) == []


def test_out_of_sync_pair_is_reported(tmp_path):
    source = tmp_path / "nb.py"
    source.write_text("# %%\nx = 1\n")
    jupytext.write(jupytext.read(source), tmp_path / "nb.ipynb")
    assert booktools.unsynced_pairs(tmp_path) == []
    source.write_text("# %%\nx = 2\n")
    assert booktools.unsynced_pairs(tmp_path) == ["nb.ipynb differs from nb.py (run `make notebooks`)"]
    (tmp_path / "orphan.ipynb").write_text((tmp_path / "nb.ipynb").read_text())
    assert "orphan.ipynb has no .py source" in booktools.unsynced_pairs(tmp_path)


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS.glob("*.py")), ids=lambda p: p.name)
def test_every_notebook_records_a_claim_and_installs_on_colab(notebook):
    text = notebook.read_text()
    repository = yaml.safe_load((NOTEBOOKS.parent / "_config.yml").read_text())["repository"]["url"]
    assert '"google.colab" in sys.modules' in text
    assert f'REPO, REF = "{repository}", ' in text, "the Colab install cell must install from the book's repository"
    assert 'f"tdgen @ git+{REPO}@{REF}"' in text
    assert "../book/_notebook_note.md" in text
    assert "record_claim(" in text


def test_every_notebook_is_in_the_table_of_contents():
    toc = (NOTEBOOKS.parent / "_toc.yml").read_text()
    missing = [p.stem for p in sorted(NOTEBOOKS.glob("*.py")) if f"file: notebooks/{p.stem}\n" not in toc]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"
