"""A critical period in learning: pre-training on rough targets, then fine-tuning on a value function.

The experiment of claim 3 (Lyle et al., 2022) on gridworlds; the deep-RL part is
:mod:`tdgen.critical_deep`.  A network is first trained to fit a *pre-training target*
``g`` (an eigenvector of P^π or a sinusoid over the state coordinates, from smooth to
rough, or random labels), then fine-tuned on the value function ``V^π``, both on the same
random subset of the states (the *training states*, a boolean mask ``m``).  Its error on
the other states — an interpolation task — measures how well it generalises.  Every fit
minimises the masked squared error

    L(θ) = ½ · Σ_s m(s) (y(s) − f_θ(s))² / Σ_s m(s)

with Adam; the optimiser state is fresh at the start of fine-tuning.  The whole
pre-train-then-fine-tune run is one jit-compiled function of the seed, meant to be vmapped
over seeds and over pre-training targets.

The network (:class:`~tdgen.rl.networks.MLP`) sees each state's grid coordinates scaled to
[−1, 1].  Each seed draws its own initialisation and its own split: half of the states
for training, always with the reward states (so that TD sees every reward), the rest held
out (:func:`train_masks`); every arm of a seed shares both.

The comparison of TD with regression (:func:`value_fits`) uses the same network and masks:
semi-gradient TD regresses the training states onto ``sg[R(s) + γ Σ_{s'} P(s, s') f_θ(s')]``,
where the successor ``s'`` may be a held-out state whose value is the network's own
prediction — exactly what TD does with states it has never been given a target for.
Regression takes ``V^π`` (Monte Carlo targets) or, for TD's *twin*, the TD network's own
outputs on the training states (:func:`make_regression_fit`), so that TD and its twin are
compared at equal fit; :func:`bellman_residual` says whether TD converged.

The notebook's pipeline, one function per step: :func:`grid_problem` prepares a gridworld
once (a frozen :class:`GridProblem`), :func:`pretrain_sweep` runs every pre-training target
at every length (:class:`PretrainSweep`), :func:`value_fits` compares TD with its twin and
with Monte Carlo (:class:`ValueFits`).  The ``*_table`` functions write each step's
numbers as text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from tdgen import spectral
from tdgen.envs.tabular import InvalidMDPError, TabularEnv, check_gamma, encode_states, value_function
from tdgen.profiles import CriticalBudget
from tdgen.rl.fit import gradient_steps
from tdgen.rl.networks import MLP
from tdgen.rl.td import expected_td_target
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
        step_loss = lambda p, _: loss(p, x, target, mask)
        fitted = gradient_steps(step_loss, tx, params, num_steps=n_steps, opt_state=opt_state)
        return fitted.params, fitted.opt_state

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


def _value_fitter(
    x: jax.Array, hidden: int, learning_rate: float, n_steps: int, goal: Callable[[jax.Array, jax.Array], jax.Array]
) -> Callable[[jax.Array, jax.Array, jax.Array], jax.Array]:
    """``fit(rng, mask, y) -> values [n]``: ``n_steps`` Adam steps on ``½ masked_mse(f_θ, sg[goal(f_θ, y)], mask)``.

    ``f_θ`` (an :class:`~tdgen.rl.networks.MLP` initialised from ``rng``) is evaluated on
    every state of ``x [n, d]``; ``goal(f_θ [n], y [n]) -> [n]`` is the regression target.
    """
    model = MLP(hidden=hidden)
    tx = optax.adam(learning_rate)

    def fit(rng, mask, y):
        def loss(params, _):
            v = model.apply(params, x)
            return 0.5 * masked_mse(v, jax.lax.stop_gradient(goal(v, y)), mask)

        params = gradient_steps(loss, tx, model.init(rng, x), num_steps=n_steps).params
        return model.apply(params, x)

    return fit


def _check_inputs(x: np.ndarray, n_states: int, n_steps: int) -> jax.Array:
    """``x`` as a float32 ``[n, d]`` array, after checking its shape and ``n_steps ≥ 1``."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps}")
    x = jnp.asarray(x, dtype=jnp.float32)
    if x.ndim != 2 or x.shape[0] != n_states:
        raise ValueError(f"inputs must be [n, d] with n = {n_states} states, got shape {x.shape}")
    return x


