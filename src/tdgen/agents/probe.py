"""Probe states and update matrices of trained agents (claim 4: interference over training).

For a set of transitions (x_i, a_i, r_i, x'_i, d_i) the update matrix of an agent's
network (see :mod:`tdgen.interference`) is built from one loss per state, with the
targets computed from the same parameters and then held fixed:

* DQN, output Q(x_j, a_j), loss ½ (y_i − Q(x_i, a_i))² with y_i = r_i + γ (1 − d_i) max_a Q(x'_i, a);
* PPO critic, output V(x_j), loss ½ (y_i − V(x_i))² with y_i = r_i + γ (1 − d_i) V(x'_i);
* PPO actor, output log π(a_j | x_j), loss −A_i log π(a_i | x_i) with A_i = y_i − V(x_i).

The squared TD losses stand in for the agents' own (Huber for DQN, clipped PPO
objectives): to first order they move the outputs along the same gradient kernel.

The agents are trained by :func:`train_seeds` — all seeds in one vmap, or, for
envpool's Atari and ProcGen (one pool serves one seed), one seed per cached run with
the results stacked — and :func:`over_runs` maps an update-matrix function over the
``[seeds, checkpoints]`` axes of their parameters, in slices that fit in memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from tdgen.agents import runner
from tdgen.envs import ENVPOOL_SUITES, make_env, parse_env_options
from tdgen.interference import update_matrix


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


def stack_runs(runs: list[runner.Run]) -> runner.Run:
    """Concatenate runs along their leading seed axis: ``[s_1, ...], [s_2, ...] -> [s_1 + s_2, ...]``."""
    if not runs:
        raise ValueError("no runs to stack")
    return jax.tree.map(lambda *leaves: np.concatenate([np.asarray(x) for x in leaves], axis=0), *runs)


def train_seeds(
    config: Any, make_trainer: Callable[[Any], runner.Trainer], rngs: jax.Array, cache_dir: Path, **kwargs: Any
) -> runner.Run:
    """Train (or load) a run per key of ``rngs`` with :func:`~tdgen.agents.runner.run_cached`: leaves ``[seeds, ...]``.

    MinAtar and other JAX environments: one call, the seeds vmapped.  envpool
    environments (:func:`is_envpool`): one call per seed, each with its own pool whose
    seed is the seed's index (:func:`seeded_env_name`, so the environments differ
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


def probe_transitions(env_name: str, n_states: int, warmup_steps: int, rng: jax.Array) -> dict[str, jax.Array]:
    """``n_states`` transitions from uniformly random play in ``n_states`` parallel environments.

    Each environment first plays ``warmup_steps`` random steps (resetting when an
    episode ends, so the environments are at different stages), then one more step is
    recorded: ``obs`` and ``next_obs`` ``uint8[n, ...]``, ``action`` ``int[n]``,
    ``reward`` and ``done`` ``float32[n]``.

    envpool (Atari, ProcGen) runs as one batch here too (no vmap over seeds); its pool
    is seeded when made, so ``rng`` draws only the random actions.  Where the recorded
    step is one of envpool's reset steps, its ``obs`` is an episode's last frame, a
    terminal state: ``done`` is set (so its TD target is its reward, 0).
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
        next_obs, state, reward, done, info = env.step(step_key, state, action)
        if "reset_step" in info:  # envpool: this step restarted an episode from its last frame
            done = jnp.logical_or(done, info["reset_step"])
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
