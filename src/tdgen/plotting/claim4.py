"""Figures of claim 4: update matrices over training and their off-diagonal ratios.

Each function returns the figure, for :func:`tdgen.plotting.publish_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

RATIO_LABEL = "off-diagonal ratio\n(mean |U_ij| / mean |U_ii|)"


def update_matrices(matrices: np.ndarray, steps: np.ndarray, shown: Sequence[int]) -> plt.Figure:
    """Update matrices at the checkpoints ``shown``, each scaled by its mean diagonal entry.

    Args:
      matrices: ``[checkpoints, n, n]`` update matrices of one run
        (:func:`tdgen.interference.agent_update_matrices`).
      steps: ``[checkpoints]`` environment steps of each checkpoint (the panel titles).
      shown: the checkpoints drawn, one panel each.
    """
    fig, axes = plt.subplots(1, len(shown), figsize=(3.2 * len(shown), 3.3))
    for ax, k in zip(axes, shown):
        u = matrices[k]
        scale = np.abs(np.diag(u)).mean() or 1.0
        image = ax.imshow(u / scale, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"{steps[k]:,.0f} env steps")
        ax.set_xlabel("state j (output)")
        ax.grid(False)
    axes[0].set_ylabel("state i (update)")
    fig.colorbar(image, ax=axes, label="U_ij / mean |U_ii|", shrink=0.85)
    return fig


def ratio_curves(ax: plt.Axes, steps: np.ndarray, ratios: np.ndarray, label: str) -> None:
    """Draw ``ratios [units, checkpoints]`` over ``steps [checkpoints]``: the mean, shaded from lowest to highest."""
    ax.plot(steps, ratios.mean(axis=0), marker="o", label=label)
    ax.fill_between(steps, ratios.min(axis=0), ratios.max(axis=0), alpha=0.2)


def interference_over_training(
    games: Sequence[str],
    ratios: dict[tuple[str, str], np.ndarray],
    steps: dict[tuple[str, str], np.ndarray],
    outputs: Sequence[str],
) -> plt.Figure:
    """One panel per game (two columns): each output's off-diagonal ratio over environment steps.

    Args:
      games: the games, one panel each.
      ratios: ``(game, output) -> [seeds, checkpoints]`` off-diagonal ratios
        (:func:`tdgen.interference.off_diagonal_ratios`).
      steps: ``(game, agent) -> [checkpoints]`` environment steps per seed; ``agent`` is
        the first word of the output (``"DQN"`` of ``"DQN Q"``).
      outputs: the outputs drawn in each panel (:data:`tdgen.interference.AGENT_OUTPUTS`).
    """
    columns = min(len(games), 2)
    rows = -(-len(games) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(5.5 * columns, 4 * rows), squeeze=False, sharey=True, layout="constrained"
    )
    for ax, game in zip(axes.flat, games):
        for output in outputs:
            ratio_curves(ax, steps[game, output.split()[0]] / 1e6, ratios[game, output], output)
        ax.set_xlabel("environment steps per seed (millions)")
        ax.set_title(game)
    for ax in axes[:, 0]:
        ax.set_ylabel(RATIO_LABEL)
    for ax in axes.flat[len(games) :]:
        ax.set_visible(False)
    axes[0, 0].legend()
    return fig


def td_vs_mc_targets(steps: np.ndarray, ratios: dict[str, np.ndarray], title: str) -> plt.Figure:
    """The control's off-diagonal ratios over its Adam steps, one line per kind of target.

    Args:
      steps: ``[checkpoints]`` Adam steps of each checkpoint.
      ratios: ``{"td": [units, checkpoints], "mc": [units, checkpoints]}``
        (:func:`tdgen.interference.td_mc_control`).
      title: the axes' title (the game).
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, label in (("td", "TD targets"), ("mc", "Monte Carlo targets")):
        ratio_curves(ax, steps, ratios[kind], label)
    ax.set_xlabel("Adam steps on the fixed replay data")
    ax.set_ylabel(RATIO_LABEL)
    ax.set_title(title)
    ax.legend()
    return fig