def make_regression_fit(
    x: np.ndarray, hidden: int, learning_rate: float, n_steps: int
) -> Callable[[jax.Array, jax.Array, jax.Array], jax.Array]:
    """Build a jit-compiled ``fit(rng, mask, y) -> values [n]``: regression on ``y [n]`` over the masked states.

    Loss ``½ mean_{s: m(s)} (y(s) − f_θ(s))²``, ``n_steps`` Adam steps from the network's
    initialisation by ``rng``: the Monte Carlo arm of :func:`make_value_fit` with any
    target.  Given a TD fit's own outputs as ``y``, it is that fit's *twin*: a network that
    sees exactly TD's training values, fitted by regression.  Vmap over seeds (``rng``,
    ``mask``, ``y``).
    """
    x = _check_inputs(x, np.shape(x)[0], n_steps)
    return jax.jit(_value_fitter(x, hidden, learning_rate, n_steps, lambda _, y: y))


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
    ``target="mc"``: regression on ``V^π = (I − γP)^{-1} R`` (Monte Carlo targets), i.e.
    :func:`make_regression_fit` with ``y = V^π``.
    Same network, Adam optimiser and ``n_steps`` for both.  Vmap over seeds (``rng``, ``mask``).
    """
    check_gamma(gamma)
    if target not in ("td", "mc"):
        raise ValueError(f"unknown target {target!r}; choose 'td' or 'mc'")
    x = _check_inputs(x, np.shape(P)[0], n_steps)
    v_pi = jnp.asarray(value_function(P, R, gamma), dtype=jnp.float32)
    Pj, Rj = jnp.asarray(P, dtype=jnp.float32), jnp.asarray(R, dtype=jnp.float32)
    if target == "td":
        goal = lambda v, _: expected_td_target(Rj, Pj, v, gamma)
    else:
        goal = lambda _, y: y
    fit = _value_fitter(x, hidden, learning_rate, n_steps, goal)
    return jax.jit(lambda rng, mask: fit(rng, mask, v_pi))


# ---------------------------------------------------------------------------------------
# Gridworlds: one prepared problem, the pre-training sweep, TD against Monte Carlo.
# ---------------------------------------------------------------------------------------


def _mse(f: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`masked_mse` as a NumPy array; ``mask`` broadcasts against ``f``."""
    return np.asarray(masked_mse(f, y, mask))


def bellman_residual(values: np.ndarray, P: np.ndarray, R: np.ndarray, gamma: float, mask: np.ndarray) -> np.ndarray:
    """Mean squared Bellman residual over the masked states: ``values [..., n]``, ``mask [..., n] -> [...]``.

        mean_{s: m(s)} (V(s) − R(s) − γ Σ_{s'} P(s, s') V(s'))²

    with ``V`` the network's outputs on every state (held-out successors included).  Zero on
    the training states when semi-gradient TD has converged: its fixed point satisfies the
    Bellman equation there and leaves the held-out values free, so TD can converge and still
    differ from ``V^π`` on its training states.
    """
    values = np.asarray(values, dtype=np.float32)
    return _mse(values, R + gamma * values @ np.asarray(P).T, mask)


@dataclass(frozen=True)
class GridProblem:
    """One gridworld of claim 3, prepared once by :func:`grid_problem` (``n`` states, ``K`` targets, ``S`` seeds).

    Attributes:
      env: the gridworld (a random walk with rewards).
      gamma: the discount.
      mu: ``[n]`` stationary distribution of ``env.P``.
      x: ``[n, 2]`` grid coordinates scaled to [−1, 1], the network's inputs.
      R_std: ``[n]`` rescaled reward whose value function is ``v_std``
        (:func:`standardised_value_problem`).
      v_std: ``[n]`` standardised ``V^π``, the fine-tuning target.
      targets: ``[K, n]`` pre-training targets: ``levels`` eigenvectors, ``levels`` sinusoids
        and one set of random labels, ``K = 2 · levels + 1``.
      family: ``[K]`` each target's family (``"eigenvectors"``, ``"sinusoids"``, ``"random labels"``).
      labels: ``K`` names for tables and legends.
      energy: ``[K]`` Dirichlet energy ``E(g − ⟨g⟩_μ)`` of each target under ``(P, μ)``.
      energy_v: Dirichlet energy of ``v_std``.
      masks: ``[S, n]`` training states of each seed; the rest are held out.
    """

    env: TabularEnv
    gamma: float
    mu: np.ndarray
    x: np.ndarray
    R_std: np.ndarray
    v_std: np.ndarray
    targets: np.ndarray
    family: np.ndarray
    labels: tuple[str, ...]
    energy: np.ndarray
    energy_v: float
    masks: np.ndarray

    @property
    def held_out(self) -> np.ndarray:
        """``[S, n]`` the held-out (interpolation) states of each seed: ``~masks``."""
        return ~self.masks

    @property
    def roughest(self) -> int:
        """Index of the pre-training target with the highest Dirichlet energy."""
        return int(np.argmax(self.energy))


