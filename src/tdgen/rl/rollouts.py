"""Playing a policy in a batch of environments: one rollout, and what is read off it.

* :func:`rollout` – ``num_steps`` steps of a :mod:`policy <tdgen.rl.policies>` in an
  :class:`~tdgen.envs.interface.Env`, every transition kept (``[T, num_envs, ...]``);
  :func:`play` is the same loop, also handing back the observation after the last step;
* :func:`random_transitions` – one transition per environment after uniformly random warm-up play;
* :func:`first_episode_returns`, :func:`mean_episode_return`, :func:`visited_states`,
  :func:`actor_critic_returns` – returns and states of a rollout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from tdgen.envs import Env, make_env, reset_step, terminal, vmap_over
from tdgen.rl.policies import Policy, softmax_policy, uniform_random


def play(
    env: Env, policy: Policy, params: Any, num_steps: int, rng: jax.Array
) -> tuple[dict[str, jax.Array], jax.Array]:
    """:func:`rollout`, and the observation after its last step, ``[num_envs, ...]``.

    Keys: ``(reset_key, run_key) = split(rng)``; step ``t`` splits key ``t`` of
    ``split(run_key, num_steps)`` into the policy's key and the environment's.
    Jit-able (``num_steps`` and ``env`` static).
    """
    reset_key, run_key = jax.random.split(rng)
    obs, state = env.reset(reset_key)

    def step(carry, key):
        obs, state = carry
        act_key, step_key = jax.random.split(key)
        action = policy(params, act_key, obs)
        next_obs, state, reward, done, info = env.step(step_key, state, action)
        out = {"obs": obs, "action": action, "reward": reward, "done": done, "reset_step": reset_step(done, info)}
        return (next_obs, state), out

    (last_obs, _), out = jax.lax.scan(step, (obs, state), jax.random.split(run_key, num_steps))
    return out, last_obs


def rollout(env: Env, policy: Policy, params: Any, num_steps: int, rng: jax.Array) -> dict[str, jax.Array]:
    """Run ``policy`` for ``num_steps`` steps in ``env`` (``num_envs`` copies, automatic resets).

    Returns ``obs`` ``[num_steps, num_envs, ...]`` (the observation each action was
    taken on), ``action``, ``reward``, ``done`` and ``reset_step``
    ``[num_steps, num_envs]``; ``reset_step`` marks envpool's reset steps (their
    ``obs`` is the last frame of an episode and their action is ignored; always false
    for JAX environments, :func:`~tdgen.envs.interface.reset_step`).  Jit-able
    (``num_steps`` and ``env`` static); :func:`play` also returns the last observation.
    """
    return play(env, policy, params, num_steps, rng)[0]


def first_episode_returns(reward: jax.Array, done: jax.Array) -> jax.Array:
    """Undiscounted return of each environment's first episode: ``[T, N], [T, N] -> [N]``.

    An episode still running after ``T`` steps counts with the reward it has collected
    so far (the caller picks ``T`` long enough for that to be rare).
    """
    if reward.shape != done.shape or reward.ndim != 2:
        raise ValueError(f"reward and done must both be [T, N], got {reward.shape} and {done.shape}")
    ended_before = jnp.cumsum(done, axis=0) - done  # episodes finished before step t
    return jnp.where(ended_before == 0, reward, 0.0).sum(0)


def visited_states(env: Env, policy: Policy, params: Any, num_steps: int, rng: jax.Array) -> jax.Array:
    """The ``[num_steps · num_envs, ...]`` states a policy acts on in ``num_steps`` steps of ``env``."""
    obs = rollout(env, policy, params, num_steps, rng)["obs"]
    return obs.reshape((-1, *obs.shape[2:]))


def mean_episode_return(env: Env, policy: Policy, params: Any, num_steps: int, rng: jax.Array) -> jax.Array:
    """Mean :func:`first_episode_returns` over ``env``'s ``num_envs`` environments (episodes cut at ``num_steps``)."""
    out = rollout(env, policy, params, num_steps, rng)
    return first_episode_returns(out["reward"], out["done"]).mean()


def actor_critic_returns(apply: Callable, networks: Any, env: Env, num_steps: int, rng: jax.Array) -> jax.Array:
    """Mean episode return of every actor-critic of ``networks`` (leaves ``[T, M, ...]``) in ``env``.

    Returns ``[T, M, 2]``: sampling from the policy (``[..., 0]``) and acting greedily
    (``[..., 1]``).  The ``M`` networks of a row share their keys (a teacher and its
    students meet the same levels and noise) — except in an envpool pool, which they
    play one after another (:func:`~tdgen.envs.interface.vmap_over`), each on the next episodes.
    """

    def mean_return(params: Any, key: jax.Array, greedy: jax.Array) -> jax.Array:
        return mean_episode_return(env, softmax_policy(apply, greedy=greedy), params, num_steps, key)

    rows = jax.tree.leaves(networks)[0].shape[0]
    per_network = vmap_over(vmap_over(mean_return, env, in_axes=(0, None, None)), env, in_axes=(0, 0, None))
    both_modes = vmap_over(per_network, env, in_axes=(None, None, 0))  # [2, T, M]
    returns = jax.jit(both_modes)(networks, jax.random.split(rng, rows), jnp.array([False, True]))
    return jnp.moveaxis(returns, 0, -1)


def random_transitions(env_name: str, n_states: int, warmup_steps: int, rng: jax.Array) -> dict[str, jax.Array]:
    """``n_states`` transitions from uniformly random play in ``n_states`` parallel environments.

    Each environment first plays ``warmup_steps`` random steps (resetting when an
    episode ends, so the environments are at different stages), then one more step is
    recorded: ``obs`` and ``next_obs`` ``uint8[n, ...]``, ``action`` ``int[n]``,
    ``reward`` and ``done`` ``float32[n]`` — the last step of :func:`play` with
    :func:`~tdgen.rl.policies.uniform_random` for ``warmup_steps + 1`` steps.

    envpool (Atari, ProcGen) runs as one batch here too (no vmap over seeds); its pool
    is seeded when made, so ``rng`` draws only the random actions.  Where the recorded
    step is one of envpool's reset steps, its ``obs`` is an episode's last frame, a
    terminal state: ``done`` is set (:func:`~tdgen.envs.interface.terminal`, so its TD
    target is its reward, 0).
    """
    if n_states < 2 or warmup_steps < 0:
        raise ValueError(f"need n_states >= 2 and warmup_steps >= 0, got {n_states} and {warmup_steps}")
    env = make_env(env_name, num_envs=n_states)
    steps, next_obs = play(env, uniform_random(env.num_actions), None, warmup_steps + 1, rng)
    last = jax.tree.map(lambda x: x[-1], steps)
    return {
        "obs": last["obs"],
        "action": last["action"],
        "reward": last["reward"].astype(jnp.float32),
        "next_obs": next_obs,
        "done": terminal(last["done"], last).astype(jnp.float32),
    }
