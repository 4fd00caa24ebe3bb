"""tdgen.rl.rollouts.play / rollout: the one loop that plays a policy, its keys and its last observation."""

import jax
import numpy as np

from tdgen.envs import make_env
from tdgen.rl import policies, rollouts


def test_play_steps_like_a_hand_written_loop_and_returns_the_last_observation():
    env = make_env("Breakout-MinAtar", 4)
    policy, rng = policies.uniform_random(env.num_actions), jax.random.PRNGKey(5)
    out, last_obs = rollouts.play(env, policy, None, 12, rng)
    jax.tree.map(np.testing.assert_array_equal, out, rollouts.rollout(env, policy, None, 12, rng))
    reset_key, run_key = jax.random.split(rng)
    obs, state = env.reset(reset_key)
    for t, key in enumerate(jax.random.split(run_key, 12)):
        act_key, step_key = jax.random.split(key)
        action = policy(None, act_key, obs)
        np.testing.assert_array_equal(out["obs"][t], obs)
        np.testing.assert_array_equal(out["action"][t], action)
        obs, state, reward, done, _ = env.step(step_key, state, action)
        np.testing.assert_array_equal(out["reward"][t], reward)
        np.testing.assert_array_equal(out["done"][t], done)
    np.testing.assert_array_equal(last_obs, obs)
    assert not np.asarray(out["reset_step"]).any()  # JAX environments have no envpool reset steps


def test_random_transitions_are_the_last_step_of_random_play():
    rng = jax.random.PRNGKey(2)
    batch = rollouts.random_transitions("Breakout-MinAtar", 5, 7, rng)
    env = make_env("Breakout-MinAtar", 5)
    out, last_obs = rollouts.play(env, policies.uniform_random(env.num_actions), None, 8, rng)
    np.testing.assert_array_equal(batch["obs"], out["obs"][-1])
    np.testing.assert_array_equal(batch["next_obs"], last_obs)
    np.testing.assert_array_equal(batch["done"], out["done"][-1].astype(np.float32))
