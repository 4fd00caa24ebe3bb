"""Run profiles: every budget of the book lives here and nowhere else.

A profile is chosen with the environment variable ``TDGEN_PROFILE``:

* ``smoke`` – seconds per notebook; used by the tests (nbval).
* ``quick`` – the default; the whole book in minutes on a 2-core CPU laptop.
* ``paper`` – paper-scale budgets for one GPU.

Notebooks call :func:`get_profile` once and read their budgets from the
returned immutable :class:`Profile`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_VAR = "TDGEN_PROFILE"
DEFAULT_PROFILE = "quick"


class UnknownProfileError(ValueError):
    """Raised when ``TDGEN_PROFILE`` (or an argument) names no known profile."""


@dataclass(frozen=True)
class SmoothnessBudget:
    """Claim 1: sizes of the tabular environments whose spectra are studied."""

    ring_states: int
    chain_states: int
    grid_side: int
    drift_grid_side: int
    random_mdp_states: int
    bootstrap_resamples: int


@dataclass(frozen=True)
class TDBudget:
    """Claim 2: the TD-dynamics experiments on a gridworld."""

    grid_side: int
    gamma: float
    horizon: float  # continuous time T of the expected dynamics
    n_times: int  # time points recorded between 0 and T (T/(n_times−1) must be a multiple of td_step)
    td_step: float  # step size of discrete expected and sampled TD
    td_seeds: int  # seeds of sampled TD(0), run as one vmap
    bellman_iterations: int  # Bellman updates shown for the target-smoothness figure
    nn_seeds: int  # seeds of the neural-network runs, run as one vmap
    nn_steps: int  # full-batch gradient steps of the network
    nn_hidden: int  # width of the MLP's two hidden layers
    nn_learning_rate: float  # plain SGD, the discrete form of gradient flow
    nn_bands: int  # eigenvalue bands in which the network's error is tracked
    bootstrap_resamples: int

    def __post_init__(self) -> None:
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
    gamma: float
    seeds: int  # seeds (network initialisation and train/held-out split), run as one vmap
    train_fraction: float  # fraction of the states given as training states; the rest are held out
    hidden: int  # width of the MLP's two hidden layers
    learning_rate: float  # Adam, for pre-training, fine-tuning and the TD/MC comparison
    target_levels: int  # pre-training targets per family (eigenvectors of P^π, sinusoids), smoothest to roughest
    pretrain_steps: int  # the longest pre-training
    pretrain_lengths: int  # pre-training lengths, each a quarter of the next, up to pretrain_steps
    finetune_steps: int  # Adam steps on V^π after pre-training (and from scratch)
    value_steps: int  # Adam steps of the TD-versus-Monte-Carlo comparison
    bootstrap_resamples: int

    def __post_init__(self) -> None:
        if self.pretrain_steps // 4 ** (self.pretrain_lengths - 1) < 1:
            raise ValueError(
                f"{self.pretrain_lengths} pre-training lengths do not fit into {self.pretrain_steps} steps"
            )

    @property
    def pretrain_schedule(self) -> tuple[int, ...]:
        """The pre-training lengths, shortest first: ``pretrain_steps / 4^k``."""
        return tuple(self.pretrain_steps // 4**k for k in reversed(range(self.pretrain_lengths)))


@dataclass(frozen=True)
class AgentBudget:
    """The deep RL agents (PPO, DQN) on MinAtar: environment steps, parallel environments, seeds, checkpoints."""

    seeds: int  # independent runs per agent, run as one vmap
    checkpoints: int  # parameters kept at the start and after each of this many equal chunks of training
    ppo_timesteps: int  # environment steps per seed (over all parallel envs)
    ppo_num_envs: int
    ppo_num_steps: int  # rollout length per PPO update
    dqn_timesteps: int
    dqn_num_envs: int
    dqn_buffer_size: int  # replay capacity in transitions
    dqn_learning_starts: int  # environment steps collected before the first gradient step
    dqn_eps_anneal_steps: int  # environment steps over which ε falls from 1 to its final value

    def __post_init__(self) -> None:
        if self.checkpoints < 10:
            raise ValueError(
                f"checkpoints must be at least 10 (the interference study needs them), got {self.checkpoints}"
            )


@dataclass(frozen=True)
class InterferenceBudget:
    """Claim 4: update matrices of the trained agents on probe states from random play."""

    games: int  # the first this many games of tdgen.agents.probe.GAMES, each with PPO and DQN
    states: int  # probe states: one update-matrix row and column each
    warmup_steps: int  # random steps each probe environment plays before its state is recorded
    learning_rate: float  # SGD step of one update-matrix row


@dataclass(frozen=True)
class Profile:
    """All budgets of one run profile."""

    name: str
    smoothness: SmoothnessBudget
    td: TDBudget
    critical: CriticalBudget
    agents: AgentBudget
    interference: InterferenceBudget


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        smoothness=SmoothnessBudget(
            ring_states=16,
            chain_states=16,
            grid_side=6,
            drift_grid_side=6,
            random_mdp_states=20,
            bootstrap_resamples=100,
        ),
        td=TDBudget(
            grid_side=5,
            gamma=0.9,
            horizon=10.0,
            n_times=51,
            td_step=0.05,
            td_seeds=16,
            bellman_iterations=20,
            nn_seeds=2,
            nn_steps=100,
            nn_hidden=32,
            nn_learning_rate=0.1,
            nn_bands=4,
            bootstrap_resamples=100,
        ),
        critical=CriticalBudget(
            grid_side=6,
            gamma=0.9,
            seeds=3,
            train_fraction=0.5,
            hidden=16,
            learning_rate=0.003,
            target_levels=3,
            pretrain_steps=40,
            pretrain_lengths=2,
            finetune_steps=40,
            value_steps=40,
            bootstrap_resamples=100,
        ),
        agents=AgentBudget(
            seeds=2,
            checkpoints=10,
            ppo_timesteps=1_280,
            ppo_num_envs=8,
            ppo_num_steps=16,
            dqn_timesteps=400,
            dqn_num_envs=4,
            dqn_buffer_size=1_000,
            dqn_learning_starts=80,
            dqn_eps_anneal_steps=200,
        ),
        interference=InterferenceBudget(games=1, states=16, warmup_steps=10, learning_rate=1e-3),
    ),
    "quick": Profile(
        name="quick",
        smoothness=SmoothnessBudget(
            ring_states=64,
            chain_states=64,
            grid_side=12,
            drift_grid_side=10,
            random_mdp_states=100,
            bootstrap_resamples=2000,
        ),
        td=TDBudget(
            grid_side=10,
            gamma=0.9,
            horizon=40.0,
            n_times=201,
            td_step=0.01,
            td_seeds=256,
            bellman_iterations=100,
            nn_seeds=8,
            nn_steps=4000,
            nn_hidden=128,
            nn_learning_rate=0.1,
            nn_bands=10,
            bootstrap_resamples=1000,
        ),
        critical=CriticalBudget(
            grid_side=16,
            gamma=0.9,
            seeds=10,
            train_fraction=0.5,
            hidden=32,
            learning_rate=0.003,
            target_levels=6,
            pretrain_steps=1000,
            pretrain_lengths=2,
            finetune_steps=4000,
            value_steps=2000,
            bootstrap_resamples=1000,
        ),
        agents=AgentBudget(
            seeds=2,
            checkpoints=10,
            ppo_timesteps=2_000_000,
            ppo_num_envs=64,
            ppo_num_steps=128,
            dqn_timesteps=1_000_000,
            dqn_num_envs=16,
            dqn_buffer_size=100_000,
            dqn_learning_starts=5_000,
            dqn_eps_anneal_steps=100_000,
        ),
        interference=InterferenceBudget(games=1, states=64, warmup_steps=100, learning_rate=1e-3),
    ),
    "paper": Profile(
        name="paper",
        smoothness=SmoothnessBudget(
            ring_states=256,
            chain_states=256,
            grid_side=30,
            drift_grid_side=20,
            random_mdp_states=400,
            bootstrap_resamples=5000,
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
        ),
        agents=AgentBudget(
            seeds=10,
            checkpoints=50,
            ppo_timesteps=10_000_000,
            ppo_num_envs=128,
            ppo_num_steps=128,
            dqn_timesteps=10_000_000,
            dqn_num_envs=16,
            dqn_buffer_size=1_000_000,
            dqn_learning_starts=50_000,
            dqn_eps_anneal_steps=1_000_000,
        ),
        interference=InterferenceBudget(games=4, states=128, warmup_steps=200, learning_rate=1e-3),
    ),
}


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
