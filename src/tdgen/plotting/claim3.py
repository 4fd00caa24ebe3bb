"""The figures of claim 3 (critical period), from the arrays of :mod:`tdgen.critical` and :mod:`tdgen.critical_deep`.

Every function returns a new figure; the notebook publishes it
(:func:`tdgen.plotting.publish_figure`).  Error bars and bands are the intervals of the
mean over independent units that the claim's tests record (:func:`tdgen.stats.mean_interval`:
seeds in the gridworlds, agents in deep RL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from tdgen import stats
from tdgen.critical import ARMS, GridProblem, PretrainSweep, ValueFits
from tdgen.critical_deep import DeepErrors
from tdgen.plotting import grid_heatmap

FAMILY_STYLES = {"eigenvectors": ("o", "-"), "sinusoids": ("s", "--"), "random labels": ("*", "none")}
"""Marker and line style of each family of pre-training targets."""

ARM_LABELS = {"td": "TD", "twin": "twin", "mc": "Monte Carlo"}
"""Legend names of the arms of the TD comparison (:data:`tdgen.critical.ARMS`)."""


def _colours() -> list[str]:
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _errorbar(ax: plt.Axes, x: np.ndarray, errors: np.ndarray, n_resamples: int, **kwargs: object) -> None:
    """Means over units of ``errors [units, points]`` against ``x [points]``, with their intervals."""
    means, ci = errors.mean(axis=0), stats.mean_interval(errors, n_resamples=n_resamples)
    ax.errorbar(x, means, yerr=[means - ci.low, ci.high - means], capsize=3, **kwargs)


def _scratch_band(ax: plt.Axes, errors: np.ndarray, n_resamples: int, label: str) -> None:
    """A grey band: the interval of the mean of ``errors [units]``, with the mean as a line."""
    ci = stats.mean_interval(errors, n_resamples=n_resamples)
    ax.axhspan(float(ci.low), float(ci.high), color="0.8", label=label)
    ax.axhline(errors.mean(), color="0.4", lw=1)


def _arm_groups(ax: plt.Axes, groups: Mapping[str, Mapping[str, np.ndarray]], n_resamples: int) -> None:
    """Each group's arms side by side: a faint point per unit, the mean with its interval, lines joining a unit's arms.

    ``groups`` maps a group name (the tick label, e.g. ``"held-out"``) to ``{arm: [units]}``
    with arms among :data:`tdgen.critical.ARMS`, drawn in that order and colour.
    """
    for g, arms in enumerate(groups.values()):
        names = [a for a in ARMS if a in arms]
        x = g + 0.25 * (np.arange(len(names)) - (len(names) - 1) / 2)
        ax.plot(x, np.stack([arms[a] for a in names]), color="0.8", lw=0.6, zorder=1)
        for xi, arm in zip(x, names):
            colour = _colours()[ARMS.index(arm)]
            ax.scatter(np.full(arms[arm].size, xi), arms[arm], s=10, color=colour, alpha=0.4, zorder=2)
            label = ARM_LABELS[arm] if g == 0 else None
            _errorbar(ax, np.array([xi]), arms[arm][:, None], n_resamples, fmt="o", color=colour, label=label, zorder=3)
    ax.set_xticks(range(len(groups)), list(groups))


def dose_figure(
    problems: Mapping[str, GridProblem],
    sweeps: Mapping[str, PretrainSweep],
    schedule: Sequence[int],
    n_resamples: int,
) -> plt.Figure:
    """Error after fine-tuning against the Dirichlet energy of the pre-training target.

    One row per gridworld: held-out error (left) and training error (right, log scale) of
    :func:`tdgen.critical.pretrain_sweep`, means over seeds with intervals, one colour per
    pre-training length and one marker per family of targets; the network trained from
    scratch is the grey band (held-out) and line.
    """
    fig, axes = plt.subplots(2, 2, figsize=(12, 9.4), layout="constrained")
    for row, (name, p) in zip(axes, problems.items()):
        s = sweeps[name]
        _scratch_band(row[0], s.scratch_test, n_resamples, "from scratch (interval over seeds)")
        row[1].axhline(s.scratch_train.mean(), color="0.4", lw=1, label="from scratch")
        for j, steps in enumerate(schedule):
            for fam, (marker, ls) in FAMILY_STYLES.items():
                arms = np.flatnonzero(p.family == fam)
                arms = arms[np.argsort(p.energy[arms])]
                for ax, error in ((row[0], s.test_error), (row[1], s.train_error)):
                    _errorbar(
                        ax,
                        p.energy[arms],
                        error[:, arms, j],
                        n_resamples,
                        marker=marker,
                        ls=ls,
                        ms=10 if fam == "random labels" else 6,
                        color=_colours()[j],
                        label=f"{fam}, {steps} pre-training steps",
                    )
        row[0].set_title(f"{name}: held-out error")
        row[1].set_title(f"{name}: training error")
        row[0].set_ylabel("held-out MSE after fine-tuning")
        row[1].set_yscale("log")
        row[1].set_ylabel("training MSE after fine-tuning")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=4, fontsize="small")
    for ax in axes[1]:
        ax.set_xlabel("Dirichlet energy of the pre-training target")
    return fig


def predictions_figure(problems: Mapping[str, GridProblem], sweeps: Mapping[str, PretrainSweep]) -> plt.Figure:
    """Seed 0's functions over each grid: ``V^π`` and the fine-tuned predictions, and their errors.

    Two rows per gridworld: the standardised ``V^π``, the network trained from scratch and
    the one pre-trained longest on the roughest target (:attr:`tdgen.critical.GridProblem.roughest`);
    below, the seed's training states and each network's error (prediction − ``V^π``).
    """
    fig, axes = plt.subplots(4, 3, figsize=(11, 15), layout="constrained")
    for (name, p), top, bottom in zip(problems.items(), axes[0::2], axes[1::2]):
        s = sweeps[name]
        env, worst = p.env, s.finetuned[0, p.roughest, -1]
        grid_heatmap(top[0], env, p.v_std, title=f"{name}: V^π (standardised)")
        grid_heatmap(top[1], env, s.scratch[0], title="from scratch")
        grid_heatmap(top[2], env, worst, title=f"pre-trained on {p.labels[p.roughest]}")
        grid_heatmap(bottom[0], env, p.masks[0].astype(float), title="training states", symmetric=False)
        grid_heatmap(bottom[1], env, s.scratch[0] - p.v_std, title="error, from scratch")
        grid_heatmap(bottom[2], env, worst - p.v_std, title="error, pre-trained")
    return fig


def td_twin_figure(problems: Mapping[str, GridProblem], fits: Mapping[str, ValueFits], n_resamples: int) -> plt.Figure:
    """TD against its twin and Monte Carlo in each gridworld (:func:`tdgen.critical.value_fits`).

    One row per gridworld.  First panel (log scale): each arm's held-out error, training
    error and Bellman residual on the training states, one faint point per seed, the mean
    with its interval.  Second: the Dirichlet energy of each learned function (dashed: that
    of ``V^π``).  Then seed 0's TD, twin and Monte Carlo functions over the grid.
    """
    fig, axes = plt.subplots(2, 5, figsize=(19, 7.6), layout="constrained")
    for row, (name, p) in zip(axes, problems.items()):
        f = fits[name]
        groups = {
            "held-out\nMSE": f.test_error,
            "training\nMSE": f.train_error,
            "Bellman residual\n(training states)": f.bellman,
        }
        _arm_groups(row[0], groups, n_resamples)
        row[0].set_yscale("log")
        row[0].set_ylabel("MSE (standardised units)")
        row[0].set_title(f"{name}: fit and interpolation")
        row[0].legend(loc="best", fontsize="small")
        _arm_groups(row[1], {"all states": f.energy}, n_resamples)
        row[1].axhline(p.energy_v, color="k", ls="--", lw=1, label="V^π")
        row[1].set_ylabel("Dirichlet energy of V_θ")
        row[1].legend(loc="best", fontsize="small")
        for ax, arm in zip(row[2:], ARMS):
            grid_heatmap(ax, p.env, f.values[arm][0], title=f"{ARM_LABELS[arm]}, seed 0")
    return fig


def deep_figure(
    game: str,
    omegas: np.ndarray,
    errors: DeepErrors,
    trajectory: Mapping[str, np.ndarray],
    stride: int,
    n_resamples: int,
) -> plt.Figure:
    """The deep-RL comparisons on MinAtar agents' frames, in three panels.

    ``errors`` is nested by agent (:meth:`tdgen.critical_deep.DeepErrors.nested`, arrays
    ``[agents, plays, ...]``); every panel shows the agents' means over their plays, the
    agents being the independent units.  Left (log scale): normalised held-out and training
    errors and Bellman residual of TD, its twin and Monte Carlo
    (:func:`tdgen.critical_deep.deep_errors`).  Middle: error after fine-tuning against the
    pre-training frequency ``omegas`` (log scale), held-out (solid) and training (dashed)
    frames, with the network trained from scratch as the grey band and lines.  Right:
    ``trajectory`` (:func:`tdgen.critical_deep.trajectory_values`), the returns and the
    three predictions along one trajectory, with ticks at the training frames.
    """
    agent = lambda part: {k: v.mean(axis=1) for k, v in part.items()}
    held, train, bellman = agent(errors.held), agent(errors.train), agent(errors.bellman)
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), layout="constrained")
    ax = axes[0]
    groups = {
        "held-out": {a: held[a] for a in ARMS},
        "training": {a: train[a] for a in ARMS},
        "Bellman\nresidual": bellman,
    }
    _arm_groups(ax, groups, n_resamples)
    ax.set_yscale("log")
    ax.set_ylabel("normalised MSE (1: predicting the mean G_t)")
    ax.set_title(f"{game}: TD, its twin and Monte Carlo")
    ax.legend(fontsize="small")
    ax = axes[1]
    _scratch_band(ax, held["mc"], n_resamples, "from scratch, held-out (interval over agents)")
    for part, ls, label in ((held, "-", "held-out"), (train, "--", "training")):
        _errorbar(ax, omegas, part["pre"], n_resamples, marker="o", ls=ls, label=f"pre-trained, {label} frames")
    ax.axhline(train["mc"].mean(), color="0.4", lw=1, ls="--", label="from scratch, training")
    ax.set_xscale("log")
    ax.set_xticks(omegas, [f"{w:.2g}" for w in omegas])
    ax.minorticks_off()
    ax.set_xlabel("frequency ω of the pre-training target")
    ax.set_ylabel("normalised MSE after fine-tuning")
    ax.set_title("pre-training on sin(ω u(x) + φ)")
    ax.legend(fontsize="small")
    ax = axes[2]
    t = trajectory["t"]
    ax.plot(t, trajectory["G"], "k", lw=1.5, label="G_t")
    for arm in ARMS:
        ax.plot(t, trajectory[arm], color=_colours()[ARMS.index(arm)], lw=1, label=ARM_LABELS[arm])
    train_t = t[t % stride == 0]
    ax.scatter(train_t, np.full(train_t.size, ax.get_ylim()[0]), marker="|", color="k", label="training frames")
    ax.set_xlabel("step t of one trajectory")
    ax.set_ylabel("value (discounted return)")
    ax.set_title("agent 0, one play, one environment")
    ax.legend(fontsize="small")
    return fig
