"""Tools behind ``make book`` and ``make test`` (run as ``python -m tdgen.booktools``).

* ``cache-guard CACHE_DIR`` – myst-nb's execution cache keys on a notebook's code
  cells only, so an edit of ``src/tdgen`` (or a switch of ``TDGEN_PROFILE``) alone
  would leave stale outputs in the book.  This clears the cache whenever the
  package's source hash or the profile changes.
* ``check-pairs NOTEBOOK_DIR`` – every jupytext ``.py`` notebook must have a paired,
  output-free ``.ipynb`` with the same cells (the Colab button and nbval use the
  ``.ipynb``); fails with the names of the pairs that are out of sync.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

import tdgen
from tdgen.paths import atomic_write_bytes
from tdgen.profiles import get_profile

HASH_FILE = "tdgen-source.sha256"


def source_hash(package_dir: Path | None = None, profile: str = "") -> str:
    """SHA-256 over ``profile`` and the paths and bytes of every ``.py`` file of the package, in sorted order."""
    package_dir = package_dir or Path(tdgen.__file__).parent
    digest = hashlib.sha256(profile.encode())
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(path.relative_to(package_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_guard(cache_dir: Path, package_dir: Path | None = None, profile: str | None = None) -> bool:
    """Clear ``cache_dir`` when the hash of the package's source and the profile differs from the stored one.

    ``profile`` defaults to the one :func:`tdgen.profiles.get_profile` selects.

    Returns ``True`` when the cache was cleared.  The hash is stored inside the
    cache folder, so a cache restored without it (say, by CI) counts as unknown and
    is cleared too.
    """
    current = source_hash(package_dir, get_profile(profile).name)
    stamp = cache_dir / HASH_FILE
    previous = stamp.read_text().strip() if stamp.exists() else None
    cleared = previous != current and cache_dir.exists()
    if cleared:
        shutil.rmtree(cache_dir)
    atomic_write_bytes(stamp, (current + "\n").encode())
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdgen.booktools", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    guard = commands.add_parser("cache-guard", help="clear the execution cache when src/tdgen changed")
    guard.add_argument("cache_dir", type=Path)
    pairs = commands.add_parser("check-pairs", help="check that every .py notebook has a synced .ipynb")
    pairs.add_argument("notebook_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "cache-guard":
        if cache_guard(args.cache_dir):
            print(f"tdgen's source or the profile changed: cleared {args.cache_dir}; every notebook re-executes")
        return 0
    problems = unsynced_pairs(args.notebook_dir)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
