"""The network experiment: shapes, encodings and that both targets learn V^π."""

import jax
import numpy as np
import pytest

from tdgen import mdp, nn


def test_encodings():
    env = mdp.open_grid(3)
    assert nn.encode_states(env, "one-hot").shape == (9, 9)
    coords = nn.encode_states(env, "coordinates")
    assert coords.shape == (9, 2) and coords.min() == -1.0 and coords.max() == 1.0
    with pytest.raises(mdp.InvalidMDPError, match="no coordinates"):
        nn.encode_states(mdp.ring(5), "coordinates")
    with pytest.raises(ValueError, match="unknown encoding"):
        nn.encode_states(env, "pixels")


@pytest.mark.parametrize("target", ["td", "mc"])
def test_training_reduces_value_error(target):
    env = mdp.open_grid(3, rewards={(0, 0): 1.0})
    v_pi = mdp.value_function(env.P, env.R, 0.5)
    train = nn.make_value_train(env, 0.5, target, "one-hot", 32, 0.1, 300, 100)
    values = np.asarray(jax.vmap(train)(jax.random.split(jax.random.PRNGKey(0), 2)))
    assert values.shape == (2, 4, 9)
    error = np.abs(values - v_pi).mean(axis=-1)
    assert np.all(error[:, -1] < 0.5 * error[:, 0])


def test_unknown_target_is_named():
    with pytest.raises(ValueError, match="unknown target"):
        nn.make_value_train(mdp.open_grid(2), 0.5, "q-learning", "one-hot", 4, 0.1, 10, 5)
