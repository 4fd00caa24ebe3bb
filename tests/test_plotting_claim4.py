"""Claim 4's figures draw from update matrices and off-diagonal ratios (small arrays of the right shapes)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from tdgen import interference
from tdgen.plotting import claim4, set_theme


def test_update_matrices_has_a_panel_per_checkpoint_shown():
    set_theme()
    matrices = np.random.default_rng(0).standard_normal((5, 4, 4))
    fig = claim4.update_matrices(matrices, np.arange(5) * 1000.0, [0, 2, 4])
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0 env steps", "2,000 env steps", "4,000 env steps"]
    plt.close(fig)


def test_interference_over_training_draws_every_output_of_every_game():
    rng = np.random.default_rng(1)
    games, outputs = ("A", "B", "C"), interference.AGENT_OUTPUTS
    ratios = {(g, o): rng.random((2, 3)) for g in games for o in outputs}
    steps = {(g, a): np.arange(3) * 1e6 for g in games for a in ("DQN", "PPO")}
    fig = claim4.interference_over_training(games, ratios, steps, outputs)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == list(games)  # a 2 × 2 grid, the fourth panel hidden
    assert all(len(ax.lines) == len(outputs) for ax in shown)
    np.testing.assert_allclose(shown[0].lines[0].get_ydata(), ratios["A", outputs[0]].mean(axis=0))
    plt.close(fig)


def test_td_vs_mc_targets_draws_both_targets():
    ratios = {"td": np.ones((2, 3)), "mc": np.full((2, 3), 2.0)}
    fig = claim4.td_vs_mc_targets(np.arange(3.0), ratios, "game")
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["TD targets", "Monte Carlo targets"]
    assert ax.get_title() == "game"
    plt.close(fig)
