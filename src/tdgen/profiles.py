"""Run profiles: every setting of the book lives here and nowhere else.

A profile is chosen with the environment variable ``TDGEN_PROFILE``:

* ``paper`` – paper-scale settings (Atari, ProcGen), written out in full once (:data:`PAPER`);
* ``gpu`` – ``quick`` scaled up to what one GPU runs in minutes: 10 runs per agent, four MinAtar games;
* ``quick`` – the default; the whole book in minutes on a 2-core CPU laptop;
* ``smoke`` – seconds per notebook; used by the tests (nbval);
* ``gpu-smoke`` – ``gpu``'s games at ``smoke``'s budgets; the tests run it so that ``gpu`` cannot rot.

``quick`` and ``smoke`` are ``paper`` with named changes (:func:`override`), ``gpu`` is
``quick`` with named changes, and ``gpu-smoke`` is ``gpu`` with ``smoke``'s settings
(:func:`at_budgets_of`), so what sets them apart is all that their definitions say:
:func:`profile_differences` lists it, and the Reproducing page shows it as a table.

A :class:`Profile` holds one group of settings per claim — :class:`SmoothnessBudget`
(claim 1), :class:`TDBudget` (2), :class:`CriticalBudget` (3), :class:`InterferenceBudget`
(4), :class:`DistillBudget` (5) — and :class:`AgentBudget`, the deep RL agents that claims
3–5 share.  Every setting is of one of four kinds (:data:`KINDS`):

* a *budget* – how much is computed: sizes, steps, seeds, environments, checkpoints
  (the default kind);
* a *hyper-parameter* – how it is learned: learning rates, widths, batch sizes,
  discounts, schedules.  PPO's and DQN's have types of their own,
  :class:`PPOHyperparameters` (the agents' and claim 5's level teachers') and
  :class:`DQNHyperparameters`, apart from the steps, environments and seeds they run with;
* *statistics* – each claim's own ``bootstrap_resamples``;
* *games* – which games and levels are played.

Notebooks call :func:`get_profile` once and read their settings from the returned
immutable :class:`Profile`; every value is checked where it is written (:mod:`tdgen.validate`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from operator import attrgetter
from typing import Any, NamedTuple, get_type_hints

from tdgen.validate import (
    check_fields,
    each,
    finite_float,
    integer,
    nonnegative_int,
    positive_float,
    positive_int,
    probability,
    text,
)

ENV_VAR = "TDGEN_PROFILE"
DEFAULT_PROFILE = "quick"
BUDGET, HYPERPARAMETER, STATISTICS, GAMES = "budget", "hyper-parameter", "statistics", "games"
KINDS = (BUDGET, HYPERPARAMETER, STATISTICS, GAMES)  #: the kinds of settings, see the module docstring
# Field metadata marking a setting's kind (a field without is a budget; a nested group's fields take its kind).
_HYPER, _STATS, _GAME = {"kind": HYPERPARAMETER}, {"kind": STATISTICS}, {"kind": GAMES}


class UnknownProfileError(ValueError):
    """Raised when ``TDGEN_PROFILE`` (or an argument) names no known profile."""


def _check_groups(owner: object) -> None:
    """Check that every field of ``owner`` typed as a group of settings holds one, naming ``<class>.<field>`` if not."""
    for name, expected in get_type_hints(type(owner)).items():
        value = getattr(owner, name)
        if is_dataclass(expected) and not isinstance(value, expected):
            raise TypeError(f"{type(owner).__name__}.{name} must be of type {expected.__name__}, got {value!r}")


def _discount(name: str, value: object) -> float:
    """A tabular discount ``γ ∈ [0, 1)`` (``I − γ P`` must be invertible)."""
    return finite_float(name, value, 0, 1, high_open=True)


def _open_fraction(name: str, value: object) -> float:
    """A fraction strictly between 0 and 1 (both parts of a split non-empty)."""
    return finite_float(name, value, 0, 1, low_open=True, high_open=True)


@dataclass(frozen=True)
class PPOHyperparameters:
    """PPO's hyper-parameters (:class:`~tdgen.rl.ppo.PPOConfig` keeps its defaults for the others)."""

    num_steps: int  # rollout length per update
    update_epochs: int  # passes over each rollout
    num_minibatches: int  # minibatches (Adam steps) of each pass
    learning_rate: float  # Adam, annealed linearly to 0 over training
    gamma: float
    clip_eps: float  # clipping range ε of the surrogate objective and of the value

    def __post_init__(self) -> None:
        check_fields(self, positive_int, "num_steps", "update_epochs", "num_minibatches")
        check_fields(self, positive_float, "learning_rate", "clip_eps")
        check_fields(self, probability, "gamma")


