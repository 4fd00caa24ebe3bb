"""DQN (Mnih et al., 2015, "Human-level control through deep RL") on MinAtar, after PureJaxRL's ``dqn.py``.

One update steps each of ``num_envs`` environments once with an ε-greedy policy
(:func:`~tdgen.rl.policies.epsilon_greedy_actions`, ε annealed linearly from
``eps_start`` to ``eps_finish`` over ``eps_anneal_steps`` environment steps), adds
the transitions to an on-device flashbax replay buffer — observations stored once, as
``uint8`` — and, once ``learning_starts`` steps have been collected, takes
``gradient_steps`` Adam steps on the Huber loss of Q_θ(s, a) against the target
(:func:`~tdgen.rl.td.q_learning_target`)

    y = r + γ (1 − d) max_a' Q_θ⁻(s', a')

on minibatches of ``batch_size`` transitions; the target parameters θ⁻ are copied from
θ every ``target_update_interval`` environment steps.  :func:`make_train` gives a
pure, jit-compiled ``train(rng)`` — one ``lax.scan`` — to be vmapped over seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import flashbax as fbx
import jax
import jax.numpy as jnp
import optax
from flax.training.train_state import TrainState

from tdgen.envs import EnvState, make_env, terminal
from tdgen.profiles import AgentBudget
from tdgen.rl.networks import QNetwork
from tdgen.rl.policies import epsilon_greedy_actions
from tdgen.rl.runner import Run, Trainer, episode_metrics
from tdgen.rl.runner import make_train as make_scan_train
from tdgen.rl.td import q_learning_target
from tdgen.validate import check_fields, positive_float, positive_int, probability, text


@dataclass(frozen=True)
class DQNConfig:
    """Hyper-parameters of DQN (step counts are environment steps summed over the parallel envs)."""

    env_name: str = "Breakout-MinAtar"
    total_timesteps: int = 1_000_000
    num_envs: int = 16
    buffer_size: int = 100_000
    batch_size: int = 64
    gradient_steps: int = 1  # Adam steps per update (per num_envs environment steps)
    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    eps_start: float = 1.0
    eps_finish: float = 0.05
    eps_anneal_steps: int = 100_000
    learning_starts: int = 5_000
    target_update_interval: int = 1_000
    max_grad_norm: float = 10.0
    num_checkpoints: int = 10

    def __post_init__(self) -> None:
        check_fields(self, text, "env_name")
        check_fields(
            self,
            positive_int,
            "total_timesteps",
            "num_envs",
            "buffer_size",
            "batch_size",
            "gradient_steps",
            "eps_anneal_steps",
            "learning_starts",
            "target_update_interval",
            "num_checkpoints",
        )
        check_fields(self, positive_float, "learning_rate", "max_grad_norm")
        check_fields(self, probability, "gamma", "eps_start", "eps_finish")
        if self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size = {self.batch_size} is larger than buffer_size = {self.buffer_size}")
        if self.target_update_interval < self.num_envs:
            raise ValueError(
                f"target_update_interval = {self.target_update_interval} is shorter than one update "
                f"of {self.num_envs} steps"
            )
        for name in ("buffer_size", "learning_starts"):
            if getattr(self, name) < 2 * self.num_envs:
                raise ValueError(
                    f"{name} = {getattr(self, name)} must hold at least two updates of {self.num_envs} envs "
                    f"({2 * self.num_envs} steps)"
                )
        if self.num_updates < self.num_checkpoints:
            raise ValueError(
                f"total_timesteps = {self.total_timesteps} gives {self.num_updates} updates of {self.num_envs} steps, "
                f"fewer than num_checkpoints = {self.num_checkpoints}"
            )

    @classmethod
    def from_budget(cls, budget: AgentBudget, env_name: str = "Breakout-MinAtar") -> DQNConfig:
        """The DQN config of a profile's :class:`~tdgen.profiles.AgentBudget`: its DQN steps, environments,
        checkpoints and :class:`~tdgen.profiles.DQNHyperparameters` (other fields at their defaults)."""
        return cls(
            env_name=env_name,
            total_timesteps=budget.dqn_timesteps,
            num_envs=budget.dqn_num_envs,
            num_checkpoints=budget.checkpoints,
            **asdict(budget.dqn),
        )

    @property
    def num_updates(self) -> int:
        """Updates actually run, in whole chunks of ``num_updates // num_checkpoints`` updates."""
        return self.total_timesteps // self.num_envs // self.num_checkpoints * self.num_checkpoints


