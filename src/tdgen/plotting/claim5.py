"""Figures of claim 5: teachers against their distilled students.

Each function returns the figure, for :func:`tdgen.plotting.publish_figure`.  The
arrays are one number per network, ``[T, M, ...]``: row ``t`` holds teacher ``t``
(column 0) and its students; ``groups`` names slices of the columns (e.g. the teacher,
its students, the students of a shorter distillation), one colour each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from tdgen.distillation import ACTION_MODES, LEVEL_SETS


def robustness(
    levels: Sequence[float],
    returns: np.ndarray,
    agreement: np.ndarray,
    groups: Mapping[str, slice],
    noise_label: str,
) -> plt.Figure:
    """Return (left) and greedy-action agreement (right) over the noise level, one line per group.

    Args:
      levels: ``[L]`` noise levels (the x-axis).
      returns: ``[T, M, L]`` returns under noise (:func:`tdgen.distillation.noisy_returns`).
      agreement: ``[T, M, L]`` greedy-action agreement (:func:`tdgen.distillation.noisy_agreement`).
      groups: label -> the columns of a group; each line is the mean over its networks,
        shaded from the lowest to the highest.
      noise_label: what a noise level means (the x-axis label).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    x = np.asarray(levels)
    for values, ax, label in ((returns, axes[0], "episode return"), (agreement, axes[1], "greedy-action agreement")):
        for i, (group, columns) in enumerate(groups.items()):
            data = values[:, columns].reshape(-1, len(x))
            ax.plot(x, data.mean(0), marker="o", color=f"C{i}", label=group)
            ax.fill_between(x, data.min(0), data.max(0), color=f"C{i}", alpha=0.2)
        ax.set_xlabel(noise_label)
        ax.set_ylabel(label)
    axes[0].legend()
    return fig


def group_bars(ax: plt.Axes, values: np.ndarray, groups: Mapping[str, slice], ticks: Sequence[str]) -> None:
    """One bar per group of ``values [T, M]`` (its mean) with a dot per network; ``ticks`` label the bars."""
    for x, columns in enumerate(groups.values()):
        data = values[:, columns].ravel()
        ax.bar(x, data.mean(), color=f"C{x}", alpha=0.6)
        ax.scatter(np.full(data.size, x), data, color=f"C{x}", zorder=3)
    ax.set_xticks(range(len(groups)), ticks)


def consistency_interference(
    switches: np.ndarray,
    variation: np.ndarray,
    ratios: np.ndarray,
    groups: Mapping[str, slice],
    ticks: Sequence[str],
) -> plt.Figure:
    """Three panels of :func:`group_bars`: greedy-action switches, Q variation ratio, off-diagonal ratio.

    Args:
      switches, variation: ``[T, M]`` from :func:`tdgen.distillation.interpolation_consistency`.
      ratios: ``[T, M]`` from :func:`tdgen.distillation.interference_ratios`.
      groups: label -> the columns of a group, one bar each.
      ticks: a short label per group, under its bar.
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
    for ax, values, title, label in (
        (axes[0], switches, "consistency: action", "greedy-action switches per path"),
        (axes[1], variation, "consistency: Q-values", "Q variation / net change"),
        (axes[2], ratios, "interference", "off-diagonal ratio of U"),
    ):
        group_bars(ax, values, groups, ticks)
        ax.set_title(title)
        ax.set_ylabel(label)
    return fig


def level_generalization(returns: Mapping[str, Mapping[tuple[str, str], np.ndarray]]) -> plt.Figure:
    """Teacher and student returns on training and unseen levels: one row per game, a column per action mode.

    Args:
      returns: game -> ``{(level set, mode): [T, 1 + students]}`` of
        :func:`tdgen.distillation.distill_on_levels` (column 0 the teacher).  Bars are
        means, dots single networks.
    """
    games = list(returns)
    fig, axes = plt.subplots(len(games), 2, figsize=(10, 3.6 * len(games)), sharey="row", squeeze=False)
    for row, game in zip(axes, games):
        for ax, mode in zip(row, ACTION_MODES):
            for offset, who, colour in ((-0.18, "teacher", "C0"), (0.18, "student", "C1")):
                for x, level_set in enumerate(LEVEL_SETS):
                    r = returns[game][level_set, mode]
                    data = r[:, 0] if who == "teacher" else r[:, 1:].ravel()
                    label = who if x == 0 else None
                    ax.bar(x + offset, data.mean(), width=0.36, color=colour, alpha=0.6, label=label)
                    ax.scatter(np.full(data.size, x + offset), data, color=colour, zorder=3)
            ax.set_xticks([0, 1], [f"{level_set} levels" for level_set in LEVEL_SETS])
            ax.set_title(f"{game}, {mode} actions")
        row[0].set_ylabel("mean episode return")
    axes[0, 0].legend()
    return fig
