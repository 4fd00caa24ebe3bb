"""Claim 5's figures draw from one number per network, ``[teachers, networks, ...]`` (small arrays)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from tdgen.distillation import ACTION_MODES, LEVEL_SETS
from tdgen.plotting import claim5, set_theme

GROUPS = {"teacher": slice(0, 1), "student": slice(1, 3), "short student": slice(3, 5)}


def test_robustness_draws_a_line_per_group_in_both_panels():
    set_theme()
    rng = np.random.default_rng(0)
    returns, agreement = rng.random((2, 5, 3)), rng.random((2, 5, 3))
    fig = claim5.robustness((0.0, 0.1, 0.2), returns, agreement, GROUPS, "p")
    assert len(fig.axes) == 2
    assert [line.get_label() for line in fig.axes[0].lines] == list(GROUPS)
    np.testing.assert_allclose(fig.axes[1].lines[1].get_ydata(), agreement[:, 1:3].reshape(-1, 3).mean(0))
    plt.close(fig)


def test_consistency_interference_has_a_bar_per_group():
    rng = np.random.default_rng(1)
    values = [rng.random((2, 5)) for _ in range(3)]
    fig = claim5.consistency_interference(*values, GROUPS, ["t", "s", "s¼"])
    assert [ax.get_title() for ax in fig.axes] == ["consistency: action", "consistency: Q-values", "interference"]
    heights = [bar.get_height() for bar in fig.axes[2].patches]
    np.testing.assert_allclose(heights, [values[2][:, c].mean() for c in GROUPS.values()])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["t", "s", "s¼"]
    plt.close(fig)


def test_level_generalization_has_a_row_per_game_and_a_column_per_mode():
    rng = np.random.default_rng(2)
    returns = {game: {(s, m): rng.random((2, 3)) for s in LEVEL_SETS for m in ACTION_MODES} for game in ("a", "b")}
    fig = claim5.level_generalization(returns)
    assert [ax.get_title() for ax in fig.axes] == [
        "a, sampled actions",
        "a, greedy actions",
        "b, sampled actions",
        "b, greedy actions",
    ]
    teacher_unseen = fig.axes[0].patches[1].get_height()  # teacher bars first: training, then unseen levels
    np.testing.assert_allclose(teacher_unseen, returns["a"]["unseen", "sampled"][:, 0].mean())
    plt.close(fig)
