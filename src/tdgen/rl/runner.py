"""Training runs as one jit-compiled scan, or in cached, resumable chunks with parameter checkpoints.

An agent (PPO, DQN) is a :class:`Trainer`: ``init(rng) -> state`` and a pure
``update(state) -> (state, metrics)`` on one seed.  Training is ``num_checkpoints``
chunks of ``updates_per_chunk`` updates each; the network parameters are kept at the
start and after every chunk, i.e. at ``num_checkpoints + 1`` evenly spaced points.

* :func:`make_train` builds ``train(rng) -> Run``: the whole run as ONE jit-compiled
  ``lax.scan`` (vmap it over seeds).
* :func:`run_cached` runs a batch of seeds chunk by chunk, saving after each chunk
  under ``cache_dir/<Config>-<hash>/`` (:func:`cache_key`); a finished run is loaded,
  not retrained, and an interrupted run resumes from its last saved chunk.
* :func:`shard_seeds` spreads the seed axis over every device (``jax.sharding``), so
  the vmapped seeds of one run use all GPUs of a machine; :func:`run_cached` does it.

Progress is reported from inside the compiled loop: the updates of a chunk run in
blocks of ``progress_every`` (default: 1 % of the run), and after each block a
``jax.debug.callback`` sends the number of updates done to a tqdm bar on the host.
The counter comes from the loop's own indices, the same for every seed, so under
``vmap`` the callback is not batched and fires once, not once per seed.
``progress=False`` compiles the loop without it.

:func:`run_cached` writes the full training state (for DQN: the replay buffer too)
only while doing so costs at most ``checkpoint_overhead`` of the training time since
the last such write; an interrupted run resumes from the last saved state and
recomputes the chunks after it (identically: the runs are deterministic).

A cache entry cannot go stale or be misread.  Its name hashes everything that
determines the agents (:func:`key_ingredients`): the config, the seeds' keys, the
source of the modules that train them as this process imported it
(:data:`SOURCE_HASH`, :func:`training_sources`) and the versions of Python and the
numerical libraries (:func:`library_versions`), so an edited trainer or an upgraded
JAX trains anew.  Its manifest ``config.json`` holds these ingredients and the
SHA-256 of every file saved in the entry; each file is written atomically and the
manifest updated (atomically) right after it.  A file is loaded only if its checksum
matches: a mismatch, an unreadable file or a manifest written for another run is
reported in one :class:`CacheWarning` line, and the entry is discarded and trained
again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import platform
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from tdgen.paths import atomic_write_bytes

# Progress bars: tqdm.auto's Jupyter widget needs ipywidgets; without them tqdm.auto falls back to the text bar
# only after a TqdmWarning that prints this machine's paths into the notebook (and the book's pages).
if importlib.util.find_spec("ipywidgets") is None:
    from tqdm.std import tqdm
else:
    from tqdm.auto import tqdm

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the tdgen package
#: The modules whose code trains an agent (see training_sources); their source is part of every cache key.
TRAINING_MODULES = (
    "tdgen.envs",
    "tdgen.envs.envpool",
    "tdgen.envs.interface",
    "tdgen.envs.maze",
    "tdgen.envs.minatar",
    "tdgen.rl.dqn",
    "tdgen.rl.networks",
    "tdgen.rl.policies",
    "tdgen.rl.ppo",
    "tdgen.rl.runner",
    "tdgen.rl.td",
    "tdgen.validate",
)
#: The libraries whose versions are part of every cache key (envpool only where it is installed).
LIBRARIES = ("jax", "jaxlib", "numpy", "flax", "optax", "gymnax", "flashbax", "jaxued", "envpool")
MANIFEST, RESULT, STATE = "config.json", "result.msgpack", "state.msgpack"  # file names in a cache entry


class CacheWarning(UserWarning):
    """A cached run failed a check and is trained again; the message names the entry, the file and the check."""


class CorruptEntryError(Exception):
    """A cache entry that must not be loaded; the message says which file failed which check."""


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


def final_return(metrics: dict[str, np.ndarray], fraction: float = 0.1, warn: bool = True) -> np.ndarray:
    """Mean episode return over the last ``fraction`` of updates, per seed: ``[seeds, updates] -> [seeds]``.

    Each update's mean return is weighted by its number of finished episodes.  A seed
    that finished no episode in that window has no return there: NaN (not 0), and,
    unless ``warn=False`` (e.g. for a progress display), a ``RuntimeWarning`` says how
    many seeds that was.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    returns, counts = np.asarray(metrics["episode_return"]), np.asarray(metrics["episodes"])
    tail = max(1, round(returns.shape[-1] * fraction))
    r, c = returns[..., -tail:], counts[..., -tail:]
    episodes = c.sum(-1)
    mean = np.where(c > 0, np.nan_to_num(r) * c, 0.0).sum(-1) / np.maximum(episodes, 1)
    empty = episodes == 0
    if warn and np.any(empty):
        warnings.warn(
            f"final_return: {int(np.sum(empty))} of {np.size(empty)} seed(s) finished no episode in the last "
            f"{tail} update(s); their return is NaN",
            RuntimeWarning,
            stacklevel=2,
        )
    return np.where(empty, np.nan, mean)


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


