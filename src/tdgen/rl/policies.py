"""Policies as pure functions ``(params, key, obs [N, ...]) -> action int32[N]`` of a network's ``apply``.

* :func:`epsilon_greedy` – a Q-network's ε-greedy policy (DQN's behaviour; ε = 0 is greedy);
* :func:`softmax_policy` – an actor-critic's sampled (or greedy) policy;
* :func:`perturbed` – any policy acting on perturbed observations (claim 5's input noise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from tdgen.validate import probability

Policy = Callable[[Any, jax.Array, jax.Array], jax.Array]  # (params, key, obs [N, ...]) -> action int32[N]


def epsilon_greedy(apply: Callable, epsilon: float) -> Policy:
    """ε-greedy policy of a Q-network ``apply(params, obs) -> Q [N, A]`` (ε = 0: greedy)."""
    probability("epsilon", epsilon)

    def policy(params: Any, key: jax.Array, obs: jax.Array) -> jax.Array:
        q = apply(params, obs)
        explore_key, action_key = jax.random.split(key)
        random_action = jax.random.randint(action_key, q.shape[:1], 0, q.shape[-1])
        return jnp.where(jax.random.uniform(explore_key, q.shape[:1]) < epsilon, random_action, q.argmax(-1))

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
