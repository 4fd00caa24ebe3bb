"""Trained agents: many seeds in one call, and maps over their checkpoints.

* :func:`train_seeds` – a :func:`cached run <tdgen.rl.runner.run_cached>` per key (vmapped; envpool: one call per seed);
* :func:`over_runs` – a function mapped over the ``[runs, checkpoints]`` axes of their parameters;
* :func:`trained_agents` – the book's agents of one profile, algorithm and game, shared by claims 3, 4 and 5.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from tdgen.envs import is_envpool, level_split, seeded_env_name
from tdgen.paths import output_dir
from tdgen.profiles import Profile
from tdgen.rl import dqn, ppo, runner
from tdgen.rl.runner import Run

ALGORITHMS = {"PPO": (ppo.PPOConfig, ppo.make_trainer), "DQN": (dqn.DQNConfig, dqn.make_trainer)}
SEEDS_KEY, LEVEL_SEEDS_KEY = 0, 10  # the seeds' keys are split from PRNGKey(SEEDS_KEY), on level games LEVEL_SEEDS_KEY


def agent_config(profile: Profile, algorithm: str, game: str) -> ppo.PPOConfig | dqn.DQNConfig:
    """The config of the ``algorithm`` (``"PPO"`` or ``"DQN"``) agents on ``game`` at ``profile``.

    :meth:`PPOConfig.from_budget <tdgen.rl.ppo.PPOConfig.from_budget>` or
    :meth:`DQNConfig.from_budget <tdgen.rl.dqn.DQNConfig.from_budget>` of

    * on a level-based game of claim 5 (``profile.distill.level_games``, PPO only): the
      teachers' budget (:meth:`~tdgen.profiles.DistillBudget.teacher_budget`) on the
      game's training levels (:func:`tdgen.envs.level_split`);
    * on a game of claim 4 (``profile.interference.games``): the agents' budget on that
      game (:meth:`~tdgen.profiles.InterferenceBudget.agent_budget`: whole for the first);
    * on any other game (claim 3's Breakout-MinAtar at ``paper``): the agents' budget
      (:class:`~tdgen.profiles.AgentBudget`).
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
    agents = profile.agents
    if game in profile.distill.level_games:
        if algorithm != "PPO":
            raise ValueError(f"the level-based game {game!r} has PPO agents only, not {algorithm}")
        agents = profile.distill.teacher_budget(agents)
        game = level_split(game, profile.distill.train_levels, profile.distill.test_levels)[0]
    elif game in profile.interference.games:
        agents = profile.interference.agent_budget(agents, game)
    config_class, _ = ALGORITHMS[algorithm]
    return config_class.from_budget(agents, game)


def agent_rngs(profile: Profile, game: str) -> jax.Array:
    """The keys of the agents' seeds on ``game``, ``[seeds, 2]`` (the same for PPO and DQN).

    ``profile.distill.level_seeds`` keys split from ``PRNGKey(10)`` on a level-based game
    of claim 5; ``profile.interference.seeds`` keys from ``PRNGKey(0)`` on a game of
    claim 4; ``profile.agents.seeds`` keys from ``PRNGKey(0)`` on any other game.
    """
    if game in profile.distill.level_games:
        return jax.random.split(jax.random.PRNGKey(LEVEL_SEEDS_KEY), profile.distill.level_seeds)
    seeds = profile.interference.seeds if game in profile.interference.games else profile.agents.seeds
    return jax.random.split(jax.random.PRNGKey(SEEDS_KEY), seeds)


def trained_agents(profile: Profile, algorithm: str, game: str, progress: bool = True) -> Run:
    """The ``algorithm`` agents on ``game`` at ``profile``, trained once and then loaded from ``cache/<profile>/``.

    :func:`train_seeds` with :func:`agent_config` and
    :func:`agent_rngs`: leaves ``[seeds, ...]``, parameters at every checkpoint.
    ``progress`` shows a training bar.
    """
    config = agent_config(profile, algorithm, game)
    _, make_trainer = ALGORITHMS[algorithm]
    cache_dir = output_dir("cache", profile.name)
    return train_seeds(config, make_trainer, agent_rngs(profile, game), cache_dir, progress=progress)


def stack_runs(runs: list[runner.Run]) -> runner.Run:
    """Concatenate runs along their leading seed axis: ``[s_1, ...], [s_2, ...] -> [s_1 + s_2, ...]``."""
    if not runs:
        raise ValueError("no runs to stack")
    return jax.tree.map(lambda *leaves: np.concatenate([np.asarray(x) for x in leaves], axis=0), *runs)


def train_seeds(
    config: Any, make_trainer: Callable[[Any], runner.Trainer], rngs: jax.Array, cache_dir: Path, **kwargs: Any
) -> runner.Run:
    """Train (or load) a run per key of ``rngs`` with :func:`~tdgen.rl.runner.run_cached`: leaves ``[seeds, ...]``.

    MinAtar and other JAX environments: one call, the seeds vmapped.  envpool
    environments (:func:`~tdgen.envs.envpool.is_envpool`): one call per seed, each with its own pool whose
    seed is the seed's index (:func:`~tdgen.envs.envpool.seeded_env_name`, so the environments differ
    between seeds and the name in the cache key pins them), stacked with
    :func:`stack_runs`.  Each seed is then cached on its own: an interrupted study
    keeps its finished seeds.  ``kwargs`` go to ``run_cached``.
    """
    if not is_envpool(config.env_name):
        run, _ = runner.run_cached(config, make_trainer(config), rngs, cache_dir, **kwargs)
        return run
    runs = []
    for i in range(rngs.shape[0]):
        seeded = dataclasses.replace(config, env_name=seeded_env_name(config.env_name, i))
        run, _ = runner.run_cached(seeded, make_trainer(seeded), rngs[i : i + 1], cache_dir, **kwargs)
        runs.append(run)
    return stack_runs(runs)


def over_runs(fn: Callable[[Any], Any], tree: Any, at_once: int = 0) -> Any:
    """``fn`` applied over the two leading axes ``[runs, checkpoints]`` of every leaf of ``tree``, jit-compiled.

    ``at_once = 0``: one ``vmap`` over both axes.  Otherwise ``lax.map`` over the
    flattened ``runs × checkpoints`` applications, ``at_once`` of them per ``vmap`` —
    for networks whose update matrices do not all fit in memory at once (Atari).
    """
    if at_once < 0:
        raise ValueError(f"at_once must be >= 0, got {at_once}")
    if at_once == 0:
        return jax.jit(jax.vmap(jax.vmap(fn)))(tree)
    lead = jax.tree.leaves(tree)[0].shape[:2]
    flat = jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), tree)
    out = jax.jit(lambda t: jax.lax.map(fn, t, batch_size=at_once))(flat)
    return jax.tree.map(lambda x: x.reshape((*lead, *x.shape[1:])), out)
