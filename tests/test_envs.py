import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen import envs


@pytest.mark.parametrize("name", envs.MINATAR_ENVS)
def test_minatar_envs_reset_and_step_in_batches(name):
    env = envs.make_env(name, num_envs=3)
    obs, state = jax.jit(env.reset)(jax.random.PRNGKey(0))
    assert obs.shape == (3, *env.observation_shape) and obs.dtype == jnp.uint8
    assert env.observation_shape[:2] == (10, 10) and env.num_actions >= 3
    obs, state, reward, done, info = jax.jit(env.step)(jax.random.PRNGKey(1), state, jnp.zeros(3, jnp.int32))
    assert obs.shape == (3, *env.observation_shape) and obs.dtype == jnp.uint8
    assert reward.shape == done.shape == (3,) and done.dtype == jnp.bool_
    assert set(info) >= {"terminated", "truncated", "episode_return", "episode_length"}


def test_step_auto_resets_and_reports_episode_returns():
    env = envs.make_env("Breakout-MinAtar", num_envs=8)

    def rollout(key):
        _, state = env.reset(key)

        def body(state, key):
            act_key, step_key = jax.random.split(key)
            action = jax.random.randint(act_key, (env.num_envs,), 0, env.num_actions)
            _, state, reward, done, info = env.step(step_key, state, action)
            return state, (reward, done, info["episode_return"], info["episode_length"], state.episode_length)

        return jax.lax.scan(body, state, jax.random.split(key, 300))[1]

    reward, done, ret, length, running = jax.jit(rollout)(jax.random.PRNGKey(0))
    done = np.asarray(done)
    assert done.any(), "random Breakout episodes end within 300 steps"
    assert np.all(np.asarray(running)[done] == 0)  # the finished episode's counters restart
    # The return reported at the end of an episode is the sum of its rewards.
    env_idx = np.argmax(done.any(0))
    end = np.argmax(done[:, env_idx])
    np.testing.assert_allclose(np.asarray(ret)[end, env_idx], np.asarray(reward)[: end + 1, env_idx].sum())
    assert np.asarray(length)[end, env_idx] == end + 1


def test_vmap_over_seeds_of_a_batch():
    env = envs.make_env("Freeway-MinAtar", num_envs=2)
    obs, _ = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 5))
    assert obs.shape == (5, 2, *env.observation_shape)


def test_unknown_env_lists_known_names():
    with pytest.raises(envs.UnknownEnvError, match=r"Breakout-MinAtar.*SpaceInvaders-MinAtar"):
        envs.make_env("Pong-MinAtar")
    with pytest.raises(ValueError, match="num_envs"):
        envs.make_env("Breakout-MinAtar", num_envs=0)


@pytest.mark.skipif(importlib.util.find_spec("envpool") is not None, reason="envpool is installed")
def test_envpool_names_say_what_is_missing():
    with pytest.raises(envs.MissingBackendError, match="envpool") as atari:
        envs.make_env("atari:Breakout-v5")
    assert "libqt5gui5" not in str(atari.value)
    with pytest.raises(envs.MissingBackendError, match=r"envpool.*libqt5gui5"):
        envs.make_env("procgen:coinrun")
