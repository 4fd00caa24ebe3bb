"""PPO (Schulman et al., 2017, "Proximal Policy Optimization Algorithms"), after PureJaxRL's ``ppo.py``.

One update collects ``num_steps`` transitions from each of ``num_envs`` environments,
computes GAE(λ) advantages (Schulman et al., 2016; :func:`~tdgen.rl.td.gae`)

    δ_t = r_t + γ (1 − d_t) V(s_{t+1}) − V(s_t),    A_t = δ_t + γ λ (1 − d_t) A_{t+1},

and takes ``update_epochs`` passes of ``num_minibatches`` Adam steps on

    L = −E[min(ρ_t A_t, clip(ρ_t, 1 ± ε) A_t)] + c_v · E[max((V − R)², (V_clip − R)²)]/2 − c_H · E[H(π)],

with ρ_t = π(a_t|s_t) / π_old(a_t|s_t), advantages normalised per minibatch and
returns R = A + V_old.  :func:`make_train` gives a pure, jit-compiled
``train(rng)`` — one ``lax.scan`` — to be vmapped over seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax.training.train_state import TrainState

from tdgen.envs import EnvState, make_env, terminal
from tdgen.profiles import AgentBudget
from tdgen.rl.networks import ActorCritic
from tdgen.rl.runner import Run, Trainer, episode_metrics
from tdgen.rl.runner import make_train as make_scan_train
from tdgen.rl.td import gae
from tdgen.validate import boolean, check_fields, nonnegative_float, positive_float, positive_int, probability, text


@dataclass(frozen=True)
class PPOConfig:
    """Hyper-parameters of PPO; ``total_timesteps`` is rounded down to whole chunks of updates."""

    env_name: str = "Breakout-MinAtar"
    total_timesteps: int = 1_000_000
    num_envs: int = 64
    num_steps: int = 128
    update_epochs: int = 4
    num_minibatches: int = 8
    learning_rate: float = 5e-3
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    num_checkpoints: int = 10

    def __post_init__(self) -> None:
        check_fields(self, text, "env_name")
        check_fields(
            self,
            positive_int,
            "total_timesteps",
            "num_envs",
            "num_steps",
            "update_epochs",
            "num_minibatches",
            "num_checkpoints",
        )
        check_fields(self, positive_float, "learning_rate", "clip_eps", "max_grad_norm")
        check_fields(self, probability, "gamma", "gae_lambda")
        check_fields(self, nonnegative_float, "ent_coef", "vf_coef")
        check_fields(self, boolean, "anneal_lr")
        batch = self.num_envs * self.num_steps
        if batch % self.num_minibatches:
            raise ValueError(
                f"num_envs·num_steps = {batch} is not divisible by num_minibatches = {self.num_minibatches}"
            )
        if self.num_updates < self.num_checkpoints:
            raise ValueError(
                f"total_timesteps = {self.total_timesteps} gives {self.num_updates} updates of {batch} steps, "
                f"fewer than num_checkpoints = {self.num_checkpoints}"
            )

    @classmethod
    def from_budget(cls, budget: AgentBudget, env_name: str = "Breakout-MinAtar") -> PPOConfig:
        """The PPO config of a profile's :class:`~tdgen.profiles.AgentBudget`: its PPO steps, environments,
        checkpoints and :class:`~tdgen.profiles.PPOHyperparameters` (other fields at their defaults)."""
        return cls(
            env_name=env_name,
            total_timesteps=budget.ppo_timesteps,
            num_envs=budget.ppo_num_envs,
            num_checkpoints=budget.checkpoints,
            **asdict(budget.ppo),
        )

    @property
    def num_updates(self) -> int:
        """Updates actually run, in whole chunks of ``num_updates // num_checkpoints`` updates."""
        per_update = self.num_envs * self.num_steps
        return self.total_timesteps // per_update // self.num_checkpoints * self.num_checkpoints


class Transition(NamedTuple):
    """One step of the rollout, every leaf ``[num_envs, ...]``."""

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    done: jax.Array
    episode_return: jax.Array
    terminal: jax.Array  # tdgen.envs.terminal(done, info): ``done``, or an envpool reset step


class PPOState(NamedTuple):
    """Training state of one seed: network and optimiser, environments, last observation, rng."""

    train_state: TrainState
    env_state: EnvState
    obs: jax.Array
    rng: jax.Array


