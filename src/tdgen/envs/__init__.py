"""Environments: the functional interface, its backends, and the tabular MDPs of claims 1–3.

Modules:

* :mod:`~tdgen.envs.interface` – :class:`~tdgen.envs.interface.Env` / :class:`~tdgen.envs.interface.EnvState`: a
  batch of environments as pure, jit-able functions; :func:`~tdgen.envs.interface.terminal` /
  :func:`~tdgen.envs.interface.reset_step` read a step's ``info`` alike for every backend.
* :mod:`~tdgen.envs.minatar` – gymnax MinAtar (Young & Tian, 2019).
* :mod:`~tdgen.envs.maze` – jaxued Maze levels, the procedurally generated games of claim 5 on a CPU.
* :mod:`~tdgen.envs.envpool` – real Atari and ProcGen through envpool (optional extra).
* :mod:`~tdgen.envs.tabular` – small tabular MDPs (rings, chains, grids, four rooms), their P^π, R^π and V^π.

:func:`make_env` picks the backend from an environment's name; :func:`level_split` names
the training and unseen levels of a procedurally generated game.
"""

from __future__ import annotations

from tdgen.envs.envpool import ENVPOOL_SUITES, PROCGEN_EPISODE_STEPS, is_envpool, make_envpool_env, seeded_env_name
from tdgen.envs.interface import (
    Env,
    EnvState,
    MissingBackendError,
    UnknownEnvError,
    parse_env_options,
    reset_step,
    terminal,
    vmap_over,
)
from tdgen.envs.maze import MAX_STEPS, make_maze_env, maze_name
from tdgen.envs.minatar import MINATAR_ENVS, make_minatar_env
from tdgen.validate import positive_int, text

__all__ = [
    "ENVPOOL_SUITES",
    "MINATAR_ENVS",
    "UNSEEN_LEVELS_START",
    "Env",
    "EnvState",
    "MissingBackendError",
    "UnknownEnvError",
    "is_envpool",
    "level_split",
    "make_env",
    "parse_env_options",
    "reset_step",
    "seeded_env_name",
    "terminal",
    "vmap_over",
]


def make_env(name: str, num_envs: int = 1) -> Env:
    """The environment ``name`` as a batch of ``num_envs`` copies.

    ``name`` is a gymnax MinAtar name (``"Breakout-MinAtar"``, …), a jaxued Maze level set
    (``"maze?num_levels=100&start_level=0"``, see :mod:`tdgen.envs.maze`) or, through the
    optional envpool backend, ``"atari:<task>"`` / ``"procgen:<game>"`` with options
    after a ``?`` (``"procgen:coinrun?num_levels=10&start_level=0"``; see
    :func:`~tdgen.envs.envpool.make_envpool_env`).  An unknown name raises
    :class:`~tdgen.envs.interface.UnknownEnvError` listing the known ones; a missing backend
    :class:`~tdgen.envs.interface.MissingBackendError`.
    """
    text("name", name)
    positive_int("num_envs", num_envs)
    suite, _, task = name.partition(":")
    if task and suite in ENVPOOL_SUITES:
        return make_envpool_env(suite, task, num_envs)
    if name in MINATAR_ENVS:
        return make_minatar_env(name, num_envs)
    if name.partition("?")[0] == "maze":
        return make_maze_env(name, num_envs)
    known = ", ".join(MINATAR_ENVS)
    raise UnknownEnvError(
        f"unknown environment {name!r}; known MinAtar environments: {known}; "
        f"envpool environments are named 'atari:<task>' or 'procgen:<game>'; "
        f"jaxued Mazes 'maze?num_levels=N&start_level=S'"
    )


UNSEEN_LEVELS_START = 1_000_000  #: first level key of the unseen (test) levels


def level_split(game: str, train_levels: int, test_levels: int) -> tuple[str, str, int]:
    """Names of a procedurally generated ``game``'s training and unseen levels, and its longest episode.

    ``game`` is ``"maze"`` (jaxued's Maze, :mod:`tdgen.envs.maze`) or ``"procgen:<game>"``
    (envpool's ProcGen, easy mode).  Training levels are the level keys
    ``0 … train_levels − 1``; unseen ones the ``test_levels`` keys from
    :data:`UNSEEN_LEVELS_START` on, none of them trained on.  Returns
    ``(train name, unseen name, episode step limit)``, e.g. ``("procgen:coinrun?num_levels=10&start_level=0",
    "procgen:coinrun?num_levels=5000&start_level=1000000", 1000)``.
    """
    positive_int("train_levels", train_levels)
    positive_int("test_levels", test_levels)
    if game == "maze":
        return maze_name(0, train_levels), maze_name(UNSEEN_LEVELS_START, test_levels), MAX_STEPS
    suite, _, task = game.partition(":")
    if suite == "procgen" and task and "?" not in task:
        names = (
            f"{game}?num_levels={n}&start_level={start}"
            for start, n in ((0, train_levels), (UNSEEN_LEVELS_START, test_levels))
        )
        return (*names, PROCGEN_EPISODE_STEPS)
    raise UnknownEnvError(f"no level sets for {game!r}: level-based games are 'maze' and 'procgen:<game>' (no options)")