@dataclass(frozen=True)
class DQNHyperparameters:
    """DQN's hyper-parameters (:class:`~tdgen.rl.dqn.DQNConfig` keeps its defaults for the others)."""

    buffer_size: int  # replay capacity in transitions
    batch_size: int
    gradient_steps: int  # Adam steps per update, i.e. per num_envs environment steps
    learning_rate: float
    eps_finish: float  # final ε of the ε-greedy exploration
    eps_anneal_steps: int  # environment steps over which ε falls from 1 to eps_finish
    learning_starts: int  # environment steps collected before the first gradient step

    def __post_init__(self) -> None:
        check_fields(
            self, positive_int, "buffer_size", "batch_size", "gradient_steps", "eps_anneal_steps", "learning_starts"
        )
        check_fields(self, positive_float, "learning_rate")
        check_fields(self, probability, "eps_finish")


@dataclass(frozen=True)
class SmoothnessBudget:
    """Claim 1: sizes of the tabular environments whose spectra are studied."""

    ring_states: int
    chain_states: int
    grid_side: int
    drift_grid_side: int
    random_mdp_states: int

    def __post_init__(self) -> None:
        check_fields(
            self,
            positive_int,
            "ring_states",
            "chain_states",
            "grid_side",
            "drift_grid_side",
            "random_mdp_states",
        )


