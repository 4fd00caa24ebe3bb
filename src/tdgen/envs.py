"""One small functional environment interface for the agents (gymnax MinAtar; envpool reserved).

An :class:`Env` is a bundle of pure, jit-able functions over a batch of
``num_envs`` environments, in the style of gymnax / PureJaxRL:

* ``reset(key) -> (obs, state)`` with ``obs: uint8[num_envs, *observation_shape]``;
* ``step(key, state, action) -> (obs, state, reward, done, info)`` with
  ``action: int32[num_envs]``, ``reward: float32[num_envs]``, ``done: bool[num_envs]``.

``step`` resets finished environments automatically (the returned ``obs`` is then the
first observation of the next episode).  ``info`` holds ``terminated`` and
``truncated`` (``done`` is their ``or``) and ``episode_return`` /
``episode_length``: the undiscounted return and length of the episode that has just
ended, valid where ``done``.  MinAtar observations are binary, so they are handed
out as ``uint8`` (4× smaller than ``float32`` in a replay buffer); networks cast them.

MinAtar: Young & Tian (2019), "MinAtar: An Atari-inspired testbed for thorough and
reproducible reinforcement learning experiments"; gymnax: Lange (2022).
"""

from __future__ import annotations

import ctypes.util
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

MINATAR_ENVS = ("Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "SpaceInvaders-MinAtar")
ENVPOOL_SUITES = ("atari", "procgen")


class UnknownEnvError(ValueError):
    """Raised for an environment name that no backend knows."""


class MissingBackendError(ImportError):
    """Raised when an environment needs an optional backend (envpool, Qt5) that is not installed."""


@struct.dataclass
class EnvState:
    """Batched backend state plus the running return and length of the current episodes (``[num_envs]``)."""

    inner: Any
    episode_return: jax.Array
    episode_length: jax.Array


@dataclass(frozen=True)
class Env:
    """A batch of ``num_envs`` environments as pure functions (see the module docstring for shapes)."""

    name: str
    num_envs: int
    num_actions: int
    observation_shape: tuple[int, ...]
    reset: Callable[[jax.Array], tuple[jax.Array, EnvState]]
    step: Callable[[jax.Array, EnvState, jax.Array], tuple[jax.Array, EnvState, jax.Array, jax.Array, dict]]


def make_env(name: str, num_envs: int = 1) -> Env:
    """The environment ``name`` as a batch of ``num_envs`` copies.

    ``name`` is a gymnax MinAtar name (``"Breakout-MinAtar"``, …) or, reserved for the
    optional envpool backend, ``"atari:<task>"`` / ``"procgen:<game>"``.  An unknown
    name raises :class:`UnknownEnvError` listing the known ones.
    """
    if num_envs < 1:
        raise ValueError(f"num_envs must be at least 1, got {num_envs}")
    suite, _, task = name.partition(":")
    if task and suite in ENVPOOL_SUITES:
        return _make_envpool_env(suite, task, num_envs)
    if name in MINATAR_ENVS:
        return _make_minatar_env(name, num_envs)
    known = ", ".join(MINATAR_ENVS)
    raise UnknownEnvError(
        f"unknown environment {name!r}; known MinAtar environments: {known}; "
        f"envpool environments are named 'atari:<task>' or 'procgen:<game>'"
    )


def _make_minatar_env(name: str, num_envs: int) -> Env:
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


def _make_envpool_env(suite: str, task: str, num_envs: int) -> Env:
    """Reserved: real Atari / ProcGen through envpool's XLA interface (optional extra ``tdgen[envpool]``)."""
    if importlib.util.find_spec("envpool") is None:
        needs = "envpool (pip install 'tdgen[envpool]')"
        if suite == "procgen":
            needs += " and the Qt5 runtime (Debian/Ubuntu package libqt5gui5)"
        raise MissingBackendError(f"environment '{suite}:{task}' needs {needs}, which is not installed")
    if suite == "procgen" and ctypes.util.find_library("Qt5Gui") is None:
        raise MissingBackendError(
            f"environment 'procgen:{task}' needs the Qt5 runtime (Debian/Ubuntu package libqt5gui5), which is not found"
        )
    raise NotImplementedError(f"the envpool backend for '{suite}:{task}' ({num_envs} envs) is not implemented yet")