def grid_problem(env: TabularEnv, gamma: float, levels: int, n_seeds: int, train_fraction: float) -> GridProblem:
    """Prepare one gridworld: inputs, standardised value problem, pre-training targets and splits.

    The targets are :func:`eigenvector_targets` and :func:`sinusoid_targets` (``levels`` each,
    the sinusoids up to the Nyquist frequency of the grid, ``spacing = 2 / (min(shape) − 1)``
    in scaled coordinates) and one :func:`random_label_target`.  Each has the Dirichlet energy

        E(f) = ½ Σ_{s,s'} μ(s) P(s, s') (f(s) − f(s'))² / Σ_s μ(s) f(s)²

    of its μ-centred version (:func:`tdgen.spectral.dirichlet_energy`).  The eigenvectors run
    from rank 1 (the largest eigenvalue below 1, the smoothest non-constant one) to the most
    negative eigenvalue; the sinusoids share one random direction and have a random phase
    each.  The network's inputs are the grid coordinates scaled to [−1, 1]
    (:func:`tdgen.envs.tabular.encode_states`).  The masks are :func:`train_masks` with the
    reward states always among the training states, so that TD sees every reward.
    """
    mu = spectral.stationary_distribution(env.P)
    eig = spectral.eigendecomposition(env.P)
    x = encode_states(env, "coordinates")
    R_std, v_std = standardised_value_problem(env.P, env.R, gamma)
    ranks, eigen_targets = eigenvector_targets(eig, levels)
    spacing = 2 / (min(env.shape) - 1)  # between neighbouring cells, scaled coordinates
    omegas, sine_targets = sinusoid_targets(x, levels, spacing)
    targets = np.vstack([eigen_targets, sine_targets, random_label_target(env.n_states)])
    labels = (
        *(f"eigenvector λ = {eig.values[r]:+.2f}" for r in ranks),
        *(f"sinusoid ω = {w:.1f}" for w in omegas),
        "random labels",
    )
    return GridProblem(
        env=env,
        gamma=gamma,
        mu=mu,
        x=x,
        R_std=R_std,
        v_std=v_std,
        targets=targets,
        family=np.array(["eigenvectors"] * levels + ["sinusoids"] * levels + ["random labels"]),
        labels=labels,
        energy=spectral.dirichlet_energy(spectral.centre(targets, mu), env.P, mu),
        energy_v=float(spectral.dirichlet_energy(spectral.centre(v_std, mu), env.P, mu)),
        masks=train_masks(env.n_states, n_seeds, train_fraction, always=np.flatnonzero(env.R)),
    )


