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

Claim 4 computes these matrices at every checkpoint of trained agents
(:func:`agent_update_matrices`) and of Q-networks fitted offline to TD or Monte Carlo
targets on the same data (:func:`control_transitions`, :func:`td_mc_control`), and
summarises each by its :func:`off_diagonal_ratio` (:func:`off_diagonal_ratios`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from tdgen.envs import Env
from tdgen.rl import agents, policies, rollouts, td

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
    """Mean ``|off-diagonal entry|`` over mean ``|diagonal entry|``: 0 for a diagonal matrix, 1 for a constant one."""
    matrix = _check_square(matrix)
    diagonal = np.abs(np.diag(matrix)).mean()
    off = np.abs(matrix[~np.eye(len(matrix), dtype=bool)]).mean()
    return float(off / diagonal) if diagonal > 0 else float("inf")


def off_diagonal_ratios(matrices: np.ndarray) -> np.ndarray:
    """:func:`off_diagonal_ratio` of every matrix of a stack: ``[..., n, n] -> [...]``."""
    matrices = np.asarray(matrices)
    flat = matrices.reshape(-1, *matrices.shape[-2:])
    return np.array([off_diagonal_ratio(m) for m in flat]).reshape(matrices.shape[:-2])


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
    """DQN's ``[n, n]`` update matrix of ``Q(x_j, a_j)`` under one-state TD losses (targets fixed).

    ``U_ij = Q_θ'(x_j, a_j) − Q_θ(x_j, a_j)`` with ``θ' = θ − η ∇_θ ½ (y_i − Q_θ(x_i, a_i))²`` and
    ``y_i = r_i + γ (1 − d_i) max_a Q_θ(x'_i, a)`` computed once from ``θ``.  ``apply(params, obs [n, ...])
    -> [n, A]``; ``batch`` holds ``obs``, ``action``, ``reward``, ``done`` and ``next_obs`` of ``n``
    transitions (:func:`tdgen.rl.rollouts.random_transitions`); ``η`` is ``learning_rate``.
    """
    target = td.q_learning_target(batch["reward"], batch["done"], apply(params, batch["next_obs"]), gamma)
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
    """PPO's ``[n, n]`` update matrices: ``"critic"`` (V, value losses) and ``"actor"`` (log π, policy losses).

    With ``y_i = r_i + γ (1 − d_i) V_θ(x'_i)`` and advantage ``A_i = y_i − V_θ(x_i)``, both fixed
    from ``θ``: the critic's row ``i`` is one SGD step on ``½ (y_i − V(x_i))²`` read off ``V(x_j)``,
    the actor's one step on ``−A_i log π(a_i | x_i)`` read off ``log π(a_j | x_j)``
    (:func:`update_matrix`).  ``apply(params, obs) -> (logits [n, A], V [n])``; ``batch`` as in
    :func:`q_update_matrix`.
    """
    _, value = apply(params, batch["obs"])
    _, next_value = apply(params, batch["next_obs"])
    target = _fixed(td.td_target(batch["reward"], batch["done"], next_value, gamma))
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


AGENT_OUTPUTS = ("DQN Q", "PPO critic V", "PPO actor log π")
"""The keys of :func:`agent_update_matrices`: which agent's output each update matrix tracks."""


def agent_update_matrices(
    q_apply: Callable,
    dqn_params: Params,
    ac_apply: Callable,
    ppo_params: Params,
    batch: dict,
    dqn_gamma: float,
    ppo_gamma: float,
    learning_rate: float,
    at_once: int = 0,
) -> dict[str, np.ndarray]:
    """Update matrices of DQN and PPO agents at every checkpoint of every seed, on the same probe states.

    Args:
      q_apply: DQN's Q-network, ``q_apply(params, obs [n, ...]) -> Q [n, A]``.
      dqn_params: DQN's parameters, leaves ``[seeds, checkpoints, ...]``.
      ac_apply: PPO's actor-critic, ``ac_apply(params, obs) -> (logits [n, A], V [n])``.
      ppo_params: PPO's parameters, leaves ``[seeds, checkpoints, ...]``.
      batch: ``n`` probe transitions (:func:`tdgen.rl.rollouts.random_transitions`).
      dqn_gamma, ppo_gamma: each agent's discount, for its TD targets.
      learning_rate: the SGD step ``η`` of one row.
      at_once: matrices per ``vmap`` (:func:`tdgen.rl.agents.over_runs`; 0: all at once).

    Returns:
      :data:`AGENT_OUTPUTS` → ``[seeds, checkpoints, n, n]``: DQN's ``Q(x_j, a_j)``
      (:func:`q_update_matrix`), PPO's critic ``V(x_j)`` and actor ``log π(a_j | x_j)``
      (:func:`actor_critic_update_matrices`).
    """
    q_matrix = functools.partial(q_update_matrix, q_apply, batch=batch, gamma=dqn_gamma, learning_rate=learning_rate)
    ac_matrices = functools.partial(
        actor_critic_update_matrices, ac_apply, batch=batch, gamma=ppo_gamma, learning_rate=learning_rate
    )
    q = np.asarray(agents.over_runs(q_matrix, dqn_params, at_once))
    ac = agents.over_runs(ac_matrices, ppo_params, at_once)
    return dict(zip(AGENT_OUTPUTS, (q, np.asarray(ac["critic"]), np.asarray(ac["actor"]))))


def control_transitions(
    q_apply: Callable, params: Params, env: Env, epsilon: float, num_steps: int, gamma: float, rng: jax.Array
) -> dict[str, jax.Array]:
    """The control's fixed data: ``num_steps`` steps of ε-greedy play of a Q-network in ``env``.

    :func:`tdgen.rl.rollouts.rollout` of :func:`tdgen.rl.policies.epsilon_greedy`,
    flattened by :func:`tdgen.rl.td.transitions` into ``[D, ...]`` transitions with their
    discounted Monte Carlo returns (``D`` at most ``num_envs · (num_steps − 1)``: the
    steps of episodes that end within the play).
    """
    behaviour = policies.epsilon_greedy(q_apply, epsilon)
    play = jax.jit(lambda p, k: rollouts.rollout(env, behaviour, p, num_steps, k))(params, rng)
    return td.transitions(play, gamma)


def td_mc_control(
    network: nn.Module,
    fits: dict[str, Callable],
    data: dict[str, jax.Array],
    probes: dict,
    init_rng: jax.Array,
    fit_rng: jax.Array,
    inits: int,
    gamma: float,
    learning_rate: float,
    at_once: int = 0,
) -> dict[str, np.ndarray]:
    """Off-diagonal ratios of fresh Q-networks fitted to the same data with each kind of target.

    ``inits`` copies of ``network`` are initialised from ``init_rng``; each kind of
    ``fits`` trains every copy on ``data`` with the same minibatch keys (split from
    ``fit_rng``), and the :func:`q_update_matrix` on the ``probes`` is taken at every
    checkpoint.

    Args:
      network: the Q-network (``init`` and ``apply``).
      fits: target kind (``"td"``, ``"mc"``) → ``fit(rng, params, data) -> params [C + 1, ...]``
        (:func:`tdgen.rl.offline.make_offline_fit`).
      data: the transitions (:func:`control_transitions`).
      probes: the probe transitions of the update matrices.
      init_rng, fit_rng: keys of the initialisations and of the fits' minibatches.
      inits: initialisations.
      gamma, learning_rate: of :func:`q_update_matrix`.
      at_once: matrices per ``vmap`` (:func:`tdgen.rl.agents.over_runs`).

    Returns:
      Target kind → ``[inits, C + 1]`` off-diagonal ratios (:func:`off_diagonal_ratios`).
    """
    matrix = functools.partial(q_update_matrix, network.apply, batch=probes, gamma=gamma, learning_rate=learning_rate)
    fresh = jax.vmap(network.init, in_axes=(0, None))(jax.random.split(init_rng, inits), data["obs"][:1])
    fit_keys = jax.random.split(fit_rng, inits)
    ratios = {}
    for kind, fit in fits.items():
        trained = jax.jit(jax.vmap(fit, in_axes=(0, 0, None)))(fit_keys, fresh, data)
        ratios[kind] = off_diagonal_ratios(np.asarray(agents.over_runs(matrix, trained, at_once)))
    return ratios
