"""A critical period in learning: pre-training on rough targets, then fine-tuning on a value function.

The experiment of claim 3 (Lyle et al., 2022): a network is first trained to fit a
*pre-training target* ``g`` (an eigenvector of P^π or a sinusoid over the state coordinates,
from smooth to rough, or random labels), then fine-tuned on the value function ``V^π``,
both on the same random subset of the states (the *training states*, a boolean mask ``m``).
Its error on the other states — an interpolation task — measures how well it generalises.
Every fit minimises the masked squared error

    L(θ) = ½ · Σ_s m(s) (y(s) − f_θ(s))² / Σ_s m(s)

with Adam; the optimiser state is fresh at the start of fine-tuning.  The whole
pre-train-then-fine-tune run is one jit-compiled function of the seed, meant to be vmapped
over seeds and over pre-training targets.

The tabular-state comparison of TD and Monte Carlo targets (:func:`make_value_fit`) uses
the same network and masks: semi-gradient TD regresses the training states onto
``sg[R(s) + γ Σ_{s'} P(s, s') f_θ(s')]``, where the successor ``s'`` may be a held-out state
whose value is the network's own prediction — exactly what TD does with states it has never
been given a target for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tdgen.mdp import InvalidMDPError, check_gamma, value_function
from tdgen.nn import MLP
from tdgen.spectral import Eigendecomposition

Target = Literal["td", "mc"]


def standardise(f: np.ndarray) -> np.ndarray:
    """``(f − mean) / std`` along the last axis (uniform weights over states); ``[..., n] -> [..., n]``.

    Raises ``ValueError`` for a constant function, which has no scale.
    """
    f = np.asarray(f, dtype=float)
    std = f.std(axis=-1, keepdims=True)
    if np.any(std <= 1e-12):
        raise ValueError("cannot standardise a constant function")
    return (f - f.mean(axis=-1, keepdims=True)) / std


def standardised_value_problem(P: np.ndarray, R: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """Rescale the reward so that the value function is standardised: returns ``(R', V')``, both ``[n]``.

    With ``V' = (V^π − m) / s`` (``m``, ``s`` the mean and standard deviation of ``V^π`` over
    states), ``V' = R' + γ P V'`` holds for ``R' = (R − (1 − γ) m) / s``, so TD on ``R'``
    has the standardised value function as its fixed point.
    """
    v = value_function(P, R, gamma)
    m, s = v.mean(), v.std()
    if s <= 1e-12:
        raise ValueError("the value function is constant; give the environment some rewards")
    return (R - (1.0 - gamma) * m) / s, (v - m) / s


def eigenvector_targets(eig: Eigendecomposition, n_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardised eigenvectors at ``n_levels`` evenly spaced ranks, smoothest to roughest.

    Rank 1 (the largest eigenvalue below the constant eigenvector's) is the smoothest,
    rank ``n − 1`` (the most negative eigenvalue) the roughest.

    Returns:
      ``(ranks [n_levels], targets [n_levels, n])``.
    """
    if not eig.is_real:
        raise InvalidMDPError("pre-training targets need real eigenvectors (a reversible P)")
    n = eig.vectors.shape[0]
    if not 1 <= n_levels <= n - 1:
        raise ValueError(f"n_levels must lie in [1, {n - 1}] for {n} states, got {n_levels}")
    ranks = np.unique(np.round(np.linspace(1, n - 1, n_levels)).astype(int))
    if ranks.size != n_levels:
        raise ValueError(f"{n_levels} levels do not fit into {n - 1} non-constant eigenvectors")
    return ranks, standardise(eig.vectors[:, ranks].T)


def sinusoid_targets(x: np.ndarray, n_levels: int, spacing: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Standardised plane waves over the state coordinates, lowest to highest frequency.

    Target ``l`` is ``g_l(s) = sin(ω_l ⟨k, x(s)⟩ + φ_l)``, standardised over states, with
    ``x(s)`` the state's coordinates (``[n, d]``, e.g. grid coordinates scaled to [−1, 1]),
    ``k`` one unit direction shared by every level and ``φ_l`` a phase per level, drawn
    uniformly from ``seed``.  The angular frequencies ``ω_l`` are evenly spaced from ``π/2``
    (half a period across a span of 2) to ``π / (spacing · max_i |k_i|)``: along axis ``i``
    the wave has frequency ``ω |k_i|``, which at the top level reaches, and never exceeds,
    ``π / spacing`` — the Nyquist frequency of a grid whose neighbouring points lie
    ``spacing`` apart — so no target is an alias of a smoother one, and along the fixed
    direction a higher frequency gives a rougher function on the grid.

    Returns:
      ``(frequencies [n_levels], targets [n_levels, n])``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"coordinates must be [n, d], got shape {x.shape}")
    if n_levels < 1:
        raise ValueError(f"n_levels must be at least 1, got {n_levels}")
    if not 0.0 < spacing < 2.0:
        raise ValueError(f"spacing must lie in (0, 2) so that π/2 < π/spacing, got {spacing}")
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(x.shape[1])
    direction /= np.linalg.norm(direction)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=(n_levels, 1))
    frequencies = np.linspace(np.pi / 2, np.pi / (spacing * np.abs(direction).max()), n_levels)
    waves = np.sin(frequencies[:, None] * (x @ direction)[None, :] + phases)  # [n_levels, n]
    return frequencies, standardise(waves)