class DQNState(NamedTuple):
    """Training state of one seed: online network and optimiser, target parameters, replay, environments."""

    train_state: TrainState
    target_params: Any
    buffer_state: Any
    env_state: EnvState
    obs: jax.Array
    updates: jax.Array
    rng: jax.Array


def epsilon(step: jax.Array, config: DQNConfig) -> jax.Array:
    """Linearly annealed exploration rate after ``step`` environment steps."""
    frac = jnp.clip(step / config.eps_anneal_steps, 0.0, 1.0)
    return config.eps_start + frac * (config.eps_finish - config.eps_start)


def q_learning_loss(
    params: Any, target_params: Any, apply: Callable, first: dict, second: dict, gamma: float
) -> jax.Array:
    """Mean Huber loss of Q_θ(s, a) against r + γ (1 − d) max_a' Q_θ⁻(s', a') on a minibatch ``[B]``."""
    q = jnp.take_along_axis(apply(params, first["obs"]), first["action"][:, None], axis=-1)[:, 0]
    target = q_learning_target(first["reward"], first["done"], apply(target_params, second["obs"]), gamma)
    return optax.huber_loss(q, jax.lax.stop_gradient(target)).mean()


def make_trainer(config: DQNConfig) -> Trainer:
    """DQN on ``config.env_name`` as a :class:`~tdgen.rl.runner.Trainer` (one seed)."""
    env = make_env(config.env_name, config.num_envs)
    network = QNetwork(env.num_actions)
    tx = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate))
    buffer = fbx.make_flat_buffer(
        max_length=config.buffer_size,
        min_length=config.batch_size,
        sample_batch_size=config.batch_size,
        add_sequences=False,
        add_batch_size=config.num_envs,
    )
    target_every = config.target_update_interval // config.num_envs
    learn_after = config.learning_starts // config.num_envs

    def init(rng: jax.Array) -> DQNState:
        rng, net_key, env_key = jax.random.split(rng, 3)
        obs, env_state = env.reset(env_key)
        params = network.init(net_key, obs)
        item = {
            "obs": obs[0],
            "action": jnp.int32(0),
            "reward": jnp.float32(0.0),
            "done": jnp.float32(0.0),
        }
        train_state = TrainState.create(apply_fn=network.apply, params=params, tx=tx)
        return DQNState(train_state, params, buffer.init(item), env_state, obs, jnp.int32(0), rng)

    def learn(train_state: TrainState, target_params: Any, buffer_state: Any, rng: jax.Array):
        def step(train_state, key):
            batch = buffer.sample(buffer_state, key).experience
            loss, grads = jax.value_and_grad(q_learning_loss)(
                train_state.params, target_params, network.apply, batch.first, batch.second, config.gamma
            )
            return train_state.apply_gradients(grads=grads), loss

        train_state, losses = jax.lax.scan(step, train_state, jax.random.split(rng, config.gradient_steps))
        return train_state, losses.mean()

    def update(state: DQNState) -> tuple[DQNState, dict[str, jax.Array]]:
        rng, act_key, explore_key, step_key, learn_key = jax.random.split(state.rng, 5)
        q = network.apply(state.train_state.params, state.obs)
        eps = epsilon(state.updates * config.num_envs, config)
        action = epsilon_greedy_actions(q, eps, explore_key, act_key)
        obs, env_state, reward, done, info = env.step(step_key, state.env_state, action)
        item = {"obs": state.obs, "action": action, "reward": reward, "done": terminal(done, info).astype(jnp.float32)}
        buffer_state = buffer.add(state.buffer_state, item)
        updates = state.updates + 1
        train_state, loss = jax.lax.cond(
            updates > learn_after,
            lambda: learn(state.train_state, state.target_params, buffer_state, learn_key),
            lambda: (state.train_state, jnp.float32(jnp.nan)),
        )
        target_params = jax.tree.map(
            lambda p, t: jnp.where(updates % target_every == 0, p, t), train_state.params, state.target_params
        )
        metrics = {**episode_metrics(done, info["episode_return"]), "loss": loss}
        return DQNState(train_state, target_params, buffer_state, env_state, obs, updates, rng), metrics

    return Trainer(
        init=init,
        update=update,
        params=lambda state: state.train_state.params,
        num_checkpoints=config.num_checkpoints,
        updates_per_chunk=config.num_updates // config.num_checkpoints,
        steps_per_update=config.num_envs,
    )


def make_train(config: DQNConfig) -> Callable[[jax.Array], Run]:
    """Pure, jit-compiled ``train(rng) -> Run`` of DQN (one seed; ``jax.vmap(train)(rngs)`` for many)."""
    return make_scan_train(make_trainer(config))
