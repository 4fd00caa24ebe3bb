"""Tools behind ``make book`` and ``make test`` (run as ``python -m tdgen.booktools``).

* ``cache-guard CACHE_DIR`` – myst-nb's execution cache keys on a notebook's code
  cells only, so an edit of ``src/tdgen`` (or a switch of ``TDGEN_PROFILE``) alone
  would leave stale outputs in the book.  This clears the cache whenever the
  package's source hash, the profile or ``requirements.lock`` changes.  It clears only a folder it made
  (marked with :data:`MARKER`) and refuses any other existing path, deleting nothing.
* ``check-pairs NOTEBOOK_DIR`` – every jupytext ``.py`` notebook must have a paired,
  output-free ``.ipynb`` with the same cells (the Colab button and nbval use the
  ``.ipynb``); fails with the names of the pairs that are out of sync.
* ``compare-results RESULTS_DIR`` – the regenerated ``claim<N>.json`` files against
  those committed at ``HEAD`` (:mod:`tdgen.compare`): prints every difference; fails
  when a file from the committed run's environment moved by more than 1e-9 relative
  or changed a verdict.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

import tdgen
from tdgen.paths import atomic_write_bytes, project_root
from tdgen.profiles import get_profile
from tdgen.provenance import LOCK_FILE, file_sha256

MARKER = "tdgen-cache-guard.sha256"  #: cache_guard's mark on a folder it made, holding the source hash it last saw
LEGACY_STAMP = "tdgen-source.sha256"  # the hash file of older versions, beside jupyter-cache's files only


class ForeignPathError(Exception):
    """``cache_guard`` was given an existing path it did not make; nothing was deleted."""


def source_hash(package_dir: Path | None = None, profile: str = "") -> str:
    """SHA-256 over ``profile`` and the paths and bytes of every ``.py`` file of the package, in sorted order."""
    package_dir = package_dir or Path(tdgen.__file__).parent
    digest = hashlib.sha256(profile.encode())
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_jupyter_cache_entry(name: str) -> bool:
    """Whether ``name`` is one of the files jupyter-cache keeps in its folder (its database, version, notebooks)."""
    return name in ("__version__.txt", "executed") or name.startswith("global.db")


def _stored_hash(cache_dir: Path) -> str | None:
    """The hash ``cache_guard`` stored in ``cache_dir``, or ``None`` for a missing or empty folder.

    A folder with :data:`LEGACY_STAMP` and otherwise only jupyter-cache's files was made
    by an older version of the guard and counts as its own.  Any other existing path
    raises :class:`ForeignPathError`.
    """
    if not cache_dir.exists():
        return None
    if not cache_dir.is_dir():
        raise ForeignPathError(f"{cache_dir}: it is not a folder")
    names = {path.name for path in cache_dir.iterdir()}
    if MARKER in names:
        return (cache_dir / MARKER).read_text().strip()
    if LEGACY_STAMP in names and all(_is_jupyter_cache_entry(name) for name in names - {LEGACY_STAMP}):
        return (cache_dir / LEGACY_STAMP).read_text().strip()
    if names:
        raise ForeignPathError(f"{cache_dir}: it holds no {MARKER}, so cache-guard did not make it")
    return None


def cache_guard(cache_dir: Path, package_dir: Path | None = None, profile: str | None = None) -> bool:
    """Clear ``cache_dir``, a folder this guard made, when the package's source, the profile or the lock changed.

    ``profile`` defaults to the one :func:`tdgen.profiles.get_profile` selects.  A
    missing (or empty) ``cache_dir`` is created and marked with the hash in
    :data:`MARKER`; a marked one is emptied, all but the marker, when the hash
    differs, and then marked with the new hash.  Any other existing path — a file, a
    folder of other things such as ``.`` or ``cache/`` — raises
    :class:`ForeignPathError` naming it, and nothing is deleted.  Returns ``True``
    when the cache was cleared.
    """
    lock = file_sha256(project_root() / LOCK_FILE) or "no lock"
    current = hashlib.sha256(f"{source_hash(package_dir, get_profile(profile).name)} {lock}".encode()).hexdigest()
    previous = _stored_hash(cache_dir)
    cleared = previous not in (None, current)
    if cleared:
        for path in sorted(cache_dir.iterdir(), key=lambda path: path.name == LEGACY_STAMP):  # the stamp last
            if path.name == MARKER:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    atomic_write_bytes(cache_dir / MARKER, (current + "\n").encode())
    (cache_dir / LEGACY_STAMP).unlink(missing_ok=True)
    return cleared


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def unsynced_pairs(notebook_dir: Path) -> list[str]:
    """Problems with the ``.py``/``.ipynb`` pairs in ``notebook_dir`` (empty when all are in sync)."""
    import jupytext

    problems = []
    for source in sorted(notebook_dir.glob("*.py")):
        paired = source.with_suffix(".ipynb")
        if not paired.exists():
            problems.append(f"{paired.name} is missing (run `make notebooks`)")
            continue
        ipynb = jupytext.read(paired)
        if _cells(jupytext.read(source)) != _cells(ipynb):
            problems.append(f"{paired.name} differs from {source.name} (run `make notebooks`)")
        if any(cell.get("outputs") for cell in ipynb.cells if cell.cell_type == "code"):
            problems.append(f"{paired.name} has outputs; commit it stripped (run `make notebooks`)")
    for orphan in sorted(
        set(notebook_dir.glob("*.ipynb")) - {p.with_suffix(".ipynb") for p in notebook_dir.glob("*.py")}
    ):
        problems.append(f"{orphan.name} has no .py source")
    return problems


def _compare_results(results_dir: Path, ref: str) -> int:
    from tdgen.compare import compare_folder, format_reports

    reports = compare_folder(results_dir, ref)
    if not reports:
        print(f"no claim<N>.json files in {results_dir}", file=sys.stderr)
        return 1
    print(f"Regenerated results in {results_dir} against {ref}:")
    print(format_reports(reports))
    return 1 if any(r.failed for r in reports) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdgen.booktools", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    guard = commands.add_parser("cache-guard", help="clear the execution cache it made when src/tdgen changed")
    guard.add_argument("cache_dir", type=Path)
    pairs = commands.add_parser("check-pairs", help="check that every .py notebook has a synced .ipynb")
    pairs.add_argument("notebook_dir", type=Path)
    compare = commands.add_parser("compare-results", help="compare regenerated results with the committed ones")
    compare.add_argument("results_dir", type=Path)
    compare.add_argument("--ref", default="HEAD", help="the commit to compare with (default: HEAD)")
    args = parser.parse_args(argv)
    if args.command == "compare-results":
        return _compare_results(args.results_dir, args.ref)
    if args.command == "cache-guard":
        try:
            cleared = cache_guard(args.cache_dir)
        except ForeignPathError as error:
            print(f"cache-guard: refusing to clear {error}; nothing was deleted", file=sys.stderr)
            return 1
        if cleared:
            print(f"tdgen's source or the profile changed: cleared {args.cache_dir}; every notebook re-executes")
        return 0
    problems = unsynced_pairs(args.notebook_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