def default_progress_every(trainer: Trainer) -> int:
    """Updates between two progress reports: about 100 reports per run, at most one per update."""
    return max(1, trainer.num_checkpoints * trainer.updates_per_chunk // 100)


# Host side of the in-loop progress reports.  The compiled loop holds only a key (the
# trainer's id); what the reports move is looked up at call time: the bar of a
# running :func:`run_cached`, else a bar opened by the first report of a run.
_SINKS: dict[int, Callable[[int], None]] = {}
_AUTO_BARS: dict[int, Any] = {}


def _report(key: int, total: int, steps_per_update: int, updates_done: Any) -> None:
    """Move the progress of run ``key`` to ``updates_done`` (of ``total``); repeated or late reports are ignored."""
    done = int(np.max(updates_done))  # a scalar, or one copy per device of a sharded run
    if key in _SINKS:
        _SINKS[key](done)
        return
    bar = _AUTO_BARS.get(key)
    if bar is None or done <= bar.n // steps_per_update:
        if bar is not None:
            bar.close()
        bar = _AUTO_BARS[key] = tqdm(total=total * steps_per_update, unit="step", desc="training (steps per seed)")
    bar.update(done * steps_per_update - bar.n)
    if done >= total:
        bar.close()
        _AUTO_BARS.pop(key, None)


def _chunk(trainer: Trainer, progress_every: int | None = None) -> Callable[[Any, jax.Array], tuple[Any, dict]]:
    """``(state, first update index) -> (state, metrics [updates_per_chunk])``: one chunk of updates.

    Without progress (``progress_every=None``) the chunk is one ``lax.scan`` over the
    updates.  With it, the updates run in blocks of ``progress_every`` (at most the
    chunk): a ``lax.scan`` over blocks, each an inner ``lax.scan`` of plain updates
    followed by one host callback with the number of updates done, and a shorter last
    block for the remainder.  The inner loops hold no callback, so they stay device
    loops (a callback inside every update costs DQN ~30% on a GPU).  ``start`` and the
    block index are unbatched, so under ``vmap`` each report is made once.
    """
    length = trainer.updates_per_chunk

    def plain(state: Any, steps: int) -> tuple[Any, dict]:
        return jax.lax.scan(lambda s, _: trainer.update(s), state, None, length=steps)

    if progress_every is None:
        return lambda state, start: plain(state, length)
    if progress_every < 1:
        raise ValueError(f"progress_every must be at least 1, got {progress_every}")
    block = min(progress_every, length)
    blocks, rest = divmod(length, block)
    total = trainer.num_checkpoints * length
    report = functools.partial(_report, id(trainer), total, trainer.steps_per_update)

    def chunk(state: Any, start: jax.Array) -> tuple[Any, dict]:
        def body(state, b):
            state, metrics = plain(state, block)
            jax.debug.callback(report, start + (b + 1) * block)
            return state, metrics

        state, metrics = jax.lax.scan(body, state, jnp.arange(blocks, dtype=jnp.int32))
        metrics = jax.tree.map(lambda m: m.reshape((blocks * block, *m.shape[2:])), metrics)
        if rest:
            state, tail = plain(state, rest)
            jax.debug.callback(report, start + length)
            metrics = jax.tree.map(lambda m, t: jnp.concatenate([m, t]), metrics, tail)
        return state, metrics

    return chunk


@functools.lru_cache(maxsize=8)
def _batched(trainer: Trainer, progress_every: int | None = None) -> tuple[Callable, Callable, Callable]:
    """``init``, one chunk (``(states, start)``) and ``params`` vmapped over seeds, jitted once per trainer."""
    chunk = jax.vmap(_chunk(trainer, progress_every), in_axes=(0, None))
    return jax.jit(jax.vmap(trainer.init)), jax.jit(chunk), jax.vmap(trainer.params)


def make_train(
    trainer: Trainer, progress: bool = True, progress_every: int | None = None
) -> Callable[[jax.Array], Run]:
    """Jit-compiled ``train(rng) -> Run`` for one seed: one ``lax.scan`` over chunks of a ``lax.scan`` over updates.

    With ``progress`` a tqdm bar follows the run from inside the loop, every
    ``progress_every`` updates (default :func:`default_progress_every`), once however
    many seeds ``train`` is vmapped over.
    """
    chunk = _chunk(trainer, (progress_every or default_progress_every(trainer)) if progress else None)

    def train(rng: jax.Array) -> Run:
        state = trainer.init(rng)

        def body(state, k):
            state, metrics = chunk(state, k * trainer.updates_per_chunk)
            return state, (trainer.params(state), metrics)

        _, (params, metrics) = jax.lax.scan(body, state, jnp.arange(trainer.num_checkpoints, dtype=jnp.int32))
        params = jax.tree.map(lambda p0, p: jnp.concatenate([p0[None], p]), trainer.params(state), params)
        return Run(params, jax.tree.map(lambda m: m.reshape(-1), metrics))

    return jax.jit(train)


def training_sources(package_dir: Path | None = None) -> list[Path]:
    """The source files of :data:`TRAINING_MODULES`, the modules whose code trains an agent, sorted.

    They are the trainers (:mod:`~tdgen.rl.ppo`, :mod:`~tdgen.rl.dqn`), their
    networks, the ε-greedy choice and TD targets they share with the rest of the book
    (:mod:`~tdgen.rl.policies`, :mod:`~tdgen.rl.td`), this runner, the environments
    (the :mod:`tdgen.envs` package but its tabular MDPs) and the value checks these
    run (:mod:`tdgen.validate`).  Every tdgen module they import
    is among them except :mod:`tdgen.profiles`, which reaches an agent only through its
    config, and :mod:`tdgen.paths`, which writes files.  ``package_dir`` is the ``tdgen``
    package folder (default: this one).
    """
    package_dir = package_dir or PACKAGE_DIR
    return sorted(_module_file(package_dir, module) for module in TRAINING_MODULES)


def _module_file(package_dir: Path, module: str) -> Path:
    """The source of ``module`` (``tdgen.a.b``) in the folder ``package_dir``: ``a/b.py`` or ``a/b/__init__.py``."""
    folder = package_dir.joinpath(*module.split(".")[1:])
    return folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")


def source_hash(package_dir: Path | None = None) -> str:
    """SHA-256 over the relative path, size and bytes of every file of :func:`training_sources`, in sorted order."""
    package_dir = package_dir or PACKAGE_DIR
    digest = hashlib.sha256()
    for path in training_sources(package_dir):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(package_dir).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


#: The hash of the training code this process runs, taken when the trainers import this module (later edits
#: on disk reach a process only when it restarts).  It is the ``source`` of every cache key.
SOURCE_HASH = source_hash()


def _warn_if_source_changed() -> None:
    """One line when the training source on disk is no longer the one this process imported and keys runs by."""
    if source_hash() != SOURCE_HASH:
        warnings.warn(
            "the training source in tdgen changed since it was imported: this process still trains and caches "
            "with the imported code; restart it (the kernel) to use the new code",
            RuntimeWarning,
            stacklevel=3,
        )


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    """The versions of Python and of every library in :data:`LIBRARIES` (``None`` for one not installed)."""
    return {"python": platform.python_version(), **{name: _version(name) for name in LIBRARIES}}


def key_ingredients(config: Any, rngs: jax.Array) -> dict[str, Any]:
    """What determines a run, as its manifest stores it: ``config``, ``seeds``, ``source`` and ``versions``.

    ``config``: the frozen config dataclass as a dict; ``seeds``: the keys of ``rngs``;
    ``source``: :data:`SOURCE_HASH`; ``versions``: :func:`library_versions`.  Tuples
    become lists, as in JSON, so the result compares equal to a manifest read back.
    """
    if not dataclasses.is_dataclass(config):
        raise TypeError(f"config must be a dataclass, got {type(config).__name__}")
    ingredients = {
        "config": dataclasses.asdict(config),
        "seeds": np.asarray(rngs).tolist(),
        "source": SOURCE_HASH,
        "versions": library_versions(),
    }
    return json.loads(json.dumps(ingredients))


def _entry_name(config: Any, ingredients: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(ingredients, sort_keys=True).encode()).hexdigest()[:16]
    return f"{type(config).__name__}-{digest}"


def cache_key(config: Any, rngs: jax.Array) -> str:
    """``<ConfigClass>-<16 hex digits>``: the name of a run's cache entry, a hash of its :func:`key_ingredients`."""
    return _entry_name(config, key_ingredients(config, rngs))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the entry's manifest, ``{"key": key ingredients, "files": {name: SHA-256}}``, atomically."""
    atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())


