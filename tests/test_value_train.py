"""Claim 2's network experiment (tdgen.dynamics.make_value_train): encodings, shapes, both targets learn V^π."""

import jax
import numpy as np
import pytest

from tdgen import dynamics
from tdgen.envs import tabular


def test_encodings():
    env = tabular.open_grid(3)
    assert tabular.encode_states(env, "one-hot").shape == (9, 9)
    coords = tabular.encode_states(env, "coordinates")
    assert coords.shape == (9, 2) and coords.min() == -1.0 and coords.max() == 1.0
    with pytest.raises(tabular.InvalidMDPError, match="no coordinates"):
        tabular.encode_states(tabular.ring(5), "coordinates")
    with pytest.raises(ValueError, match="unknown encoding"):
        tabular.encode_states(env, "pixels")


@pytest.mark.parametrize("target", ["td", "mc"])
def test_training_reduces_value_error(target):
    env = tabular.open_grid(3, rewards={(0, 0): 1.0})
    v_pi = tabular.value_function(env.P, env.R, 0.5)
    train = dynamics.make_value_train(env, 0.5, target, "one-hot", 32, 0.1, 300, 100)
    values = np.asarray(jax.vmap(train)(jax.random.split(jax.random.PRNGKey(0), 2)))
    assert values.shape == (2, 4, 9)
    error = np.abs(values - v_pi).mean(axis=-1)
    assert np.all(error[:, -1] < 0.5 * error[:, 0])


def test_unknown_target_is_named():
    with pytest.raises(ValueError, match="unknown target"):
        dynamics.make_value_train(tabular.open_grid(2), 0.5, "q-learning", "one-hot", 4, 0.1, 10, 5)
