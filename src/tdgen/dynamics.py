"""Learning dynamics of TD and Monte Carlo value estimation on tabular MDPs.

Expected TD in continuous time (Lyle et al., 2022, eq. 4):

    ∂V/∂t = −(I − γP)V + R   ⇒   V_t = exp(−t(I − γP))(V_0 − V^π) + V^π,

so in the eigenbasis of P (P φ_i = λ_i φ_i) every coordinate of the error
decays at its own rate:  α_i(t) − α_i^π = exp(−t(1 − γλ_i)) (α_i(0) − α_i^π).
Monte Carlo regression on V^π, ∂V/∂t = V^π − V, decays every coordinate at
rate 1.  Discrete and sampled versions check the continuous-time picture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from tdgen.envs.tabular import (
    Encoding,
    InvalidMDPError,
    TabularEnv,
    check_gamma,
    check_reward,
    check_transition_matrix,
    encode_states,
    value_function,
)
from tdgen.rl.fit import gradient_steps
from tdgen.rl.networks import MLP
from tdgen.rl.td import expected_td_target


def _check_problem(P: np.ndarray, R: np.ndarray, gamma: float, V0: np.ndarray) -> None:
    check_transition_matrix(P)
    check_reward(R, P)
    check_gamma(gamma)
    if np.shape(V0) != (P.shape[0],):
        raise InvalidMDPError(f"initial values must have shape ({P.shape[0]},), got {np.shape(V0)}")


def td_closed_form(P: np.ndarray, R: np.ndarray, gamma: float, V0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``V_t = exp(−t(I − γP))(V_0 − V^π) + V^π`` at each time; returns ``[len(times), n]``."""
    _check_problem(P, R, gamma, V0)
    v_pi = value_function(P, R, gamma)
    A = np.eye(P.shape[0]) - gamma * P
    return np.stack([expm(-t * A) @ (V0 - v_pi) + v_pi for t in np.asarray(times)])


