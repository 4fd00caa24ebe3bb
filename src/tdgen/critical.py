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

The notebook's pipeline, one function per step: :func:`grid_problem` prepares a gridworld
once (a frozen :class:`GridProblem`), :func:`pretrain_sweep` runs every pre-training target
at every length (:class:`PretrainSweep`), :func:`value_fits` compares TD with Monte Carlo
(:class:`ValueFits`); in deep RL, :func:`agent_play` lets trained agents play,
:func:`frame_data` turns the play into training and held-out frames with pre-training
targets (:class:`FrameData`), :func:`deep_value_fits` fits them (:class:`DeepFits`) and
:func:`deep_errors` scores the fits (:class:`DeepErrors`).  The ``*_table`` functions
write each step's numbers as text.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from tdgen import spectral
from tdgen.envs.interface import Env
from tdgen.envs.tabular import InvalidMDPError, TabularEnv, check_gamma, encode_states, value_function
from tdgen.profiles import CriticalBudget
from tdgen.rl.fit import gradient_steps
from tdgen.rl.networks import MLP
from tdgen.rl.offline import make_offline_fit
from tdgen.rl.policies import epsilon_greedy
from tdgen.rl.rollouts import rollout
from tdgen.rl.td import discounted_returns, expected_td_target
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
        goal = expected_td_target(Rj, Pj, v, gamma) if target == "td" else v_pi
        return 0.5 * masked_mse(v, jax.lax.stop_gradient(goal), mask)

    def fit(rng, mask):
        params = gradient_steps(lambda p, _: loss(p, mask), tx, model.init(rng, x), num_steps=n_steps).params
        return model.apply(params, x)

    return jax.jit(fit)


# ---------------------------------------------------------------------------------------
# Gridworlds: one prepared problem, the pre-training sweep, TD against Monte Carlo.
# ---------------------------------------------------------------------------------------


