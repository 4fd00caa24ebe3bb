"""Probe transitions and the agents' update matrices (claim 4)."""

import jax
import numpy as np
import pytest

from tdgen import interference
from tdgen.agents import probe
from tdgen.agents.networks import ActorCritic, QNetwork


@pytest.fixture(scope="module")
def batch():
    return probe.probe_transitions("Breakout-MinAtar", 6, 3, jax.random.PRNGKey(0))


def test_probe_transitions_shapes(batch):
    assert batch["obs"].shape == batch["next_obs"].shape == (6, 10, 10, 4)
    assert batch["obs"].dtype == np.uint8
    assert batch["action"].shape == batch["reward"].shape == batch["done"].shape == (6,)
    with pytest.raises(ValueError, match="n_states >= 2"):
        probe.probe_transitions("Breakout-MinAtar", 1, 3, jax.random.PRNGKey(0))


def test_q_update_matrix_rows_are_single_state_td_steps(batch):
    network = QNetwork(3)
    params = network.init(jax.random.PRNGKey(1), batch["obs"])
    U = np.asarray(probe.q_update_matrix(network.apply, params, batch, 0.9, 1e-2))
    assert U.shape == (6, 6)
    # Row 0 by hand: one SGD step on ½(y_0 − Q(x_0, a_0))², then the change of Q(x_j, a_j).
    q = network.apply(params, batch["obs"])
    y0 = batch["reward"][0] + 0.9 * (1 - batch["done"][0]) * network.apply(params, batch["next_obs"][:1]).max()

    def loss(p):
        return 0.5 * (y0 - network.apply(p, batch["obs"][:1])[0, batch["action"][0]]) ** 2

    stepped = jax.tree.map(lambda p, g: p - 1e-2 * g, params, jax.grad(loss)(params))
    q_after = network.apply(stepped, batch["obs"])
    idx = np.arange(6), np.asarray(batch["action"])
    np.testing.assert_allclose(U[0], np.asarray(q_after)[idx] - np.asarray(q)[idx], rtol=1e-4, atol=1e-7)


def test_actor_critic_update_matrices(batch):
    network = ActorCritic(3)
    params = network.init(jax.random.PRNGKey(2), batch["obs"])
    matrices = probe.actor_critic_update_matrices(network.apply, params, batch, 0.9, 1e-2)
    assert set(matrices) == {"critic", "actor"}
    for m in matrices.values():
        assert m.shape == (6, 6) and np.all(np.isfinite(m))
        assert interference.off_diagonal_ratio(np.asarray(m)) >= 0
