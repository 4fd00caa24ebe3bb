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