@dataclass(frozen=True)
class TDBudget:
    """Claim 2: the TD-dynamics experiments on a gridworld."""

    grid_side: int
    gamma: float = field(metadata=_HYPER)
    horizon: float  # continuous time T of the expected dynamics
    n_times: int  # time points recorded between 0 and T (T/(n_times−1) must be a multiple of td_step)
    td_step: float = field(metadata=_HYPER)  # step size of discrete expected and sampled TD
    td_seeds: int  # seeds of sampled TD(0), run as one vmap
    bellman_iterations: int  # Bellman updates shown for the target-smoothness figure
    nn_seeds: int  # seeds of the neural-network runs, run as one vmap
    nn_steps: int  # full-batch gradient steps of the network
    nn_hidden: int = field(metadata=_HYPER)  # width of the MLP's two hidden layers
    nn_learning_rate: float = field(metadata=_HYPER)  # plain SGD, the discrete form of gradient flow
    nn_bands: int  # eigenvalue bands in which the network's error is tracked
    bootstrap_resamples: int = field(metadata=_STATS)

    def __post_init__(self) -> None:
        check_fields(
            self,
            positive_int,
            "grid_side",
            "td_seeds",
            "bellman_iterations",
            "nn_seeds",
            "nn_steps",
            "nn_hidden",
            "nn_bands",
            "bootstrap_resamples",
        )
        check_fields(self, _discount, "gamma")
        check_fields(self, positive_float, "horizon", "td_step", "nn_learning_rate")
        integer("TDBudget.n_times", self.n_times, low=2)
        ratio = self.horizon / (self.n_times - 1) / self.td_step
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(f"horizon/(n_times-1) = {self.horizon / (self.n_times - 1)} is not a multiple of td_step")

    @property
    def record_every(self) -> int:
        """TD updates between two recorded time points."""
        return round(self.horizon / (self.n_times - 1) / self.td_step)

    @property
    def nn_record_every(self) -> int:
        """Network steps between two recorded snapshots (about 400 snapshots per run)."""
        return max(1, self.nn_steps // 400)


@dataclass(frozen=True)
class CriticalBudget:
    """Claim 3: pre-training on rough targets, fine-tuning on V^π, interpolation to held-out states."""

    grid_side: int  # side of the open room; the four-rooms gridworld has its fixed 13 × 13 layout
    gamma: float = field(metadata=_HYPER)
    seeds: int  # gridworld seeds (network initialisation and train/held-out split), run as one vmap
    train_fraction: float = field(metadata=_HYPER)  # fraction of the states given for training; the rest held out
    hidden: int = field(metadata=_HYPER)  # width of the MLP's two hidden layers
    learning_rate: float = field(metadata=_HYPER)  # Adam, for pre-training, fine-tuning and the TD/MC comparison
    target_levels: int  # pre-training targets per family (eigenvectors of P^π, sinusoids), smoothest to roughest
    pretrain_steps: int  # the longest pre-training
    pretrain_lengths: int  # pre-training lengths, each a quarter of the next, up to pretrain_steps
    finetune_steps: int  # Adam steps on V^π after pre-training (and from scratch)
    value_steps: int  # Adam steps of the TD-versus-Monte-Carlo comparison
    bootstrap_resamples: int = field(metadata=_STATS)
    deep_plays: int  # deep RL part: ε-greedy plays of each trained DQN agent (the agents are the units)
    deep_envs: int  # parallel environments of each play
    deep_env_steps: int  # steps of that play (frames = deep_envs · deep_env_steps, less unfinished episodes)
    deep_levels: int  # frequencies of the pre-training sweep on the agent's frames
    deep_pretrain_steps: int  # Adam steps of each pre-training on a sinusoid of the observation
    deep_steps: int  # Adam steps of the TD fit, the Monte Carlo fit and each fine-tuning
    deep_batch_size: int = field(metadata=_HYPER)
    deep_learning_rate: float = field(metadata=_HYPER)
    deep_target_every: int = field(metadata=_HYPER)  # Adam steps between target-network copies of the TD fit

    def __post_init__(self) -> None:
        check_fields(
            self,
            positive_int,
            "grid_side",
            "seeds",
            "hidden",
            "target_levels",
            "pretrain_steps",
            "pretrain_lengths",
            "finetune_steps",
            "value_steps",
            "bootstrap_resamples",
            "deep_plays",
            "deep_envs",
            "deep_env_steps",
            "deep_levels",
            "deep_pretrain_steps",
            "deep_steps",
            "deep_batch_size",
            "deep_target_every",
        )
        check_fields(self, _discount, "gamma")
        check_fields(self, _open_fraction, "train_fraction")
        check_fields(self, positive_float, "learning_rate", "deep_learning_rate")
        if self.pretrain_steps // 4 ** (self.pretrain_lengths - 1) < 1:
            raise ValueError(
                f"{self.pretrain_lengths} pre-training lengths do not fit into {self.pretrain_steps} steps"
            )

    @property
    def pretrain_schedule(self) -> tuple[int, ...]:
        """The pre-training lengths ``pretrain_steps / 4^k``, shortest first."""
        return tuple(self.pretrain_steps // 4**k for k in reversed(range(self.pretrain_lengths)))


@dataclass(frozen=True)
class AgentBudget:
    """The deep RL agents (PPO, DQN): seeds, checkpoints, environment steps and parallel environments of each
    algorithm, and its hyper-parameters (:func:`tdgen.rl.agents.agent_config` turns them into configs)."""

    seeds: int  # independent runs per agent, run as one vmap
    checkpoints: int  # parameters kept at the start and after each of this many equal chunks of training
    ppo_timesteps: int  # environment steps per seed (over all parallel envs)
    ppo_num_envs: int
    dqn_timesteps: int
    dqn_num_envs: int
    ppo: PPOHyperparameters = field(metadata=_HYPER)
    dqn: DQNHyperparameters = field(metadata=_HYPER)

    def __post_init__(self) -> None:
        check_fields(self, positive_int, "seeds", "ppo_timesteps", "ppo_num_envs", "dqn_timesteps", "dqn_num_envs")
        integer("AgentBudget.checkpoints", self.checkpoints, low=10)  # the interference study needs 10 or more
        _check_groups(self)


@dataclass(frozen=True)
class InterferenceBudget:
    """Claim 4: update matrices of the trained agents on three probe sets (the final agents' play, random play,
    each checkpoint's own play), and the TD-versus-Monte-Carlo control."""

    games: tuple[str, ...] = field(metadata=_GAME)  # tdgen.envs names, each with PPO and DQN; envpool: a seed per call
    other_games_fraction: float  # games after the first train for this fraction of the agents' environment steps
    seeds: int  # agents per game and algorithm (the first of the keys split from PRNGKey(0))
    matrices_at_once: int  # update matrices computed in one vmap (0: every seed and checkpoint at once)
    states: int  # probe states: one update-matrix row and column each; a multiple of 2 · seeds (agent play)
    warmup_steps: int  # steps each probe environment plays before its states are recorded
    probe_envs: int  # environments each agent plays in for the "agent play" and "own states" probe sets
    probe_steps: int  # steps recorded after the warm-up in each; states are drawn from these transitions
    learning_rate: float = field(metadata=_HYPER)  # SGD step of one update-matrix row
    offline_inits: int  # fresh Q-networks per DQN seed in the TD-versus-Monte-Carlo control (each trained both ways)
    offline_envs: int  # parallel environments of the DQN agent's ε-greedy play that gives the control's data
    offline_env_steps: int  # steps of that play (transitions = offline_envs · offline_env_steps, less unfinished)
    offline_steps: int  # Adam steps of each control network
    offline_checkpoints: int  # points after equal chunks of offline_steps at which its update matrix is taken
    offline_batch_size: int = field(metadata=_HYPER)
    offline_learning_rate: float = field(metadata=_HYPER)
    offline_target_every: int = field(metadata=_HYPER)  # Adam steps between target-network copies of the TD arm
    bootstrap_resamples: int = field(metadata=_STATS)  # claim 2's at each profile (claim 4 borrowed that before)

    def __post_init__(self) -> None:
        each("InterferenceBudget.games", self.games, text, unique=True)
        check_fields(
            self,
            positive_int,
            "seeds",
            "bootstrap_resamples",
            "states",
            "offline_inits",
            "offline_envs",
            "offline_env_steps",
            "offline_steps",
            "offline_checkpoints",
            "offline_batch_size",
            "offline_target_every",
            "probe_envs",
            "probe_steps",
        )
        check_fields(self, nonnegative_int, "matrices_at_once", "warmup_steps")
        if self.states % (2 * self.seeds) or self.states > self.probe_envs * self.probe_steps:
            raise ValueError(
                f"InterferenceBudget.states = {self.states} must be a multiple of 2 · seeds = {2 * self.seeds} (the "
                f"agent-play probes: as many from every agent) and at most probe_envs · probe_steps = "
                f"{self.probe_envs * self.probe_steps} (the transitions they are drawn from)"
            )
        if self.offline_steps % self.offline_checkpoints:
            raise ValueError(
                f"InterferenceBudget.offline_steps = {self.offline_steps} must be a multiple of "
                f"offline_checkpoints = {self.offline_checkpoints}"
            )
        check_fields(self, positive_float, "learning_rate", "offline_learning_rate")
        finite_float("InterferenceBudget.other_games_fraction", self.other_games_fraction, 0, 1, low_open=True)

    def agent_budget(self, agents: AgentBudget, game: str) -> AgentBudget:
        """The agents' budget on ``game``: the first game gets ``agents`` as it is, every other game
        ``other_games_fraction`` of its PPO and DQN environment steps (all else unchanged).

        The first game's runs are the ones claims 3 and 5 share; the others only serve this
        study, and at ``quick`` they are shortened so that the book stays within a laptop's minutes.
        """
        if game not in self.games:
            raise ValueError(f"{game!r} is not one of the interference games {self.games}")
        if game == self.games[0] or self.other_games_fraction == 1.0:
            return agents
        return replace(
            agents,
            ppo_timesteps=round(agents.ppo_timesteps * self.other_games_fraction),
            dqn_timesteps=round(agents.dqn_timesteps * self.other_games_fraction),
        )


@dataclass(frozen=True)
class DistillBudget:
    """Claim 5: students distilled from trained agents — (a) DQN teachers, (b) PPO teachers on generated levels."""

    value_game: str = field(metadata=_GAME)  # (a): the DQN teachers' game (tdgen.envs name), trained as in claim 4
    students: int  # freshly initialised students per teacher seed, run as one vmap
    dataset_envs: int  # parallel environments of the teacher rollouts whose states form the distillation data
    dataset_steps: int  # steps of those rollouts (states = dataset_envs · dataset_steps)
    distill_steps: int  # Adam steps of each student
    lengths: int  # distillation lengths of the dose-response, each half the next, up to distill_steps
    batch_size: int = field(metadata=_HYPER)
    learning_rate: float = field(metadata=_HYPER)
    eval_episodes: int  # episodes of each evaluation, one per parallel environment
    eval_steps: int  # steps an evaluation episode of (a) may take (Breakout-MinAtar stops at 1000)
    noise_levels: tuple[float, ...]  # (a) input noise: bit-flip probability (MinAtar) or pixel σ / 255 (Atari)
    probe_states: int  # held-out teacher states for action agreement under noise
    paths: int  # interpolation paths between pairs of held-out states
    path_points: int  # points along each path
    at_once: int  # networks per vmap in the measures of (a) and the fit of (b) (0: all at once; bounds memory)
    level_games: tuple[str, ...] = field(metadata=_GAME)  # (b): "maze" (jaxued) or "procgen:<game>" (envpool)
    level_seeds: int  # PPO teachers per level-based game (one vmap; envpool: one run per seed)
    train_levels: int = field(metadata=_GAME)  # training levels (level keys 0 … train_levels − 1)
    test_levels: int  # unseen levels for testing (level keys from 1,000,000 on)
    ppo_timesteps: int  # (b): environment steps per teacher
    ppo_num_envs: int
    ppo: PPOHyperparameters = field(metadata=_HYPER)  # (b): the teachers'
    bootstrap_resamples: int = field(metadata=_STATS)

    def __post_init__(self) -> None:
        check_fields(self, text, "value_game")
        check_fields(
            self,
            positive_int,
            "students",
            "dataset_envs",
            "dataset_steps",
            "distill_steps",
            "lengths",
            "batch_size",
            "eval_episodes",
            "eval_steps",
            "probe_states",
            "paths",
            "level_seeds",
            "train_levels",
            "test_levels",
            "ppo_timesteps",
            "ppo_num_envs",
            "bootstrap_resamples",
        )
        check_fields(self, positive_float, "learning_rate")
        check_fields(self, nonnegative_int, "at_once")
        integer("DistillBudget.path_points", self.path_points, low=2)
        each("DistillBudget.noise_levels", self.noise_levels, probability)
        each("DistillBudget.level_games", self.level_games, text, unique=True)
        if self.distill_steps // 2 ** (self.lengths - 1) < 1:
            raise ValueError(f"{self.lengths} distillation lengths do not fit into {self.distill_steps} steps")
        _check_groups(self)

    @property
    def distill_schedule(self) -> tuple[int, ...]:
        """The distillation lengths ``distill_steps / 2^k``, shortest first (snapshots of one run per student)."""
        return tuple(self.distill_steps // 2**k for k in reversed(range(self.lengths)))

    def teacher_budget(self, agents: AgentBudget) -> AgentBudget:
        """The agents' budget for the PPO teachers of (b): ``agents`` with ``level_seeds`` seeds and these
        teachers' PPO steps, environments and hyper-parameters (its checkpoints; its DQN part unused)."""
        return replace(
            agents,
            seeds=self.level_seeds,
            ppo_timesteps=self.ppo_timesteps,
            ppo_num_envs=self.ppo_num_envs,
            ppo=self.ppo,
        )


@dataclass(frozen=True)
class Profile:
    """All settings of one run profile: one group per claim and one for the agents claims 3–5 share."""

    name: str
    smoothness: SmoothnessBudget  # claim 1
    td: TDBudget  # claim 2
    critical: CriticalBudget  # claim 3
    agents: AgentBudget  # claims 3, 4 and 5
    interference: InterferenceBudget  # claim 4
    distill: DistillBudget  # claim 5

    def __post_init__(self) -> None:
        check_fields(self, text, "name")
        _check_groups(self)


#: The paper-scale profile, every setting written out; ``quick`` and ``smoke`` are changes of it.
#:
#: :meta hide-value:
PAPER = Profile(
    name="paper",
    smoothness=SmoothnessBudget(
        ring_states=256,
        chain_states=256,
        grid_side=30,
        drift_grid_side=20,
        random_mdp_states=400,
    ),
    td=TDBudget(
        grid_side=20,
        gamma=0.9,
        horizon=40.0,
        n_times=401,
        td_step=0.005,
        td_seeds=2048,
        bellman_iterations=100,
        nn_seeds=32,
        nn_steps=20000,
        nn_hidden=256,
        nn_learning_rate=0.1,
        nn_bands=10,
        bootstrap_resamples=2000,
    ),
    critical=CriticalBudget(
        grid_side=20,
        gamma=0.9,
        seeds=32,
        train_fraction=0.5,
        hidden=128,
        learning_rate=0.001,
        target_levels=10,
        pretrain_steps=8000,
        pretrain_lengths=3,
        finetune_steps=8000,
        value_steps=8000,
        bootstrap_resamples=2000,
        deep_plays=3,
        deep_envs=32,
        deep_env_steps=1000,
        deep_levels=8,
        deep_pretrain_steps=5000,
        deep_steps=10000,
        deep_batch_size=64,
        deep_learning_rate=5e-4,
        deep_target_every=200,
    ),
    agents=AgentBudget(  # Atari: 10M environment steps = 40M frames (frame skip 4) per seed
        seeds=10,
        checkpoints=50,
        ppo_timesteps=10_000_000,
        ppo_num_envs=8,
        dqn_timesteps=10_000_000,
        dqn_num_envs=16,
        # the Atari settings of CleanRL / Mnih et al. (2015), for the MinAtar agents of claims 3 and 5 too
        ppo=PPOHyperparameters(
            num_steps=128, update_epochs=4, num_minibatches=4, learning_rate=2.5e-4, gamma=0.99, clip_eps=0.1
        ),
        dqn=DQNHyperparameters(
            buffer_size=1_000_000,
            batch_size=32,
            gradient_steps=4,  # one Adam step per 4 environment steps
            learning_rate=1e-4,
            eps_finish=0.01,
            eps_anneal_steps=1_000_000,  # the first 10% of training
            learning_starts=80_000,
        ),
    ),
    interference=InterferenceBudget(
        games=("atari:Breakout-v5", "atari:Pong-v5", "atari:SpaceInvaders-v5", "atari:Seaquest-v5"),
        other_games_fraction=1.0,
        seeds=5,
        matrices_at_once=4,
        states=120,
        warmup_steps=200,
        probe_envs=8,
        probe_steps=32,
        learning_rate=1e-3,
        offline_inits=4,
        offline_envs=32,
        offline_env_steps=5_000,
        offline_steps=50_000,
        offline_checkpoints=10,
        offline_batch_size=64,
        offline_learning_rate=2.5e-4,
        offline_target_every=250,
        bootstrap_resamples=2000,
    ),
    distill=DistillBudget(  # (a) Atari Breakout; (b) ProcGen with the settings of Raileanu & Fergus (2021)
        value_game="atari:Breakout-v5",
        students=4,
        dataset_envs=64,
        dataset_steps=1000,
        distill_steps=50000,
        lengths=6,
        batch_size=256,
        learning_rate=3e-4,
        eval_episodes=64,
        eval_steps=4_500,  # 18,000 frames
        noise_levels=(0.0, 0.02, 0.05, 0.1, 0.2),
        probe_states=4000,
        paths=256,
        path_points=33,
        at_once=4,
        level_games=("procgen:bigfish", "procgen:coinrun", "procgen:jumper", "procgen:starpilot"),
        level_seeds=5,
        train_levels=10,
        test_levels=5_000,
        ppo_timesteps=25_000_000,
        ppo_num_envs=64,
        ppo=PPOHyperparameters(
            num_steps=256, update_epochs=3, num_minibatches=8, learning_rate=5e-4, gamma=0.999, clip_eps=0.2
        ),
        bootstrap_resamples=2000,
    ),
)


def override(base: Profile, name: str, **groups: Mapping[str, Any]) -> Profile:
    """``base`` called ``name``, with the settings named in ``groups`` changed.

    Each keyword is a group of :class:`Profile` and maps its fields to their new values;
    a nested group (``agents={"ppo": {"learning_rate": 5e-3}}``) takes a mapping of its
    own.  Raises :class:`ValueError` naming the path (``agents.ppo.learnig_rate``) of a
    field that does not exist or whose new value is the one ``base`` has already, and
    :class:`TypeError` for a mapping given to a single setting or a value to a group.
    The new values are checked as every profile's are.
    """
    return _changed(base, {"name": name, **groups}, f"profile {name!r}: ", "")


def _changed(group: Any, changes: Mapping[str, Any], context: str, path: str) -> Any:
    """``group`` with ``changes`` applied, recursively; ``path`` is where ``group`` sits, for the errors."""
    known = [f.name for f in fields(group)]
    new = {}
    for key, value in changes.items():
        where = f"{path}{key}"
        if key not in known:
            raise ValueError(f"{context}{where} is not a setting; {type(group).__name__} has {', '.join(known)}")
        current = getattr(group, key)
        if is_dataclass(current):
            if not isinstance(value, Mapping):
                raise TypeError(f"{context}{where} is a group of settings: give a mapping of its fields, got {value!r}")
            value = _changed(current, value, context, f"{where}.")
        elif isinstance(value, Mapping):
            raise TypeError(f"{context}{where} is a single setting, not a group: got the mapping {dict(value)!r}")
        if value == current:
            raise ValueError(f"{context}{where} = {value!r} changes nothing: it is the base profile's value")
        new[key] = value
    return replace(group, **new)


# quick and smoke: paper with these changes.  In each group the games come first, then the budgets, then on lines
# of their own the hyper-parameters and the statistics.  Both play MinAtar and mazes instead of Atari and ProcGen,
# their agents with PureJaxRL's MinAtar hyper-parameters and their maze teachers with these PPO settings:
_MINATAR_PPO = {"num_minibatches": 8, "learning_rate": 5e-3, "clip_eps": 0.2}
_MINATAR_DQN = {"batch_size": 64, "gradient_steps": 1, "learning_rate": 2.5e-4, "eps_finish": 0.05}
_MAZE_TEACHER_PPO = {"update_epochs": 4, "num_minibatches": 4, "learning_rate": 1e-3, "gamma": 0.99}

# fmt: off
#: ``paper`` with the changes that run the whole book in minutes on a 2-core CPU.
#:
#: :meta hide-value:
QUICK = override(
    PAPER, "quick",
    smoothness={"ring_states": 64, "chain_states": 64, "grid_side": 12, "drift_grid_side": 10,
                "random_mdp_states": 100},
    td={"grid_side": 10, "n_times": 201, "td_seeds": 256, "nn_seeds": 8, "nn_steps": 4000,
        "td_step": 0.01, "nn_hidden": 128,
        "bootstrap_resamples": 1000},
    critical={"grid_side": 16, "seeds": 10, "target_levels": 6, "pretrain_steps": 1000, "pretrain_lengths": 2,
              "finetune_steps": 4000, "value_steps": 2000, "deep_envs": 8, "deep_env_steps": 400, "deep_levels": 4,
              "deep_plays": 1, "deep_pretrain_steps": 300, "deep_steps": 600,
              "hidden": 32, "learning_rate": 0.003, "deep_batch_size": 32, "deep_learning_rate": 1e-3,
              "deep_target_every": 50,
              "bootstrap_resamples": 1000},
    agents={"seeds": 5, "checkpoints": 10, "ppo_timesteps": 1_000_000, "ppo_num_envs": 64, "dqn_timesteps": 500_000,
            "ppo": _MINATAR_PPO,
            "dqn": {**_MINATAR_DQN, "buffer_size": 100_000, "eps_anneal_steps": 100_000, "learning_starts": 5_000}},
    interference={"games": ("Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar"),
                  "other_games_fraction": 0.5,  # 500k PPO and 250k DQN steps per seed
                  "matrices_at_once": 11, "states": 60, "warmup_steps": 100, "probe_steps": 16,
                  "offline_inits": 1, "offline_envs": 16, "offline_env_steps": 500, "offline_steps": 1_500,
                  "offline_checkpoints": 5, "offline_batch_size": 32, "offline_target_every": 100,
                  "bootstrap_resamples": 1000},
    distill={"value_game": "Breakout-MinAtar", "level_games": ("maze",), "train_levels": 100,
             "students": 3, "dataset_envs": 32, "distill_steps": 15_000, "eval_steps": 1000,
             "eval_episodes": 32, "noise_levels": (0.0, 0.01, 0.02, 0.05, 0.1), "probe_states": 1000,
             "paths": 128, "at_once": 10, "test_levels": 1000,
             "ppo_timesteps": 1_000_000, "ppo_num_envs": 32,
             "batch_size": 128, "learning_rate": 1e-3, "ppo": {**_MAZE_TEACHER_PPO, "num_steps": 128},
             "bootstrap_resamples": 1000},
)

#: ``paper`` with the changes that run each notebook in seconds, for the tests.
#:
#: :meta hide-value:
SMOKE = override(
    PAPER, "smoke",
    smoothness={"ring_states": 16, "chain_states": 16, "grid_side": 6, "drift_grid_side": 6, "random_mdp_states": 20},
    td={"grid_side": 5, "horizon": 10.0, "n_times": 51, "td_seeds": 16, "bellman_iterations": 20, "nn_seeds": 2,
        "nn_steps": 100, "nn_bands": 4,
        "td_step": 0.05, "nn_hidden": 32,
        "bootstrap_resamples": 100},
    critical={"grid_side": 6, "seeds": 3, "target_levels": 3, "pretrain_steps": 40, "pretrain_lengths": 2,
              "finetune_steps": 40, "value_steps": 40, "deep_envs": 4, "deep_env_steps": 90, "deep_levels": 3,
              "deep_plays": 1, "deep_pretrain_steps": 10, "deep_steps": 20,
              "hidden": 16, "learning_rate": 0.003, "deep_batch_size": 16, "deep_learning_rate": 1e-3,
              "deep_target_every": 5,
              "bootstrap_resamples": 100},
    agents={"seeds": 2, "checkpoints": 10, "ppo_timesteps": 1_280, "dqn_timesteps": 400, "dqn_num_envs": 4,
            "ppo": {**_MINATAR_PPO, "num_steps": 16},
            "dqn": {**_MINATAR_DQN, "buffer_size": 1_000, "eps_anneal_steps": 200, "learning_starts": 80}},
    interference={"games": ("Breakout-MinAtar",),
                  "seeds": 2, "matrices_at_once": 0, "states": 16, "warmup_steps": 10, "probe_envs": 4,
                  "probe_steps": 4, "offline_inits": 1, "offline_envs": 4, "offline_env_steps": 100,
                  "offline_steps": 20, "offline_checkpoints": 2,
                  "offline_batch_size": 16, "offline_target_every": 5,
                  "bootstrap_resamples": 100},
    distill={"value_game": "Breakout-MinAtar", "level_games": ("maze",),
             "students": 1, "dataset_envs": 4, "dataset_steps": 25, "distill_steps": 20, "lengths": 3,
             "eval_episodes": 4,
             "eval_steps": 50, "noise_levels": (0.0, 0.05), "probe_states": 16, "paths": 4, "path_points": 5,
             "at_once": 0,
             "level_seeds": 2, "test_levels": 10, "ppo_timesteps": 2560, "ppo_num_envs": 8,
             "batch_size": 32, "learning_rate": 1e-3, "ppo": {**_MAZE_TEACHER_PPO, "num_steps": 16},
             "bootstrap_resamples": 100},
)

# Freeway-MinAtar's episodes always last this many steps (its time limit), and the TD-versus-Monte-Carlo control
# of claim 4 needs finished episodes: a profile that plays Freeway must play its control for longer than this.
_FREEWAY_EPISODE = 2_500

#: ``quick`` scaled up for one GPU: claims 3–5 with 10 independent runs of every agent (and 32 gridworld
#: seeds), all four MinAtar games, MinAtar agents trained for millions of steps (Young & Tian 2019 ran DQN for
#: 5M frames) and the maze teachers for 3M; claims 1 and 2, which reproduce at ``quick``, stay as they are.
#: Meant for ``python -m tdgen.runbook gpu --jobs 5`` within 8 minutes on one GPU; by the rates of
#: ``benchmarks/bench_minatar.py`` on one H100 (10 vmapped seeds: PPO 3.3M, DQN 0.85M environment steps per
#: second) the agents' training takes about 4 × (50M / 3.3M + 20M / 0.85M) ≈ 155 s.  The Reproducing page
#: gives the whole estimate.
#:
#: :meta hide-value:
GPU = override(
    QUICK, "gpu",
    critical={"seeds": 32, "deep_plays": 3, "deep_envs": 32, "deep_env_steps": 1000, "deep_levels": 8,
              "deep_pretrain_steps": 1000, "deep_steps": 2000},
    agents={"seeds": 10, "ppo_timesteps": 5_000_000, "dqn_timesteps": 2_000_000},
    interference={"games": ("Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar", "Freeway-MinAtar"),
                  "other_games_fraction": 1.0, "seeds": 10, "matrices_at_once": 22, "states": 120,
                  "probe_steps": 32, "offline_envs": 32, "offline_steps": 5_000,
                  "offline_env_steps": _FREEWAY_EPISODE + 100},
    distill={"level_seeds": 10, "eval_episodes": 64, "paths": 256, "ppo_timesteps": 3_000_000},
)
# fmt: on


class Setting(NamedTuple):
    """One setting of every profile: ``group.field``, its kind (:data:`KINDS`), its value at each profile."""

    group: str  #: where the field sits (``td``, or ``agents.ppo`` for a nested group)
    field: str  #: the field's name in its group
    kind: str  #: one of :data:`KINDS`
    values: dict[str, Any]  #: profile name -> value, in the order of the profiles given

    @property
    def path(self) -> str:
        """``group.field``, the attribute path from a :class:`Profile`."""
        return f"{self.group}.{self.field}"


def _leaves(group: Any, path: str, kind: str) -> Iterator[tuple[str, str, str]]:
    """``(group path, field, kind)`` of every single setting in ``group``, nested groups' included."""
    for f in fields(group):
        own_kind = f.metadata.get("kind", kind)
        if is_dataclass(getattr(group, f.name)):
            yield from _leaves(getattr(group, f.name), f"{path}.{f.name}" if path else f.name, own_kind)
        elif path:  # the profile's own name is no setting
            yield path, f.name, own_kind


def profile_settings(profiles: Mapping[str, Profile] | None = None) -> list[Setting]:
    """Every setting with its value at each of ``profiles`` (default: :data:`PROFILES`), in field order."""
    profiles = PROFILES if profiles is None else profiles
    first = next(iter(profiles.values()))
    return [
        Setting(group, name, kind, {n: attrgetter(f"{group}.{name}")(p) for n, p in profiles.items()})
        for group, name, kind in _leaves(first, "", BUDGET)
    ]


def profile_differences(profiles: Mapping[str, Profile] | None = None) -> list[Setting]:
    """The settings whose value is not the same at every one of ``profiles`` (default: :data:`PROFILES`).

    With the default, every setting that some profile changes, each a row
    ``(group, field, kind, {"paper": …, "gpu": …, "quick": …, "smoke": …, "gpu-smoke": …})``.
    """

    def differs(setting: Setting) -> bool:
        first, *others = setting.values.values()
        return any(value != first for value in others)

    return [setting for setting in profile_settings(profiles) if differs(setting)]


def at_budgets_of(profile: Profile, small: Profile, name: str, keep: Collection[str] = ()) -> Profile:
    """``profile`` called ``name`` with every setting but the games (kind ``games``) and the paths in ``keep``
    (``"interference.offline_env_steps"``) taken from ``small``.

    The result plays ``profile``'s games and levels through the same code at ``small``'s budgets,
    hyper-parameters and statistics: ``gpu-smoke`` (:data:`GPU_SMOKE`) is ``gpu`` at ``smoke``'s, so
    that a CPU test runs the ``gpu`` profile's code paths in minutes.  ``keep`` names the settings
    that the games need as they are (an episode's length).  Raises :class:`ValueError` naming a
    path in ``keep`` that is no setting.
    """
    paths = {setting.path for setting in profile_settings({"profile": profile})}
    if unknown := sorted(set(keep) - paths):
        raise ValueError(f"keep: {', '.join(unknown)} is not a setting of a profile")
    changes: dict[str, Any] = {}
    for setting in profile_differences({"profile": profile, "small": small}):
        if setting.kind == GAMES or setting.path in keep:
            continue
        group = changes
        for part in setting.group.split("."):
            group = group.setdefault(part, {})
        group[setting.field] = setting.values["small"]
    return override(profile, name, **changes)


#: ``gpu`` at ``smoke``'s budgets (:func:`at_budgets_of`): its four games in seconds each, for the tests; the
#: TD-versus-Monte-Carlo control plays as long as at ``gpu``, to see Freeway's episodes end.
#:
#: :meta hide-value:
GPU_SMOKE = at_budgets_of(GPU, SMOKE, "gpu-smoke", keep=("interference.offline_env_steps",))

#: Every profile by its name, the largest first.
#:
#: :meta hide-value:
PROFILES: dict[str, Profile] = {p.name: p for p in (PAPER, GPU, QUICK, SMOKE, GPU_SMOKE)}

#: The profiles the tests run; their results and figures are scratch (ignored by git), and no page shows them.
TEST_PROFILES = ("smoke", "gpu-smoke")


def get_profile(name: str | None = None) -> Profile:
    """Return the profile called ``name``, or the one named by ``TDGEN_PROFILE``.

    Falls back to ``quick`` when neither is given.  An unknown name raises
    :class:`UnknownProfileError` listing the known ones.
    """
    chosen = name if name is not None else os.environ.get(ENV_VAR, DEFAULT_PROFILE)
    chosen = chosen.strip().lower()
    if chosen not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        source = "argument" if name is not None else f"environment variable {ENV_VAR}"
        raise UnknownProfileError(f"unknown profile {chosen!r} (from {source}); choose one of: {known}")
    return PROFILES[chosen]
