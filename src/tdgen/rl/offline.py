"""TD targets against Monte Carlo targets on the same replay data (the control of claim 4).

Lyle et al. (2022) argue that it is the TD targets themselves that make value-based
agents memorize.  The control: one fixed set of transitions from a trained agent's
play, and two freshly initialised copies of the same Q-network trained on it with the
same optimiser, minibatches and budget, differing only in the regression target of
``Q(x_t, a_t)``:

* ``"td"``: ``y_t = r_t + γ (1 − d_t) max_a Q_θ⁻(x_{t+1}, a)``, θ⁻ copied from θ every
  ``target_every`` steps (offline DQN, i.e. fitted Q-iteration;
  :func:`~tdgen.rl.td.q_learning_target`);
* ``"mc"``: the discounted return ``G_t = r_t + γ (1 − d_t) G_{t+1}`` of the episode the
  transition belongs to (plain regression, no bootstrapping).

Both minimise ``½ (Q(x_t, a_t) − y_t)²`` with Adam (:func:`~tdgen.rl.fit.gradient_steps`)
and keep the parameters at evenly spaced checkpoints, on which the update matrices of
:mod:`tdgen.interference` are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
import optax

from tdgen.rl.fit import gradient_steps
from tdgen.rl.td import q_learning_target
from tdgen.validate import positive_float, positive_int, probability

Targets = Literal["td", "mc"]


def make_offline_fit(
    apply: Callable,
    targets: Targets,
    gamma: float,
    num_steps: int,
    batch_size: int,
    learning_rate: float,
    target_every: int,
    num_checkpoints: int,
) -> Callable[[jax.Array, Any, dict[str, jax.Array]], Any]:
    """``fit(rng, params, data) -> params`` at ``num_checkpoints + 1`` points (leaves ``[C + 1, ...]``).

    ``data``: :func:`~tdgen.rl.td.transitions`.  ``targets`` picks the regression target (see the
    module docstring); everything else — Adam, minibatches drawn from ``rng``, budget — is
    shared, so two fits with the same ``rng`` and ``params`` differ only in the targets.
    One jit-able ``lax.scan``; vmap it over seeds.
    """
    if targets not in ("td", "mc"):
        raise ValueError(f"targets must be 'td' or 'mc', got {targets!r}")
    probability("gamma", gamma)
    for name, count in (
        ("num_steps", num_steps),
        ("batch_size", batch_size),
        ("target_every", target_every),
        ("num_checkpoints", num_checkpoints),
    ):
        positive_int(name, count)
    positive_float("learning_rate", learning_rate)
    if num_steps % num_checkpoints:
        raise ValueError(f"num_steps = {num_steps} must be a positive multiple of num_checkpoints = {num_checkpoints}")
    tx = optax.adam(learning_rate)

    def loss(params: Any, target_params: Any, batch: dict[str, jax.Array]) -> jax.Array:
        q = jnp.take_along_axis(apply(params, batch["obs"]), batch["action"][:, None], axis=-1)[:, 0]
        if targets == "mc":
            y = batch["mc_return"]
        else:
            y = q_learning_target(batch["reward"], batch["done"], apply(target_params, batch["next_obs"]), gamma)
        return 0.5 * jnp.mean((q - jax.lax.stop_gradient(y)) ** 2)

    def fit(rng: jax.Array, params: Any, data: dict[str, jax.Array]) -> Any:
        size = data["obs"].shape[0]

        def minibatch_loss(params: Any, target_params: Any, key: jax.Array) -> jax.Array:
            batch = jax.tree.map(lambda x: x[jax.random.randint(key, (batch_size,), 0, size)], data)
            return loss(params, target_params, batch)

        keys = jax.random.split(rng, num_steps)
        fitted = gradient_steps(
            minibatch_loss, tx, params, keys, target_every=target_every, checkpoints=num_checkpoints
        )
        return fitted.records

    return fit
