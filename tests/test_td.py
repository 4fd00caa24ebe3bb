"""The TD targets of tdgen.rl.td: one-step, Q-learning, expected (tabular) and GAE."""

import jax
import jax.numpy as jnp
import numpy as np

from tdgen.rl import td


def test_td_target_bootstraps_only_where_the_episode_goes_on():
    reward, done, next_value = jnp.array([1.0, 2.0, -1.0]), jnp.array([0.0, 1.0, 0.0]), jnp.array([10.0, 10.0, 4.0])
    np.testing.assert_allclose(td.td_target(reward, done, next_value, 0.5), [6.0, 2.0, 1.0])
    # the order of operations is r + (γ (1 − d)) v', the one every caller relied on before it was shared
    r, d, v = jax.random.normal(jax.random.PRNGKey(0), (3, 1000))
    d = (d > 0).astype(jnp.float32)
    np.testing.assert_array_equal(td.td_target(r, d, v, 0.99), r + 0.99 * (1.0 - d) * v)


def test_q_learning_target_takes_the_best_next_action():
    next_q = jnp.array([[1.0, 3.0], [5.0, -2.0]])
    y = td.q_learning_target(jnp.array([0.5, 0.0]), jnp.array([0.0, 1.0]), next_q, 0.9)
    np.testing.assert_allclose(y, [0.5 + 0.9 * 3.0, 0.0])


def test_expected_td_target_has_the_true_values_as_fixed_point():
    P = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.5, 0.0, 0.5]])
    R, gamma = np.array([1.0, 0.0, -1.0]), 0.9
    v_pi = np.linalg.solve(np.eye(3) - gamma * P, R)
    np.testing.assert_allclose(td.expected_td_target(R, P, v_pi, gamma), v_pi, rtol=1e-12)
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(td.expected_td_target(R, P, v, gamma), R + gamma * P @ v)


def test_discounted_returns_follow_the_td_recursion():
    reward = jax.random.normal(jax.random.PRNGKey(1), (20, 3))
    done = jax.random.uniform(jax.random.PRNGKey(2), (20, 3)) < 0.2
    returns, _ = td.discounted_returns(reward, done, 0.9)
    later = jnp.concatenate([returns[1:], jnp.zeros((1, 3))])
    np.testing.assert_array_equal(returns, td.td_target(reward, done.astype(jnp.float32), later, 0.9))


def test_gae_matches_a_python_loop():
    rng = np.random.default_rng(0)
    values, rewards = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    dones, last = (rng.random((6, 2)) < 0.3).astype(float), rng.normal(size=2)
    adv, ret = td.gae(jnp.asarray(values), jnp.asarray(rewards), jnp.asarray(dones), jnp.asarray(last), 0.9, 0.8)
    expected, next_adv, next_value = np.zeros((6, 2)), np.zeros(2), last
    for t in reversed(range(6)):
        delta = rewards[t] + 0.9 * next_value * (1 - dones[t]) - values[t]
        next_adv = expected[t] = delta + 0.9 * 0.8 * (1 - dones[t]) * next_adv
        next_value = values[t]
    np.testing.assert_allclose(adv, expected, rtol=1e-5)
    np.testing.assert_allclose(ret, expected + values, rtol=1e-5)


def test_gae_with_lambda_zero_is_the_td_error():
    rng = np.random.default_rng(1)
    values, rewards = rng.normal(size=(8, 3)).astype(np.float32), rng.normal(size=(8, 3)).astype(np.float32)
    dones, last = (rng.random((8, 3)) < 0.3).astype(np.float32), rng.normal(size=3).astype(np.float32)
    adv, _ = td.gae(values, rewards, dones, last, 0.9, 0.0)
    next_values = np.concatenate([values[1:], last[None]])
    np.testing.assert_allclose(adv, td.td_target(rewards, dones, next_values, 0.9) - values, rtol=1e-6, atol=1e-6)
