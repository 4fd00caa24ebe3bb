"""Claim 1's figures draw from tdgen.spectral.spectrum of small environments."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from tdgen import spectral
from tdgen.envs import tabular
from tdgen.plotting import claim1, set_theme


@pytest.fixture(scope="module")
def spectra():
    set_theme()
    envs = (tabular.ring(6), tabular.open_grid(3), tabular.four_rooms(), tabular.drift_grid(3))
    return [spectral.spectrum(env) for env in envs]


def test_eigenvector_grids_has_a_row_per_grid(spectra):
    fig = claim1.eigenvector_grids(spectra[1:3], columns=4)
    assert len(fig.axes) == 8
    assert fig.axes[0].get_ylabel() == spectra[1].env.name and fig.axes[4].get_ylabel() == spectra[2].env.name
    plt.close(fig)


def test_eigenvalue_vs_smoothness_has_a_panel_per_environment(spectra):
    fig = claim1.eigenvalue_vs_smoothness(spectra)  # 4 panels on a 2 × 3 grid, the last two hidden
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title().split("\n")[0] for ax in panels] == [s.env.name for s in spectra]
    assert all("Spearman ρ" in ax.get_title() for ax in panels)
    plt.close(fig)


def test_complex_spectra_draws_every_eigenvalue(spectra):
    fig = claim1.complex_spectra(spectra[-1:])
    (points,) = fig.axes[0].collections
    assert len(points.get_offsets()) == spectra[-1].env.n_states
    plt.close(fig)
