"""Spectra of P^π and the smoothness of functions over states.

The eigenvectors of a policy's transition matrix give a notion of smoothness
*with respect to the dynamics* (Lyle et al., 2022, §3): eigenvectors with large
positive eigenvalues change little along transitions, those with negative
eigenvalues flip sign between successive states.  Smoothness is measured by the
Dirichlet energy::

    E(f) = ½ Σ_{s,s'} μ(s) P(s, s') |f(s) − f(s')|²  /  Σ_s μ(s) |f(s)|²,

with μ the stationary distribution of P.  Because μ is stationary, the
numerator equals ‖f‖²_μ − Re⟨f, Pf⟩_μ for every P, so an eigenvector with
eigenvalue λ has energy exactly 1 − Re λ (reversible or not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tdgen.envs.tabular import InvalidMDPError, TabularEnv, check_transition_matrix


@dataclass(frozen=True)
class Eigendecomposition:
    """Eigenpairs of P sorted by decreasing real part of the eigenvalue.

    Attributes:
      values: ``[n]`` eigenvalues (complex dtype when any is complex).
      vectors: ``[n, n]`` right eigenvectors as columns, ``P @ vectors[:, i] = values[i] * vectors[:, i]``,
        each of unit μ-norm.
    """

    values: np.ndarray
    vectors: np.ndarray

    @property
    def is_real(self) -> bool:
        """Whether every eigenpair is real (always so for a reversible P)."""
        return not np.iscomplexobj(self.values)

    def coefficients(self, f: np.ndarray) -> np.ndarray:
        """Coordinates ``α`` of ``f`` in the eigenbasis, ``f = vectors @ α``; ``f`` is ``[n]`` or ``[..., n]``."""
        f = np.asarray(f)
        if f.shape[-1] != self.vectors.shape[0]:
            raise InvalidMDPError(f"function has {f.shape[-1]} states, eigenbasis has {self.vectors.shape[0]}")
        return np.linalg.solve(self.vectors, f.reshape(-1, f.shape[-1]).T).T.reshape(f.shape)


def stationary_distribution(P: np.ndarray) -> np.ndarray:
    """The stationary distribution μ with μᵀP = μᵀ, shape ``[n]``; P must be irreducible."""
    check_transition_matrix(P)
    n = P.shape[0]
    # Solve μᵀ(I − P) = 0 with Σμ = 1 as one least-squares system.
    A = np.vstack([(np.eye(n) - P).T, np.ones((1, n))])
    b = np.concatenate([np.zeros(n), [1.0]])
    mu, _, rank, _ = np.linalg.lstsq(A, b, rcond=None)
    if rank < n or np.any(mu < -1e-9) or not np.allclose(mu @ P, mu, atol=1e-8):
        raise InvalidMDPError("P has no unique stationary distribution (is it irreducible?)")
    return np.clip(mu, 0.0, None) / np.clip(mu, 0.0, None).sum()


def is_reversible(P: np.ndarray, mu: np.ndarray | None = None, atol: float = 1e-10) -> bool:
    """Detailed balance: μ(s) P(s, s') = μ(s') P(s', s) for all pairs."""
    mu = stationary_distribution(P) if mu is None else mu
    flow = mu[:, None] * P
    return bool(np.allclose(flow, flow.T, atol=atol))


def eigendecomposition(P: np.ndarray) -> Eigendecomposition:
    """Eigenpairs of P sorted by decreasing Re λ (ties broken by decreasing Im λ).

    For a reversible P the eigenpairs are real: P is similar to the symmetric
    matrix D^{1/2} P D^{-1/2} (D = diag μ), which is diagonalised instead for
    accuracy.  Otherwise eigenvalues come in complex-conjugate pairs and the
    eigenvectors are complex; both members of a pair are kept.
    """
    check_transition_matrix(P)
    mu = stationary_distribution(P)
    if is_reversible(P, mu):
        root = np.sqrt(mu)
        S = root[:, None] * P / root[None, :]
        values, U = np.linalg.eigh((S + S.T) / 2)
        vectors = U / root[:, None]
    else:
        values, vectors = np.linalg.eig(P)
        if np.allclose(values.imag, 0.0, atol=1e-12):
            values, vectors = values.real, vectors.real
    order = np.lexsort((-np.imag(values), -np.real(values)))
    values, vectors = values[order], vectors[:, order]
    norms = np.sqrt(np.sum(mu[:, None] * np.abs(vectors) ** 2, axis=0))
    return Eigendecomposition(values=values, vectors=vectors / norms)


def dirichlet_energy(f: np.ndarray, P: np.ndarray, mu: np.ndarray | None = None) -> np.ndarray:
    """Normalised Dirichlet energy ``E(f)`` of the module docstring; 0 for constants, at most 2.

    Args:
      f: ``[n]`` or ``[..., n]`` real or complex functions over states.
      P: ``[n, n]`` transition matrix.
      mu: ``[n]`` stationary distribution (computed when omitted).

    Returns:
      Energies of shape ``f.shape[:-1]``.
    """
    check_transition_matrix(P)
    f = np.asarray(f)
    if f.shape[-1] != P.shape[0]:
        raise InvalidMDPError(f"function has {f.shape[-1]} states, P has {P.shape[0]}")
    mu = stationary_distribution(P) if mu is None else mu
    # Expand the square: ½ Σ μ_s P(s,s') |f(s) − f(s')|² = ½ Σ_s μ(s)|f(s)|² + ½ Σ_s' (μP)(s')|f(s')|²
    # − Re Σ_s μ(s) conj(f(s)) (Pf)(s); O(n²) per function instead of O(n²) memory per function.
    power = np.abs(f) ** 2
    cross = np.real(np.sum(mu * np.conj(f) * (f @ P.T), axis=-1))
    numerator = 0.5 * np.sum(mu * power, axis=-1) + 0.5 * np.sum((mu @ P) * power, axis=-1) - cross
    denominator = np.sum(mu * power, axis=-1)
    if np.any(denominator <= 0):
        raise InvalidMDPError("Dirichlet energy is undefined for the zero function")
    return np.clip(numerator, 0.0, None) / denominator


def centre(f: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Remove the μ-weighted mean: ``f − Σ_s μ(s) f(s)`` along the last axis."""
    return f - np.sum(mu * f, axis=-1, keepdims=True)


def sign_change_rate(f: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Fraction of neighbouring pairs (i, j) whose values point in opposite directions.

    A plain, geometry-based roughness measure: for real ``f`` it counts sign
    changes across the environment's edges; for complex ``f`` it counts the pairs
    with ``Re(conj(f_i) f_j) < 0`` (phases more than 90° apart), which reduces to
    the same thing for real functions.

    Args:
      f: ``[n]`` or ``[..., n]`` functions over states.
      edges: ``[m, 2]`` neighbour pairs.

    Returns:
      Rates in [0, 1] of shape ``f.shape[:-1]``.
    """
    edges = np.asarray(edges)
    if edges.ndim != 2 or edges.shape[1] != 2 or edges.shape[0] == 0:
        raise InvalidMDPError(f"edges must be a non-empty [m, 2] array, got shape {edges.shape}")
    f = np.asarray(f)
    product = np.real(np.conj(f[..., edges[:, 0]]) * f[..., edges[:, 1]])
    return np.mean(product < 0, axis=-1)


@dataclass(frozen=True)
class Spectrum:
    """The eigenpairs of one environment's P^π and the smoothness of every eigenvector (:func:`spectrum`).

    Attributes:
      env: the environment.
      eig: its :class:`Eigendecomposition`, ``n`` eigenpairs by decreasing ``Re λ``.
      reversible: whether P^π satisfies detailed balance (:func:`is_reversible`).
      energy: ``[n]`` Dirichlet energy of each eigenvector (:func:`dirichlet_energy`).
      sign_changes: ``[n]`` sign-change rate of each eigenvector over ``env.edges``
        (:func:`sign_change_rate`).
    """

    env: TabularEnv
    eig: Eigendecomposition
    reversible: bool
    energy: np.ndarray
    sign_changes: np.ndarray

    @property
    def real_values(self) -> np.ndarray:
        """``[n]`` real parts ``Re λ`` of the eigenvalues, the order of every array here."""
        return np.real(self.eig.values)

    @property
    def complex_count(self) -> int:
        """Number of eigenvalues with an imaginary part (``|Im λ| > 1e-9``)."""
        return int(np.sum(np.abs(np.imag(self.eig.values)) > 1e-9))

    @property
    def identity_gap(self) -> float:
        """``max_i |E(φ_i) − (1 − Re λ_i)|``: zero up to rounding, by the identity of the module docstring."""
        return float(np.abs(self.energy - 1 + self.eig.values.real).max())


def spectrum(env: TabularEnv) -> Spectrum:
    """Eigendecompose ``env.P`` and measure every eigenvector's smoothness both ways.

    With μ the stationary distribution and ``P φ_i = λ_i φ_i`` (sorted by decreasing
    ``Re λ_i``): ``energy[i] = E(φ_i)`` with respect to P and μ, and ``sign_changes[i]``
    the fraction of ``env.edges`` across which ``φ_i`` changes sign.
    """
    mu = stationary_distribution(env.P)
    eig = eigendecomposition(env.P)
    return Spectrum(
        env=env,
        eig=eig,
        reversible=is_reversible(env.P, mu),
        energy=dirichlet_energy(eig.vectors.T, env.P, mu),
        sign_changes=sign_change_rate(eig.vectors.T, env.edges),
    )
