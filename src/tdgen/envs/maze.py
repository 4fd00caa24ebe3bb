"""jaxued's Maze on a fixed bank of procedurally generated levels, behind :class:`~tdgen.envs.interface.Env`.

The Maze of ``jaxued`` (Coward et al., 2024, "JaxUED: A simple and useable UED
library in Jax") is a 13×13 minigrid-style maze with 25 wall cells; the agent sees a
5×5 egocentric window and is rewarded ``1 − 0.9 t/250`` on reaching the goal at step
``t`` (episodes end there or after 250 steps).  Level ``i`` is generated from the key
``fold_in(PRNGKey(LEVEL_SEED), i)``, so a level *set* is a range of integers, as in
ProcGen: ``start_level`` and ``num_levels``.  Training on ``maze?num_levels=100&start_level=0``
and testing on ``maze?num_levels=1000&start_level=1000000`` compares seen with unseen
levels (:func:`~tdgen.envs.make_env` builds both from these names).

jaxued's own automatic-reset wrappers call ``jax.tree_map``, which current JAX no
longer has; here the level bank is generated once (``[num_levels]`` leaves) and a
finished environment is reset to a level drawn uniformly from the bank.

Observations are ``uint8[5, 5, 7]``: jaxued's 5×5×3 egocentric image (object, colour,
state indices) and the agent's direction one-hot in 4 constant channels.  Only the
three navigation actions are exposed (turn left, turn right, forward); jaxued's other
four actions do nothing in the Maze.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from tdgen.envs.interface import Env, EnvState, parse_env_options
from tdgen.validate import nonnegative_int, positive_int

LEVEL_SEED = 0
MAZE_SIZE = 13
N_WALLS = 25
VIEW = 5
NUM_ACTIONS = 3  # jaxued's left, right, forward
MAX_STEPS = 250  # episode length limit (jaxued's default)
NAME = "maze"


def maze_name(start_level: int, num_levels: int) -> str:
    """The environment name of levels ``start_level … start_level + num_levels − 1`` (ProcGen's convention)."""
    nonnegative_int("start_level", start_level)
    positive_int("num_levels", num_levels)
    return f"{NAME}?num_levels={num_levels}&start_level={start_level}"


def parse_maze_name(name: str) -> tuple[int, int]:
    """``(start_level, num_levels)`` of a name made by :func:`maze_name`; a ``ValueError`` naming the fault otherwise.

    Options are parsed by :func:`~tdgen.envs.interface.parse_env_options`, which rejects a repeated key and a level
    count or start that is no integer (``num_levels=true``, ``num_levels=2.5``) or negative.
    """
    usage = f"expected '{NAME}?num_levels=N&start_level=S' with N >= 1 and S >= 0"
    base, options = parse_env_options(name, name)
    if base != NAME or set(options) != {"num_levels", "start_level"}:
        raise ValueError(f"{name!r} is not a maze level set; {usage}")
    start, count = options["start_level"], options["num_levels"]
    if count == 0:
        raise ValueError(f"maze name {name!r} has num_levels = 0; {usage}")
    return int(start), int(count)


def level_bank(start_level: int, num_levels: int) -> Any:
    """jaxued ``Level`` pytree of the levels ``start_level …``, every leaf with a leading ``[num_levels]`` axis."""
    nonnegative_int("start_level", start_level)
    positive_int("num_levels", num_levels)
    from jaxued.environments.maze import make_level_generator

    generate = make_level_generator(MAZE_SIZE, MAZE_SIZE, N_WALLS)
    base = jax.random.PRNGKey(LEVEL_SEED)
    keys = jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(start_level, start_level + num_levels))
    return jax.vmap(generate)(keys)


def _observe(obs: Any) -> jax.Array:
    """jaxued ``Observation`` (image ``[..., 5, 5, 3]``, direction ``[...]``) -> ``uint8[..., 5, 5, 7]``."""
    image = obs.image.astype(jnp.uint8)
    direction = jax.nn.one_hot(obs.agent_dir, 4, dtype=jnp.uint8)
    direction = jnp.broadcast_to(direction[..., None, None, :], (*image.shape[:-1], 4))
    return jnp.concatenate([image, direction], axis=-1)


def make_maze_env(name: str, num_envs: int) -> Env:
    """``num_envs`` Mazes on the level set named by ``name`` (see :func:`maze_name`), reset to random bank levels."""
    from jaxued.environments.maze import Maze

    start_level, num_levels = parse_maze_name(name)
    maze = Maze(max_height=MAZE_SIZE, max_width=MAZE_SIZE, agent_view_size=VIEW)
    params = maze.default_params.replace(max_steps_in_episode=MAX_STEPS)
    bank = level_bank(start_level, num_levels)

    def reset_one(key: jax.Array) -> tuple[jax.Array, Any]:
        pick_key, reset_key = jax.random.split(key)
        level = jax.tree.map(lambda leaf: leaf[jax.random.randint(pick_key, (), 0, num_levels)], bank)
        obs, inner = maze.reset_env_to_level(reset_key, level, params)
        return _observe(obs), inner

    def reset(key: jax.Array) -> tuple[jax.Array, EnvState]:
        obs, inner = jax.vmap(reset_one)(jax.random.split(key, num_envs))
        zeros = jnp.zeros(num_envs, dtype=jnp.float32)
        return obs, EnvState(inner, zeros, zeros.astype(jnp.int32))

    def step_one(key: jax.Array, inner: Any, action: jax.Array):
        step_key, reset_key = jax.random.split(key)
        obs, inner, reward, done, _ = maze.step_env(step_key, inner, action, params)
        truncated = jnp.logical_and(done, reward <= 0.0)  # ended without reaching the goal: the time limit
        reset_obs, reset_inner = reset_one(reset_key)
        inner = jax.tree.map(lambda r, s: jnp.where(done, r, s), reset_inner, inner)
        return jnp.where(done, reset_obs, _observe(obs)), inner, reward, done, truncated

    def step(key: jax.Array, state: EnvState, action: jax.Array):
        obs, inner, reward, done, truncated = jax.vmap(step_one)(jax.random.split(key, num_envs), state.inner, action)
        episode_return = state.episode_return + reward
        episode_length = state.episode_length + 1
        info = {
            "terminated": jnp.logical_and(done, ~truncated),
            "truncated": truncated,
            "episode_return": episode_return,
            "episode_length": episode_length,
        }
        state = EnvState(inner, jnp.where(done, 0.0, episode_return), jnp.where(done, 0, episode_length))
        return obs, state, reward, done, info

    return Env(name, num_envs, NUM_ACTIONS, (VIEW, VIEW, 7), reset, step)
