"""Figures and the sensitivity table of claim 4: update matrices over training and their summaries.

Each figure function returns the figure, for :func:`tdgen.plotting.publish_figure`; the
table is MyST markdown.  The sensitivity views take the claim's tests keyed by
``(statistic, probe set, game)`` (:data:`tdgen.interference.STATISTICS`,
:data:`tdgen.interference.PROBE_SETS`), each a pair: DQN's final over initial value, and DQN's
final value over PPO's critic's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np

from tdgen import interference
from tdgen.dashboard import format_number
from tdgen.results import ClaimTest

SensitivityTests = Mapping[tuple[str, str, str], Sequence[ClaimTest]]
"""``(statistic, probe set, game) -> (DQN final / initial, DQN / PPO critic)`` tests."""

SENSITIVITY_COLUMNS = ("DQN final / initial", "DQN / PPO critic")
"""What each test of a :data:`SensitivityTests` pair compares."""


def update_matrices(matrices: np.ndarray, steps: np.ndarray, shown: Sequence[int]) -> plt.Figure:
    """Update matrices at the checkpoints ``shown`` (top) and with each row's shared shift removed (bottom).

    Each matrix is scaled by its mean ``|diagonal entry|``; the bottom row is
    :func:`tdgen.interference.shift_removed`, what the shift-removed ratio averages.

    Args:
      matrices: ``[checkpoints, n, n]`` update matrices of one run
        (:func:`tdgen.interference.agent_matrices`).
      steps: ``[checkpoints]`` environment steps of each checkpoint (the panel titles).
      shown: the checkpoints drawn, one column each.
    """
    fig, axes = plt.subplots(2, len(shown), figsize=(3.2 * len(shown), 6.4), squeeze=False)
    for column, k in enumerate(shown):
        u = matrices[k]
        scale = np.abs(np.diag(u)).mean() or 1.0
        for row, shown_matrix in enumerate((u, interference.shift_removed(u))):
            ax = axes[row, column]
            image = ax.imshow(shown_matrix / scale, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
            ax.grid(False)
            ax.set_xlabel("state j (output)")
        axes[0, column].set_title(f"{steps[k]:,.0f} env steps")
    axes[0, 0].set_ylabel("U: state i (update)")
    axes[1, 0].set_ylabel("shift removed: state i")
    fig.colorbar(image, ax=axes, label="entry / mean |U_ii|", shrink=0.85)
    return fig


def statistic_curves(ax: plt.Axes, steps: np.ndarray, values: np.ndarray, label: str) -> None:
    """Draw ``values [units, checkpoints]`` over ``steps [checkpoints]``: the mean, shaded from lowest to highest,
    and a band across the whole panel spanning the units' first checkpoint (the random initialisation)."""
    (line,) = ax.plot(steps, values.mean(axis=0), marker="o", label=label)
    ax.fill_between(steps, values.min(axis=0), values.max(axis=0), alpha=0.2, color=line.get_color())
    ax.axhspan(values[:, 0].min(), values[:, 0].max(), color=line.get_color(), alpha=0.12, hatch="//", linewidth=0)


def _panels(count: int, columns: int = 3) -> tuple[plt.Figure, np.ndarray]:
    columns = min(count, columns)
    rows = -(-count // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(5 * columns, 3.8 * rows), squeeze=False, sharey=True, layout="constrained"
    )
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return fig, axes


def interference_over_training(
    games: Sequence[str],
    values: Mapping[tuple[str, str], np.ndarray],
    steps: Mapping[tuple[str, str], np.ndarray],
    outputs: Sequence[str],
    ylabel: str,
) -> plt.Figure:
    """One panel per game: a statistic of each output's update matrices over environment steps.

    Args:
      games: the games, one panel each.
      values: ``(game, output) -> [seeds, checkpoints]``, e.g. the shift-removed ratio
        (:func:`tdgen.interference.interference_statistics`); each output's band spans its seeds'
        randomly initialised networks (:func:`statistic_curves`).
      steps: ``(game, agent) -> [checkpoints]`` environment steps per seed; ``agent`` is
        the first word of the output (``"DQN"`` of ``"DQN Q"``).
      outputs: the outputs drawn in each panel (:data:`tdgen.interference.AGENT_OUTPUTS`).
      ylabel: the statistic (y-axis label).
    """
    fig, axes = _panels(len(games))
    for ax, game in zip(axes.flat, games):
        for output in outputs:
            statistic_curves(ax, steps[game, output.split()[0]] / 1e6, values[game, output], output)
        ax.set_xlabel("environment steps per seed (millions)")
        ax.set_title(game)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=8)
    return fig


