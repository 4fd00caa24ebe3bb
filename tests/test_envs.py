import dataclasses
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen import envs
from tdgen.envs import envpool


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


HAS_ENVPOOL = importlib.util.find_spec("envpool") is not None


def test_env_options_are_parsed_from_the_name():
    task, options = envs.parse_env_options("coinrun?num_levels=10&start_level=0&distribution_mode=hard")
    assert task == "coinrun" and options == {"num_levels": 10, "start_level": 0, "distribution_mode": "hard"}
    assert envs.parse_env_options("Breakout-v5?reward_clip=true&repeat_action_probability=0.25") == (
        "Breakout-v5",
        {"reward_clip": True, "repeat_action_probability": 0.25},
    )
    assert envpool._envpool_task_id("procgen", "coinrun", {"num_levels": 10}) == "CoinrunEasy-v0"
    assert envpool._envpool_task_id("procgen", "coinrun", {"distribution_mode": "hard"}) == "CoinrunHard-v0"
    with pytest.raises(ValueError, match="key=value"):
        envs.parse_env_options("coinrun?num_levels")


@pytest.mark.skipif(not HAS_ENVPOOL, reason="envpool is not installed (pip install 'tdgen[envpool]')")
def test_envpool_atari_steps_inside_jit_and_scan():
    env = envs.make_env("atari:Breakout-v5?seed=1", num_envs=2)
    assert env.observation_shape == (84, 84, 4) and env.num_actions == 4

    def rollout(key):
        obs, state = env.reset(key)

        def body(state, key):
            action = jax.random.randint(key, (env.num_envs,), 0, env.num_actions)
            obs, state, reward, done, info = env.step(key, state, action)
            return state, (obs[:, 0, 0, 0], reward, done, info["episode_return"], info["reset_step"])

        return obs, jax.lax.scan(body, state, jax.random.split(key, 600))[1]

    obs, (first_pixel, reward, done, ret, reset_step) = jax.jit(rollout)(jax.random.PRNGKey(0))
    assert obs.shape == (2, 84, 84, 4) and obs.dtype == jnp.uint8 and first_pixel.dtype == jnp.uint8
    done, reward, ret = np.asarray(done), np.asarray(reward), np.asarray(ret)
    assert done.any(), "random Breakout games end within 600 frame-skipped steps"
    env_idx = int(np.argmax(done.any(0)))
    end = int(np.argmax(done[:, env_idx]))
    np.testing.assert_allclose(ret[end, env_idx], reward[: end + 1, env_idx].sum())
    assert np.asarray(reset_step)[end + 1, env_idx]  # envpool resets on the step after the last frame
    with pytest.raises(ValueError, match="cannot be vmapped over 2 seeds"):
        jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 2))


@pytest.mark.skipif(not HAS_ENVPOOL, reason="envpool is not installed")
def test_procgen_without_qt5_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(envs.ctypes.util, "find_library", lambda name: None)  # as on a machine without Qt5
    with pytest.raises(envs.MissingBackendError, match="libqt5gui5"):
        envs.make_env("procgen:coinrun?num_levels=10&start_level=0")


def test_level_split_names_training_and_unseen_levels():
    train, unseen, steps = envs.level_split("maze", 100, 1000)
    assert (train, unseen) == ("maze?num_levels=100&start_level=0", "maze?num_levels=1000&start_level=1000000")
    assert steps == 250
    train, unseen, steps = envs.level_split("procgen:coinrun", 10, 5000)
    assert train == "procgen:coinrun?num_levels=10&start_level=0" and steps == envs.PROCGEN_EPISODE_STEPS
    assert unseen == "procgen:coinrun?num_levels=5000&start_level=1000000"
    with pytest.raises(envs.UnknownEnvError, match="level-based games"):
        envs.level_split("Breakout-MinAtar", 10, 10)
    with pytest.raises(ValueError, match="train_levels"):
        envs.level_split("maze", 0, 10)


def test_vmap_over_one_pool_maps_in_sequence_with_shared_arguments():
    env = dataclasses.replace(envs.make_env("Breakout-MinAtar"), vmappable=False)
    fn = lambda x, y: x * 2 + y
    x, y = jnp.arange(3.0), jnp.array(10.0)
    np.testing.assert_allclose(envs.vmap_over(fn, env, in_axes=(0, None))(x, y), [10.0, 12.0, 14.0])
    with pytest.raises(ValueError, match="in_axes"):
        envs.vmap_over(fn, env, in_axes=(1, None))(x, y)


def test_terminal_and_reset_step_read_any_backend_alike():
    done = jnp.array([True, False, False])
    np.testing.assert_array_equal(envs.reset_step(done, {}), [False, False, False])  # JAX backends: none
    assert envs.terminal(done, {"terminated": done}) is done
    reset = jnp.array([False, True, False])  # envpool: step 1 restarted an episode from its last frame
    np.testing.assert_array_equal(envs.reset_step(done, {"reset_step": reset}), reset)
    np.testing.assert_array_equal(envs.terminal(done, {"reset_step": reset}), [True, True, False])
