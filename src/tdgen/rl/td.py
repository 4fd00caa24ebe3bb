"""Value targets computed from a recorded trajectory (``[T, num_envs]`` arrays, time first).

* :func:`discounted_returns` – Monte Carlo returns ``G_t = r_t + γ (1 − d_t) G_{t+1}``;
* :func:`transitions` – a rollout as ``(x_t, a_t, r_t, x_{t+1}, d_t, G_t)`` transitions of finished episodes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def discounted_returns(reward: jax.Array, done: jax.Array, gamma: float) -> tuple[jax.Array, jax.Array]:
    """Monte Carlo returns ``G_t = r_t + γ (1 − d_t) G_{t+1}`` of a rollout, ``[T, N] -> ([T, N], [T, N])``.

    The second output marks the steps whose episode ended within the rollout (their
    ``G_t`` is exact; the others lack the rewards after step ``T``).
    """
    if reward.shape != done.shape or reward.ndim != 2:
        raise ValueError(f"reward and done must both be [T, N], got {reward.shape} and {done.shape}")
    done = done.astype(jnp.float32)

    def backward(carry, step):
        later, ended = carry
        r, d = step
        value = r + gamma * (1.0 - d) * later
        ended = jnp.maximum(ended, d)
        return (value, ended), (value, ended)

    zeros = jnp.zeros_like(reward[0])
    _, (returns, complete) = jax.lax.scan(backward, (zeros, zeros), (reward, done), reverse=True)
    return returns, complete.astype(bool)


def transitions(rollout: dict[str, jax.Array], gamma: float) -> dict[str, jax.Array]:
    """Flat transitions ``[D, ...]`` from a :func:`tdgen.rl.rollouts.rollout` (``[T, N, ...]`` leaves).

    Keeps the steps ``t < T − 1`` (so ``next_obs`` is the rollout's next observation)
    whose episode ended within the rollout (so the Monte Carlo return is exact) and
    that are not envpool reset steps (``rollout["reset_step"]``, where present: from an
    episode's last frame to the next episode's first, no transition of the game): keys
    ``obs``, ``action``, ``reward``, ``done``, ``next_obs``, ``mc_return``.
    """
    returns, complete = discounted_returns(rollout["reward"], rollout["done"], gamma)
    if "reset_step" in rollout:
        complete = jnp.logical_and(complete, jnp.logical_not(rollout["reset_step"]))
    keep = complete[:-1].reshape(-1)
    data = {
        "obs": rollout["obs"][:-1],
        "action": rollout["action"][:-1],
        "reward": rollout["reward"][:-1].astype(jnp.float32),
        "done": rollout["done"][:-1].astype(jnp.float32),
        "next_obs": rollout["obs"][1:],
        "mc_return": returns[:-1],
    }
    flat = {k: v.reshape((-1, *v.shape[2:])) for k, v in data.items()}
    return {k: v[keep] for k, v in flat.items()}  # boolean indexing: call outside jit
