"""Every notebook at one profile, without building the book: its results, figures and run times.

``python -m tdgen.runbook PROFILE [--jobs N] [--out DIR] [--only 03 04]`` (``make results
PROFILE=…``) executes the paired ``notebooks/NN_*.ipynb`` top to bottom with the profile set,
each in a fresh kernel (:func:`run_notebook`), so each writes ``results/<profile>/claimN.json``
and ``figures/<profile>/`` exactly as under ``make book``; the executed notebooks are not saved.

* ``--jobs N`` (N > 1) first trains every agent the notebooks load (:func:`agent_sets`), those
  of each game in one of N worker processes (:func:`train_agents`), then runs N notebooks at a
  time, each loading its agents from the cache.  Compilation, the larger part of a run at
  small budgets, then uses N CPU cores, and a GPU is shared by N processes, each given
  ``0.9 / N`` of its memory unless ``XLA_PYTHON_CLIENT_MEM_FRACTION`` is set.  This process
  itself never starts JAX (:func:`device_name` asks a short-lived one), so it holds no GPU memory.
* The seconds of each notebook, of the agents' training and of the whole run, with the
  device, are written to ``results/<profile>/runtime.json`` (:func:`write_runtime`).
* ``--out DIR`` copies the results and one archive of the figures to ``DIR``
  (:func:`export_bundle`) after every notebook, a handful of files each at most
  :data:`MAX_FILE_BYTES`, to bring back from a remote machine (a GPU, Colab) and unpack with
  ``tar -xzf`` at the repository's root.
* A notebook that fails is reported and the others go on (the exit status is then 1), so one
  failure does not lose the others' results; at the end each finished notebook's results file
  is read back and its verdict printed (:func:`verdicts`).
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from itertools import repeat
from pathlib import Path

from tdgen.critical_deep import GAME as CRITICAL_GAME
from tdgen.dashboard import primary_passed
from tdgen.paths import ROOT_ENV_VAR, atomic_write_bytes, project_root
from tdgen.profiles import ENV_VAR, Profile, get_profile
from tdgen.provenance import commit
from tdgen.results import claim_verdict, read_claim

MAX_FILE_BYTES = 16 * 2**20  #: the largest file :func:`export_bundle` writes (16 MiB)
RUNTIME_FILE = "runtime.json"  #: the run times, beside the claims' results
MEMORY_FRACTION_VAR = "XLA_PYTHON_CLIENT_MEM_FRACTION"  #: JAX's share of the GPU memory, per process


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


def run_notebook(path: Path, profile: str, root: Path, env: Mapping[str, str] | None = None) -> float:
    """Execute the notebook at ``path`` in a fresh kernel in its folder at ``profile``; its seconds.

    The kernel inherits this process's environment with ``env`` added, ``TDGEN_PROFILE = profile``
    and ``TDGEN_ROOT = root``; a cell that raises stops the run with nbclient's
    ``CellExecutionError``, which names the cell.
    """
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, **(env or {}), ENV_VAR: profile, ROOT_ENV_VAR: str(root)}
    resources = {"metadata": {"path": str(path.parent)}}
    client = nbclient.NotebookClient(notebook, timeout=None, kernel_name="python3", resources=resources)
    start = time.perf_counter()
    client.execute(env=env)  # passed on to the kernel manager's start_kernel
    return time.perf_counter() - start


def write_runtime(
    profile: str,
    seconds: dict[str, float],
    root: Path,
    device: str | None,
    failed: Sequence[str] = (),
    jobs: int = 1,
    agents_s: float | None = None,
    wall_s: float | None = None,
) -> Path:
    """``results/<profile>/runtime.json`` (written atomically, replacing an earlier run's).

    It holds the seconds of each notebook of this run that finished, their sum (``total_s``),
    the notebooks that failed, the device and commit, the notebooks run at a time (``jobs``),
    the seconds of the agents' training before them (``agents_s``; ``None`` with one job, where
    the notebooks train their own) and of the whole run so far (``wall_s``, less than
    ``total_s`` when notebooks ran side by side).
    """
    path = root / "results" / profile / RUNTIME_FILE
    times = {name: round(s, 1) for name, s in seconds.items()}
    record = {
        "profile": profile,
        "device": device,
        "commit": commit(root),
        "jobs": jobs,
        "agents_s": None if agents_s is None else round(agents_s, 1),
        "notebooks": dict(sorted(times.items())),
        "total_s": round(sum(times.values()), 1),
        "wall_s": None if wall_s is None else round(wall_s, 1),
        "failed": sorted(failed),
    }
    atomic_write_bytes(path, (json.dumps(record, indent=1) + "\n").encode())
    return path


def device_name() -> str | None:
    """:func:`tdgen.provenance.device` as a short-lived process sees it (``None`` if it fails).

    Asked there so that this process never starts JAX: on a GPU, JAX would keep memory that
    the notebooks' kernels need.  That process allocates only what it uses.
    """
    code = "from tdgen.provenance import device; print(device())"
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def agent_sets(profile: Profile) -> list[tuple[str, str]]:
    """Every ``(algorithm, game)`` whose trained agents notebooks 03–05 load at ``profile``, each once.

    Claim 3's DQN agents (:data:`tdgen.critical_deep.GAME`), claim 5(a)'s DQN teachers
    (``distill.value_game``), PPO and DQN on every game of claim 4, and claim 5(b)'s PPO
    teachers on every level-based game.
    """
    sets = [("DQN", CRITICAL_GAME), ("DQN", profile.distill.value_game)]
    for game in profile.interference.games:
        sets += [("PPO", game), ("DQN", game)]
    sets += [("PPO", game) for game in profile.distill.level_games]
    return list(dict.fromkeys(sets))


def _set_environment(env: Mapping[str, str]) -> None:
    """A worker's initializer: add ``env`` to its environment (before JAX starts there)."""
    os.environ.update(env)


