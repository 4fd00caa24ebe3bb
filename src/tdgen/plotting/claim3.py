"""The figures of claim 3 (critical period): each takes the arrays :mod:`tdgen.critical` computed.

Every function returns a new figure; the notebook publishes it
(:func:`tdgen.plotting.publish_figure`).  Intervals are 95% bootstrap intervals of the mean
over seeds (:func:`tdgen.stats.bootstrap_ci`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from tdgen import stats
from tdgen.critical import DeepErrors, GridProblem, PretrainSweep, ValueFits
from tdgen.plotting import grid_heatmap

FAMILY_STYLES = {"eigenvectors": ("o", "-"), "sinusoids": ("s", "--"), "random labels": ("*", "none")}
"""Marker and line style of each family of pre-training targets."""


def _colours() -> list[str]:
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _mean_ci(samples: np.ndarray, n_resamples: int) -> tuple[float, float]:
    """95% bootstrap interval of the mean over seeds (a point when there is one seed)."""
    ci = stats.bootstrap_ci(samples, n_resamples=n_resamples)
    return (float(samples.mean()),) * 2 if ci is None else ci


def _errorbar(ax: plt.Axes, x: np.ndarray, errors: np.ndarray, n_resamples: int, **kwargs: object) -> None:
    """Means over seeds of ``errors [seeds, points]`` against ``x [points]``, with their intervals."""
    means = errors.mean(axis=0)
    cis = np.array([_mean_ci(errors[:, k], n_resamples) for k in range(errors.shape[1])])
    ax.errorbar(x, means, yerr=[means - cis[:, 0], cis[:, 1] - means], capsize=3, **kwargs)


def _scratch_band(ax: plt.Axes, errors: np.ndarray, n_resamples: int, label: str) -> None:
    """A grey band: the interval of the mean of ``errors [seeds]``, with the mean as a line."""
    ax.axhspan(*_mean_ci(errors, n_resamples), color="0.8", label=label)
    ax.axhline(errors.mean(), color="0.4", lw=1)


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
        _scratch_band(row[0], s.scratch_test, n_resamples, "from scratch (95% CI)")
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


def _paired(
    ax: plt.Axes, first: np.ndarray, second: np.ndarray, x: int = 0, fill: bool = True, labels: Sequence[str] = ("", "")
) -> None:
    """Two arms paired by seed, ``[seeds]`` each: points at ``x`` and ``x + 1``, lines joining a seed's two."""
    ax.plot([x, x + 1], np.stack([first, second]), color="0.7", lw=0.8, zorder=1)
    for offset, values, colour, label in zip((0, 1), (first, second), _colours(), labels):
        face = colour if fill else "none"
        ax.scatter(np.full(values.size, x + offset), values, facecolors=face, edgecolors=colour, label=label or None)


def td_mc_figure(problems: Mapping[str, GridProblem], fits: Mapping[str, ValueFits]) -> plt.Figure:
    """TD against Monte Carlo in each gridworld (:func:`tdgen.critical.value_fits`).

    One row per gridworld: held-out error and Dirichlet energy of the learned function, one
    point per seed with lines joining the seed's two arms (dashed: the energy of ``V^π``),
    then seed 0's TD and Monte Carlo functions over the grid.
    """
    fig, axes = plt.subplots(2, 4, figsize=(15, 7.6), layout="constrained")
    for row, (name, p) in zip(axes, problems.items()):
        f = fits[name]
        for ax, measure, ylabel in (
            (row[0], f.test_error, "held-out MSE"),
            (row[1], f.energy, "Dirichlet energy of V_θ"),
        ):
            _paired(ax, measure["td"], measure["mc"], labels=("TD", "Monte Carlo"))
            ax.set_xticks([0, 1], ["TD", "Monte Carlo"])
            ax.set_xlim(-0.5, 1.5)
            ax.set_ylabel(ylabel)
        row[0].set_title(name)
        row[1].axhline(p.energy_v, color="k", ls="--", lw=1, label="V^π")
        row[1].legend(loc="best", fontsize="small")
        grid_heatmap(row[2], p.env, f.values["td"][0], title="TD, one seed")
        grid_heatmap(row[3], p.env, f.values["mc"][0], title="Monte Carlo, same seed")
    return fig


def deep_figure(
    game: str,
    omegas: np.ndarray,
    errors: DeepErrors,
    trajectory: Mapping[str, np.ndarray],
    stride: int,
    n_resamples: int,
) -> plt.Figure:
    """The deep-RL comparisons on a MinAtar agent's frames, in three panels.

    Left: normalised errors of TD and Monte Carlo (:func:`tdgen.critical.deep_errors`), one
    point per seed, filled on held-out and hollow on training frames.  Middle: error after
    fine-tuning against the pre-training frequency ``omegas`` (log scale), held-out (solid)
    and training (dashed) frames, with the network trained from scratch as the grey band
    and lines.  Right: ``trajectory`` (:func:`tdgen.critical.trajectory_values`), the
    returns and both predictions along one trajectory, with ticks at the training frames.
    """
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), layout="constrained")
    ax = axes[0]
    for x, part, fill in ((0, errors.held, True), (2, errors.train, False)):
        _paired(ax, part["td"], part["mc"], x, fill)
    ax.set_xticks([0, 1, 2, 3], ["TD\nheld-out", "MC\nheld-out", "TD\ntraining", "MC\ntraining"])
    ax.set_ylabel("normalised MSE against G_t")
    ax.set_title(f"{game}: TD against Monte Carlo")
    ax = axes[1]
    _scratch_band(ax, errors.held["mc"], n_resamples, "from scratch, held-out (95% CI)")
    for part, ls, label in ((errors.held, "-", "held-out"), (errors.train, "--", "training")):
        _errorbar(ax, omegas, part["pre"], n_resamples, marker="o", ls=ls, label=f"pre-trained, {label} frames")
    ax.axhline(errors.train["mc"].mean(), color="0.4", lw=1, ls="--", label="from scratch, training")
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
    for key, label, colour in (("td", "TD", _colours()[0]), ("mc", "Monte Carlo", _colours()[1])):
        ax.plot(t, trajectory[key], color=colour, lw=1, label=label)
    train_t = t[t % stride == 0]
    ax.scatter(train_t, np.full(train_t.size, ax.get_ylim()[0]), marker="|", color="k", label="training frames")
    ax.set_xlabel("step t of one trajectory")
    ax.set_ylabel("value")
    ax.set_title("one seed, one environment")
    ax.legend(fontsize="small")
    return fig
