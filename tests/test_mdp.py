"""Tabular environments: analytic facts and named errors for bad input."""

import numpy as np
import pytest

from tdgen.envs import tabular


def test_ring_is_symmetric_random_walk():
    env = tabular.ring(8)
    np.testing.assert_allclose(env.P, env.P.T)
    np.testing.assert_allclose(env.P.sum(axis=1), 1.0)
    assert len(env.edges) == 8


def test_value_function_solves_bellman_equation():
    env = tabular.random_mdp(30, seed=3)
    gamma = 0.95
    v = tabular.value_function(env.P, env.R, gamma)
    np.testing.assert_allclose(v, env.R + gamma * env.P @ v, atol=1e-10)


def test_four_rooms_has_104_cells_and_doorways():
    env = tabular.four_rooms()
    assert env.n_states == 104
    assert env.shape == (13, 13)
    np.testing.assert_allclose(env.P, env.P.T)  # uniform walk with "stay" at walls is symmetric


def test_grid_rewards_and_layout():
    env = tabular.open_grid(4, rewards={(1, 2): 1.0})
    assert env.R.sum() == 1.0
    grid = env.to_grid(env.R)
    assert grid[1, 2] == 1.0 and grid.sum() == 1.0


def test_drift_grid_is_not_symmetric():
    env = tabular.drift_grid(5)
    assert not np.allclose(env.P, env.P.T)
    np.testing.assert_allclose(env.P.sum(axis=1), 1.0)


@pytest.mark.parametrize(
    ("P", "message"),
    [
        (np.ones((2, 3)) / 3, "square"),
        (np.array([[0.5, 0.4], [0.5, 0.5]]), "not stochastic"),
        (np.array([[1.5, -0.5], [0.5, 0.5]]), "negative"),
        (np.zeros((0, 0)), "empty"),
        (np.array([[np.nan, 1.0], [0.5, 0.5]]), "non-finite"),
    ],
)
def test_bad_transition_matrix_is_named(P, message):
    with pytest.raises(tabular.InvalidMDPError, match=message):
        tabular.check_transition_matrix(P)


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5])
def test_gamma_outside_unit_interval_is_rejected(gamma):
    env = tabular.chain(4)
    with pytest.raises(tabular.InvalidMDPError, match=r"gamma must lie in \[0, 1\)"):
        tabular.value_function(env.P, env.R, gamma)


def test_reward_of_wrong_length_is_rejected():
    env = tabular.chain(4)
    with pytest.raises(tabular.InvalidMDPError, match=r"reward must have shape \(4,\)"):
        tabular.value_function(env.P, np.zeros(5), 0.9)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ((), "non-empty"),
        (("###", "###"), "no free cells"),
        (("..#..",), "disconnected"),
        (("...", ".."), "equally long"),
    ],
)
def test_bad_grid_spec_is_named(spec, message):
    with pytest.raises(tabular.InvalidMDPError, match=message):
        tabular.parse_grid(spec)


def test_reward_on_a_wall_is_rejected():
    with pytest.raises(tabular.InvalidMDPError, match="not a free cell"):
        tabular.grid_env((".#.", "..."), name="g", rewards={(0, 1): 1.0})
