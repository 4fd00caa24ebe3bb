"""Claim 3's figures draw from the arrays tdgen.critical and tdgen.critical_deep compute (synthetic, right shapes)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tdgen import critical, critical_deep
from tdgen.envs import tabular
from tdgen.plotting import claim3, set_theme

SEEDS, LENGTHS = 3, 2


@pytest.fixture(scope="module")
def grids():
    set_theme()
    rng = np.random.default_rng(0)
    envs = {
        "open room": tabular.open_grid(4, rewards={(0, 0): 1.0, (3, 2): -1.0}),
        "four rooms": tabular.four_rooms(rewards={(2, 3): 1.0, (10, 9): -1.0}),
    }
    problems = {name: critical.grid_problem(env, 0.9, 2, SEEDS, 0.5) for name, env in envs.items()}
    sweeps, fits = {}, {}
    for name, p in problems.items():
        n, k = p.env.n_states, len(p.targets)
        errors = {f: rng.random((SEEDS, k, LENGTHS)) for f in ("pretrain_error", "train_error", "test_error")}
        sweeps[name] = critical.PretrainSweep(
            finetuned=rng.standard_normal((SEEDS, k, LENGTHS, n)),
            scratch=rng.standard_normal((SEEDS, n)),
            scratch_train=rng.random(SEEDS),
            scratch_test=rng.random(SEEDS),
            **errors,
        )
        per_arm = lambda shape: {t: rng.random(shape) for t in critical.ARMS}
        fits[name] = critical.ValueFits(
            per_arm((SEEDS, n)), *(per_arm(SEEDS) for _ in range(4)), rng.random(SEEDS), rng.random(SEEDS)
        )
    return problems, sweeps, fits


def test_gridworld_figures(grids):
    problems, sweeps, fits = grids
    for fig, n_axes in (
        (claim3.dose_figure(problems, sweeps, (4, 16), 50), 4),
        (claim3.predictions_figure(problems, sweeps), 12),
        (claim3.td_twin_figure(problems, fits, 50), 10),
    ):
        assert len(fig.axes) == n_axes
        plt.close(fig)


def test_deep_figure():
    set_theme()
    rng = np.random.default_rng(1)
    agents, plays = 5, 2
    arms = lambda: {arm: rng.random((agents, plays)) for arm in critical.ARMS}
    errors = critical_deep.DeepErrors(
        held={**arms(), "pre": rng.random((agents, plays, 3))},
        train={**arms(), "pre": rng.random((agents, plays, 3))},
        bellman=arms(),
        disagreement=rng.random((agents, plays)),
        twin_fit=rng.random((agents, plays)),
        pretrain=rng.random((agents, plays, 3)),
    )
    t = np.arange(30)
    trajectory = {"t": t, "G": np.where(t < 25, np.sin(t), np.nan), "td": np.cos(t), "twin": np.cos(t), "mc": np.sin(t)}
    fig = claim3.deep_figure("Breakout-MinAtar", np.geomspace(0.5, 8, 3), errors, trajectory, 3, 50)
    assert len(fig.axes) == 3
    ticks = [label.get_text() for label in fig.axes[0].get_xticklabels()]
    assert ticks == ["held-out", "training", "Bellman\nresidual"]
    # One faint point per agent (not per play) for each of the 3 arms in each of the 3 groups.
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections if len(c.get_offsets()) == agents) == 9 * agents
    plt.close(fig)
