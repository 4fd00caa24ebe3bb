"""Every notebook at one profile, without building the book: its results, figures and run times.

``python -m tdgen.runbook PROFILE [--out DIR] [--only 03 04]`` (``make results PROFILE=…``)
executes the paired ``notebooks/NN_*.ipynb`` top to bottom with the profile set, each in a fresh
kernel (:func:`run_notebook`), so each writes ``results/<profile>/claimN.json`` and
``figures/<profile>/`` exactly as under ``make book``; the executed notebooks are not saved.
The seconds each took and the device are written to ``results/<profile>/runtime.json``
(:func:`write_runtime`).  With ``--out`` it also copies the results and one archive of the
figures to ``DIR`` (:func:`export_bundle`), a handful of files each at most
:data:`MAX_FILE_BYTES`, to bring back from a remote machine (a GPU, Colab) and unpack with
``tar -xzf`` at the repository's root.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

from tdgen.paths import ROOT_ENV_VAR, atomic_write_bytes, project_root
from tdgen.profiles import ENV_VAR, get_profile
from tdgen.provenance import commit, device

MAX_FILE_BYTES = 16 * 2**20  #: the largest file :func:`export_bundle` writes (16 MiB)
RUNTIME_FILE = "runtime.json"  #: the run times, beside the claims' results


def notebooks(root: Path, only: Sequence[str] = ()) -> list[Path]:
    """The book's paired notebooks ``root/notebooks/NN_*.ipynb`` in order, or those whose number is in ``only``.

    Raises :class:`ValueError` naming a number in ``only`` that matches no notebook.
    """
    found = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return found
    chosen = [path for path in found if path.name[:2] in only]
    missing = sorted(set(only) - {path.name[:2] for path in chosen})
    if missing:
        known = ", ".join(path.name[:2] for path in found)
        raise ValueError(f"--only: no notebook numbered {', '.join(missing)}; the notebooks are {known}")
    return chosen


def run_notebook(path: Path, profile: str, root: Path) -> float:
    """Execute the notebook at ``path`` in a fresh kernel in its folder at ``profile``; its seconds.

    The kernel inherits ``TDGEN_PROFILE = profile`` and ``TDGEN_ROOT = root``; a cell that
    raises stops the run with nbclient's ``CellExecutionError``, which names the cell.
    """
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, ENV_VAR: profile, ROOT_ENV_VAR: str(root)}
    resources = {"metadata": {"path": str(path.parent)}}
    client = nbclient.NotebookClient(notebook, timeout=None, kernel_name="python3", resources=resources)
    start = time.perf_counter()
    client.execute(env=env)  # passed on to the kernel manager's start_kernel
    return time.perf_counter() - start


def write_runtime(profile: str, seconds: dict[str, float], root: Path) -> Path:
    """``results/<profile>/runtime.json``: the seconds of each notebook of this run, their sum, the device and
    commit (written atomically, replacing an earlier run's)."""
    path = root / "results" / profile / RUNTIME_FILE
    times = {name: round(s, 1) for name, s in seconds.items()}
    record = {
        "profile": profile,
        "device": device(),
        "commit": commit(root),
        "notebooks": dict(sorted(times.items())),
        "total_s": round(sum(times.values()), 1),
    }
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode())
    return path


def export_bundle(profile: str, root: Path, out: Path) -> list[Path]:
    """Copy ``results/<profile>/*.json`` to ``out``; pack ``figures/<profile>/`` into ``out/figures-<profile>.tar.gz``.

    The archive holds paths relative to ``root`` (unpack it there).  Raises
    :class:`ValueError` when a file would exceed :data:`MAX_FILE_BYTES`; returns the files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((root / "results" / profile).glob("*.json")):
        written.append(_write_limited(out / source.name, source.read_bytes()))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for figure in sorted((root / "figures" / profile).glob("*")):
            archive.add(figure, arcname=str(figure.relative_to(root)))
    written.append(_write_limited(out / f"figures-{profile}.tar.gz", buffer.getvalue()))
    return written


def _write_limited(path: Path, data: bytes) -> Path:
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} would be {len(data):,} bytes, over the limit of {MAX_FILE_BYTES:,}")
    atomic_write_bytes(path, data)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdgen.runbook", description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", help="the profile to run (smoke, quick, gpu, paper)")
    parser.add_argument("--out", type=Path, help="also copy the results and a figures archive here")
    parser.add_argument("--only", nargs="+", default=(), help="notebook numbers to run (default: all)")
    args = parser.parse_args(argv)
    profile = get_profile(args.profile).name
    root = project_root()
    seconds = {}
    for path in notebooks(root, args.only):
        print(f"{path.name} at {profile} …", flush=True)
        seconds[path.stem] = run_notebook(path, profile, root)
        print(f"{path.name}: {seconds[path.stem]:.0f} s", flush=True)
        write_runtime(profile, seconds, root)
    if args.out:
        for written in export_bundle(profile, root, args.out):
            print(f"wrote {written} ({written.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
