"""Value targets: the one-step TD target, its variants, and the targets read off a recorded trajectory.

Every bootstrapped target here is the one-step TD target

    y = r + γ (1 − d) v',

with ``d`` the step's terminal flag (1 ends the episode: nothing to bootstrap from)
and ``v'`` a value of the next state:

* :func:`td_target` – ``y = r + γ (1 − d) v'`` for any ``v'`` (actor-critics, Monte Carlo returns);
* :func:`q_learning_target` – ``v' = max_a' Q(x', a')`` (DQN, offline fitted Q-iteration);
* :func:`expected_td_target` – the expected target ``y = R + γ P v`` of a tabular MDP;
* :func:`gae` – PPO's GAE(λ) advantages, built from the TD errors ``δ_t = y_t − V(x_t)``;
* :func:`discounted_returns` – Monte Carlo returns ``G_t = r_t + γ (1 − d_t) G_{t+1}`` of a
  trajectory (``[T, num_envs]`` arrays, time first);
* :func:`transitions` – a rollout as ``(x_t, a_t, r_t, x_{t+1}, d_t, G_t)`` transitions of finished episodes.

The float expressions are written once, here, because their order of operations is part
of the results: ``r + (γ (1 − d)) v'`` and ``r + (γ v') (1 − d)`` round differently
once XLA fuses the multiply-add.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from tdgen.envs import reset_step


def td_target(reward: jax.Array, done: jax.Array, next_value: jax.Array, gamma: float) -> jax.Array:
    """One-step TD target ``y = r + γ (1 − d) v'``, elementwise: ``[...], [...], [...] -> [...]``.

    ``done`` is 1 (or true-valued float) where the step ended the episode; pass
    :func:`~tdgen.envs.interface.terminal` for envpool, whose reset steps end one too.  Evaluated
    as ``r + (γ · (1 − d)) · v'``.
    """
    return reward + gamma * (1.0 - done) * next_value


def q_learning_target(reward: jax.Array, done: jax.Array, next_q: jax.Array, gamma: float) -> jax.Array:
    """Q-learning target ``y = r + γ (1 − d) max_a' Q(x', a')``: ``[B], [B], [B, A] -> [B]``.

    ``next_q`` holds the (target network's) action values of the next states.
    """
    return td_target(reward, done, next_q.max(-1), gamma)


def expected_td_target(R: jax.Array, P: jax.Array, v: jax.Array, gamma: float) -> jax.Array:
    """Expected TD target of a tabular policy, ``y = R + γ P v``: ``[n], [n, n], [n] -> [n]``.

    The mean of :func:`td_target` over the successor ``x' ~ P(x, ·)`` of every state
    ``x`` (``R``: expected rewards, ``P``: transition matrix ``P^π``, ``v``: values of
    all ``n`` states).  Evaluated as ``R + (γ P) v``.
    """
    return R + gamma * P @ v


def gae(
    values: jax.Array, rewards: jax.Array, dones: jax.Array, last_value: jax.Array, gamma: float, lam: float
) -> tuple[jax.Array, jax.Array]:
    """GAE(λ) advantages and λ-returns (Schulman et al., 2016): ``[T, N] -> ([T, N], [T, N])``.

        δ_t = r_t + γ V(x_{t+1}) (1 − d_t) − V(x_t),    A_t = δ_t + γ λ (1 − d_t) A_{t+1},

    with ``A_T = 0``, ``V(x_T) = last_value`` ``[N]`` and returns ``A_t + V(x_t)``;
    ``dones[t]`` (float) is 1 where step ``t`` ended an episode.  ``δ_t`` is the TD error
    of :func:`td_target`, but evaluated as ``r + (γ V') (1 − d) − V``, PPO's own order
    (not rewritten through :func:`td_target`: the rounding, hence every trained agent,
    would change).
    """

    def backward(carry, t):
        next_adv, next_value = carry
        value, reward, done = t
        delta = reward + gamma * next_value * (1.0 - done) - value
        adv = delta + gamma * lam * (1.0 - done) * next_adv
        return (adv, value), adv

    _, adv = jax.lax.scan(backward, (jnp.zeros_like(last_value), last_value), (values, rewards, dones), reverse=True)
    return adv, adv + values


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
        value = td_target(r, d, later, gamma)
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
    complete = jnp.logical_and(complete, jnp.logical_not(reset_step(complete, rollout)))
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