def random_label_target(n: int, seed: int = 0) -> np.ndarray:
    """Standardised i.i.d. Gaussian labels, one per state: ``[n]``."""
    return standardise(np.random.default_rng(seed).standard_normal(n))


def train_masks(
    n: int, n_seeds: int, fraction: float, seed: int = 0, always: Sequence[int] | np.ndarray = ()
) -> np.ndarray:
    """One random training subset per seed: ``[n_seeds, n]`` booleans, each with ``round(fraction · n)`` true.

    The states listed in ``always`` (e.g. those with a reward) are in every training set;
    the rest are drawn uniformly.  The complement of each row is that seed's held-out
    (interpolation) set.
    """
    k = round(fraction * n)
    always = np.unique(np.asarray(always, dtype=int))
    if not 0 < k < n:
        raise ValueError(f"fraction {fraction} of {n} states leaves no training or no held-out states")
    if always.size > k or (always.size and (always.min() < 0 or always.max() >= n)):
        raise ValueError(f"always must name at most {k} distinct states in [0, {n}), got {always.tolist()}")
    rng = np.random.default_rng(seed)
    rest = np.setdiff1d(np.arange(n), always)
    masks = np.zeros((n_seeds, n), dtype=bool)
    for row in masks:
        row[always] = True
        row[rng.choice(rest, size=k - always.size, replace=False)] = True
    return masks


