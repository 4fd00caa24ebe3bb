"""Interference between states: update matrices, the gradient kernel, and their summaries.

Lyle et al. (2022, §5) measure how much an update on one state moves the network's
output on others.  For states x_1..x_n, the *update matrix* is

    U_ij = f_{θ − η ∇_θ ℓ_i(θ)}(x_j) − f_θ(x_j),

row i being the change of the output on every state after one gradient step of size
η on the loss ℓ_i at x_i alone.  A diagonal U means no generalization between
states; a rank-one U means trivial generalization (every update moves every output
alike).  To first order in η, U_ij ≈ −η (∂ℓ_i/∂f(x_i)) K(x_i, x_j) with the gradient
kernel (empirical NTK) K(x_i, x_j) = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩.

Which output and loss: for DQN, f(x_j) = Q(x_j, a_j) and ℓ_i the TD loss at
(x_i, a_i) with its target held fixed; for PPO's critic, f = V and ℓ_i the value
loss; for its actor, f(x_j) = log π(a_j | x_j) and ℓ_i the policy-gradient loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

Params = Any
Batch = Any  # a pytree whose leaves have a leading axis of n states


def _check_batch(batch: Batch) -> int:
    sizes = {leaf.shape[0] for leaf in jax.tree_util.tree_leaves(batch)}
    if len(sizes) != 1:
        raise ValueError(f"every leaf of the batch needs the same leading size n, got sizes {sorted(sizes)}")
    return sizes.pop()


def update_matrix(
    outputs: Callable[[Params, Batch], jax.Array],
    loss: Callable[[Params, Batch], jax.Array],
    params: Params,
    batch: Batch,
    learning_rate: float,
) -> jax.Array:
    """Exact update matrix ``U`` of shape ``[n, n]`` (one SGD step per row, rows by ``vmap``).

    Args:
      outputs: ``outputs(params, batch) -> [n]``, the network's output on every state.
      loss: ``loss(params, example) -> scalar``, the loss on ONE state (``example`` is
        the batch with its leading axis indexed away); targets must already be fixed.
      params: network parameters θ.
      batch: pytree of ``[n, ...]`` leaves: states and whatever the loss needs.
      learning_rate: the SGD step size η.
    """
    _check_batch(batch)
    before = outputs(params, batch)

    def row(example: Batch) -> jax.Array:
        grads = jax.grad(loss)(params, example)
        stepped = jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)
        return outputs(stepped, batch) - before

    return jax.vmap(row)(batch)


def gradient_kernel(outputs: Callable[[Params, Batch], jax.Array], params: Params, batch: Batch) -> jax.Array:
    """Empirical NTK ``K_ij = ⟨∇_θ f(x_i), ∇_θ f(x_j)⟩`` of the ``[n]`` outputs; returns ``[n, n]``."""
    _check_batch(batch)
    flat, unravel = ravel_pytree(params)
    jacobian = jax.jacrev(lambda theta: outputs(unravel(theta), batch))(flat)  # [n, parameters]
    return jacobian @ jacobian.T


def gradient_cosine(kernel: np.ndarray) -> np.ndarray:
    """Cosine similarity of the states' output gradients, ``K_ij / sqrt(K_ii K_jj)``: ``[n, n] -> [n, n]``."""
    kernel = np.asarray(kernel)
    norms = np.sqrt(np.clip(np.diag(kernel), 1e-30, None))
    return kernel / np.outer(norms, norms)


def _check_square(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ValueError(f"need a square matrix of at least 2 × 2, got shape {matrix.shape}")
    return matrix


def off_diagonal_ratio(matrix: np.ndarray) -> float:
    """Mean |off-diagonal entry| over mean |diagonal entry|: 0 for a diagonal matrix, 1 for a constant one."""
    matrix = _check_square(matrix)
    diagonal = np.abs(np.diag(matrix)).mean()
    off = np.abs(matrix[~np.eye(len(matrix), dtype=bool)]).mean()
    return float(off / diagonal) if diagonal > 0 else float("inf")


def mean_off_diagonal(matrix: np.ndarray) -> float:
    """Mean off-diagonal entry (e.g. of :func:`gradient_cosine`)."""
    matrix = _check_square(matrix)
    return float(matrix[~np.eye(len(matrix), dtype=bool)].mean())


def effective_rank(matrix: np.ndarray) -> float:
    """Effective rank exp(H(σ / Σσ)) of the singular values σ (Roy & Vetterli, 2007).

    n for a matrix with n equal singular values (e.g. a multiple of the identity), 1 for a
    rank-one matrix.
    """
    singular = np.linalg.svd(_check_square(matrix), compute_uv=False)
    if singular.sum() <= 0:
        raise ValueError("effective rank is undefined for the zero matrix")
    p = singular / singular.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


def summarize(matrix: np.ndarray) -> dict[str, float]:
    """The interference summaries of one update matrix: off-diagonal ratio and effective rank."""
    return {"off_diagonal_ratio": off_diagonal_ratio(matrix), "effective_rank": effective_rank(matrix)}


def squared_error_loss(predict: Callable[[Params, jax.Array], jax.Array]) -> Callable[[Params, Batch], jax.Array]:
    """``ℓ(θ; x, y) = ½ (y − predict(θ, x))²`` on one example ``{"x": [...], "y": scalar}``.

    ``predict`` maps a single state to a scalar; for DQN use ``Q(x, a)`` with ``y`` the
    fixed TD target, for a critic ``V(x)`` with ``y`` the return.
    """

    def loss(params: Params, example: Batch) -> jax.Array:
        return 0.5 * (example["y"] - predict(params, example["x"])) ** 2

    return loss


def batched(predict: Callable[[Params, jax.Array], jax.Array]) -> Callable[[Params, Batch], jax.Array]:
    """Outputs on every state of a batch ``{"x": [n, ...]}``: ``vmap`` of a per-state ``predict``."""

    def outputs(params: Params, batch: Batch) -> jax.Array:
        return jax.vmap(lambda x: predict(params, x))(batch["x"])

    return outputs


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
