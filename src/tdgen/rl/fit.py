"""The one optax fitting loop: ``num_steps`` gradient steps on a loss, as one ``lax.scan``.

Step ``k`` (``x_k``: the step's slice of ``xs``, e.g. a minibatch key) is

    g_k = ∇_θ L(θ_k, x_k),    (u_k, s_{k+1}) = tx.update(g_k, s_k, θ_k),    θ_{k+1} = θ_k + u_k,

optionally with a target network (``L(θ_k, θ⁻_k, x_k)``, ``θ⁻ ← θ_{k+1}`` after every
``target_every``-th step, fitted Q-iteration) and checkpoints (``record(θ)`` after every
``num_steps / checkpoints`` steps).  Every fit of the book — the offline DQN / Monte
Carlo control (:func:`tdgen.rl.offline.make_offline_fit`) and the value and
distillation fits of the science modules — runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class Fitted(NamedTuple):
    """What :func:`gradient_steps` hands back."""

    params: Any  #: θ after the last step
    opt_state: Any  #: the optimiser's state after the last step
    losses: jax.Array | None  #: ``[num_steps]`` losses ``L(θ_k, x_k)`` (with ``return_losses``), else None
    records: Any | None  #: ``record(θ)`` at the ``C + 1`` checkpoints, leaves ``[C + 1, ...]`` (with ``checkpoints``)


def gradient_steps(
    loss: Callable[..., jax.Array],
    tx: optax.GradientTransformation,
    params: Any,
    xs: Any = None,
    *,
    num_steps: int | None = None,
    opt_state: Any = None,
    target_every: int | None = None,
    checkpoints: int | None = None,
    record: Callable[[Any], Any] | None = None,
    return_losses: bool = False,
) -> Fitted:
    """Take ``num_steps`` steps of ``tx`` on ``loss`` from ``params`` (see the module docstring): one ``lax.scan``.

    Args:
      loss: ``loss(θ, x) -> []``, differentiated in ``θ``; with ``target_every``,
        ``loss(θ, θ⁻, x)`` (``θ⁻`` is not differentiated).
      tx: the optimiser.
      params: the initial parameters ``θ_0``.
      xs: a pytree of per-step inputs, leaves ``[num_steps, ...]``; step ``k`` gets
        slice ``k``.  ``None``: every step gets ``x = None`` (give ``num_steps``).
      num_steps: the number of steps; only without ``xs``.
      opt_state: the optimiser's state to start from (default ``tx.init(params)``).
      target_every: copy ``θ⁻ ← θ`` after steps ``k`` with ``(k + 1) mod target_every = 0``
        (``θ⁻_0 = θ_0``); ``None``: no target network.
      checkpoints: split the steps into ``C`` equal chunks (a nested ``lax.scan``) and
        record ``θ`` before the first and after each chunk.
      record: what to record of ``θ`` at a checkpoint (default: ``θ`` itself).
      return_losses: also return each step's loss (``jax.value_and_grad`` in place of
        ``jax.grad``).

    Returns:
      :class:`Fitted`. Jit-able; vmap it over seeds.
    """
    if xs is None:
        if num_steps is None:
            raise ValueError("give num_steps when there are no per-step inputs xs")
    else:
        if num_steps is not None:
            raise ValueError("give num_steps only without xs (their leading axis is the number of steps)")
        num_steps = jax.tree.leaves(xs)[0].shape[0]
    if checkpoints is not None and (checkpoints < 1 or num_steps % checkpoints):
        raise ValueError(f"num_steps = {num_steps} is not a multiple of checkpoints = {checkpoints}")
    if target_every is not None and target_every < 1:
        raise ValueError(f"target_every must be at least 1, got {target_every}")
    if return_losses:
        grad = jax.value_and_grad(loss)
    else:
        grad = lambda *args: (None, jax.grad(loss)(*args))
    record = record or (lambda p: p)

    def step(carry, inputs):
        if target_every is None:
            params, opt_state = carry
            value, grads = grad(params, inputs)
        else:
            params, target_params, opt_state = carry
            x, index = inputs
            value, grads = grad(params, target_params, x)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        if target_every is None:
            return (params, opt_state), value
        target_params = jax.tree.map(
            lambda p, t: jnp.where((index + 1) % target_every == 0, p, t), params, target_params
        )
        return (params, target_params, opt_state), value

    opt_state = tx.init(params) if opt_state is None else opt_state
    carry = (params, opt_state) if target_every is None else (params, params, opt_state)
    inputs = xs if target_every is None else (xs, jnp.arange(num_steps))
    if checkpoints is None:
        carry, losses = jax.lax.scan(step, carry, inputs, length=num_steps)
        return Fitted(carry[0], carry[-1], losses, None)
    per_chunk = num_steps // checkpoints

    def chunk(carry, chunk_inputs):
        carry, losses = jax.lax.scan(step, carry, chunk_inputs, length=per_chunk)
        return carry, (record(carry[0]), losses)

    chunked = jax.tree.map(lambda x: x.reshape((checkpoints, per_chunk, *x.shape[1:])), inputs)
    carry, (later, losses) = jax.lax.scan(chunk, carry, chunked, length=checkpoints)
    records = jax.tree.map(lambda first, rest: jnp.concatenate([first[None], rest]), record(params), later)
    losses = None if losses is None else losses.reshape(num_steps)
    return Fitted(carry[0], carry[-1], losses, records)
