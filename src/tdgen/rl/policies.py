"""Policies as pure functions ``(params, key, obs [N, ...]) -> action int32[N]`` of a network's ``apply``.

* :func:`epsilon_greedy` – a Q-network's ε-greedy policy (ε = 0 is greedy), choosing with
  :func:`epsilon_greedy_actions`, which DQN's training loop calls too;
* :func:`uniform_random` – uniformly random actions;
* :func:`softmax_policy` – an actor-critic's sampled (or greedy) policy;
* :func:`perturbed` – any policy acting on perturbed observations (claim 5's input noise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from tdgen.validate import positive_int, probability

Policy = Callable[[Any, jax.Array, jax.Array], jax.Array]  # (params, key, obs [N, ...]) -> action int32[N]


def epsilon_greedy_actions(
    q: jax.Array, epsilon: float | jax.Array, explore_key: jax.Array, action_key: jax.Array
) -> jax.Array:
    """ε-greedy actions of action values ``q`` ``[N, A]``: ``int32[N]``.

        a_i = uniform over {0, …, A − 1}  if u_i < ε,   argmax_a q_i(a)  otherwise,   u_i ~ U[0, 1),

    the ``u_i`` drawn from ``explore_key`` and the random actions from ``action_key``
    (two keys, so that callers keep their own key splitting).  ``epsilon`` may be traced
    (DQN's annealed ε).
    """
    random_action = jax.random.randint(action_key, q.shape[:1], 0, q.shape[-1])
    return jnp.where(jax.random.uniform(explore_key, q.shape[:1]) < epsilon, random_action, q.argmax(-1))


def epsilon_greedy(apply: Callable, epsilon: float) -> Policy:
    """ε-greedy policy of a Q-network ``apply(params, obs) -> Q [N, A]`` (ε = 0: greedy).

    Splits its key into ``(explore_key, action_key)`` for :func:`epsilon_greedy_actions`.
    """
    probability("epsilon", epsilon)

    def policy(params: Any, key: jax.Array, obs: jax.Array) -> jax.Array:
        q = apply(params, obs)
        explore_key, action_key = jax.random.split(key)
        return epsilon_greedy_actions(q, epsilon, explore_key, action_key)

    return policy


def uniform_random(num_actions: int) -> Policy:
    """Policy of uniformly random actions in ``{0, …, num_actions − 1}``, ``int32[N]`` (ignores ``params``)."""
    positive_int("num_actions", num_actions)

    def policy(params: Any, key: jax.Array, obs: jax.Array) -> jax.Array:
        del params
        return jax.random.randint(key, obs.shape[:1], 0, num_actions)

    return policy


def softmax_policy(apply: Callable, greedy: bool | jax.Array = False) -> Policy:
    """Policy of an actor-critic ``apply(params, obs) -> (logits [N, A], value [N])``: sampled, or its mode.

    ``greedy`` may be a traced boolean, so one compiled rollout can serve both modes under ``vmap``.
    """

    def policy(params: Any, key: jax.Array, obs: jax.Array) -> jax.Array:
        logits, _ = apply(params, obs)
        return jnp.where(greedy, logits.argmax(-1), jax.random.categorical(key, logits))

    return policy


def perturbed(policy: Policy, perturb: Callable[[jax.Array, jax.Array], jax.Array]) -> Policy:
    """``policy`` acting on ``perturb(key, obs)`` instead of ``obs`` (the environment itself is unchanged)."""

    def acting(params: Any, key: jax.Array, obs: jax.Array) -> jax.Array:
        noise_key, act_key = jax.random.split(key)
        return policy(params, act_key, perturb(noise_key, obs))

    return acting
