"""Small neural value functions trained full-batch with TD or Monte Carlo targets.

Semi-gradient TD on every state at once minimises, at each step,

    L_TD(θ) = ½ · mean_s (sg[R(s) + γ Σ_{s'} P(s, s') V_θ(s')] − V_θ(s))²,

where ``sg`` stops the gradient through the bootstrapped target; Monte Carlo
regression minimises ½ · mean_s (V^π(s) − V_θ(s))².  Both use the same network,
optimiser and budget, so any difference in what is fitted first comes from the
targets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from tdgen.mdp import InvalidMDPError, TabularEnv, check_gamma, value_function

Target = Literal["td", "mc"]
Encoding = Literal["one-hot", "coordinates"]


class MLP(nn.Module):
    """Two hidden ReLU layers and a scalar output: ``[batch, d] -> [batch]``."""

    hidden: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.relu(nn.Dense(self.hidden)(x))
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(1)(x)[..., 0]


def encode_states(env: TabularEnv, encoding: Encoding) -> np.ndarray:
    """Network inputs for every state: ``[n, n]`` one-hot, or ``[n, 2]`` grid coordinates scaled to [−1, 1]."""
    if encoding == "one-hot":
        return np.eye(env.n_states, dtype=np.float32)
    if encoding == "coordinates":
        if env.coords is None or env.shape is None:
            raise InvalidMDPError(f"environment {env.name!r} has no coordinates to encode")
        scale = np.maximum(np.array(env.shape, dtype=np.float32) - 1.0, 1.0)
        return (2.0 * env.coords / scale - 1.0).astype(np.float32)
    raise ValueError(f"unknown encoding {encoding!r}; choose 'one-hot' or 'coordinates'")


def make_value_train(
    env: TabularEnv,
    gamma: float,
    target: Target,
    encoding: Encoding,
    hidden: int,
    learning_rate: float,
    n_steps: int,
    record_every: int,
) -> Callable[[jax.Array], jax.Array]:
    """Build a jit-able ``train(rng) -> [n_steps // record_every + 1, n]`` of the network's values over training.

    Row ``k`` holds ``V_θ`` on every state after ``k · record_every`` SGD steps.
    Vmap ``train`` over seeds.
    """
    check_gamma(gamma)
    if target not in ("td", "mc"):
        raise ValueError(f"unknown target {target!r}; choose 'td' or 'mc'")
    if n_steps < record_every or record_every < 1:
        raise ValueError(f"need 1 <= record_every <= n_steps, got {record_every} and {n_steps}")
    x = jnp.asarray(encode_states(env, encoding))
    P = jnp.asarray(env.P, dtype=jnp.float32)
    R = jnp.asarray(env.R, dtype=jnp.float32)
    v_pi = jnp.asarray(value_function(env.P, env.R, gamma), dtype=jnp.float32)
    model = MLP(hidden=hidden)
    tx = optax.sgd(learning_rate)

    def loss_fn(params) -> jax.Array:
        v = model.apply(params, x)
        goal = R + gamma * P @ v if target == "td" else v_pi
        return 0.5 * jnp.mean((jax.lax.stop_gradient(goal) - v) ** 2)

    def train(rng: jax.Array) -> jax.Array:
        params = model.init(rng, x)
        opt_state = tx.init(params)

        def step(carry, _):
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        def block(carry, _):
            carry, _ = jax.lax.scan(step, carry, None, length=record_every)
            return carry, model.apply(carry[0], x)

        _, trace = jax.lax.scan(block, (params, opt_state), None, length=n_steps // record_every)
        return jnp.concatenate([model.apply(params, x)[None], trace])

    return jax.jit(train)
