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

from tdgen.envs.tabular import InvalidMDPError, check_gamma, value_function
from tdgen.rl.networks import MLP
from tdgen.rl.offline import make_offline_fit
from tdgen.rl.td import discounted_returns
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


# ---------------------------------------------------------------------------------------
# Deep RL: states and Monte Carlo returns of a trained MinAtar agent's play.
# ---------------------------------------------------------------------------------------


def interleaved_frames(
    rollout: dict[str, jax.Array], gamma: float, stride: int = 2
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Split a rollout's frames into training frames and the held-out frames between them.

    ``rollout``: leaves ``[T, N, ...]`` with ``obs``, ``reward``, ``done`` (as from
    :func:`tdgen.rl.rollouts.rollout`).  Frame ``t`` of every trajectory is a *training*
    frame when ``t ≡ 0 (mod stride)`` and ``t + stride ≤ T − 1``, a *held-out* frame when
    ``t ≢ 0 (mod stride)``; only frames whose episode ended within the rollout are kept, so
    that each one's discounted Monte Carlo return ``G_t = r_t + γ (1 − d_t) G_{t+1}`` is
    exact.  A training frame comes as the ``stride``-step transition to the next training
    frame of its trajectory,

        R_t = Σ_{i<k} γ^i (Π_{j<i} (1 − d_{t+j})) r_{t+i},   D_t = 1 − Π_{i<k} (1 − d_{t+i}),

    (``k = stride``), so that ``G_t = R_t + γ^k (1 − D_t) G_{t+k}``: TD with discount
    ``γ^k`` on these transitions never sees a held-out frame, not even as a successor, and
    still sees every reward.

    Returns:
      ``(train, held_out)``, flat in time-major order: ``train`` with ``obs [D, ...]``,
      ``action [D]`` (zeros: one output, a state value), ``reward [D]`` (``R_t``), ``done [D]``
      (``D_t``), ``next_obs [D, ...]`` (frame ``t + k``), ``mc_return [D]``; ``held_out``
      with ``obs [H, ...]`` and ``mc_return [H]``.  NumPy arrays (boolean indexing: call
      outside jit).
    """

    if stride < 2:
        raise ValueError(f"stride must be at least 2 (one held-out frame between training frames), got {stride}")
    reward = np.asarray(rollout["reward"], dtype=np.float32)
    done = np.asarray(rollout["done"], dtype=np.float32)
    obs = np.asarray(rollout["obs"])
    steps = reward.shape[0]
    if steps <= stride:
        raise ValueError(f"a rollout of {steps} steps has no transition of {stride} steps")
    returns, complete = map(np.asarray, discounted_returns(jnp.asarray(reward), jnp.asarray(done), gamma))
    n = steps - stride  # frames t with t + stride ≤ T − 1
    reward_k, alive = np.zeros_like(reward[:n]), np.ones_like(reward[:n])
    for i in range(stride):
        reward_k += gamma**i * alive * reward[i : i + n]
        alive *= 1.0 - done[i : i + n]
    t = np.arange(steps)[:, None]
    train = (t % stride == 0) & complete
    train[n:] = False
    held = (t % stride != 0) & complete
    keep = train[:n]
    train_data = {
        "obs": obs[:n][keep],
        "action": np.zeros(int(keep.sum()), dtype=np.int32),
        "reward": reward_k[keep],
        "done": (1.0 - alive)[keep],
        "next_obs": obs[stride:][keep],
        "mc_return": returns[:n][keep].astype(np.float32),
    }
    return train_data, {"obs": obs[held], "mc_return": returns[held].astype(np.float32)}


def random_projection(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """``⟨w, vec x_i⟩`` for one direction ``w`` drawn uniformly from the unit sphere: ``[n, ...] -> [n]``.

    ``w`` depends only on ``seed`` and the size of ``vec x_i``, so calls on different frames
    of the same observation space project onto the same direction.
    """
    x = np.asarray(x, dtype=np.float64).reshape(np.shape(x)[0], -1)
    w = np.random.default_rng(seed).standard_normal(x.shape[1])
    return x @ (w / np.linalg.norm(w))


def projection_sinusoids(u: np.ndarray, omegas: np.ndarray | Sequence[float], seed: int = 0) -> np.ndarray:
    """Standardised ``g_l = sin(ω_l u + φ_l)`` of a projection ``u [n]``, one per frequency: ``[L, n]``.

    ``u`` is a (scaled) :func:`random_projection` of the frames; the phases ``φ_l`` are drawn
    uniformly from ``seed``.  Higher ``ω`` gives a function that changes faster along ``w``.
    """
    u = np.asarray(u, dtype=np.float64)
    omegas = np.asarray(omegas, dtype=np.float64)
    if u.ndim != 1 or omegas.ndim != 1 or omegas.size < 1:
        raise ValueError(f"need u [n] and omegas [L], got shapes {u.shape} and {omegas.shape}")
    phases = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, size=(omegas.size, 1))
    return standardise(np.sin(omegas[:, None] * u[None, :] + phases))


def normalised_mse(pred: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """``mean_i (V_i − G_i)² / var_i(G_i)`` along the last axis: ``[..., n], [..., n] -> [...]``.

    0 is a perfect fit, 1 the error of predicting the mean return everywhere.
    """
    pred, returns = np.asarray(pred, dtype=np.float64), np.asarray(returns, dtype=np.float64)
    return ((pred - returns) ** 2).mean(axis=-1) / returns.var(axis=-1)


def make_deep_value_fits(
    apply: Callable,
    gamma: float,
    stride: int,
    num_steps: int,
    pretrain_steps: int,
    batch_size: int,
    learning_rate: float,
    target_every: int,
) -> Callable[[jax.Array, object, dict[str, jax.Array], jax.Array], tuple[object, object, object]]:
    """Build a jit-compiled ``run(rng, params, train, pretrain_targets) -> (td, pretrained, finetuned)`` for one seed.

    ``apply(params, obs [B, ...]) -> [B, 1]`` is a value network (a one-action Q-network),
    ``params`` its initialisation, ``train`` the training transitions of
    :func:`interleaved_frames` (leaves ``[D, ...]``) and ``pretrain_targets`` ``[L, D]``
    (e.g. :func:`projection_sinusoids` of the training frames).  All fits are
    :func:`tdgen.rl.offline.make_offline_fit` on minibatches of the training frames
    only, with Adam and the same minibatch keys:

    * ``td``: ``num_steps`` steps of TD towards ``R_t + γ^k (1 − D_t) V_θ⁻(x_{t+k})``
      (``k = stride``, θ⁻ copied every ``target_every`` steps) — TD(0) on the training frames;
    * ``pretrained`` ``[L, ...]``: ``pretrain_steps`` steps of regression on each
      ``pretrain_targets[l]``, from ``params``;
    * ``finetuned`` ``[L + 1, ...]``: ``num_steps`` steps of regression on ``G_t`` (Monte
      Carlo targets, fresh optimiser state), index 0 from ``params`` (from scratch: the Monte
      Carlo arm), index ``l + 1`` after ``pretrain_steps`` steps of regression on
      ``pretrain_targets[l]``.

    Returns parameter trees (leaves ``[...]`` for ``td``, ``[L, ...]`` for ``pretrained``
    and ``[L + 1, ...]`` for ``finetuned``).  Vmap over seeds (``rng``, ``params``, ``train``, ``pretrain_targets``).
    """

    if stride < 1 or pretrain_steps < 1:
        raise ValueError(f"need stride >= 1 and pretrain_steps >= 1, got {stride} and {pretrain_steps}")
    td = make_offline_fit(apply, "td", gamma**stride, num_steps, batch_size, learning_rate, target_every, 1)
    mc = make_offline_fit(apply, "mc", gamma**stride, num_steps, batch_size, learning_rate, target_every, 1)
    pre = make_offline_fit(apply, "mc", gamma**stride, pretrain_steps, batch_size, learning_rate, target_every, 1)
    last = lambda tree: jax.tree.map(lambda p: p[-1], tree)

    def run(rng, params, train, pretrain_targets):
        if pretrain_targets.ndim != 2 or pretrain_targets.shape[1] != train["mc_return"].shape[0]:
            raise ValueError(
                f"pretrain_targets must be [L, {train['mc_return'].shape[0]}], got {pretrain_targets.shape}"
            )
        fit_key, pre_key = jax.random.split(rng)
        td_params = last(td(fit_key, params, train))

        def pretrain(target):
            return last(pre(pre_key, params, {**train, "mc_return": target}))

        pretrained = jax.vmap(pretrain)(pretrain_targets)
        starts = jax.tree.map(lambda p0, p: jnp.concatenate([p0[None], p]), params, pretrained)
        finetuned = jax.vmap(lambda p: last(mc(fit_key, p, train)))(starts)
        return td_params, pretrained, finetuned

    return jax.jit(run)
