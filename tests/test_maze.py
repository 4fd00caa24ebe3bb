import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tdgen.envs import make_env, maze


def test_maze_names_round_trip_and_bad_names_are_named():
    assert maze.parse_maze_name(maze.maze_name(7, 100)) == (7, 100)
    for bad in ("maze", "maze?num_levels=0&start_level=0", "maze?num_levels=5", "maze?levels=5&start_level=0"):
        with pytest.raises(ValueError, match="maze"):
            maze.parse_maze_name(bad)


def test_level_banks_are_deterministic_and_ranges_differ():
    first = maze.level_bank(0, 4)
    again = maze.level_bank(0, 4)
    shifted = maze.level_bank(2, 2)
    assert first.wall_map.shape == (4, maze.MAZE_SIZE, maze.MAZE_SIZE)
    np.testing.assert_array_equal(first.wall_map, again.wall_map)
    np.testing.assert_array_equal(first.wall_map[2:], shifted.wall_map)  # level i is level i in every range
    assert not np.array_equal(first.wall_map[0], first.wall_map[1])


def test_maze_env_steps_resets_and_ends_episodes():
    env = make_env(maze.maze_name(0, 5), num_envs=4)
    obs, state = jax.jit(env.reset)(jax.random.PRNGKey(0))
    assert obs.shape == (4, 5, 5, 7) and obs.dtype == jnp.uint8 and env.num_actions == maze.NUM_ACTIONS
    np.testing.assert_array_equal(obs[..., 3:].sum(-1), 1)  # the direction one-hot

    def body(state, key):
        act_key, step_key = jax.random.split(key)
        action = jax.random.randint(act_key, (4,), 0, env.num_actions)
        _, state, reward, done, info = env.step(step_key, state, action)
        return state, (reward, done, info["truncated"], info["episode_length"])

    steps = maze.MAX_STEPS + 5
    _, (reward, done, truncated, length) = jax.jit(lambda k: jax.lax.scan(body, state, jax.random.split(k, steps)))(
        jax.random.PRNGKey(1)
    )
    done, length = np.asarray(done), np.asarray(length)
    assert done.any(axis=0).all(), "every episode ends within MAX_STEPS"
    assert length[done].max() <= maze.MAX_STEPS
    reached = np.asarray(reward)[done] > 0
    np.testing.assert_array_equal(np.asarray(truncated)[done], ~reached)
    assert np.all(np.asarray(reward)[done & (np.asarray(reward) > 0)] <= 1.0)
