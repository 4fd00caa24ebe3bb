"""Figures of claim 1: eigenvectors of P^π, and their eigenvalues against their smoothness.

Each function draws from :class:`~tdgen.spectral.Spectrum` objects (:func:`tdgen.spectral.spectrum`)
and returns the figure, for :func:`tdgen.plotting.publish_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from tdgen import stats
from tdgen.plotting import grid_heatmap
from tdgen.spectral import Spectrum


def eigenvector_grids(spectra: Sequence[Spectrum], columns: int = 8) -> plt.Figure:
    """One row per grid environment: ``columns`` of its eigenvectors, evenly spaced from the largest ``Re λ``.

    Each panel is the eigenvector laid out on the grid (:func:`~tdgen.plotting.grid_heatmap`),
    titled with its eigenvalue; the row is labelled with the environment's name.
    """
    fig, axes = plt.subplots(len(spectra), columns, figsize=(13, 1.9 * len(spectra)), squeeze=False)
    for row, s in zip(axes, spectra):
        picks = np.linspace(0, s.env.n_states - 1, columns).round().astype(int)
        for ax, i in zip(row, picks):
            grid_heatmap(ax, s.env, s.eig.vectors[:, i], title=f"λ = {np.real(s.eig.values[i]):.2f}")
        row[0].set_ylabel(s.env.name)
    fig.tight_layout()
    return fig


def eigenvalue_vs_smoothness(spectra: Sequence[Spectrum], columns: int = 3) -> plt.Figure:
    """One panel per environment: ``Re λ`` of every eigenvector against its sign-change rate.

    Points are coloured by Dirichlet energy (0 to 2); each title gives the Spearman ρ of
    the two (:func:`tdgen.stats.spearman`).
    """
    rows = -(-len(spectra) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(11, 3.25 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, s in zip(axes.flat, spectra):
        points = ax.scatter(s.real_values, s.sign_changes, c=s.energy, cmap="viridis", vmin=0, vmax=2, s=12)
        ax.set_title(f"{s.env.name}\nSpearman ρ = {stats.spearman(s.real_values, s.sign_changes):.2f}")
    for ax in axes.flat[len(spectra) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("Re λ (eigenvalue)")
    for ax in axes[:, 0]:
        ax.set_ylabel("sign-change rate\n(fraction of neighbour pairs)")
    fig.colorbar(points, ax=axes, label="Dirichlet energy")
    return fig


def complex_spectra(spectra: Sequence[Spectrum]) -> plt.Figure:
    """One panel per environment: its eigenvalues in the complex plane (unit circle grey).

    Points are coloured by the sign-change rate of their eigenvectors.
    """
    fig, axes = plt.subplots(1, len(spectra), figsize=(4 * len(spectra), 3.6), squeeze=False)
    for ax, s in zip(axes[0], spectra):
        points = ax.scatter(np.real(s.eig.values), np.imag(s.eig.values), c=s.sign_changes, cmap="magma", s=12)
        ax.add_patch(plt.Circle((0, 0), 1, fill=False, color="0.5", lw=0.8))
        ax.set_aspect("equal")
        ax.set_xlabel("Re λ")
        ax.set_ylabel("Im λ")
        ax.set_title(s.env.name)
    fig.colorbar(points, ax=axes, label="sign-change rate")
    return fig
