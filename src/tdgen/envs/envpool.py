"""Real Atari and ProcGen through envpool's XLA interface (optional extra ``tdgen[envpool]``).

See :func:`make_envpool_env` for the names, their options and the two ways these
environments differ from MinAtar: next-step resets, and one seed per pool.
"""

from __future__ import annotations

import ctypes.util
import importlib.util
from collections.abc import Callable

import jax
import jax.numpy as jnp

from tdgen.envs.interface import Env, EnvState, MissingBackendError, UnknownEnvError, parse_env_options

ENVPOOL_SUITES = ("atari", "procgen")


PROCGEN_EPISODE_STEPS = 1_000  # ProcGen's time limit per episode (envpool's max_episode_steps)


PROCGEN_MODES = {"easy": "Easy", "hard": "Hard", "extreme": "Extreme", "memory": "Memory", "exploration": "Exploration"}


def is_envpool(env_name: str) -> bool:
    """Whether ``env_name`` comes from envpool (``atari:…``, ``procgen:…``), whose pools serve one seed each."""
    suite, _, task = env_name.partition(":")
    return bool(task) and suite in ENVPOOL_SUITES


def seeded_env_name(env_name: str, seed: int) -> str:
    """``env_name`` with envpool's pool seed ``seed`` as an option (``atari:Pong-v5?seed=3``).

    MinAtar names, and envpool names that already pin a ``seed``, are returned as they are.
    """
    if not is_envpool(env_name) or "seed" in parse_env_options(env_name.partition(":")[2])[1]:
        return env_name
    return f"{env_name}{'&' if '?' in env_name else '?'}seed={seed}"


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

    (:func:`~tdgen.rl.runner.run_cached` vmaps over seeds: an envpool run takes one
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


def make_envpool_env(suite: str, task: str, num_envs: int) -> Env:
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
    a pool cannot be vmapped over several seeds (see ``_single_pool``).
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
