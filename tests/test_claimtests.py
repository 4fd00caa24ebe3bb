import numpy as np
import pytest

from tdgen import claimtests, stats


def test_mean_test_is_the_mean_with_its_bootstrap_interval():
    samples = np.array([1.0, 2.0, 4.0, 5.0])
    t = claimtests.mean_test("n", "s", samples, 2.0, ">=", n_resamples=500, ci_over="seeds")
    assert t.value == 3.0 and t.ci == stats.bootstrap_ci(samples, n_resamples=500) and t.ci_over == "seeds"
    assert t.verdict == "not reproduced"  # the interval reaches below 2
    assert t.primary


def test_ratio_test_resamples_pairs():
    num, den = np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])
    t = claimtests.ratio_test("n", "s", num, den, 1.0, ">=", n_resamples=200, ci_over="seeds", primary=False)
    assert t.value == pytest.approx(2.0) and t.ci == pytest.approx((2.0, 2.0))  # every pair has ratio 2
    assert t.verdict == "reproduced" and not t.primary


def test_spearman_test_correlates_x_with_the_mean_over_units():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    samples = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 0.5, 2.5, 4.0], [0.2, 1.5, 1.0, 3.5]])
    t = claimtests.spearman_test("n", "s", x, samples, 0.5, ">=", n_resamples=300, ci_over="seeds")
    assert t.value == stats.spearman(x, samples.mean(axis=0)) == 1.0
    lo, hi = t.ci
    assert -1.0 <= lo <= hi <= 1.0


def test_fixed_test_has_no_interval():
    t = claimtests.fixed_test("n", "s", np.float64(0.01), 0.05, "<=")
    assert t.ci is None and t.ci_over is None and t.value == 0.01 and t.verdict == "reproduced"


def test_bootstrap_test_resamples_the_units_of_any_statistic():
    pairs = np.array([[0.0, 3.0], [1.0, 2.5], [2.0, 1.0], [3.0, 0.5], [4.0, 0.2]])

    def rho(p):
        return stats.spearman(p[:, 0], p[:, 1])

    t = claimtests.bootstrap_test("n", "s", pairs, rho, -0.5, "<=", n_resamples=200, ci_over="pairs")
    assert t.value == rho(pairs) == pytest.approx(-1.0) and t.ci_over == "pairs"
    assert t.ci == stats.bootstrap_ci(pairs, rho, n_resamples=200)


def test_of_means_test_takes_the_statistic_of_resampled_means():
    samples = np.array([[1.0, 3.0], [2.0, 5.0], [4.0, 4.0]])

    def spread(m):
        return float(m[1] - m[0])

    t = claimtests.of_means_test("n", "s", samples, spread, 0.0, ">=", n_resamples=300, ci_over="seeds")
    assert t.value == pytest.approx(5.0 / 3.0)
    boot = stats.bootstrap_means(samples, 300)
    assert t.ci == stats.percentile_interval(boot[:, 1] - boot[:, 0])
    # with x fixed, Spearman's ρ of the means is spearman_test
    x, arms = np.array([0.0, 1.0]), np.array([[0.0, 1.0], [2.0, 1.0], [0.5, 0.7]])
    a = claimtests.of_means_test("n", "s", arms, lambda m: stats.spearman(x, m), 0.0, ">=", n_resamples=50, ci_over="u")
    b = claimtests.spearman_test("n", "s", x, arms, 0.0, ">=", n_resamples=50, ci_over="u")
    assert (a.value, a.ci) == (b.value, b.ci)
