"""Training runs as one jit-compiled scan, or in cached, resumable chunks with parameter checkpoints.

An agent (PPO, DQN) is a :class:`Trainer`: ``init(rng) -> state`` and a pure
``update(state) -> (state, metrics)`` on one seed.  Training is ``num_checkpoints``
chunks of ``updates_per_chunk`` updates each; the network parameters are kept at the
start and after every chunk, i.e. at ``num_checkpoints + 1`` evenly spaced points.

* :func:`make_train` builds ``train(rng) -> Run``: the whole run as ONE jit-compiled
  ``lax.scan`` (vmap it over seeds).
* :func:`run_cached` runs a batch of seeds chunk by chunk, saving after each chunk
  under ``cache_dir/<Config>-<hash of config and seeds>/``; a finished run is loaded,
  not retrained, and an interrupted run resumes from its last saved chunk.
* :func:`shard_seeds` spreads the seed axis over every device (``jax.sharding``), so
  the vmapped seeds of one run use all GPUs of a machine; :func:`run_cached` does it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization
from tqdm.auto import tqdm

from tdgen.paths import atomic_write_bytes

CACHE_FORMAT = 1  # bump when the saved layout changes, so old caches are not misread


class Trainer(NamedTuple):
    """One agent on one seed: pure ``init``, ``update`` and ``params`` plus the schedule of checkpoints."""

    init: Callable[[jax.Array], Any]  # rng -> training state
    update: Callable[[Any], tuple[Any, dict[str, jax.Array]]]  # state -> (state, scalar metrics of the update)
    params: Callable[[Any], Any]  # state -> network parameters
    num_checkpoints: int
    updates_per_chunk: int
    steps_per_update: int  # environment steps (over all parallel envs) per update


class Run(NamedTuple):
    """Result of a run; with seeds vmapped every leaf gains a leading ``[seeds]`` axis.

    ``params``: every parameter leaf stacked as ``[num_checkpoints + 1, ...]``
    (checkpoint ``k`` after ``k · updates_per_chunk`` updates); ``metrics``: each
    metric as ``[num_checkpoints · updates_per_chunk]``, one value per update.
    """

    params: Any
    metrics: dict[str, jax.Array]


def episode_metrics(done: jax.Array, episode_return: jax.Array) -> dict[str, jax.Array]:
    """Mean return of the episodes that ended in a batch of transitions (NaN if none) and their number.

    ``done``, ``episode_return``: ``[...]`` with the env's ``info["episode_return"]``.
    """
    count = done.sum()
    total = jnp.where(done, episode_return, 0.0).sum()
    return {"episode_return": jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan), "episodes": count}


def final_return(metrics: dict[str, np.ndarray], fraction: float = 0.1) -> np.ndarray:
    """Mean episode return over the last ``fraction`` of updates, per seed: ``[seeds, updates] -> [seeds]``.

    Each update's mean return is weighted by its number of finished episodes.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    returns, counts = np.asarray(metrics["episode_return"]), np.asarray(metrics["episodes"])
    tail = max(1, round(returns.shape[-1] * fraction))
    r, c = returns[..., -tail:], counts[..., -tail:]
    return np.where(c > 0, np.nan_to_num(r) * c, 0.0).sum(-1) / np.maximum(c.sum(-1), 1)


def shard_seeds(tree: Any) -> Any:
    """Place the leading (seed) axis of every leaf of ``tree`` across all devices, one block per device.

    Jit-compiled, vmapped functions of the result run each device's seeds on that
    device, and their outputs keep the sharding.  With one device ``tree`` is
    returned as it is.  The number of seeds must be a multiple of the device count.
    """
    devices = jax.devices()
    if len(devices) == 1:
        return tree
    sizes = {np.shape(leaf)[0] for leaf in jax.tree.leaves(tree)}
    if len(sizes) != 1 or sizes.pop() % len(devices):
        raise ValueError(
            f"cannot split the seed axis (leading sizes {sorted({np.shape(x)[0] for x in jax.tree.leaves(tree)})}) "
            f"evenly over {len(devices)} devices: use a multiple of {len(devices)} seeds"
        )
    mesh = jax.sharding.Mesh(np.array(devices), ("seeds",))
    return jax.device_put(tree, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("seeds")))


def _chunk(trainer: Trainer) -> Callable[[Any], tuple[Any, dict[str, jax.Array]]]:
    """``state -> (state, metrics [updates_per_chunk])``: one chunk of updates as a ``lax.scan``."""

    def chunk(state):
        return jax.lax.scan(lambda s, _: trainer.update(s), state, None, length=trainer.updates_per_chunk)

    return chunk


@functools.lru_cache(maxsize=8)
def _batched(trainer: Trainer) -> tuple[Callable, Callable, Callable]:
    """``init``, one chunk and ``params`` vmapped over seeds (jitted once per trainer, so a resumed run reuses them)."""
    return jax.jit(jax.vmap(trainer.init)), jax.jit(jax.vmap(_chunk(trainer))), jax.vmap(trainer.params)


