"""One small functional environment interface for the agents (gymnax MinAtar; Atari/ProcGen via envpool).

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

Real Atari (``"atari:Breakout-v5"``) and ProcGen (``"procgen:coinrun?num_levels=10"``)
come from envpool's XLA interface with the same functions (see :func:`_make_envpool_env`
for their options and the two ways they differ: next-step resets, one seed per pool).

MinAtar: Young & Tian (2019), "MinAtar: An Atari-inspired testbed for thorough and
reproducible reinforcement learning experiments"; gymnax: Lange (2022).
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from tdgen.validate import positive_int, text

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
    vmappable: bool = True  # False for one envpool pool: see vmap_over


def vmap_over(fn: Callable, env: Env, in_axes: int | tuple[int | None, ...] | None = 0) -> Callable:
    """``jax.vmap(fn, in_axes)`` for a ``fn`` that plays in ``env``; for one envpool pool, the same map in sequence.

    A pool cannot be vmapped (:func:`_single_pool`), but its episodes can be played one
    application after another: then ``fn`` is mapped with ``jax.lax.map`` over the
    leading axis of the arguments whose ``in_axes`` is 0 (the others are shared).  The
    result has the same shape either way, ``[n, *out]``; in sequence the applications
    share the pool, so each meets the episodes that follow the previous one's instead
    of the same ones.  ``in_axes`` may only hold 0 and ``None``.
    """
    if env.vmappable:
        return jax.vmap(fn, in_axes=in_axes)

    def mapped(*args: Any) -> Any:
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        if len(axes) != len(args) or any(axis not in (0, None) for axis in axes):
            raise ValueError(f"in_axes must give 0 or None for each of the {len(args)} arguments, got {in_axes}")
        mapped_args = tuple(arg for arg, axis in zip(args, axes, strict=True) if axis == 0)

        def one(slices: tuple) -> Any:
            it = iter(slices)
            return fn(*(next(it) if axis == 0 else arg for arg, axis in zip(args, axes, strict=True)))

        return jax.lax.map(one, mapped_args)

    return mapped


def make_env(name: str, num_envs: int = 1) -> Env:
    """The environment ``name`` as a batch of ``num_envs`` copies.

    ``name`` is a gymnax MinAtar name (``"Breakout-MinAtar"``, …), a jaxued Maze level set
    (``"maze?num_levels=100&start_level=0"``, see :mod:`tdgen.maze`) or, through the
    optional envpool backend, ``"atari:<task>"`` / ``"procgen:<game>"`` with options
    after a ``?`` (``"procgen:coinrun?num_levels=10&start_level=0"``; see
    :func:`_make_envpool_env`).  An unknown name raises :class:`UnknownEnvError`
    listing the known ones; a missing backend :class:`MissingBackendError`.
    """
    text("name", name)
    positive_int("num_envs", num_envs)
    suite, _, task = name.partition(":")
    if task and suite in ENVPOOL_SUITES:
        return _make_envpool_env(suite, task, num_envs)
    if name in MINATAR_ENVS:
        return _make_minatar_env(name, num_envs)
    if name.partition("?")[0] == "maze":
        from tdgen.maze import make_maze_env

        return make_maze_env(name, num_envs)
    known = ", ".join(MINATAR_ENVS)
    raise UnknownEnvError(
        f"unknown environment {name!r}; known MinAtar environments: {known}; "
        f"envpool environments are named 'atari:<task>' or 'procgen:<game>'; "
        f"jaxued Mazes 'maze?num_levels=N&start_level=S'"
    )


UNSEEN_LEVELS_START = 1_000_000  # first level key of the unseen (test) levels
PROCGEN_EPISODE_STEPS = 1_000  # ProcGen's time limit per episode (envpool's max_episode_steps)


def level_split(game: str, train_levels: int, test_levels: int) -> tuple[str, str, int]:
    """Names of a procedurally generated ``game``'s training and unseen levels, and its longest episode.

    ``game`` is ``"maze"`` (jaxued's Maze, :mod:`tdgen.maze`) or ``"procgen:<game>"``
    (envpool's ProcGen, easy mode).  Training levels are the level keys
    ``0 … train_levels − 1``; unseen ones the ``test_levels`` keys from
    :data:`UNSEEN_LEVELS_START` on, none of them trained on.  Returns
    ``(train name, unseen name, episode step limit)``, e.g. ``("procgen:coinrun?num_levels=10&start_level=0",
    "procgen:coinrun?num_levels=5000&start_level=1000000", 1000)``.
    """
    positive_int("train_levels", train_levels)
    positive_int("test_levels", test_levels)
    if game == "maze":
        from tdgen.maze import MAX_STEPS, maze_name

        return maze_name(0, train_levels), maze_name(UNSEEN_LEVELS_START, test_levels), MAX_STEPS
    suite, _, task = game.partition(":")
    if suite == "procgen" and task and "?" not in task:
        names = (
            f"{game}?num_levels={n}&start_level={start}"
            for start, n in ((0, train_levels), (UNSEEN_LEVELS_START, test_levels))
        )
        return (*names, PROCGEN_EPISODE_STEPS)
    raise UnknownEnvError(f"no level sets for {game!r}: level-based games are 'maze' and 'procgen:<game>' (no options)")


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


INTEGER_OPTIONS = {
    "num_levels": 0,  # ProcGen: 0 samples the full level distribution
    "start_level": 0,
    "seed": 0,
    "max_episode_steps": 1,
    "noop_max": 0,
    "frame_skip": 1,
    "stack_num": 1,
}
"""Environment options that must be plain integers (no ``true``, no ``2.5``), and their least allowed value."""


def parse_env_options(task: str, env_name: str | None = None) -> tuple[str, dict[str, int | float | bool | str]]:
    """Split ``"coinrun?num_levels=10&start_level=0"`` into the task and its options (int, float, bool or str).

    A key given twice, or an :data:`INTEGER_OPTIONS` value that is no integer or too small, raises a
    ``ValueError`` naming the option and ``env_name`` (default: ``task``).
    """
    where = task if env_name is None else env_name
    task, _, query = task.partition("?")
    options: dict[str, int | float | bool | str] = {}
    for item in filter(None, query.split("&")):
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"malformed environment option {item!r} in {where!r}: expected key=value")
        if key in options:
            raise ValueError(f"environment option {key!r} is given twice in {where!r}")
        options[key] = _option_value(key, raw, where)
    return task, options


def _option_value(key: str, raw: str, where: str) -> int | float | bool | str:
    """The value of option ``key`` written as ``raw`` in the environment name ``where``."""
    if key in INTEGER_OPTIONS:
        if re.fullmatch(r"-?[0-9]+", raw) is None:
            raise ValueError(f"environment option {key!r} of {where!r} must be an integer, got {raw!r}")
        if int(raw) < INTEGER_OPTIONS[key]:
            raise ValueError(
                f"environment option {key!r} of {where!r} must be at least {INTEGER_OPTIONS[key]}, got {raw!r}"
            )
        return int(raw)
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(number):
        raise ValueError(f"environment option {key!r} of {where!r} must be finite, got {raw!r}")
    return number


PROCGEN_MODES = {"easy": "Easy", "hard": "Hard", "extreme": "Extreme", "memory": "Memory", "exploration": "Exploration"}


def _envpool_task_id(suite: str, task: str, options: dict) -> str:
    """envpool's task id: ``Breakout-v5`` as given; ProcGen ``coinrun`` + ``distribution_mode`` → ``CoinrunEasy-v0``."""
    if suite == "atari":
        return task
    mode = str(options.pop("distribution_mode", "easy")).lower()
    if mode not in PROCGEN_MODES:
        raise ValueError(f"unknown ProcGen distribution_mode {mode!r}; known: {', '.join(PROCGEN_MODES)}")
    return f"{task.capitalize()}{PROCGEN_MODES[mode]}-v0"


def _single_pool(name: str, fn: Callable) -> Callable:
    """``fn`` with a vmap rule: one envpool pool is one batch of envs, so only a vmapped axis of size 1 is allowed.

    (:func:`~tdgen.agents.runner.run_cached` vmaps over seeds: an envpool run takes one
    seed per call.)  Unbatched arguments are passed as they are; outputs gain the axis.
    """
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def rule(axis_size, in_batched, *args):
        if axis_size != 1:
            raise ValueError(
                f"environment {name!r} is one envpool pool and cannot be vmapped over {axis_size} seeds: "
                "run one seed per call (or more parallel environments per seed)"
            )
        flat_batched = jax.tree.leaves(in_batched)
        flat_args, treedef = jax.tree.flatten(args)
        squeezed = [x[0] if b else x for x, b in zip(flat_args, flat_batched, strict=True)]
        out = fn(*jax.tree.unflatten(treedef, squeezed))
        return jax.tree.map(lambda x: x[None], out), jax.tree.map(lambda _: True, out)

    return wrapped


def _make_envpool_env(suite: str, task: str, num_envs: int) -> Env:
    """Real Atari / ProcGen through envpool's XLA interface (optional extra ``tdgen[envpool]``).

    Names: ``atari:<envpool task id>`` (``atari:Breakout-v5``: 84×84 grey frames, a stack
    of 4, frame skip 4, up to 30 no-op starts, no sticky actions, unclipped rewards,
    envpool's defaults) and ``procgen:<game>`` (``procgen:coinrun``: 64×64 RGB, the
    ``easy`` distribution).  Options follow a ``?`` as ``key=value`` pairs joined by
    ``&`` and go to ``envpool.make`` as they are, so the name alone — which is all an
    agent config stores, and what its cache key hashes — pins the environment:
    ``procgen:coinrun?num_levels=10&start_level=0`` trains on levels 0–9 (ProcGen's
    generalisation split), ``procgen:coinrun?num_levels=0`` samples the full level
    distribution, ``distribution_mode=hard`` picks another ProcGen mode and ``seed=3``
    the pool's seed (envpool seeds once, when the pool is made: ``reset``'s key is unused).

    Observations are turned channels-last (``[num_envs, 84, 84, 4]``, ``[num_envs, 64, 64, 3]``,
    ``uint8``).  The state's ``inner`` is envpool's handle: XLA threads it through
    ``send``/``recv`` to order the calls (the pool itself lives outside JAX, so a
    restored state continues with the pool of this process).  Two differences from
    MinAtar: envpool resets a finished environment on the *next* step (that step
    ignores its action and returns the first frame with reward 0; ``done`` marks the
    last frame of an episode, and ``info["reset_step"]`` marks these reset steps), and
    a pool cannot be vmapped over several seeds (see :func:`_single_pool`).
    """
    name = f"{suite}:{task}"
    base, options = parse_env_options(task, name)  # a malformed name fails even without the backend
    if importlib.util.find_spec("envpool") is None:
        needs = "envpool (pip install 'tdgen[envpool]')"
        if suite == "procgen":
            needs += " and the Qt5 runtime (Debian/Ubuntu package libqt5gui5)"
        raise MissingBackendError(f"environment '{suite}:{task}' needs {needs}, which is not installed")
    if suite == "procgen" and ctypes.util.find_library("Qt5Gui") is None:
        raise MissingBackendError(
            f"environment 'procgen:{task}' needs the Qt5 runtime (Debian/Ubuntu package libqt5gui5), which is not found"
        )
    import envpool
    import numpy as np
    from jax.experimental import io_callback

    task_id = _envpool_task_id(suite, base, options)
    if task_id not in envpool.list_all_envs():
        raise UnknownEnvError(f"envpool knows no task {task_id!r} (from {name!r})")
    pool = envpool.make(task_id, env_type="gymnasium", num_envs=num_envs, batch_size=num_envs, **options)
    handle0, _, _, xla_step = pool.xla()
    handle0 = np.asarray(handle0)
    obs_space = pool.observation_space
    obs_shape = (*obs_space.shape[1:], obs_space.shape[0])  # channels last
    obs_t = jax.ShapeDtypeStruct((num_envs, *obs_space.shape), jnp.uint8)

    def channels_last(obs: jax.Array) -> jax.Array:
        return jnp.moveaxis(obs.astype(jnp.uint8), -3, -1)

    def reset_pool() -> np.ndarray:
        return np.asarray(pool.reset()[0], dtype=np.uint8)

    def _reset(key: jax.Array) -> tuple[jax.Array, EnvState]:
        del key  # envpool is seeded when the pool is made
        obs = io_callback(reset_pool, obs_t, ordered=False)
        obs, handle = jax.lax.optimization_barrier((obs, jnp.asarray(handle0)))  # step after the reset
        zeros = jnp.zeros(num_envs, dtype=jnp.float32)
        return channels_last(obs), EnvState(handle, zeros, zeros.astype(jnp.int32))

    def _step(key: jax.Array, state: EnvState, action: jax.Array):
        del key
        handle, (obs, reward, terminated, truncated, pool_info) = xla_step(state.inner, action.astype(jnp.int32))
        reward = reward.astype(jnp.float32)
        done = jnp.logical_or(terminated, truncated)
        reset_step = pool_info["elapsed_step"] == 0
        episode_return = state.episode_return + reward
        episode_length = jnp.where(reset_step, state.episode_length, state.episode_length + 1)
        info = {
            "terminated": terminated,
            "truncated": truncated,
            "episode_return": episode_return,
            "episode_length": episode_length,
            "reset_step": reset_step,
        }
        state = EnvState(handle, jnp.where(done, 0.0, episode_return), jnp.where(done, 0, episode_length))
        return channels_last(obs), state, reward, done, info

    reset = _single_pool(name, _reset)
    step = _single_pool(name, _step)
    return Env(name, num_envs, int(pool.action_space.n), obs_shape, reset, step, vmappable=False)