def masked_mse(pred: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean squared error over the states where ``mask`` is true; ``[..., n] -> [...]``."""
    mask = jnp.asarray(mask, dtype=pred.dtype)
    return jnp.sum(mask * (pred - target) ** 2, axis=-1) / jnp.sum(mask, axis=-1)


def _fitter(model: MLP, tx: optax.GradientTransformation):
    """``fit(params, opt_state, x, target, mask, n_steps) -> (params, opt_state)``: n_steps of masked regression."""

    def loss(params, x, target, mask):
        return 0.5 * masked_mse(model.apply(params, x), target, mask)

    def fit(params, opt_state, x, target, mask, n_steps: int):
        def step(carry, _):
            params, opt_state = carry
            grads = jax.grad(loss)(params, x, target, mask)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        if n_steps == 0:
            return params, opt_state
        (params, opt_state), _ = jax.lax.scan(step, (params, opt_state), None, length=n_steps)
        return params, opt_state

    return fit


def make_pretrain_finetune(
    x: np.ndarray,
    hidden: int,
    learning_rate: float,
    pretrain_steps: Sequence[int],
    finetune_steps: int,
    n_train: int | None = None,
) -> Callable[[jax.Array, jax.Array, jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
    """Build a jit-compiled ``run(rng, pretrain_target, finetune_target, mask) -> (pretrained, finetuned)``.

    ``x`` is ``[n, d]`` (the inputs of every state), the targets are ``[n]`` and ``mask`` is
    ``[n]`` booleans (the training states).  One network, initialised from ``rng``, is trained
    with Adam on the pre-training target; a copy of its weights is taken after each of the
    (non-decreasing) ``pretrain_steps`` — ``0`` gives a network trained from scratch — and
    every copy is fine-tuned for ``finetune_steps`` Adam steps (fresh optimiser state) on the
    fine-tuning target.

    With ``n_train`` (the number of training states, the same in every mask) the fits
    evaluate the network on the training states only, gathered from ``mask``: the same loss
    at about ``n_train / n`` of the cost.  A mask with another number of training states
    then gives NaN outputs rather than a fit to the wrong states.

    Returns:
      ``pretrained [L, n]`` and ``finetuned [L, n]``: the network's outputs on every state
      after each pre-training length and after its fine-tuning, ``L = len(pretrain_steps)``.
      Vmap over seeds (``rng``, ``mask``) and over pre-training targets.
    """
    schedule = [int(s) for s in pretrain_steps]
    if not schedule or schedule[0] < 0 or any(b < a for a, b in pairwise(schedule)):
        raise ValueError(f"pretrain_steps must be a non-empty, non-decreasing list of steps >= 0, got {schedule}")
    if finetune_steps < 1:
        raise ValueError(f"finetune_steps must be at least 1, got {finetune_steps}")
    x = jnp.asarray(x, dtype=jnp.float32)
    if x.ndim != 2:
        raise ValueError(f"inputs must be [n, d], got shape {x.shape}")
    if n_train is not None and not 0 < n_train <= x.shape[0]:
        raise ValueError(f"n_train must lie in [1, {x.shape[0]}], got {n_train}")
    model = MLP(hidden=hidden)
    tx = optax.adam(learning_rate)
    fit = _fitter(model, tx)

    def run(rng, pretrain_target, finetune_target, mask):
        for name, a in (("pretrain_target", pretrain_target), ("finetune_target", finetune_target), ("mask", mask)):
            if a.shape != x.shape[:1]:
                raise ValueError(f"{name} must have shape ({x.shape[0]},), got {a.shape}")
        if n_train is None:
            x_fit, pre_fit, fine_fit, mask_fit = x, pretrain_target, finetune_target, mask
        else:
            idx = jnp.nonzero(mask, size=n_train)[0]
            x_fit, pre_fit, fine_fit = x[idx], pretrain_target[idx], finetune_target[idx]
            mask_fit = jnp.ones(n_train, dtype=bool)
        params = model.init(rng, x)
        opt_state = tx.init(params)
        snapshots, done = [], 0
        for steps in schedule:
            params, opt_state = fit(params, opt_state, x_fit, pre_fit, mask_fit, steps - done)
            snapshots.append(params)
            done = steps
        stacked = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *snapshots)

        def finetune(p):
            p, _ = fit(p, tx.init(p), x_fit, fine_fit, mask_fit, finetune_steps)
            return model.apply(p, x)

        pretrained = jax.vmap(lambda p: model.apply(p, x))(stacked)
        finetuned = jax.vmap(finetune)(stacked)
        if n_train is not None:
            valid = jnp.sum(mask) == n_train
            pretrained = jnp.where(valid, pretrained, jnp.nan)
            finetuned = jnp.where(valid, finetuned, jnp.nan)
        return pretrained, finetuned

    return jax.jit(run)


def make_value_fit(
    x: np.ndarray,
    P: np.ndarray,
    R: np.ndarray,
    gamma: float,
    target: Target,
    hidden: int,
    learning_rate: float,
    n_steps: int,
) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """Build a jit-compiled ``fit(rng, mask) -> values [n]``: a network trained on the masked states only.

    ``target="td"``: semi-gradient TD, loss ``½ mean_{s: m(s)} (sg[R(s) + γ (P f_θ)(s)] − f_θ(s))²``,
    with ``f_θ`` evaluated on every state, held-out successors included.
    ``target="mc"``: regression on ``V^π = (I − γP)^{-1} R`` (Monte Carlo targets).
    Same network, Adam optimiser and ``n_steps`` for both.  Vmap over seeds (``rng``, ``mask``).
    """
    check_gamma(gamma)
    if target not in ("td", "mc"):
        raise ValueError(f"unknown target {target!r}; choose 'td' or 'mc'")
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps}")
    x = jnp.asarray(x, dtype=jnp.float32)
    if x.ndim != 2 or x.shape[0] != np.shape(P)[0]:
        raise ValueError(f"inputs must be [n, d] with n = {np.shape(P)[0]} states, got shape {x.shape}")
    v_pi = jnp.asarray(value_function(P, R, gamma), dtype=jnp.float32)
    Pj, Rj = jnp.asarray(P, dtype=jnp.float32), jnp.asarray(R, dtype=jnp.float32)
    model = MLP(hidden=hidden)
    tx = optax.adam(learning_rate)

    def loss(params, mask):
        v = model.apply(params, x)
        goal = Rj + gamma * Pj @ v if target == "td" else v_pi
        return 0.5 * masked_mse(v, jax.lax.stop_gradient(goal), mask)

    def fit(rng, mask):
        params = model.init(rng, x)

        def step(carry, _):
            params, opt_state = carry
            updates, opt_state = tx.update(jax.grad(loss)(params, mask), opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=n_steps)
        return model.apply(params, x)

    return jax.jit(fit)