def make_train(trainer: Trainer) -> Callable[[jax.Array], Run]:
    """Jit-compiled ``train(rng) -> Run`` for one seed: one ``lax.scan`` over chunks of a ``lax.scan`` over updates."""
    chunk = _chunk(trainer)

    def train(rng: jax.Array) -> Run:
        state = trainer.init(rng)

        def body(state, _):
            state, metrics = chunk(state)
            return state, (trainer.params(state), metrics)

        _, (params, metrics) = jax.lax.scan(body, state, None, length=trainer.num_checkpoints)
        params = jax.tree.map(lambda p0, p: jnp.concatenate([p0[None], p]), trainer.params(state), params)
        return Run(params, jax.tree.map(lambda m: m.reshape(-1), metrics))

    return jax.jit(train)


def cache_key(config: Any, rngs: jax.Array) -> str:
    """``<ConfigClass>-<16 hex digits>``: a hash of the frozen config dataclass, the seeds' keys and the format."""
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config must be a dataclass, got {type(config).__name__}")
    payload = {
        "config": dataclasses.asdict(config),
        "rngs": np.asarray(rngs).tolist(),
        "format": CACHE_FORMAT,
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
    return f"{type(config).__name__}-{digest}"


def _save(path: Path, tree: Any) -> None:
    """Write the leaves of ``tree`` (any pytree: flax, optax and flashbax states alike) atomically as msgpack."""
    atomic_write_bytes(path, serialization.to_bytes(jax.device_get(jax.tree.leaves(tree))))


def _load(path: Path, template: Any) -> Any:
    """Read ``path`` into the structure of ``template`` (arrays or ``ShapeDtypeStruct``s), checking every shape."""
    leaves, treedef = jax.tree.flatten(template)
    try:
        loaded = serialization.from_bytes(leaves, path.read_bytes())
    except ValueError as error:
        raise ValueError(f"checkpoint {path} does not match this run: {error}") from error
    for got, want in zip(loaded, leaves, strict=True):
        if np.shape(got) != tuple(want.shape):
            raise ValueError(
                f"checkpoint {path} does not match this run: a leaf has shape {np.shape(got)}, not {want.shape}"
            )
    return jax.tree.unflatten(treedef, [np.asarray(x, dtype=w.dtype) for x, w in zip(loaded, leaves, strict=True)])


def run_cached(
    config: Any, trainer: Trainer, rngs: jax.Array, cache_dir: Path, progress: bool = True
) -> tuple[Run, Path]:
    """Train one seed per key of ``rngs`` (``[seeds, 2]``), chunk by chunk, caching under ``cache_dir``.

    Returns the :class:`Run` (leaves with a leading ``[seeds]`` axis) and its folder
    ``cache_dir/<cache_key>``.  After chunk ``k`` the folder holds ``params_<k>``,
    ``metrics_<k>`` and ``state`` (the full training state, written last); a
    finished run is collapsed into ``result.msgpack``, which later calls load.
    """
    folder = Path(cache_dir) / cache_key(config, rngs)
    init, chunk, params_of = _batched(trainer)
    state_t = jax.eval_shape(init, rngs)
    params_t = jax.eval_shape(params_of, state_t)
    metrics_t = jax.eval_shape(chunk, state_t)[1]
    result = folder / "result.msgpack"
    if result.exists():
        n_points, n_updates = trainer.num_checkpoints + 1, trainer.num_checkpoints * trainer.updates_per_chunk
        template = Run(
            jax.tree.map(lambda t: jax.ShapeDtypeStruct((t.shape[0], n_points, *t.shape[1:]), t.dtype), params_t),
            jax.tree.map(lambda t: jax.ShapeDtypeStruct((t.shape[0], n_updates), t.dtype), metrics_t),
        )
        return _load(result, template), folder

    atomic_write_bytes(folder / "config.json", json.dumps(dataclasses.asdict(config), indent=1).encode())
    if (folder / "state.msgpack").exists():
        saved = _load(folder / "state.msgpack", {"chunk": jax.ShapeDtypeStruct((), np.int32), "state": state_t})
        done, state = int(saved["chunk"]), shard_seeds(saved["state"])
    else:
        done, state = 0, init(shard_seeds(rngs))
        _save(folder / "params_0.msgpack", params_of(state))
    params = [_load(folder / f"params_{k}.msgpack", params_t) for k in range(done + 1)]
    metrics = [_load(folder / f"metrics_{k}.msgpack", metrics_t) for k in range(1, done + 1)]
    steps = trainer.updates_per_chunk * trainer.steps_per_update
    bar = tqdm(total=trainer.num_checkpoints * steps, initial=done * steps, unit="step", disable=not progress)
    bar.set_description(f"{type(config).__name__} ×{rngs.shape[0]} seeds (steps per seed)")
    with bar:
        for k in range(done + 1, trainer.num_checkpoints + 1):
            state, chunk_metrics = chunk(state)
            params.append(params_of(state))
            metrics.append(jax.device_get(chunk_metrics))
            _save(folder / f"params_{k}.msgpack", params[-1])
            _save(folder / f"metrics_{k}.msgpack", metrics[-1])
            _save(folder / "state.msgpack", {"chunk": np.int32(k), "state": state})
            bar.update(steps)
            bar.set_postfix(episode_return=f"{final_return(metrics[-1], fraction=1.0).mean():.2f}")
    run = Run(
        jax.tree.map(lambda *p: np.stack(p, axis=1), *params),
        jax.tree.map(lambda *m: np.concatenate(m, axis=1), *metrics),
    )
    _save(result, run)
    for path in [*folder.glob("params_*.msgpack"), *folder.glob("metrics_*.msgpack"), folder / "state.msgpack"]:
        path.unlink(missing_ok=True)
    return run, folder
