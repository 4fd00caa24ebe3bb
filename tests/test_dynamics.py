"""TD dynamics: closed form, integration, discrete and sampled TD agree; rates are 1 − γλ."""

import jax
import numpy as np
import pytest

from tdgen import dynamics, spectral
from tdgen.envs import tabular

GAMMA = 0.9


@pytest.fixture(scope="module")
def problem():
    env = tabular.open_grid(4, rewards={(0, 0): 1.0, (3, 2): -1.0})
    eig = spectral.eigendecomposition(env.P)
    v_pi = tabular.value_function(env.P, env.R, GAMMA)
    V0 = v_pi + eig.vectors @ np.ones(env.n_states)
    return env, eig, v_pi, V0


def test_closed_form_matches_integration(problem):
    env, _, _, V0 = problem
    times = np.linspace(0, 5, 11)
    closed = dynamics.td_closed_form(env.P, env.R, GAMMA, V0, times)
    integrated = dynamics.td_integrate(env.P, env.R, GAMMA, V0, times)
    np.testing.assert_allclose(closed, integrated, atol=1e-7)


def test_closed_form_coordinates_decay_at_one_minus_gamma_lambda(problem):
    env, eig, v_pi, V0 = problem
    times = np.linspace(0, 4, 9)
    alpha = eig.coefficients(dynamics.td_closed_form(env.P, env.R, GAMMA, V0, times) - v_pi)
    expected = np.exp(-np.outer(times, 1 - GAMMA * eig.values)) * alpha[0]
    np.testing.assert_allclose(alpha, expected, atol=1e-9)
    rates = dynamics.fit_decay_rates(times, alpha, floor=1e-6)
    np.testing.assert_allclose(rates, 1 - GAMMA * eig.values, rtol=1e-6)


def test_expected_td_approaches_closed_form_as_step_shrinks(problem):
    env, _, _, V0 = problem
    errors = []
    for step in (0.02, 0.01):
        record_every = round(0.5 / step)
        discrete = dynamics.expected_td(env.P, env.R, GAMMA, V0, step, 8 * record_every, record_every)
        closed = dynamics.td_closed_form(env.P, env.R, GAMMA, V0, np.arange(9) * 0.5)
        errors.append(np.abs(discrete - closed).max())
    assert errors[1] < 0.6 * errors[0]  # first-order convergence in the step size


def test_sampled_td_averages_to_expected_td(problem):
    env, _, _, V0 = problem
    run = dynamics.make_sampled_td(env.P, env.R, GAMMA, 0.05, 40, 10)
    seeds = jax.random.split(jax.random.PRNGKey(0), 2000)
    # Statistics in float64: numpy sums a float32 array along axis 0 one row after another,
    # and 2000 rows of values of order 10 then lose ~1e-4 to rounding on their own.
    sampled = np.asarray(jax.vmap(run, in_axes=(0, None))(seeds, V0), dtype=np.float64)
    expected = dynamics.expected_td(env.P, env.R, GAMMA, V0, 0.05, 40, 10)
    standard_error = sampled.std(axis=0) / np.sqrt(len(seeds))
    # 1e-4 covers float32 rounding of the runs themselves (JAX's default precision) for values of order 10.
    assert np.all(np.abs(sampled.mean(axis=0) - expected) <= 5 * standard_error + 1e-4)


def test_sampled_td_follows_the_transition_matrix():
    # On a deterministic cycle 0 → 1 → 2 → 0 with reward 1 at state 0, one update is exact.
    P = np.roll(np.eye(3), 1, axis=1)
    R = np.array([1.0, 0.0, 0.0])
    run = dynamics.make_sampled_td(P, R, 0.5, 1.0, 1, 1)
    out = np.asarray(run(jax.random.PRNGKey(0), np.array([0.0, 2.0, 4.0])))
    np.testing.assert_allclose(out[1], [1.0 + 0.5 * 2.0, 0.5 * 4.0, 0.0])


def test_monte_carlo_decays_every_component_at_rate_one(problem):
    env, eig, v_pi, V0 = problem
    times = np.linspace(0, 3, 7)
    alpha = eig.coefficients(dynamics.mc_closed_form(env.P, env.R, GAMMA, V0, times) - v_pi)
    np.testing.assert_allclose(dynamics.fit_decay_rates(times, alpha, floor=1e-6), 1.0, rtol=1e-9)


def test_bellman_iterates_converge_to_value_function(problem):
    env, _, v_pi, _ = problem
    iterates = dynamics.bellman_iterates(env.P, env.R, GAMMA, 400)
    np.testing.assert_allclose(iterates[0], 0.0)
    np.testing.assert_allclose(iterates[-1], v_pi, atol=1e-12)


def test_time_constant_of_exponential_is_inverse_rate():
    times = np.linspace(0, 60, 6001)
    amplitudes = np.exp(-np.outer(times, [0.5, 1.0, 2.0]))
    np.testing.assert_allclose(dynamics.time_constants(times, amplitudes), [2.0, 1.0, 0.5], rtol=1e-3)


def test_band_amplitudes_are_band_norms():
    coefficients = np.array([3.0, 4.0, 1.0, 0.0])
    np.testing.assert_allclose(dynamics.band_amplitudes(coefficients, 2), [5.0, 1.0])


def test_bad_initial_values_are_named(problem):
    env, _, _, _ = problem
    with pytest.raises(tabular.InvalidMDPError, match="initial values must have shape"):
        dynamics.td_closed_form(env.P, env.R, GAMMA, np.zeros(3), np.zeros(2))


def test_relative_rate_error_of_exact_decays_is_zero_and_scales_with_a_wrong_prediction():
    times = np.linspace(0, 3, 31)
    rates = np.array([0.5, 1.0, 1.5])
    amplitudes = np.exp(-np.outer(times, rates))  # [T, 3]
    assert dynamics.relative_rate_error(times, amplitudes, rates) == pytest.approx(0.0, abs=1e-12)
    assert dynamics.relative_rate_error(times, amplitudes, rates / 1.1) == pytest.approx(0.1)
    # a component below the noise floor after two points has no fitted rate (NaN) and is left out
    amplitudes[2:, 1] = 1e-9
    assert dynamics.relative_rate_error(times, amplitudes, rates) == pytest.approx(0.0, abs=1e-12)


def test_band_eigenvalues_are_the_bands_of_band_amplitudes():
    lam = np.array([1.0, 0.5, 0.0, -0.25, -1.0])
    np.testing.assert_allclose(dynamics.band_eigenvalues(lam, 2), [0.5, -0.625])
    coefficients = np.ones(5)  # band sizes 3 and 2, as above
    np.testing.assert_allclose(dynamics.band_amplitudes(coefficients, 2), [np.sqrt(3.0), np.sqrt(2.0)])
