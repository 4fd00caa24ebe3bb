"""Figures of claim 2: the order in which TD fits the eigencomponents of the value error.

Eigenvalues are coloured on one scale throughout: blue for negative ``λ`` (rough
components), red for ``λ`` near 1 (smooth ones).  Each function returns the figure,
for :func:`tdgen.plotting.publish_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from tdgen.envs.tabular import TabularEnv
from tdgen.plotting import grid_heatmap

EIGENVALUE_CMAP = "coolwarm"  # blue: negative λ (rough), red: λ near 1 (smooth)


def eigencomponent_decay(
    times: np.ndarray,
    eigenvalues: np.ndarray,
    predicted: np.ndarray,
    curves: dict[str, np.ndarray],
    rates: dict[str, np.ndarray],
) -> plt.Figure:
    """Each component's relative error over time for TD and MC, and the fitted rates against the predicted ones.

    Args:
      times: ``[T]`` time points.
      eigenvalues: ``[n]`` eigenvalues ``λ_i`` (real), the components' colours.
      predicted: ``[n]`` predicted TD rates ``1 − γλ_i``.
      curves: ``{"TD": [T, n], "MC": [T, n]}`` error coordinates ``α_i(t) − α_i^π``;
        drawn as ``|α_i(t) / α_i(0)|`` on a log scale, one panel each.
      rates: ``{"TD": [n], "MC": [n]}`` fitted decay rates, scattered against ``predicted``.
    """
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    norm = plt.Normalize(-1, 1)
    cmap = plt.get_cmap(EIGENVALUE_CMAP)
    titles = {"TD": "TD (mean of sampled TD(0))", "MC": "Monte Carlo regression"}
    for ax, (kind, alpha) in zip(axes[:2], curves.items()):
        for i in range(alpha.shape[1]):
            ax.plot(times, np.abs(alpha[:, i] / alpha[0, i]), color=cmap(norm(eigenvalues[i])), lw=0.8)
        ax.set_yscale("log")
        ax.set_ylim(1e-3, 1.5)
        ax.set_xlabel("time t (η × updates)")
        ax.set_title(titles[kind])
    axes[0].set_ylabel("|α_i(t) − α_i^π| / |α_i(0) − α_i^π|")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[:2], label="eigenvalue λ_i")
    axes[2].scatter(predicted, rates["TD"], c=eigenvalues, cmap=cmap, norm=norm, s=14, label="TD, measured")
    axes[2].scatter(predicted, rates["MC"], color="0.3", marker="x", s=14, label="MC, measured")
    line = np.array([predicted.min(), predicted.max()])
    axes[2].plot(line, line, "k--", lw=1, label="1 − γλ_i (theory)")
    axes[2].set_xlabel("predicted rate 1 − γλ_i (per unit time)")
    axes[2].set_ylabel("measured decay rate (per unit time)")
    axes[2].legend(loc="upper left")
    return fig


def bellman_updates(
    env: TabularEnv,
    iterates: np.ndarray,
    v_pi: np.ndarray,
    energy_targets: np.ndarray,
    energy_v_pi: float,
    shown: Sequence[int],
) -> plt.Figure:
    """Top: the value iterates ``V_k``, ``k`` in ``shown``, and ``V^π`` on the grid; below: the targets' energy.

    Args:
      env: a grid environment.
      iterates: ``[K + 1, n]`` value iterates ``V_0 … V_K`` (:func:`tdgen.dynamics.bellman_iterates`).
      v_pi: ``[n]`` the true value function.
      energy_targets: ``[K]`` Dirichlet energy of each TD target ``V_{k+1}``, drawn against ``k``.
      energy_v_pi: the Dirichlet energy of ``V^π`` (a dashed line).
      shown: the iterates drawn.
    """
    fig = plt.figure(figsize=(12, 5.5))
    grid = fig.add_gridspec(2, len(shown) + 1, height_ratios=[1, 1.2])
    for column, k in enumerate(shown):
        grid_heatmap(fig.add_subplot(grid[0, column]), env, iterates[k], title=f"V after {k} updates")
    grid_heatmap(fig.add_subplot(grid[0, len(shown)]), env, v_pi, title="V^π")
    ax = fig.add_subplot(grid[1, 1:-1])
    ax.plot(np.arange(len(energy_targets)), energy_targets, label="TD target R + γPV_k")
    ax.axhline(energy_v_pi, color="k", ls="--", lw=1, label="V^π")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("Bellman update k")
    ax.set_ylabel("Dirichlet energy (centred, 0–2)")
    ax.legend()
    return fig


def network_bands(
    steps: np.ndarray,
    band_eigenvalues: np.ndarray,
    bands: dict[tuple[str, str], np.ndarray],
    rho: dict[tuple[str, str], np.ndarray],
) -> plt.Figure:
    """A network's error per eigenvalue band over SGD steps, one panel per (encoding, target), 2 × 2.

    Args:
      steps: ``[T]`` SGD steps of the records.
      band_eigenvalues: ``[b]`` mean eigenvalue of each band (:func:`tdgen.dynamics.band_eigenvalues`).
      bands: ``(encoding, target) -> [seeds, T, b]`` band error norms (:func:`tdgen.dynamics.band_amplitudes`);
        drawn relative to the start, mean over seeds.  ``target`` is ``"td"`` or ``"mc"``.
      rho: ``(encoding, target) -> [seeds]`` Spearman ρ(band λ, τ) of each seed; its mean is in the title.
    """
    cmap = plt.get_cmap(EIGENVALUE_CMAP)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, sharey=True)
    band_norm = plt.Normalize(band_eigenvalues.min(), band_eigenvalues.max())
    for ax, ((encoding, target), amplitudes) in zip(axes.flat, bands.items()):
        relative = amplitudes / amplitudes[:, :1, :]
        for b in range(len(band_eigenvalues)):
            ax.plot(steps, relative[:, :, b].mean(axis=0), color=cmap(band_norm(band_eigenvalues[b])))
        ax.set_yscale("log")
        label = "TD" if target == "td" else "MC"
        ax.set_title(f"{encoding}, {label} targets (ρ = {rho[encoding, target].mean():+.2f})")
    for ax in axes[-1]:
        ax.set_xlabel("SGD step")
    for ax in axes[:, 0]:
        ax.set_ylabel("band error / initial")
    fig.colorbar(plt.cm.ScalarMappable(norm=band_norm, cmap=cmap), ax=axes, label="mean eigenvalue of band")
    return fig
