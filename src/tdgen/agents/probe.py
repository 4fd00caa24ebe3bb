"""Probe states and update matrices of trained agents (claim 4: interference over training).

For a set of transitions (x_i, a_i, r_i, x'_i, d_i) the update matrix of an agent's
network (see :mod:`tdgen.interference`) is built from one loss per state, with the
targets computed from the same parameters and then held fixed:

* DQN, output Q(x_j, a_j), loss ½ (y_i − Q(x_i, a_i))² with y_i = r_i + γ (1 − d_i) max_a Q(x'_i, a);
* PPO critic, output V(x_j), loss ½ (y_i − V(x_i))² with y_i = r_i + γ (1 − d_i) V(x'_i);
* PPO actor, output log π(a_j | x_j), loss −A_i log π(a_i | x_i) with A_i = y_i − V(x_i).

The squared TD losses stand in for the agents' own (Huber for DQN, clipped PPO
objectives): to first order they move the outputs along the same gradient kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from tdgen.envs import make_env
from tdgen.interference import update_matrix

# The games of the interference study, in the order profiles take them (Breakout first:
# the game on which the agents' learning is checked).
GAMES = ("Breakout-MinAtar", "SpaceInvaders-MinAtar", "Asterix-MinAtar", "Freeway-MinAtar")


def probe_transitions(env_name: str, n_states: int, warmup_steps: int, rng: jax.Array) -> dict[str, jax.Array]:
    """``n_states`` transitions from uniformly random play in ``n_states`` parallel environments.

    Each environment first plays ``warmup_steps`` random steps (resetting when an
    episode ends, so the environments are at different stages), then one more step is
    recorded: ``obs`` and ``next_obs`` ``uint8[n, ...]``, ``action`` ``int[n]``,
    ``reward`` and ``done`` ``float32[n]``.
    """
    if n_states < 2 or warmup_steps < 0:
        raise ValueError(f"need n_states >= 2 and warmup_steps >= 0, got {n_states} and {warmup_steps}")
    env = make_env(env_name, num_envs=n_states)
    reset_key, play_key = jax.random.split(rng)
    obs, state = env.reset(reset_key)

    def random_step(carry, key):
        obs, state = carry
        action_key, step_key = jax.random.split(key)
        action = jax.random.randint(action_key, (n_states,), 0, env.num_actions)
        next_obs, state, reward, done, _ = env.step(step_key, state, action)
        return (next_obs, state), (obs, action, reward, next_obs, done)

    keys = jax.random.split(play_key, warmup_steps + 1)
    _, (obs, action, reward, next_obs, done) = jax.lax.scan(random_step, (obs, state), keys)
    return {
        "obs": obs[-1],
        "action": action[-1],
        "reward": reward[-1].astype(jnp.float32),
        "next_obs": next_obs[-1],
        "done": done[-1].astype(jnp.float32),
    }


def _fixed(x: jax.Array) -> jax.Array:
    return jax.lax.stop_gradient(x)


def q_update_matrix(apply: Callable, params: Any, batch: dict, gamma: float, learning_rate: float) -> jax.Array:
    """DQN's ``[n, n]`` update matrix of Q(x_j, a_j) under one-state TD losses (targets fixed)."""
    target = batch["reward"] + gamma * (1.0 - batch["done"]) * apply(params, batch["next_obs"]).max(-1)
    data = {"obs": batch["obs"], "action": batch["action"], "y": _fixed(target)}

    def outputs(p, d):
        return jnp.take_along_axis(apply(p, d["obs"]), d["action"][:, None], axis=-1)[:, 0]

    def loss(p, example):
        q = apply(p, example["obs"][None])[0, example["action"]]
        return 0.5 * (example["y"] - q) ** 2

    return update_matrix(outputs, loss, params, data, learning_rate)


def actor_critic_update_matrices(
    apply: Callable, params: Any, batch: dict, gamma: float, learning_rate: float
) -> dict[str, jax.Array]:
    """PPO's ``[n, n]`` update matrices: ``"critic"`` (V, value losses) and ``"actor"`` (log π, policy losses)."""
    _, value = apply(params, batch["obs"])
    _, next_value = apply(params, batch["next_obs"])
    target = _fixed(batch["reward"] + gamma * (1.0 - batch["done"]) * next_value)
    data = {"obs": batch["obs"], "action": batch["action"], "y": target, "advantage": _fixed(target - value)}

    def values(p, d):
        return apply(p, d["obs"])[1]

    def value_loss(p, example):
        return 0.5 * (example["y"] - apply(p, example["obs"][None])[1][0]) ** 2

    def log_probs(p, d):
        logits = apply(p, d["obs"])[0]
        return jnp.take_along_axis(jax.nn.log_softmax(logits), d["action"][:, None], axis=-1)[:, 0]

    def policy_loss(p, example):
        logits = apply(p, example["obs"][None])[0][0]
        return -example["advantage"] * jax.nn.log_softmax(logits)[example["action"]]

    return {
        "critic": update_matrix(values, value_loss, params, data, learning_rate),
        "actor": update_matrix(log_probs, policy_loss, params, data, learning_rate),
    }
