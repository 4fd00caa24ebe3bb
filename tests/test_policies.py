"""Policies of tdgen.rl.policies: ε-greedy choice, uniform random play."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen.rl import policies

Q = jnp.array([[0.0, 2.0, 1.0]] * 500)  # 500 states, action 1 best


def test_epsilon_greedy_actions_explore_with_probability_epsilon():
    explore_key, action_key = jax.random.split(jax.random.PRNGKey(0))
    greedy = policies.epsilon_greedy_actions(Q, 0.0, explore_key, action_key)
    np.testing.assert_array_equal(greedy, 1)
    random = policies.epsilon_greedy_actions(Q, 1.0, explore_key, action_key)
    np.testing.assert_array_equal(random, jax.random.randint(action_key, (500,), 0, 3))
    some = policies.epsilon_greedy_actions(Q, jnp.float32(0.3), explore_key, action_key)  # a traced ε works too
    explored = jax.random.uniform(explore_key, (500,)) < 0.3
    np.testing.assert_array_equal(some, np.where(explored, random, 1))


def test_epsilon_greedy_policy_splits_its_key_for_the_choice():
    key = jax.random.PRNGKey(3)
    acting = policies.epsilon_greedy(lambda params, obs: Q, 0.5)(None, key, None)
    np.testing.assert_array_equal(acting, policies.epsilon_greedy_actions(Q, 0.5, *jax.random.split(key)))


def test_uniform_random_policy_covers_every_action():
    actions = policies.uniform_random(4)(None, jax.random.PRNGKey(0), jnp.zeros((400, 2)))
    assert actions.shape == (400,) and set(np.unique(actions)) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="num_actions"):
        policies.uniform_random(0)