def td_vs_mc_targets(steps: np.ndarray, values: Mapping[str, Mapping[str, np.ndarray]], ylabel: str) -> plt.Figure:
    """The control's statistic over its Adam steps, one panel per game, one line per kind of target.

    Args:
      steps: ``[checkpoints]`` Adam steps of each checkpoint.
      values: game → ``{"td": [units, checkpoints], "mc": [units, checkpoints]}``
        (:func:`tdgen.interference.td_mc_control`); the bands span the fresh networks.
      ylabel: the statistic (y-axis label).
    """
    fig, axes = _panels(len(values))
    for ax, (game, kinds) in zip(axes.flat, values.items()):
        for kind, label in (("td", "TD targets"), ("mc", "Monte Carlo targets")):
            statistic_curves(ax, steps, kinds[kind], label)
        ax.set_xlabel("Adam steps on the fixed data")
        ax.set_title(game)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    axes[0, 0].legend(fontsize=8)
    return fig


def _check_sensitivity(
    tests: SensitivityTests, statistics: Sequence[str], probe_sets: Sequence[str], games: Sequence[str]
) -> None:
    keys = [(s, p, g) for s in statistics for p in probe_sets for g in games]
    missing = [key for key in keys if len(tests.get(key, ())) != 2]
    if missing:
        raise ValueError(f"sensitivity: need a pair of tests for every (statistic, probe set, game), not {missing}")


def _cell(test: ClaimTest) -> str:
    """``value [low, high]``, marked ✓ where the test is reproduced (its range where it has too few units)."""
    ends = "" if test.ci is None else f" [{format_number(test.ci[0])}, {format_number(test.ci[1])}]"
    kind = " range" if test.interval == "range" else ""
    return f"{format_number(test.value)}{kind}{ends}" + (" ✓" if test.verdict == "reproduced" else "")


def sensitivity_table(
    tests: SensitivityTests,
    statistics: Sequence[str],
    probe_sets: Sequence[str],
    games: Sequence[str],
    primary: tuple[str, str],
) -> str:
    """Markdown table: a row per statistic × probe set, per game a column of each of :data:`SENSITIVITY_COLUMNS`.

    A cell is ``value [low, high]`` with ✓ where the test is reproduced; the ``primary``
    ``(statistic, probe set)`` row is bold; each row says which side of 1 the claim needs.
    """
    _check_sensitivity(tests, statistics, probe_sets, games)
    header = ["Statistic", "Probe set", "Claim needs", *(f"{g}: {c}" for g in games for c in SENSITIVITY_COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for statistic in statistics:
        for probe_set in probe_sets:
            pairs = [tests[statistic, probe_set, game] for game in games]
            needs = f"{'≥' if pairs[0][0].direction == '>=' else '≤'} {format_number(pairs[0][0].threshold)}"
            names = [statistic, probe_set]
            if (statistic, probe_set) == tuple(primary):
                names = [f"**{statistic}** (primary)", f"**{probe_set}**"]
            cells = [_cell(test) for pair in pairs for test in pair]
            lines.append("| " + " | ".join([*names, needs, *cells]) + " |")
    return "\n".join(lines)


def sensitivity_figure(
    tests: SensitivityTests,
    statistics: Sequence[str],
    probe_sets: Sequence[str],
    games: Sequence[str],
    primary: tuple[str, str],
) -> plt.Figure:
    """Both tests of every statistic × probe set (rows) and game (colours), with intervals, against 1.

    One panel per :data:`SENSITIVITY_COLUMNS`, a logarithmic x-axis; a row's label says which
    side of 1 the claim needs, and the ``primary`` row is bold.
    """
    _check_sensitivity(tests, statistics, probe_sets, games)
    rows = [(s, p) for s in statistics for p in probe_sets]
    fig, axes = plt.subplots(
        1, 2, figsize=(11, 0.42 * len(rows) + 1.6), sharey=True, squeeze=False, layout="constrained"
    )
    offsets = (np.arange(len(games)) - (len(games) - 1) / 2) * 0.22
    for column, ax in enumerate(axes[0]):
        for g, game in enumerate(games):
            found = [tests[s, p, game][column] for s, p in rows]
            y = np.arange(len(rows)) + offsets[g]
            x = np.array([t.value for t in found], dtype=float)
            low = np.array([t.value if t.ci is None else t.ci[0] for t in found], dtype=float)
            high = np.array([t.value if t.ci is None else t.ci[1] for t in found], dtype=float)
            bars = np.abs(np.stack([x - low, high - x]))
            ax.errorbar(x, y, xerr=bars, fmt="o", markersize=4, capsize=2, color=f"C{g}", label=game)
        ax.axvline(1.0, color="0.3", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel(f"{SENSITIVITY_COLUMNS[column]} (ratio)")
    labels = []
    for statistic, probe_set in rows:
        needs = "≥" if tests[statistic, probe_set, games[0]][0].direction == ">=" else "≤"
        labels.append(f"{statistic} · {probe_set} (claim {needs} 1)")
    axes[0, 0].set_yticks(np.arange(len(rows)), labels)
    axes[0, 0].get_yticklabels()[rows.index(tuple(primary))].set_fontweight("bold")
    axes[0, 0].invert_yaxis()
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=len(games), fontsize=8)
    return fig
