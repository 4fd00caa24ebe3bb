"""Where a result came from: commit, locked environment, package versions, machine and run time.

Every results file carries a ``provenance`` block (:func:`collect`), so a reader can
tell which code, which packages and which machine produced its numbers, and
:mod:`tdgen.compare` can tell whether two results files *should* agree bit for bit
(:func:`same_environment`: the same lock and the same CPU) or may drift.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

from tdgen.paths import project_root

LOCK_FILE = "requirements.lock"
PACKAGES = ("jax", "jaxlib", "numpy", "scipy", "flax", "optax", "gymnax")
# Environment variables that change numerics without changing any package: the BLAS
# kernel numpy's OpenBLAS picks, its cache-size hint and XLA's compiler flags.
COMMIT_ENV_VAR = "TDGEN_COMMIT"  #: the commit of a copy of the tree without git (:func:`commit`)
NUMERIC_ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "XLA_FLAGS")
# The fields two runs must share for their numbers to be expected identical.
ENVIRONMENT_FIELDS = ("lock_sha256", "versions", "cpu", "cpu_flags_sha256", "device", "numeric_env", "profile")

_STARTED = time.monotonic()  # tdgen's import: the start of a notebook, which imports it first


def _git(*args: str, root: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def commit(root: Path | None = None) -> str | None:
    """``HEAD``'s hash, with ``+dirty`` when code (``src/``, ``notebooks/``, the lock or pyproject) is modified.

    Outside a git checkout — a copy of the tree on a remote GPU machine, Colab after ``pip
    install`` — the value of ``TDGEN_COMMIT`` (:data:`COMMIT_ENV_VAR`), which whoever copied a
    clean checkout there sets to its ``HEAD``, marked ``+copy`` (its cleanliness was theirs to
    check, not this function's); ``None`` when that is unset too.
    """
    root = root or project_root()
    head = _git("rev-parse", "HEAD", root=root)
    if not head:
        named = os.environ.get(COMMIT_ENV_VAR)
        return f"{named}+copy" if named else None
    dirty = _git("status", "--porcelain", "--", "src", "notebooks", LOCK_FILE, "pyproject.toml", root=root)
    return head + ("+dirty" if dirty else "")


def file_sha256(path: Path) -> str | None:
    """SHA-256 of a file's bytes, ``None`` when it does not exist."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def cpu_info() -> tuple[str, str | None]:
    """The CPU's model name and a hash of its feature flags (``/proc/cpuinfo``; flags ``None`` elsewhere).

    XLA compiles for the host's instruction set and OpenBLAS picks kernels by CPU, so
    the same packages can round differently on another CPU model.
    """
    model, flags = platform.processor() or platform.machine(), None
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return model, flags
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    model = fields.get("model name", model)
    if "flags" in fields:
        flags = hashlib.sha256(" ".join(sorted(fields["flags"].split())).encode()).hexdigest()[:16]
    return model, flags


def versions() -> dict[str, str | None]:
    """Python's version and those of ``PACKAGES`` (``None`` when one is not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def device() -> str:
    """JAX's default backend and device kind, e.g. ``cpu (cpu)`` or ``gpu (NVIDIA H200)``."""
    import jax

    first = jax.devices()[0]
    return f"{first.platform} ({first.device_kind}) ×{jax.device_count()}"


def collect(profile: str, root: Path | None = None) -> dict:
    """The provenance block of a results file written now, by the running notebook.

    ``wall_time_s`` counts from tdgen's import, i.e. from the start of the notebook.
    """
    root = root or project_root()
    model, flags = cpu_info()
    return {
        "commit": commit(root),
        "lock_sha256": file_sha256(root / LOCK_FILE),
        "versions": versions(),
        "device": device(),
        "cpu": model,
        "cpu_flags_sha256": flags,
        "cpu_count": os.cpu_count(),
        "numeric_env": {name: os.environ.get(name) for name in NUMERIC_ENV_VARS},
        "profile": profile,
        "wall_time_s": round(time.monotonic() - _STARTED, 1),
    }


def same_environment(a: dict | None, b: dict | None) -> bool:
    """Whether two provenance blocks share the lock, CPU, device, numeric settings and profile.

    Only then are their results expected to be identical; a missing block or a
    missing lock hash never counts as the same.
    """
    if not a or not b or not a.get("lock_sha256"):
        return False
    return all(a.get(field) == b.get(field) for field in ENVIRONMENT_FIELDS)