def _train_sets(profile: str, sets: Sequence[tuple[str, str]]) -> None:
    """In a worker process: train each of ``sets`` at ``profile``, or load it from the cache."""
    from tdgen.rl.agents import trained_agents

    for algorithm, game in sets:
        trained_agents(get_profile(profile), algorithm, game, progress=False)


def train_agents(profile: str, jobs: int, root: Path, env: Mapping[str, str] | None = None) -> float:
    """Train every one of :func:`agent_sets` into ``root``'s cache, each game's in one of up to ``jobs``
    spawned worker processes (each its own JAX, with ``env`` added to its environment); the seconds
    it took.  A worker's error is raised here."""
    by_game: dict[str, list[tuple[str, str]]] = {}
    for algorithm, game in agent_sets(get_profile(profile)):
        by_game.setdefault(game, []).append((algorithm, game))
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    worker_env = {**(env or {}), ROOT_ENV_VAR: str(root)}
    with ProcessPoolExecutor(min(jobs, len(by_game)), context, _set_environment, (worker_env,)) as pool:
        list(pool.map(_train_sets, repeat(profile), by_game.values()))
    return time.perf_counter() - start


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


def verdicts(profile: str, stems: Sequence[str], root: Path) -> list[str]:
    """One line per notebook in ``stems`` (``03_critical_period``): its claim's verdict and primary tests passed,
    re-derived from the numbers as the book's pages do (:func:`~tdgen.dashboard.primary_passed`).

    Reads ``results/<profile>/claim<N>.json`` of notebook ``NN`` through the results schema, so
    a notebook that finished without writing a valid file raises here
    (:class:`~tdgen.results.ResultsFileError`, or :class:`FileNotFoundError` naming the file).
    """
    lines = []
    for stem in stems:
        path = root / "results" / profile / f"claim{int(stem[:2])}.json"
        if not path.is_file():
            raise FileNotFoundError(f"{stem} finished but wrote no {path}")
        claim = read_claim(path)
        passed, primary = primary_passed(claim)
        lines.append(f"claim {claim['claim']}: {claim_verdict(claim['tests'])} ({passed}/{primary} primary tests)")
    return lines


def _write_limited(path: Path, data: bytes) -> Path:
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"{path.name} would be {len(data):,} bytes, over the limit of {MAX_FILE_BYTES:,}")
    atomic_write_bytes(path, data)
    return path


def _run(path: Path, profile: str, root: Path, env: Mapping[str, str]) -> float:
    print(f"{path.name} at {profile} …", flush=True)
    return run_notebook(path, profile, root, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tdgen.runbook", description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", help="the profile to run (smoke, quick, gpu, paper, gpu-smoke)")
    parser.add_argument("--jobs", type=int, default=1, help="agents trained first, then N notebooks at a time")
    parser.add_argument("--out", type=Path, help="copy the results and a figures archive here after each notebook")
    parser.add_argument("--only", nargs="+", default=(), help="notebook numbers to run (default: all)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    profile, root, start = get_profile(args.profile).name, project_root(), time.perf_counter()
    try:
        paths = notebooks(root, args.only)
    except ValueError as error:
        parser.error(str(error))
    shares = args.jobs > 1 and MEMORY_FRACTION_VAR not in os.environ  # N processes share one GPU
    env = {MEMORY_FRACTION_VAR: f"{0.9 / args.jobs:.3f}"} if shares else {}
    device, seconds, failed, agents_s = device_name(), {}, [], None
    print(f"{profile} on {device}, {args.jobs} at a time", flush=True)
    if args.jobs > 1:
        agents_s = train_agents(profile, args.jobs, root, env)
        print(f"agents trained or loaded in {agents_s:.0f} s", flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        running = {pool.submit(_run, path, profile, root, env): path for path in paths}
        for future in as_completed(running):
            path = running[future]
            try:
                seconds[path.stem] = future.result()
            except (CellExecutionError, DeadKernelError) as error:  # one failure must not lose the others' results
                failed.append(path.stem)
                print(f"{path.name} FAILED:\n{error}", file=sys.stderr, flush=True)
            else:
                print(f"{path.name}: {seconds[path.stem]:.0f} s", flush=True)
            wall_s = time.perf_counter() - start
            write_runtime(profile, seconds, root, device, failed, args.jobs, agents_s, wall_s)
            if args.out:  # after every notebook, so that a run stopped later still brings back what it finished
                for written in export_bundle(profile, root, args.out):
                    print(f"wrote {written} ({written.stat().st_size:,} bytes)", flush=True)
    print(f"{len(seconds)} notebooks finished; the run took {time.perf_counter() - start:.0f} s in all")
    print("\n".join(verdicts(profile, sorted(seconds), root)))
    if failed:
        print(f"failed: {', '.join(sorted(failed))} (see above); the others' results are written", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