def _read_manifest(folder: Path) -> dict[str, Any]:
    """The entry's manifest; :class:`CorruptEntryError` if it is missing, unreadable or not a manifest."""
    try:
        manifest = json.loads((folder / MANIFEST).read_bytes())
    except (OSError, ValueError) as error:
        raise CorruptEntryError(f"{MANIFEST} is unreadable ({error})") from error
    if not isinstance(manifest, dict) or not all(isinstance(manifest.get(k), dict) for k in ("key", "files")):
        raise CorruptEntryError(f"{MANIFEST} is not a manifest (it lacks a key or a list of files)")
    return manifest


def _checked_manifest(folder: Path, ingredients: dict[str, Any]) -> dict[str, Any]:
    """The manifest of the entry in ``folder`` if it was written for the run of ``ingredients``.

    A folder without a manifest or saved files is a new entry: it gets a manifest with
    no files.  Otherwise a missing or unreadable manifest, or one whose ingredients
    differ from ``ingredients``, raises :class:`CorruptEntryError` (naming those that differ).
    """
    if not (folder / MANIFEST).exists() and not any(folder.glob("*.msgpack")):
        manifest = {"key": ingredients, "files": {}}
        _write_manifest(folder, manifest)
        return manifest
    manifest = _read_manifest(folder)
    differ = [name for name in ingredients if manifest["key"].get(name) != ingredients[name]]
    if differ:
        verb = "differs" if len(differ) == 1 else "differ"
        raise CorruptEntryError(f"{MANIFEST} was written for another run: its {' and '.join(differ)} {verb}")
    return manifest