def ppo_loss(
    params: Any, apply: Callable, batch: Transition, advantages: jax.Array, targets: jax.Array, config: PPOConfig
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Clipped-surrogate PPO loss of a minibatch ``[B, ...]`` (see the module docstring) and its parts."""
    logits, value = apply(params, batch.obs)
    log_probs = jax.nn.log_softmax(logits)
    log_prob = jnp.take_along_axis(log_probs, batch.action[:, None], axis=-1)[:, 0]
    value_clipped = batch.value + jnp.clip(value - batch.value, -config.clip_eps, config.clip_eps)
    value_loss = 0.5 * jnp.maximum((value - targets) ** 2, (value_clipped - targets) ** 2).mean()
    ratio = jnp.exp(log_prob - batch.log_prob)
    adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    actor_loss = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - config.clip_eps, 1 + config.clip_eps) * adv).mean()
    entropy = -(jnp.exp(log_probs) * log_probs).sum(-1).mean()
    total = actor_loss + config.vf_coef * value_loss - config.ent_coef * entropy
    return total, {"value_loss": value_loss, "actor_loss": actor_loss, "entropy": entropy}


def make_trainer(config: PPOConfig) -> Trainer:
    """PPO on ``config.env_name`` as a :class:`~tdgen.rl.runner.Trainer` (one seed)."""
    env = make_env(config.env_name, config.num_envs)
    network = ActorCritic(env.num_actions)
    batch_size = config.num_envs * config.num_steps
    minibatch_size = batch_size // config.num_minibatches
    opt_steps_per_update = config.num_minibatches * config.update_epochs

    def schedule(count: jax.Array) -> jax.Array:
        frac = 1.0 - (count // opt_steps_per_update) / config.num_updates
        return config.learning_rate * (frac if config.anneal_lr else 1.0)

    tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(schedule, eps=1e-5))

    def init(rng: jax.Array) -> PPOState:
        rng, net_key, env_key = jax.random.split(rng, 3)
        obs, env_state = env.reset(env_key)
        params = network.init(net_key, obs)
        return PPOState(TrainState.create(apply_fn=network.apply, params=params, tx=tx), env_state, obs, rng)

    def env_step(state: PPOState, _) -> tuple[PPOState, Transition]:
        rng, act_key, step_key = jax.random.split(state.rng, 3)
        logits, value = network.apply(state.train_state.params, state.obs)
        action = jax.random.categorical(act_key, logits)
        log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], axis=-1)[:, 0]
        obs, env_state, reward, done, info = env.step(step_key, state.env_state, action)
        transition = Transition(
            state.obs, action, log_prob, value, reward, done, info["episode_return"], terminal(done, info)
        )
        return PPOState(state.train_state, env_state, obs, rng), transition

    def update(state: PPOState) -> tuple[PPOState, dict[str, jax.Array]]:
        state, traj = jax.lax.scan(env_step, state, None, length=config.num_steps)
        _, last_value = network.apply(state.train_state.params, state.obs)
        advantages, targets = gae(
            traj.value, traj.reward, traj.terminal.astype(jnp.float32), last_value, config.gamma, config.gae_lambda
        )
        grad_fn = jax.value_and_grad(ppo_loss, has_aux=True)

        def minibatch_step(train_state: TrainState, minibatch):
            batch, adv, tgt = minibatch
            (_, parts), grads = grad_fn(train_state.params, network.apply, batch, adv, tgt, config)
            return train_state.apply_gradients(grads=grads), parts

        def epoch(carry, _):
            train_state, rng = carry
            rng, perm_key = jax.random.split(rng)
            perm = jax.random.permutation(perm_key, batch_size)
            flat = jax.tree.map(lambda x: x.reshape((batch_size, *x.shape[2:])), (traj, advantages, targets))
            shuffled = jax.tree.map(
                lambda x: x[perm].reshape((config.num_minibatches, minibatch_size, *x.shape[1:])), flat
            )
            train_state, parts = jax.lax.scan(minibatch_step, train_state, shuffled)
            return (train_state, rng), parts

        (train_state, rng), parts = jax.lax.scan(
            epoch, (state.train_state, state.rng), None, length=config.update_epochs
        )
        metrics = {**episode_metrics(traj.done, traj.episode_return), **jax.tree.map(jnp.mean, parts)}
        return PPOState(train_state, state.env_state, state.obs, rng), metrics

    return Trainer(
        init=init,
        update=update,
        params=lambda state: state.train_state.params,
        num_checkpoints=config.num_checkpoints,
        updates_per_chunk=config.num_updates // config.num_checkpoints,
        steps_per_update=batch_size,
    )


def make_train(config: PPOConfig) -> Callable[[jax.Array], Run]:
    """Pure, jit-compiled ``train(rng) -> Run`` of PPO (one seed; ``jax.vmap(train)(rngs)`` for many)."""
    return make_scan_train(make_trainer(config))
