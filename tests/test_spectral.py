"""Spectra and smoothness: the analytic identities behind claim 1."""

import numpy as np
import pytest

from tdgen import spectral
from tdgen.envs import tabular


@pytest.mark.parametrize("n", [5, 8, 13])
def test_ring_eigenvalues_are_cosines(n):
    eig = spectral.eigendecomposition(tabular.ring(n).P)
    expected = np.sort(np.cos(2 * np.pi * np.arange(n) / n))[::-1]
    np.testing.assert_allclose(eig.values, expected, atol=1e-12)


def test_eigenvectors_satisfy_eigen_equation_and_are_sorted():
    for env in (tabular.four_rooms(), tabular.drift_grid(5), tabular.random_mdp(25, seed=1)):
        eig = spectral.eigendecomposition(env.P)
        np.testing.assert_allclose(env.P @ eig.vectors, eig.vectors * eig.values, atol=1e-9)
        assert np.all(np.diff(np.real(eig.values)) <= 1e-12)


def test_non_reversible_chain_has_complex_conjugate_pairs():
    env = tabular.drift_grid(5)
    assert not spectral.is_reversible(env.P)
    eig = spectral.eigendecomposition(env.P)
    assert not eig.is_real
    np.testing.assert_allclose(np.sort_complex(eig.values), np.sort_complex(np.conj(eig.values)), atol=1e-10)


@pytest.mark.parametrize("env", [tabular.chain(12), tabular.open_grid(5), tabular.four_rooms()], ids=lambda e: e.name)
def test_reversible_eigenvector_energy_is_one_minus_lambda(env):
    mu = spectral.stationary_distribution(env.P)
    assert spectral.is_reversible(env.P, mu)
    eig = spectral.eigendecomposition(env.P)
    energy = spectral.dirichlet_energy(eig.vectors.T, env.P, mu)
    np.testing.assert_allclose(energy, 1.0 - eig.values, atol=1e-10)


def test_energy_identity_holds_for_complex_eigenvectors_too():
    env = tabular.random_mdp(30, seed=2)
    eig = spectral.eigendecomposition(env.P)
    energy = spectral.dirichlet_energy(eig.vectors.T, env.P)
    np.testing.assert_allclose(energy, 1.0 - np.real(eig.values), atol=1e-9)


def test_stationary_distribution_is_stationary():
    env = tabular.random_mdp(20, seed=4)
    mu = spectral.stationary_distribution(env.P)
    np.testing.assert_allclose(mu @ env.P, mu, atol=1e-12)
    assert mu.sum() == pytest.approx(1.0)


def test_reducible_chain_is_rejected():
    P = np.eye(3)
    with pytest.raises(tabular.InvalidMDPError, match="irreducible"):
        spectral.stationary_distribution(P)


def test_constant_has_zero_energy_and_alternating_has_maximal_energy():
    env = tabular.ring(10)
    assert spectral.dirichlet_energy(np.ones(10), env.P) == pytest.approx(0.0)
    alternating = (-1.0) ** np.arange(10)
    assert spectral.dirichlet_energy(alternating, env.P) == pytest.approx(2.0)
    assert spectral.sign_change_rate(alternating, env.edges) == pytest.approx(1.0)
    assert spectral.sign_change_rate(np.ones(10), env.edges) == 0.0


def test_coefficients_round_trip():
    eig = spectral.eigendecomposition(tabular.drift_grid(4).P)
    f = np.random.default_rng(0).standard_normal((3, 16))
    np.testing.assert_allclose(eig.vectors @ eig.coefficients(f)[0], f[0], atol=1e-10)


def test_shape_mismatch_is_named():
    env = tabular.chain(5)
    with pytest.raises(tabular.InvalidMDPError, match="6 states, P has 5"):
        spectral.dirichlet_energy(np.ones(6), env.P)
    with pytest.raises(tabular.InvalidMDPError, match=r"\[m, 2\]"):
        spectral.sign_change_rate(np.ones(5), np.zeros((0, 2), dtype=int))


def test_dirichlet_energy_matches_its_definition():
    # ½ Σ μ(s) P(s, s') |f(s) − f(s')|² / Σ μ(s)|f(s)|², summed pair by pair, for a non-reversible P.
    env = tabular.drift_grid(4)
    mu = spectral.stationary_distribution(env.P)
    f = np.random.default_rng(0).standard_normal((3, env.n_states)) + 1j
    pairs = np.abs(f[:, :, None] - f[:, None, :]) ** 2
    direct = 0.5 * np.sum(mu[:, None] * env.P * pairs, axis=(1, 2)) / np.sum(mu * np.abs(f) ** 2, axis=1)
    np.testing.assert_allclose(spectral.dirichlet_energy(f, env.P, mu), direct, rtol=1e-12)


@pytest.mark.parametrize("env", [tabular.ring(9), tabular.drift_grid(4)], ids=lambda e: e.name)
def test_spectrum_measures_every_eigenvector_both_ways(env):
    s = spectral.spectrum(env)
    eig = spectral.eigendecomposition(env.P)
    np.testing.assert_array_equal(s.eig.values, eig.values)
    np.testing.assert_array_equal(s.energy, spectral.dirichlet_energy(eig.vectors.T, env.P))
    np.testing.assert_array_equal(s.sign_changes, spectral.sign_change_rate(eig.vectors.T, env.edges))
    np.testing.assert_array_equal(s.real_values, np.real(eig.values))
    assert s.reversible == spectral.is_reversible(env.P)
    assert s.identity_gap < 1e-9  # E(φ_i) = 1 − Re λ_i
    assert s.complex_count == int(np.sum(np.abs(np.imag(eig.values)) > 1e-9))
    assert (s.complex_count == 0) == s.reversible  # the ring is reversible, the drifting grid is not
