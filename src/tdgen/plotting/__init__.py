"""The book's one figure theme and its one way of saving figures."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from tdgen.envs.tabular import TabularEnv
from tdgen.paths import atomic_write_bytes, output_dir, project_root


def set_theme() -> None:
    """Apply the seaborn theme shared by every figure of the book."""
    sns.set_theme(context="notebook", style="whitegrid", palette="colorblind", font_scale=0.95)
    plt.rcParams.update(
        {"figure.dpi": 110, "savefig.bbox": "tight", "axes.titlesize": "medium", "svg.hashsalt": "tdgen"}
    )


def save_figure(fig: plt.Figure, name: str, profile: str) -> Path:
    """Save ``fig`` as ``figures/<profile>/<name>.png`` and ``.svg`` (atomically); returns the PNG's path
    relative to the project root, as stored in results files."""
    folder = output_dir("figures", profile)
    # No dates in the files, so a rebuild with the same numbers gives the same bytes.
    for ext, kwargs in (("png", {"dpi": 150}), ("svg", {"metadata": {"Date": None}})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, **kwargs)
        atomic_write_bytes(folder / f"{name}.{ext}", buffer.getvalue())
    return (folder / f"{name}.png").relative_to(project_root())


def grid_heatmap(ax: plt.Axes, env: TabularEnv, f: np.ndarray, title: str = "", symmetric: bool = True) -> None:
    """Draw a ``[n]`` function over a grid environment's states as a heatmap (walls grey, no ticks).

    With ``symmetric`` the colour scale is centred on zero (blue negative, red positive).
    """
    grid = env.to_grid(np.real(f))
    limit = np.nanmax(np.abs(grid)) or 1.0
    cmap = plt.get_cmap("RdBu_r" if symmetric else "viridis").with_extremes(bad="0.55")
    kwargs = {"vmin": -limit, "vmax": limit} if symmetric else {}
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title)


def glue(name: str, value: object, display: bool = True) -> None:
    """Show ``value`` and store it under ``name`` for the book's ``{glue}`` roles and directives (myst-nb).

    Without myst-nb (e.g. on Colab) the value is only shown.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def publish_figure(fig: plt.Figure, name: str, profile: str) -> Path:
    """Save ``fig`` (:func:`save_figure`), show it once under the glue key ``name``, and close it.

    In the book the figure appears where a ``{glue:figure}`` directive names it,
    with its caption; the code cell that made it is tagged ``remove-output``.
    Returns the saved PNG's path relative to the project root.
    """
    path = save_figure(fig, name, profile)
    glue(name, fig)
    plt.close(fig)
    return path