def _save(path: Path, tree: Any) -> None:
    """Write the leaves of ``tree`` (any pytree: flax, optax and flashbax states alike) atomically as msgpack.

    Then its SHA-256 goes into the manifest of the folder, which is rewritten atomically.
    """
    data = serialization.to_bytes(jax.device_get(jax.tree.leaves(tree)))
    atomic_write_bytes(path, data)
    manifest = _read_manifest(path.parent)
    manifest["files"][path.name] = _sha256(data)
    _write_manifest(path.parent, manifest)


def _load(folder: Path, name: str, manifest: dict[str, Any], template: Any) -> Any:
    """Read ``folder/name`` into the structure of ``template`` (arrays or ``ShapeDtypeStruct``s).

    The file must be in ``manifest``, readable and match its SHA-256 there, else
    :class:`CorruptEntryError`.  A sound file that does not fit ``template`` (a trainer
    other than the config's) raises ``ValueError``: every shape is checked.
    """
    path, expected = folder / name, manifest["files"].get(name)
    if expected is None:
        raise CorruptEntryError(f"{name} is not in {MANIFEST}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorruptEntryError(f"{name} is unreadable ({error.strerror or error})") from error
    if (actual := _sha256(data)) != expected:
        raise CorruptEntryError(f"{name} fails its checksum (SHA-256 {actual[:12]}…, {MANIFEST} has {expected[:12]}…)")
    leaves, treedef = jax.tree.flatten(template)
    try:
        loaded = serialization.from_bytes(leaves, data)
    except ValueError as error:
        raise ValueError(f"checkpoint {path} does not match this run: {error}") from error
    for got, want in zip(loaded, leaves, strict=True):
        if np.shape(got) != tuple(want.shape):
            raise ValueError(
                f"checkpoint {path} does not match this run: a leaf has shape {np.shape(got)}, not {want.shape}"
            )
    return jax.tree.unflatten(treedef, [np.asarray(x, dtype=w.dtype) for x, w in zip(loaded, leaves, strict=True)])


class _Resume(NamedTuple):
    """Where a run continues: after chunk ``done``, from ``state`` (``None``: from the start), with what it saved."""

    done: int
    state: Any
    params: list[Any]  # parameters at checkpoints 0 … done
    metrics: list[dict[str, np.ndarray]]  # metrics of chunks 1 … done


def _restore(
    folder: Path, ingredients: dict[str, Any], run_t: Run, state_t: Any, params_t: Any, metrics_t: Any
) -> Run | _Resume:
    """What the entry in ``folder`` holds for the run of ``ingredients``: its finished :class:`Run`, or where to resume.

    ``run_t``, ``state_t``, ``params_t``, ``metrics_t``: templates of the result, the
    full state, one checkpoint's parameters and one chunk's metrics.  Every file is
    checked before it is read (:func:`_load`), so this raises :class:`CorruptEntryError`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _checked_manifest(folder, ingredients)
    if RESULT in manifest["files"]:
        return _load(folder, RESULT, manifest, run_t)
    if STATE not in manifest["files"]:
        return _Resume(0, None, [], [])
    saved = _load(folder, STATE, manifest, {"chunk": jax.ShapeDtypeStruct((), np.int32), "state": state_t})
    done = int(saved["chunk"])
    params = [_load(folder, f"params_{k}.msgpack", manifest, params_t) for k in range(done + 1)]
    metrics = [_load(folder, f"metrics_{k}.msgpack", manifest, metrics_t) for k in range(1, done + 1)]
    return _Resume(done, saved["state"], params, metrics)


def run_cached(
    config: Any,
    trainer: Trainer,
    rngs: jax.Array,
    cache_dir: Path,
    progress: bool = True,
    progress_every: int | None = None,
    checkpoint_overhead: float | None = 0.1,
) -> tuple[Run, Path]:
    """Train one seed per key of ``rngs`` (``[seeds, 2]``), chunk by chunk, caching under ``cache_dir``.

    Returns the :class:`Run` (leaves with a leading ``[seeds]`` axis) and its folder
    ``cache_dir/<cache_key>``.  After chunk ``k`` the folder holds ``params_<k>`` and
    ``metrics_<k>``, and ``state`` (the full training state, written last) is brought
    up to chunk ``k`` after the first chunk and then whenever the time trained since
    its last write is at least ``1 / checkpoint_overhead`` times that write's duration
    (``None``: after every chunk), so writing a large replay buffer costs at most
    that fraction of the run.  An interrupted run resumes from ``state``.  A finished
    run is collapsed into ``result.msgpack``, which later calls load.  An entry that
    fails a check is reported (:class:`CacheWarning`), discarded and trained again.
    ``progress`` shows a bar updated every ``progress_every`` updates from inside each chunk.
    """
    _warn_if_source_changed()
    ingredients = key_ingredients(config, rngs)
    folder = Path(cache_dir) / _entry_name(config, ingredients)
    every = (progress_every or default_progress_every(trainer)) if progress else None
    init, chunk, params_of = _batched(trainer, every)
    state_t = jax.eval_shape(init, rngs)
    params_t = jax.eval_shape(params_of, state_t)
    metrics_t = jax.eval_shape(chunk, state_t, jnp.int32(0))[1]
    n_points, n_updates = trainer.num_checkpoints + 1, trainer.num_checkpoints * trainer.updates_per_chunk
    run_t = Run(
        jax.tree.map(lambda t: jax.ShapeDtypeStruct((t.shape[0], n_points, *t.shape[1:]), t.dtype), params_t),
        jax.tree.map(lambda t: jax.ShapeDtypeStruct((t.shape[0], n_updates), t.dtype), metrics_t),
    )
    templates = (run_t, state_t, params_t, metrics_t)
    try:
        saved = _restore(folder, ingredients, *templates)
    except CorruptEntryError as problem:
        warnings.warn(f"discarded the cached run {folder}, training it again: {problem}", CacheWarning, stacklevel=2)
        shutil.rmtree(folder)
        saved = _restore(folder, ingredients, *templates)
    if isinstance(saved, Run):
        return saved, folder
    done, state, params, metrics = saved
    if state is None:
        state = init(shard_seeds(rngs))
        params = [jax.device_get(params_of(state))]
        _save(folder / "params_0.msgpack", params[0])
    else:
        state = shard_seeds(state)
    steps = trainer.updates_per_chunk * trainer.steps_per_update
    bar = tqdm(total=trainer.num_checkpoints * steps, initial=done * steps, unit="step", disable=not progress)
    bar.set_description(f"{type(config).__name__} ×{rngs.shape[0]} seeds (steps per seed)")

    def follow(updates_done: int) -> None:  # in-loop reports of this run move this bar
        bar.update(max(0, updates_done * trainer.steps_per_update - bar.n))

    trained, state_cost = 0.0, 0.0  # seconds trained since the state was last written; that write's duration
    _SINKS[id(trainer)] = follow
    try:
        with bar:
            for k in range(done + 1, trainer.num_checkpoints + 1):
                start = time.perf_counter()
                state, chunk_metrics = chunk(state, jnp.int32((k - 1) * trainer.updates_per_chunk))
                params.append(params_of(state))
                metrics.append(jax.device_get(chunk_metrics))
                trained += time.perf_counter() - start
                _save(folder / f"params_{k}.msgpack", params[-1])
                _save(folder / f"metrics_{k}.msgpack", metrics[-1])
                if k < trainer.num_checkpoints and (
                    checkpoint_overhead is None or k == done + 1 or trained * checkpoint_overhead >= state_cost
                ):
                    start = time.perf_counter()
                    _save(folder / STATE, {"chunk": np.int32(k), "state": state})
                    trained, state_cost = 0.0, time.perf_counter() - start
                bar.update(k * steps - bar.n)
                bar.set_postfix(episode_return=f"{final_return(metrics[-1], fraction=1.0, warn=False).mean():.2f}")
    finally:
        _SINKS.pop(id(trainer), None)
    run = Run(
        jax.tree.map(lambda *p: np.stack(p, axis=1), *params),
        jax.tree.map(lambda *m: np.concatenate(m, axis=1), *metrics),
    )
    _save(folder / RESULT, run)
    manifest = _read_manifest(folder)
    _write_manifest(folder, {**manifest, "files": {RESULT: manifest["files"][RESULT]}})
    for path in [*folder.glob("params_*.msgpack"), *folder.glob("metrics_*.msgpack"), folder / STATE]:
        path.unlink(missing_ok=True)
    return run, folder
