"""Where the book's outputs go, and how they are written (atomically)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

ROOT_ENV_VAR = "TDGEN_ROOT"
ROOT_MARKER = "_toc.yml"


def project_root() -> Path:
    """The book's root: ``$TDGEN_ROOT``, else the nearest folder above the cwd holding ``_toc.yml``, else the cwd.

    Notebooks execute inside ``notebooks/``, so their outputs land in the
    project's ``figures/`` and ``results/``; on Colab (no ``_toc.yml``) they land
    beside the notebook.
    """
    if os.environ.get(ROOT_ENV_VAR):
        return Path(os.environ[ROOT_ENV_VAR]).resolve()
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / ROOT_MARKER).exists():
            return folder
    return cwd


def output_dir(kind: str, profile: str) -> Path:
    """``<root>/<kind>/<profile>/``, created if missing (``kind`` is ``figures`` or ``results``)."""
    path = project_root() / kind / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    A reader never sees a half-written file, and an interrupted write leaves the
    previous version in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