def td_integrate(P: np.ndarray, R: np.ndarray, gamma: float, V0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Numerically integrate ``∂V/∂t = −(I − γP)V + R`` (RK45, tight tolerances); ``[len(times), n]``."""
    _check_problem(P, R, gamma, V0)
    A = np.eye(P.shape[0]) - gamma * P
    times = np.asarray(times, dtype=float)
    sol = solve_ivp(lambda t, v: -A @ v + R, (times[0], times[-1]), V0, t_eval=times, rtol=1e-9, atol=1e-11)
    return sol.y.T


def mc_closed_form(P: np.ndarray, R: np.ndarray, gamma: float, V0: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Monte Carlo regression ``∂V/∂t = V^π − V``: ``V_t = e^{−t}(V_0 − V^π) + V^π``; ``[len(times), n]``."""
    _check_problem(P, R, gamma, V0)
    v_pi = value_function(P, R, gamma)
    return np.exp(-np.asarray(times))[:, None] * (V0 - v_pi)[None, :] + v_pi[None, :]


def expected_td(
    P: np.ndarray, R: np.ndarray, gamma: float, V0: np.ndarray, step: float, n_steps: int, record_every: int
) -> np.ndarray:
    """Discrete expected TD, ``V ← V + η(R + γPV − V)``; records ``[n_steps // record_every + 1, n]``.

    Record ``k`` is the value after ``k · record_every`` updates, i.e. at time
    ``t = k · record_every · η`` of the continuous dynamics.
    """
    _check_problem(P, R, gamma, V0)
    Pj, Rj = jnp.asarray(P), jnp.asarray(R)

    def update(v, _):
        return v + step * (Rj + gamma * Pj @ v - v), None

    def block(v, _):
        v, _ = jax.lax.scan(update, v, None, length=record_every)
        return v, v

    _, trace = jax.lax.scan(block, jnp.asarray(V0), None, length=n_steps // record_every)
    return np.concatenate([np.asarray(V0)[None], np.asarray(trace)])


def _successor_table(P: np.ndarray) -> tuple[jax.Array, jax.Array]:
    """Padded successor lists of a sparse P: ``[n, k]`` successor indices and their cumulative probabilities.

    ``k`` is the largest number of successors of any state; sampling ``s' ~ P(s, ·)``
    then costs O(k) per state instead of O(n).
    """
    k = int((P > 0).sum(axis=1).max())
    order = np.argsort(-P, axis=1, kind="stable")[:, :k]
    probs = np.take_along_axis(P, order, axis=1)
    return jnp.asarray(order), jnp.asarray(np.cumsum(probs, axis=1))


def make_sampled_td(P: np.ndarray, R: np.ndarray, gamma: float, step: float, n_steps: int, record_every: int):
    """Build a jit-able ``run(rng, V0) -> [n_steps // record_every + 1, n]`` of synchronous sampled TD(0).

    At every update each state ``s`` draws one successor ``s' ~ P(s, ·)`` and moves
    ``V(s) ← V(s) + η(R(s) + γV(s') − V(s))``; the expectation of this update is
    expected TD, so the mean over seeds follows :func:`expected_td`.  Vmap ``run``
    over seeds.
    """
    check_transition_matrix(P)
    check_reward(R, P)
    check_gamma(gamma)
    successors, cumulative = _successor_table(P)
    Rj = jnp.asarray(R)

    def run(rng: jax.Array, V0: jax.Array) -> jax.Array:
        def update(carry, _):
            v, key = carry
            key, sub = jax.random.split(key)
            u = jax.random.uniform(sub, (successors.shape[0], 1))
            choice = jnp.minimum(jnp.sum(cumulative < u, axis=-1), successors.shape[1] - 1)
            nxt = jnp.take_along_axis(successors, choice[:, None], axis=-1)[:, 0]
            return (v + step * (Rj + gamma * v[nxt] - v), key), None

        def block(carry, _):
            carry, _ = jax.lax.scan(update, carry, None, length=record_every)
            return carry, carry[0]

        _, trace = jax.lax.scan(block, (V0, rng), None, length=n_steps // record_every)
        return jnp.concatenate([V0[None], trace])

    return jax.jit(run)


def bellman_iterates(P: np.ndarray, R: np.ndarray, gamma: float, n_iterations: int) -> np.ndarray:
    """Value iterates ``V_{k+1} = R + γ P V_k`` from ``V_0 = 0``; returns ``[n_iterations + 1, n]``.

    ``V_{k+1}`` is also the TD target of ``V_k``.
    """
    _check_problem(P, R, gamma, np.zeros(P.shape[0]))
    values = [np.zeros(P.shape[0])]
    for _ in range(n_iterations):
        values.append(R + gamma * P @ values[-1])
    return np.stack(values)


def fit_decay_rates(times: np.ndarray, amplitudes: np.ndarray, floor: float = 0.05) -> np.ndarray:
    """Fit ``|a(t)| ≈ |a(0)| e^{−ct}`` by least squares on ``log |a|`` while it stays above ``floor·|a(0)|``.

    Args:
      times: ``[T]`` time points starting at 0.
      amplitudes: ``[..., T, k]`` error coordinates over time for ``k`` components.
      floor: fraction of the initial amplitude below which points are left out (noise floor).

    Returns:
      ``[..., k]`` fitted rates ``c`` (NaN where fewer than 3 points are usable).
    """
    a = np.abs(np.asarray(amplitudes))
    if a.shape[-2] != len(times):
        raise InvalidMDPError(f"amplitudes have {a.shape[-2]} time points, times has {len(times)}")
    ratio = a / a[..., :1, :]
    # Use the points before the amplitude first drops below the floor.
    usable = np.cumprod(ratio > floor, axis=-2).astype(bool)
    t = np.asarray(times)[:, None]
    log_ratio = np.log(np.where(usable, ratio, 1.0))
    n = usable.sum(axis=-2)
    # Regression through the origin of −log ratio on t.
    slope = -np.sum(np.where(usable, log_ratio * t, 0.0), axis=-2) / np.sum(np.where(usable, t * t, 0.0), axis=-2)
    return np.where(n >= 3, slope, np.nan)


def relative_rate_error(times: np.ndarray, amplitudes: np.ndarray, predicted: np.ndarray) -> float:
    """Largest relative error of the fitted decay rates, ``max_i |c_i − p_i| / p_i``.

    Args:
      times: ``[T]`` time points starting at 0.
      amplitudes: ``[T, k]`` error coordinates over time (e.g. along the eigenvectors of P).
      predicted: ``[k]`` predicted rates ``p_i`` (for expected TD, ``1 − γλ_i``).

    Returns:
      The largest relative error over the components whose rate :func:`fit_decay_rates`
      could fit (NaN rates are left out).
    """
    rates = fit_decay_rates(times, amplitudes)
    return float(np.nanmax(np.abs(rates - predicted) / predicted))


def time_constants(times: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    """Time constant of each component: ``τ = ∫ |a(t)| / |a(0)| dt`` over the recorded window (trapezoid rule).

    For an exponential decay ``|a(t)| = |a(0)| e^{−ct}`` and a long window, ``τ = 1/c``:
    a component fitted late has a large ``τ``.  Unlike a threshold-crossing time it
    never saturates, so slow components stay ranked.

    ``amplitudes`` is ``[..., T, k]``; returns ``[..., k]``.
    """
    a = np.abs(np.asarray(amplitudes))
    if a.shape[-2] != len(times):
        raise InvalidMDPError(f"amplitudes have {a.shape[-2]} time points, times has {len(times)}")
    return np.trapezoid(a / a[..., :1, :], x=np.asarray(times, dtype=float), axis=-2)


def band_amplitudes(coefficients: np.ndarray, n_bands: int) -> np.ndarray:
    """Group eigen-coordinates (sorted by decreasing eigenvalue) into ``n_bands`` contiguous bands.

    ``coefficients`` is ``[..., n]``; returns ``[..., n_bands]`` with the Euclidean norm of
    each band's coordinates.
    """
    bands = np.array_split(np.arange(coefficients.shape[-1]), n_bands)
    return np.stack([np.linalg.norm(coefficients[..., b], axis=-1) for b in bands], axis=-1)


def band_eigenvalues(eigenvalues: np.ndarray, n_bands: int) -> np.ndarray:
    """Mean eigenvalue of each band of :func:`band_amplitudes`: ``[n]`` (sorted, decreasing) ``-> [n_bands]``."""
    return np.array([b.mean() for b in np.array_split(np.asarray(eigenvalues), n_bands)])


Target = Literal["td", "mc"]


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
    """Build a jit-able ``train(rng) -> [n_steps // record_every + 1, n]`` of a network's values over training.

    An :class:`~tdgen.rl.networks.MLP` ``V_θ`` of the states' ``encoding``
    (:func:`~tdgen.envs.tabular.encode_states`) takes full-batch SGD steps of size
    ``learning_rate`` on every state at once, on

        ℓ(θ) = ½ mean_s (y(s) − V_θ(s))²,   y = sg[R + γ P V_θ]  (``"td"``)  or  y = V^π  (``"mc"``),

    with ``sg`` a stop-gradient (semi-gradient TD).  Row ``k`` of the result holds
    ``V_θ`` on every state after ``k · record_every`` steps; row 0 is the
    initialisation drawn from ``rng``.  Vmap ``train`` over seeds.
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
        goal = expected_td_target(R, P, v, gamma) if target == "td" else v_pi
        return 0.5 * jnp.mean((jax.lax.stop_gradient(goal) - v) ** 2)

    def train(rng: jax.Array) -> jax.Array:
        blocks = n_steps // record_every
        fitted = gradient_steps(
            lambda params, _: loss_fn(params),
            tx,
            model.init(rng, x),
            num_steps=blocks * record_every,
            checkpoints=blocks,
            record=lambda params: model.apply(params, x),
        )
        return fitted.records

    return jax.jit(train)