def _mse(f: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """:func:`masked_mse` as a NumPy array; ``mask`` broadcasts against ``f``."""
    return np.asarray(masked_mse(f, y, mask))


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


@dataclass(frozen=True)
class ValueFits:
    """TD against Monte Carlo on one gridworld (:func:`value_fits`); every dict is keyed by ``"td"``, ``"mc"``.

    Attributes:
      values: ``[S, n]`` the learned value function of each seed.
      test_error: ``[S]`` its held-out :func:`masked_mse` against ``v_std``.
      train_error: ``[S]`` its training-state error.
      energy: ``[S]`` its Dirichlet energy (μ-centred) over all states.
    """

    values: dict[str, np.ndarray]
    test_error: dict[str, np.ndarray]
    train_error: dict[str, np.ndarray]
    energy: dict[str, np.ndarray]


def value_fits(problem: GridProblem, seeds: jax.Array, budget: CriticalBudget) -> ValueFits:
    """Semi-gradient TD and Monte Carlo regression on the training states, from the same initialisations.

    :func:`make_value_fit` on ``problem.R_std`` (whose value function is ``v_std``,
    :func:`standardised_value_problem`) with width ``budget.hidden``, Adam
    ``budget.learning_rate`` and ``budget.value_steps`` steps, vmapped over ``seeds [S, 2]``
    and the problem's masks.  TD's target ``R(s) + γ Σ_{s'} P(s, s') f_θ(s')`` uses the
    network's own prediction at every successor, held-out ones included; only the training
    states are regressed onto their targets, by TD and by Monte Carlo alike.
    """
    p = problem
    values = {}
    for target in ("td", "mc"):
        fit = make_value_fit(
            p.x, p.env.P, p.R_std, p.gamma, target, budget.hidden, budget.learning_rate, budget.value_steps
        )
        values[target] = np.asarray(jax.vmap(fit)(seeds, p.masks))  # [seeds, n]
    return ValueFits(
        values=values,
        test_error={t: _mse(v, p.v_std, p.held_out) for t, v in values.items()},
        train_error={t: _mse(v, p.v_std, p.masks) for t, v in values.items()},
        energy={t: spectral.dirichlet_energy(spectral.centre(v, p.mu), p.env.P, p.mu) for t, v in values.items()},
    )


def value_fit_table(problem: GridProblem, fits: ValueFits) -> str:
    """Mean over seeds of the training and held-out errors and the energy of TD's and MC's fits, as text."""
    return "\n".join(
        f"{t.upper()}: training MSE {fits.train_error[t].mean():.4f}, held-out MSE {fits.test_error[t].mean():.3f}, "
        f"Dirichlet energy {fits.energy[t].mean():.3f} (V^π: {problem.energy_v:.3f})"
        for t in ("td", "mc")
    )


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

    Choose ``stride`` so that the held-out frames are interpolations between training
    frames.  Claim 3 uses ``stride = 3`` (every third frame for training, the two between
    held out), not 2: in Breakout-MinAtar the ball moves one cell diagonally per step, so
    the checkerboard colour of its cell alternates from frame to frame, and with every other
    frame held out all held-out frames — and no training frame — would have the ball on the
    other colour.  A prototype run with ``stride = 2`` gave held-out errors above 1 (worse
    than predicting the mean return) for every arm: extrapolation to unseen ball positions.

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
      (``k = stride``, θ⁻ copied every ``target_every`` steps) — TD(0) on the training frames,
      with ``R_t`` the discounted rewards of steps ``t, …, t + k − 1`` cut at an episode end
      (``D_t = 1``), so TD sees every reward but never a held-out frame, not even as a
      successor.  It learns the value of the policy that played (ε-greedy), not of its greedy
      policy: Q-learning's targets would aim at the greedy policy's values, which the Monte
      Carlo returns ``G_t`` of the play do not measure;
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


# ---------------------------------------------------------------------------------------
# Deep RL: the dataset of frames, the fits and their errors, one object each.
# ---------------------------------------------------------------------------------------


def agent_play(
    env: Env, apply: Callable, agent_params: Any, n_seeds: int, epsilon: float, n_steps: int, rng: jax.Array
) -> dict[str, np.ndarray]:
    """ε-greedy play of trained Q-network agents, one play per seed: leaves ``[n_seeds, n_steps, N, ...]``.

    ``agent_params`` has leaves ``[A, ...]`` (``A`` agents, e.g. each seed's final
    parameters) for the Q-network ``apply(params, obs) -> Q [N, actions]``; seed ``i`` plays
    agent ``i mod A`` with :func:`tdgen.rl.policies.epsilon_greedy` in ``env`` (``N``
    parallel copies) for ``n_steps`` steps (:func:`tdgen.rl.rollouts.rollout`), from key
    ``i`` of ``jax.random.split(rng, n_seeds)``.  Returns the rollout's ``obs``, ``action``,
    ``reward``, ``done`` and ``reset_step`` as NumPy arrays.
    """
    n_agents = jax.tree.leaves(agent_params)[0].shape[0]
    players = jax.tree.map(lambda p: p[np.arange(n_seeds) % n_agents], agent_params)
    behaviour = epsilon_greedy(apply, epsilon)
    play = jax.jit(jax.vmap(lambda p, k: rollout(env, behaviour, p, n_steps, k)))
    return jax.device_get(play(players, jax.random.split(rng, n_seeds)))


def stack_frames(parts: Sequence[dict[str, np.ndarray]], n: int) -> dict[str, np.ndarray]:
    """The first ``n`` frames of every part, stacked: part ``i``'s leaves ``[D_i, ...]`` -> ``[len(parts), n, ...]``."""
    if any(leaf.shape[0] < n for part in parts for leaf in jax.tree.leaves(part)):
        raise ValueError(f"every part needs at least {n} frames")
    return jax.tree.map(lambda *a: np.stack([x[:n] for x in a]), *parts)


def standardised_projection(train_obs: np.ndarray, play_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The :func:`random_projection` ``u`` of the frames, standardised per seed over its training frames.

    ``train_obs [S, D, ...]`` are each seed's training frames and ``play_obs [S, T, N, ...]``
    its whole play.  With ``p = ⟨w, vec x⟩`` and ``m_i``, ``s_i`` the mean and standard
    deviation of ``p`` over seed ``i``'s training frames, returns ``u = (p − m_i) / s_i`` on
    the training frames, ``[S, D]``, and ``p / s_i`` along the play, ``[S, T, N]`` (in the
    same units, not centred: only its steps between frames are used).
    """
    raw = np.stack([random_projection(x) for x in train_obs])
    centre, scale = raw.mean(axis=1, keepdims=True), raw.std(axis=1, keepdims=True)
    along_play = random_projection(play_obs.reshape(-1, *play_obs.shape[3:]))
    return (raw - centre) / scale, along_play.reshape(play_obs.shape[:3]) / scale[:, :, None]


def frequency_range(u: np.ndarray, along_play: np.ndarray, n_levels: int) -> tuple[np.ndarray, float, float]:
    """Pre-training frequencies from half a period across ``u``'s range to the frames' Nyquist frequency.

    ``span`` is the median over seeds of ``max u − min u`` (``u [S, D]``), ``spacing`` the
    median ``|u(x_{t+1}) − u(x_t)|`` between consecutive frames of the play
    (``along_play [S, T, N]``, time on axis 1).  Returns ``(omegas [n_levels], span, spacing)``
    with ``omegas`` geometrically spaced from ``π / span`` to ``π / spacing``.

    The lowest frequency puts half a period across the range of ``u`` on the training
    frames, as the lowest of :func:`sinusoid_targets` does across a grid.  At the highest,
    ``sin(ω u + φ)`` typically changes sign between a frame and the next — between a
    training frame and its held-out neighbour — the analogue of a grid's Nyquist frequency.
    (A prototype range, evenly spaced from ``π/2``, changed every target by about a radian
    or more between neighbouring frames: no smooth target at all.)
    """
    spacing = float(np.median(np.abs(np.diff(along_play, axis=1))))
    span = float(np.median(u.max(axis=1) - u.min(axis=1)))
    return np.geomspace(np.pi / span, np.pi / spacing, n_levels), span, spacing


@dataclass(frozen=True)
class FrameData:
    """The deep-RL dataset of claim 3, built once by :func:`frame_data` (``S`` seeds, ``L`` frequencies).

    Attributes:
      train: each seed's training transitions (:func:`interleaved_frames`), leaves ``[S, D, ...]``.
      held: each seed's held-out frames, ``obs [S, H, ...]`` and ``mc_return [S, H]``.
      sizes: ``[S, 2]`` training and held-out frames of each seed before the cut to ``D`` and ``H``.
      span: median range of the standardised projection ``u`` over the training frames.
      spacing: median step of ``u`` between consecutive frames of the play.
      omegas: ``[L]`` the pre-training frequencies (:func:`frequency_range`).
      targets: ``[S, L, D]`` float32 pre-training targets (:func:`projection_sinusoids` of ``u``).
    """

    train: dict[str, np.ndarray]
    held: dict[str, np.ndarray]
    sizes: np.ndarray
    span: float
    spacing: float
    omegas: np.ndarray
    targets: np.ndarray


def frame_data(play: dict[str, np.ndarray], gamma: float, stride: int, n_levels: int) -> FrameData:
    """Training and held-out frames of each seed's play, and their pre-training targets.

    ``play`` has leaves ``[S, T, N, ...]`` (:func:`agent_play`).  Each seed's play is split by
    :func:`interleaved_frames` (every ``stride``-th frame for training, the frames between
    held out; why claim 3 takes ``stride = 3`` is written there), keeping only frames whose
    episode ended within the play, with their discounted returns ``G_t`` (discount
    ``gamma``; claim 3 takes the profile's 0.9 rather than the agent's 0.99, so that TD can
    propagate the rewards within its budget).  All seeds are cut to the smallest number of
    training and of held-out frames over seeds (:func:`stack_frames`) so that they run as
    one vmap.  The targets are ``sin(ω_l u + φ_l)``, standardised
    (:func:`projection_sinusoids`), of the :func:`standardised_projection` ``u`` of the
    training frames — the projection ``⟨w, vec x⟩`` of the flattened observation on one
    random unit direction ``w`` — at the frequencies of :func:`frequency_range`.
    """
    n_seeds = play["obs"].shape[0]
    splits = [interleaved_frames(jax.tree.map(operator.itemgetter(s), play), gamma, stride) for s in range(n_seeds)]
    sizes = np.array([[t["obs"].shape[0], h["obs"].shape[0]] for t, h in splits])
    train = stack_frames([t for t, _ in splits], sizes[:, 0].min())
    held = stack_frames([h for _, h in splits], sizes[:, 1].min())
    u, along_play = standardised_projection(train["obs"], play["obs"])
    omegas, span, spacing = frequency_range(u, along_play, n_levels)
    targets = np.stack([projection_sinusoids(row, omegas) for row in u]).astype(np.float32)
    return FrameData(train, held, sizes, span, spacing, omegas, targets)


def frame_table(data: FrameData) -> str:
    """The dataset's frames per seed before and after the cut, its returns and its frequencies, as text."""
    (train_lo, held_lo), (train_hi, held_hi) = data.sizes.min(axis=0), data.sizes.max(axis=0)
    returns = data.held["mc_return"]
    return "\n".join(
        [
            f"frames kept per seed (finished episodes): {train_lo}–{train_hi} training, "
            f"{held_lo}–{held_hi} held-out; cut to {train_lo} and {held_lo}",
            f"returns G_t: mean {returns.mean():.3f}, std {returns.std():.3f} (held-out frames)",
            f"projection: median range {data.span:.2f}, median step between frames {data.spacing:.3f}; "
            f"ω = {np.round(data.omegas, 2)}",
        ]
    )


@dataclass(frozen=True)
class DeepFits:
    """Parameters of the deep fits of every seed (:func:`deep_value_fits`).

    Attributes:
      td: the TD fit, leaves ``[S, ...]``.
      pretrained: the networks after pre-training on each frequency, leaves ``[S, L, ...]``.
      finetuned: after Monte Carlo fine-tuning, leaves ``[S, L + 1, ...]``; index 0 is the
        network trained from scratch (the Monte Carlo arm), ``l + 1`` the one pre-trained on ``omegas[l]``.
    """

    td: Any
    pretrained: Any
    finetuned: Any


def deep_value_fits(net: nn.Module, data: FrameData, budget: CriticalBudget, stride: int, rng: jax.Array) -> DeepFits:
    """Every deep fit of every seed: :func:`make_deep_value_fits`, vmapped over seeds.

    ``net`` is a value network (``apply(params, obs [B, ...]) -> [B, 1]``); seed ``i`` is
    initialised from key ``i`` of the first and fitted with key ``i`` of the second row of
    ``jax.random.split(rng, (2, S))``.  Discount ``budget.gamma`` (``γ^stride`` for TD's
    ``stride``-step transitions), ``budget.deep_steps`` steps of TD, of Monte Carlo
    regression and of each fine-tuning, ``budget.deep_pretrain_steps`` of each pre-training,
    minibatches of ``budget.deep_batch_size``, Adam ``budget.deep_learning_rate``, target
    network copied every ``budget.deep_target_every`` steps.
    """
    init_keys, fit_keys = jax.random.split(rng, (2, data.targets.shape[0]))
    inits = jax.vmap(net.init, in_axes=(0, None))(init_keys, data.train["obs"][0, :1])
    run = make_deep_value_fits(
        net.apply,
        budget.gamma,
        stride,
        budget.deep_steps,
        budget.deep_pretrain_steps,
        budget.deep_batch_size,
        budget.deep_learning_rate,
        budget.deep_target_every,
    )
    return DeepFits(*jax.vmap(run)(fit_keys, inits, data.train, data.targets))


@dataclass(frozen=True)
class DeepErrors:
    """:func:`normalised_mse` against ``G_t`` of every deep fit (:func:`deep_errors`).

    ``held`` and ``train`` (held-out and training frames) map ``"td"`` and ``"mc"`` to
    ``[S]`` and ``"pre"`` (fine-tuned after pre-training) to ``[S, L]``; ``pretrain`` is
    ``[S, L]``, the pre-trained networks' error on their own targets over the training frames.
    """

    held: dict[str, np.ndarray]
    train: dict[str, np.ndarray]
    pretrain: np.ndarray


def deep_errors(apply: Callable, data: FrameData, fits: DeepFits) -> DeepErrors:
    """Normalised errors ``mean (V_θ(x) − G)² / var G`` of every fit of ``fits`` on ``data``'s frames."""
    value_of = jax.jit(jax.vmap(lambda p, x: apply(p, x)[..., 0]))
    values_of = jax.jit(jax.vmap(jax.vmap(lambda p, x: apply(p, x)[..., 0], in_axes=(0, None))))
    errors = {}
    for frames, part in (("train", data.train), ("held", data.held)):
        g = part["mc_return"]
        finetuned = np.asarray(values_of(fits.finetuned, part["obs"]))
        errors[frames] = {
            "td": normalised_mse(np.asarray(value_of(fits.td, part["obs"])), g),
            "mc": normalised_mse(finetuned[:, 0], g),
            "pre": normalised_mse(finetuned[:, 1:], g[:, None]),
        }
    pretrain = normalised_mse(np.asarray(values_of(fits.pretrained, data.train["obs"])), data.targets)
    return DeepErrors(errors["held"], errors["train"], pretrain)


def deep_error_table(omegas: np.ndarray, errors: DeepErrors) -> str:
    """Mean over seeds of every error of ``errors``, one row per arm, as text."""
    lines = [f"{'arm':30s} {'pre-train':>9s} {'training':>8s} {'held-out':>8s}"]
    for arm, label in (("td", "TD"), ("mc", "Monte Carlo (from scratch)")):
        lines.append(f"{label:30s} {'':9s} {errors.train[arm].mean():8.3f} {errors.held[arm].mean():8.3f}")
    for level, omega in enumerate(omegas):
        lines.append(
            f"{f'pre-trained, ω = {omega:.2f}':30s} {errors.pretrain[:, level].mean():9.3f} "
            f"{errors.train['pre'][:, level].mean():8.3f} {errors.held['pre'][:, level].mean():8.3f}"
        )
    return "\n".join(lines)


def trajectory_values(
    play: dict[str, np.ndarray], gamma: float, apply: Callable, fits: DeepFits, n_steps: int
) -> dict[str, np.ndarray]:
    """Seed 0's first trajectory (environment 0) over its first ``n_steps`` steps: returns and predictions.

    Returns ``t [n_steps]``, ``G`` (the discounted return ``G_t``, NaN where the episode did not
    finish within the play), and the predictions ``td`` and ``mc`` (the network trained from
    scratch by Monte Carlo regression) of seed 0's fits on the trajectory's frames, each ``[n_steps]``.
    """
    returns, finished = map(np.asarray, discounted_returns(play["reward"][0], play["done"][0], gamma))
    t = np.arange(min(n_steps, returns.shape[0]))
    frames = play["obs"][0, t, 0]
    td, mc = jax.tree.map(lambda p: p[0], (fits.td, fits.finetuned))
    return {
        "t": t,
        "G": np.where(finished[t, 0], returns[t, 0], np.nan),
        "td": np.asarray(apply(td, frames)[:, 0]),
        "mc": np.asarray(apply(jax.tree.map(lambda p: p[0], mc), frames)[:, 0]),
    }
