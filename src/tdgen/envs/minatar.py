"""MinAtar (Young & Tian, 2019) through gymnax (Lange, 2022), as an :class:`~tdgen.envs.interface.Env`.

MinAtar observations are binary ``10 × 10 × channels`` grids; they are handed out as ``uint8``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from tdgen.envs.interface import Env, EnvState

MINATAR_ENVS = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "SpaceInvaders-MinAtar")


def make_minatar_env(name: str, num_envs: int) -> Env:
    """gymnax MinAtar ``name`` vmapped over ``num_envs`` copies, with uint8 observations and episode statistics."""
    import gymnax

    env, params = gymnax.make(name)
    obs_shape = tuple(env.observation_space(params).shape)

    def reset(key: jax.Array) -> tuple[jax.Array, EnvState]:
        obs, inner = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key, num_envs), params)
        zeros = jnp.zeros(num_envs, dtype=jnp.float32)
        return obs.astype(jnp.uint8), EnvState(inner, zeros, zeros.astype(jnp.int32))

    def step(key: jax.Array, state: EnvState, action: jax.Array):
        keys = jax.random.split(key, num_envs)
        obs, inner, reward, terminated, truncated, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            keys, state.inner, action, params
        )
        done = jnp.logical_or(terminated, truncated)
        episode_return = state.episode_return + reward
        episode_length = state.episode_length + 1
        info = {
            "terminated": terminated,
            "truncated": truncated,
            "episode_return": episode_return,
            "episode_length": episode_length,
        }
        state = EnvState(inner, jnp.where(done, 0.0, episode_return), jnp.where(done, 0, episode_length))
        return obs.astype(jnp.uint8), state, reward, done, info

    return Env(name, num_envs, env.num_actions, obs_shape, reset, step)
