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
    assert not booktools.cache_guard(cache, package, "quick")  # first build: no cache yet
    (cache / "global.db").write_text("executed notebooks")  # the build fills the cache
    assert not booktools.cache_guard(cache, package, "quick")  # unchanged: cache kept
    assert (cache / "global.db").exists()
    (package / "a.py").write_text("x = 2\n")
    assert booktools.cache_guard(cache, package, "quick")  # changed: cache cleared
    assert not (cache / "global.db").exists()
    assert booktools.cache_guard(cache, package, "smoke")  # another profile: cleared too


def test_cache_of_unknown_provenance_is_cleared(tmp_path):
    cache = tmp_path / ".jupyter_cache"
    cache.mkdir()
    assert booktools.cache_guard(cache, tmp_path, "quick")


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
    assert f"git+{repository}" in text, "the Colab install cell must install from the book's repository"
    assert "../book/_notebook_note.md" in text
    assert "record_claim(" in text


def test_every_notebook_is_in_the_table_of_contents():
    toc = (NOTEBOOKS.parent / "_toc.yml").read_text()
    missing = [p.stem for p in sorted(NOTEBOOKS.glob("*.py")) if f"file: notebooks/{p.stem}\n" not in toc]
    assert not missing, f"notebooks missing from _toc.yml: {missing}"