def energy_table(problem: GridProblem, name: str) -> str:
    """``name``, the problem's size and split, and the Dirichlet energy of every target and of ``V^π``, as text."""
    p = problem
    lines = [
        f"{name} ({p.env.name}): {p.env.n_states} states, {p.masks[0].sum()} training / {p.held_out[0].sum()} held-out",
        *(f"  {label:28s} Dirichlet energy {e:.3f}" for label, e in zip(p.labels, p.energy)),
        f"  {'V^π (fine-tuning target)':28s} Dirichlet energy {p.energy_v:.3f}",
        f"  roughest pre-training target: {p.labels[p.roughest]}",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class PretrainSweep:
    """Every pre-training target at every length, then fine-tuning on ``V^π`` (:func:`pretrain_sweep`).

    ``S`` seeds, ``K`` targets, ``L`` pre-training lengths, ``n`` states; errors are
    :func:`masked_mse` against the pre-training target or ``v_std``.

    Attributes:
      pretrain_error: ``[S, K, L]`` training-state error on the pre-training target, before fine-tuning.
      finetuned: ``[S, K, L, n]`` the network's outputs after fine-tuning.
      train_error: ``[S, K, L]`` training-state error after fine-tuning.
      test_error: ``[S, K, L]`` held-out error after fine-tuning.
      scratch: ``[S, n]`` outputs of the network trained from scratch (same initialisation and split).
      scratch_train: ``[S]`` its training-state error.
      scratch_test: ``[S]`` its held-out error.
    """

    pretrain_error: np.ndarray
    finetuned: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    scratch: np.ndarray
    scratch_train: np.ndarray
    scratch_test: np.ndarray


def pretrain_sweep(problem: GridProblem, seeds: jax.Array, budget: CriticalBudget) -> PretrainSweep:
    """Pre-train on every target of ``problem`` for every length of ``budget.pretrain_schedule``, then fine-tune.

    :func:`make_pretrain_finetune` (width ``budget.hidden``, Adam ``budget.learning_rate``,
    ``budget.finetune_steps`` fine-tuning steps), vmapped over ``seeds [S, 2]`` (with the
    seed's mask) and over targets; the network trained from scratch is the same run with
    the single length 0, from the same keys.  Every (seed, target) pair is one jit-compiled
    run that evaluates the network on the training states only (``n_train``: the same loss
    at about half the cost); fine-tuning starts from a fresh Adam state.
    """
    p, schedule = problem, budget.pretrain_schedule
    n_train = int(p.masks[0].sum())  # every split has as many training states

    def make_run(lengths: Sequence[int]) -> Callable:
        return make_pretrain_finetune(
            p.x, budget.hidden, budget.learning_rate, lengths, budget.finetune_steps, n_train=n_train
        )

    over_targets = jax.vmap(make_run(schedule), in_axes=(None, 0, None, None))
    pretrained, finetuned = map(
        np.asarray, jax.vmap(over_targets, in_axes=(0, None, None, 0))(seeds, p.targets, p.v_std, p.masks)
    )  # [seeds, targets, lengths, n]
    _, scratch = jax.vmap(make_run((0,)), in_axes=(0, None, None, 0))(seeds, p.v_std, p.v_std, p.masks)
    scratch = np.asarray(scratch)[:, 0]  # [seeds, n]
    per_seed = p.masks[:, None, None, :]
    return PretrainSweep(
        pretrain_error=_mse(pretrained, p.targets[None, :, None, :], per_seed),
        finetuned=finetuned,
        train_error=_mse(finetuned, p.v_std, per_seed),
        test_error=_mse(finetuned, p.v_std, ~per_seed),
        scratch=scratch,
        scratch_train=_mse(scratch, p.v_std, p.masks),
        scratch_test=_mse(scratch, p.v_std, p.held_out),
    )


def sweep_table(problem: GridProblem, sweep: PretrainSweep, schedule: Sequence[int]) -> str:
    """Mean over seeds of every error of ``sweep``, one row per (target, length), as text."""
    s = sweep
    lines = [
        f"{'pre-training target':28s} {'steps':>6s} {'pre-train':>9s} {'train':>7s} {'held-out':>8s}",
        f"{'(from scratch)':28s} {0:6d} {'':9s} {s.scratch_train.mean():7.4f} {s.scratch_test.mean():8.3f}",
    ]
    for k, label in enumerate(problem.labels):
        for j, steps in enumerate(schedule):
            lines.append(
                f"{label:28s} {steps:6d} {s.pretrain_error[:, k, j].mean():9.3f} "
                f"{s.train_error[:, k, j].mean():7.4f} {s.test_error[:, k, j].mean():8.3f}"
            )
    return "\n".join(lines)


ARMS = ("td", "twin", "mc")
"""The arms of the TD comparison — semi-gradient TD, its regression twin, Monte Carlo regression."""


@dataclass(frozen=True)
class ValueFits:
    """TD, its twin and Monte Carlo on one gridworld (:func:`value_fits`); each dict is keyed by :data:`ARMS`.

    ``S`` seeds, ``n`` states; errors are :func:`masked_mse` against ``v_std``.

    Attributes:
      values: ``[S, n]`` the learned value function of each seed.
      test_error: ``[S]`` its held-out error (interpolation).
      train_error: ``[S]`` its training-state error (fit).
      bellman: ``[S]`` its :func:`bellman_residual` on the training states (for TD: convergence).
      energy: ``[S]`` its Dirichlet energy (μ-centred) over all states.
      twin_fit: ``[S]`` the twin's training-state error against TD's outputs (equal fit: near 0).
      disagreement: ``[S]`` mean squared difference of TD and its twin on the held-out states.
    """

    values: dict[str, np.ndarray]
    test_error: dict[str, np.ndarray]
    train_error: dict[str, np.ndarray]
    bellman: dict[str, np.ndarray]
    energy: dict[str, np.ndarray]
    twin_fit: np.ndarray
    disagreement: np.ndarray


def value_fits(problem: GridProblem, seeds: jax.Array, budget: CriticalBudget) -> ValueFits:
    """Semi-gradient TD, its regression twin and Monte Carlo regression on the training states.

    :func:`make_value_fit` on ``problem.R_std`` (whose value function is ``v_std``,
    :func:`standardised_value_problem`) with width ``budget.hidden``, Adam
    ``budget.learning_rate`` and ``budget.value_steps`` steps, vmapped over ``seeds [S, 2]``
    and the problem's masks.  TD's target ``R(s) + γ Σ_{s'} P(s, s') f_θ(s')`` uses the
    network's own prediction at every successor, held-out ones included; only the training
    states are regressed onto their targets, by TD and by Monte Carlo alike.

    TD does not reach ``V^π`` on its own training states: its targets there bootstrap from
    its predictions at held-out successors, so held-out errors flow back into the training
    values, and its fixed point satisfies the Bellman equation only on the training states.
    Its held-out error against Monte Carlo's therefore mixes *where* TD's fixed point lies
    (and whether TD converged: :func:`bellman_residual`) with how the network *generalizes*.
    The twin separates the two: :func:`make_regression_fit` from the same initialisation,
    with the Monte Carlo arm's budget, on TD's own outputs at the training states.  It sees
    exactly TD's training values, so TD's and the twin's held-out errors compare TD with
    regression at equal fit.
    """
    p = problem
    values = {}
    for target in ("td", "mc"):
        fit = make_value_fit(
            p.x, p.env.P, p.R_std, p.gamma, target, budget.hidden, budget.learning_rate, budget.value_steps
        )
        values[target] = np.asarray(jax.vmap(fit)(seeds, p.masks))  # [seeds, n]
    twin = make_regression_fit(p.x, budget.hidden, budget.learning_rate, budget.value_steps)
    values["twin"] = np.asarray(jax.vmap(twin)(seeds, p.masks, values["td"]))  # TD's values as targets
    return ValueFits(
        values=values,
        test_error={t: _mse(v, p.v_std, p.held_out) for t, v in values.items()},
        train_error={t: _mse(v, p.v_std, p.masks) for t, v in values.items()},
        bellman={t: bellman_residual(v, p.env.P, p.R_std, p.gamma, p.masks) for t, v in values.items()},
        energy={t: spectral.dirichlet_energy(spectral.centre(v, p.mu), p.env.P, p.mu) for t, v in values.items()},
        twin_fit=_mse(values["twin"], values["td"], p.masks),
        disagreement=_mse(values["twin"], values["td"], p.held_out),
    )


def value_fit_table(problem: GridProblem, fits: ValueFits) -> str:
    """Mean over seeds of each arm's errors, Bellman residual and energy, and TD's distance to its twin, as text."""
    labels = {"td": "TD", "twin": "twin (regression on TD's values)", "mc": "Monte Carlo"}
    lines = [f"{'arm':33s} {'training MSE':>12s} {'Bellman residual':>16s} {'held-out MSE':>12s} {'energy':>7s}"]
    lines += [
        f"{labels[t]:33s} {fits.train_error[t].mean():12.4f} {fits.bellman[t].mean():16.4f} "
        f"{fits.test_error[t].mean():12.3f} {fits.energy[t].mean():7.3f}"
        for t in ARMS
    ]
    lines.append(
        f"V^π: energy {problem.energy_v:.3f}; TD against its twin: {fits.twin_fit.mean():.4f} on the training "
        f"states, {fits.disagreement.mean():.3f} held out (mean squared difference)"
    )
    return "\n".join(lines)
