"""The functional, batched environment interface every backend implements (gymnax / PureJaxRL style).

An :class:`Env` is a bundle of pure, jit-able functions over a batch of
``num_envs`` environments:

* ``reset(key) -> (obs, state)`` with ``obs: uint8[num_envs, *observation_shape]``;
* ``step(key, state, action) -> (obs, state, reward, done, info)`` with
  ``action: int32[num_envs]``, ``reward: float32[num_envs]``, ``done: bool[num_envs]``.

``step`` resets finished environments automatically (the returned ``obs`` is then the
first observation of the next episode).  ``info`` holds ``terminated`` and
``truncated`` (``done`` is their ``or``) and ``episode_return`` /
``episode_length``: the undiscounted return and length of the episode that has just
ended, valid where ``done``.  Observations are handed out as ``uint8`` (4× smaller than
``float32`` in a replay buffer); networks cast them.  envpool backends also set
``info["reset_step"]`` (see :mod:`tdgen.envs.envpool`): read it with :func:`reset_step`
and :func:`terminal`, which hold for every backend.

Environment names may carry options after a ``?`` (``"procgen:coinrun?num_levels=10"``),
parsed by :func:`parse_env_options`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


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


def reset_step(done: jax.Array, info: Mapping[str, jax.Array]) -> jax.Array:
    """Which steps were envpool reset steps, ``bool[N]``: ``info["reset_step"]``, or all false.

    On a reset step an envpool environment ignored its action and moved from an
    episode's last frame to the next episode's first (:mod:`tdgen.envs.envpool`); JAX
    backends reset within the step that ends an episode and have none.  ``done`` gives
    the shape of the all-false answer; ``info`` is a step's ``info`` or any mapping that
    may hold ``"reset_step"`` (a rollout's record, say).
    """
    return info.get("reset_step", jnp.zeros_like(done))


def terminal(done: jax.Array, info: Mapping[str, jax.Array]) -> jax.Array:
    """Steps to treat as terminal, ``bool[N]``: ``d̃ = done ∨ reset_step`` (just ``done`` without envpool).

    An envpool reset step starts from an episode's last frame, a terminal state, so
    nothing may bootstrap from its observation: a TD target ``r + γ (1 − d̃) V(x')``
    (:mod:`tdgen.rl.td`) uses ``d̃``.  ``info``: as in :func:`reset_step`.
    """
    return jnp.logical_or(done, info["reset_step"]) if "reset_step" in info else done


def vmap_over(fn: Callable, env: Env, in_axes: int | tuple[int | None, ...] | None = 0) -> Callable:
    """``jax.vmap(fn, in_axes)`` for a ``fn`` that plays in ``env``; for one envpool pool, the same map in sequence.

    A pool cannot be vmapped (see ``envpool._single_pool``), but its episodes can be played one
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

    A key given twice, or an ``INTEGER_OPTIONS`` value that is no integer or too small, raises a
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
