"""Claim 4's figures and sensitivity table draw from update matrices, statistics and tests (small arrays)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tdgen import interference
from tdgen.plotting import claim4, set_theme
from tdgen.results import ClaimTest


def test_update_matrices_has_a_column_per_checkpoint_shown():
    set_theme()
    matrices = np.random.default_rng(0).standard_normal((5, 4, 4))
    fig = claim4.update_matrices(matrices, np.arange(5) * 1000.0, [0, 2, 4])
    assert [ax.get_title() for ax in fig.axes[:3]] == ["0 env steps", "2,000 env steps", "4,000 env steps"]
    bottom = fig.axes[3].get_images()[0].get_array()  # the first checkpoint, its rows' shifts removed
    scale = np.abs(np.diag(matrices[0])).mean()
    np.testing.assert_allclose(bottom, interference.shift_removed(matrices[0]) / scale)
    plt.close(fig)


def test_interference_over_training_draws_every_output_and_its_initial_band():
    rng = np.random.default_rng(1)
    games, outputs = ("A", "B", "C", "D"), interference.AGENT_OUTPUTS
    values = {(g, o): rng.random((2, 3)) for g in games for o in outputs}
    steps = {(g, a): np.arange(3) * 1e6 for g in games for a in ("DQN", "PPO")}
    fig = claim4.interference_over_training(games, values, steps, outputs, "statistic")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == list(games)  # a 2 × 3 grid, the last two panels hidden
    assert all(len(ax.lines) == len(outputs) for ax in shown)
    np.testing.assert_allclose(shown[0].lines[0].get_ydata(), values["A", outputs[0]].mean(axis=0))
    patch = shown[0].patches[0]  # the first output's band: its seeds at checkpoint 0
    band = patch.get_patch_transform().transform(patch.get_path().vertices)[:, 1]
    first = values["A", outputs[0]][:, 0]
    assert band.min() == pytest.approx(first.min()) and band.max() == pytest.approx(first.max())
    plt.close(fig)


def test_td_vs_mc_targets_draws_both_targets_in_every_game():
    values = {g: {"td": np.ones((2, 3)), "mc": np.full((2, 3), 2.0)} for g in ("A", "B")}
    fig = claim4.td_vs_mc_targets(np.arange(3.0), values, "statistic")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["A", "B"]
    assert [line.get_label() for line in shown[1].lines] == ["TD targets", "Monte Carlo targets"]
    plt.close(fig)


def sensitivity_tests(statistics, probe_sets, games):
    def test(value, ci, statistic):
        direction = ">=" if statistic == "effective rank / n" else "<="
        return ClaimTest("t", "s", value, ci, "seeds", 1.0, direction, interval="boot-t95", units=5)

    return {
        (s, p, g): (test(0.5, (0.4, 0.6), s), test(2.0, (0.9, 3.0), s))
        for s in statistics
        for p in probe_sets
        for g in games
    }


def test_sensitivity_table_has_a_row_per_statistic_and_probe_set():
    statistics, probe_sets, games = interference.STATISTICS, interference.PROBE_SETS, ("A", "B")
    tests = sensitivity_tests(statistics, probe_sets, games)
    table = claim4.sensitivity_table(tests, statistics, probe_sets, games, (statistics[0], probe_sets[0])).split("\n")
    assert len(table) == 2 + len(statistics) * len(probe_sets)
    assert table[0].count("|") == 3 + 2 * len(games) + 1
    assert table[2].startswith("| **shift-removed ratio** (primary) | **agent play** | ≤ 1 | 0.5 [0.4, 0.6] ✓ |")
    assert "| 2 [0.9, 3] |" in table[2]  # the interval crosses 1: not reproduced, no mark
    with pytest.raises(ValueError, match="pair of tests"):
        claim4.sensitivity_table({}, statistics, probe_sets, games, (statistics[0], probe_sets[0]))


def test_sensitivity_figure_draws_every_game_in_both_panels():
    statistics, probe_sets, games = interference.STATISTICS, interference.PROBE_SETS, ("A", "B", "C")
    tests = sensitivity_tests(statistics, probe_sets, games)
    fig = claim4.sensitivity_figure(tests, statistics, probe_sets, games, (statistics[0], probe_sets[1]))
    left, right = fig.axes
    assert len(left.get_yticklabels()) == len(statistics) * len(probe_sets)
    assert left.get_yticklabels()[1].get_fontweight() == "bold"
    assert left.get_yticklabels()[-1].get_text() == "effective rank / n · own states (claim ≥ 1)"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(games)
    assert all(len(ax.containers) == len(games) for ax in (left, right))  # one error bar series per game
    plt.close(fig)
