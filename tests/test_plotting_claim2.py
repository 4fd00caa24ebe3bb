"""Claim 2's figures draw from the arrays tdgen.dynamics computes (small arrays of the right shapes)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from tdgen import dynamics
from tdgen.envs import tabular
from tdgen.plotting import claim2, set_theme


def test_eigencomponent_decay_draws_a_line_per_component_and_the_rates():
    set_theme()
    times, lam = np.linspace(0, 2, 5), np.array([1.0, 0.2, -0.5])
    predicted = 1 - 0.9 * lam
    curves = {"TD": np.exp(-np.outer(times, predicted)), "MC": np.exp(-np.outer(times, np.ones(3)))}
    rates = {kind: dynamics.fit_decay_rates(times, c) for kind, c in curves.items()}
    fig = claim2.eigencomponent_decay(times, lam, predicted, curves, rates)
    td_axes, mc_axes, rate_axes = fig.axes[:3]
    assert len(td_axes.lines) == len(mc_axes.lines) == 3
    assert len(rate_axes.collections) == 2  # TD and MC rates
    plt.close(fig)


def test_bellman_updates_shows_the_iterates_and_the_energies():
    env = tabular.open_grid(3, rewards={(0, 0): 1.0})
    iterates = dynamics.bellman_iterates(env.P, env.R, 0.9, 4)
    fig = claim2.bellman_updates(env, iterates, iterates[-1], np.linspace(1.0, 0.5, 4), 0.4, [0, 1, 4])
    assert len(fig.axes) == 5  # three iterates, V^π, the energies
    assert fig.axes[2].get_title() == "V after 4 updates"
    plt.close(fig)


def test_network_bands_has_a_panel_per_encoding_and_target():
    rng = np.random.default_rng(0)
    keys = [(e, t) for e in ("one-hot", "coordinates") for t in ("td", "mc")]
    bands = {k: rng.random((2, 4, 3)) + 0.1 for k in keys}
    rho = {k: rng.uniform(-1, 1, 2) for k in keys}
    fig = claim2.network_bands(np.arange(4), np.array([0.9, 0.0, -0.9]), bands, rho)
    assert [ax.get_title().split(" (")[0] for ax in fig.axes[:4]] == [
        "one-hot, TD targets",
        "one-hot, MC targets",
        "coordinates, TD targets",
        "coordinates, MC targets",
    ]
    assert all(len(ax.lines) == 3 for ax in fig.axes[:4])
    plt.close(fig)
