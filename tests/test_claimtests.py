import numpy as np
import pytest

from tdgen import claimtests, stats


def test_mean_test_is_the_mean_with_its_interval_kind_and_units():
    samples = np.array([1.0, 2.0, 4.0, 5.0, 3.5])
    t = claimtests.mean_test("n", "s", samples, 2.0, ">=", n_resamples=500, ci_over="seeds")
    interval = stats.mean_interval(samples, n_resamples=500)
    assert t.value == 3.1 and t.ci == interval.ci and t.ci_over == "seeds"
    assert (t.interval, t.units) == ("boot-t95", 5)
    low, high = stats.t_interval(samples)  # the interval contains Student's t interval
    assert t.ci[0] <= low and t.ci[1] >= high
    assert t.verdict == "not reproduced"  # the interval reaches below 2
    assert t.primary
    json = t.to_json()
    assert (json["interval"], json["units"]) == ("boot-t95", 5)


def test_mean_test_with_three_or_four_units_is_a_99_percent_t_interval():
    samples = np.array([1.0, 2.0, 4.0, 5.0])
    t = claimtests.mean_test("n", "s", samples, 0.0, ">=", n_resamples=500, ci_over="seeds")
    assert (t.interval, t.units) == ("t99", 4)
    assert t.ci == pytest.approx(stats.t_interval(samples, 0.99))


def test_mean_test_with_two_units_records_a_range_and_is_not_reproduced():
    t = claimtests.mean_test("n", "s", np.array([5.0, 7.0]), 0.0, ">=", n_resamples=500, ci_over="seeds")
    assert (t.interval, t.units, t.ci, t.value) == ("range", 2, (5.0, 7.0), 6.0)
    assert t.verdict == "not reproduced"  # both units far above 0, but two units are too few to judge


def test_nested_units_give_an_interval_over_the_independent_units():
    # 5 teachers with 3 students each: the interval is over the teachers' means, units = 5
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(5, 1)) + 0.1 * rng.normal(size=(5, 3))
    t = claimtests.mean_test("n", "s", samples, 0.0, ">=", n_resamples=300, ci_over="teachers")
    assert t.units == 5 and t.value == pytest.approx(samples.mean())
    assert t.ci == stats.mean_interval(samples.mean(axis=1), n_resamples=300).ci
    num, den = samples + 3.0, np.full_like(samples, 2.0)
    r = claimtests.ratio_test("n", "s", num, den, 1.0, ">=", n_resamples=300, ci_over="teachers")
    assert r.units == 5 and r.value == pytest.approx(num.mean() / 2.0)
    with pytest.raises(ValueError, match=r"mean_test: samples must be \[units\] or \[units, subunits\]"):
        claimtests.mean_test("n", "s", np.ones((2, 2, 2)), 0.0, ">=", n_resamples=10, ci_over="u")


def test_ratio_test_resamples_pairs():
    num, den = np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])
    t = claimtests.ratio_test("n", "s", num, den, 1.0, ">=", n_resamples=200, ci_over="seeds", primary=False)
    assert t.value == pytest.approx(2.0) and t.ci == pytest.approx((2.0, 2.0))  # every pair has ratio 2
    assert t.verdict == "reproduced" and not t.primary and (t.interval, t.units) == ("t99", 3)
    num, den = np.array([2.0, 4.0, 7.0, 5.0, 3.0, 6.5]), np.array([1.0, 2.0, 3.0, 2.0, 2.0, 3.0])
    t = claimtests.ratio_test("n", "s", num, den, 1.0, ">=", n_resamples=200, ci_over="seeds")
    assert t.ci == stats.ratio_interval(num, den, n_resamples=200).ci and t.interval == "boot-t95"
    with pytest.raises(ValueError, match="ratio_test: numerator and denominator must have equal shapes"):
        claimtests.ratio_test("n", "s", num, den[:3], 1.0, ">=", n_resamples=10, ci_over="u")


def test_spearman_test_correlates_x_with_the_mean_over_units():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    samples = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 0.5, 2.5, 4.0], [0.2, 1.5, 1.0, 3.5]])
    t = claimtests.spearman_test("n", "s", x, samples, 0.5, ">=", n_resamples=300, ci_over="seeds")
    assert t.value == stats.spearman(x, samples.mean(axis=0)) == 1.0
    lo, hi = t.ci
    assert -1.0 <= lo <= hi <= 1.0 and hi == 1.0
    assert (t.interval, t.units) == ("jackknife-basic99", 3)


def test_fixed_test_has_no_interval():
    t = claimtests.fixed_test("n", "s", np.float64(0.01), 0.05, "<=")
    assert t.ci is None and t.ci_over is None and t.value == 0.01 and t.verdict == "reproduced"
    assert (t.interval, t.units) == ("none", None)
    units = claimtests.fixed_test("n", "s", 0.01, 0.05, "<=", units=np.int64(10)).to_json()["units"]
    assert units == 10 and type(units) is int  # JSON-ready


def test_statistic_test_takes_the_jackknife_interval_of_any_statistic():
    pairs = np.array([[0.0, 3.0], [1.0, 2.5], [2.0, 1.0], [3.0, 0.5], [4.0, 0.2], [5.0, 0.3]])

    def rho(p):
        return stats.spearman(p[:, 0], p[:, 1])

    t = claimtests.statistic_test("n", "s", pairs, rho, -0.5, "<=", ci_over="pairs")
    assert t.value == rho(pairs) and t.ci_over == "pairs"
    assert t.ci == stats.statistic_interval(pairs, rho).ci and (t.interval, t.units) == ("jackknife-t95", 6)


def test_of_means_test_takes_the_statistic_of_the_mean_over_units():
    samples = np.array([[1.0, 3.0], [2.0, 5.0], [4.0, 4.0]])

    def spread(m):
        return float(m[1] - m[0])

    t = claimtests.of_means_test("n", "s", samples, spread, 0.0, ">=", n_resamples=300, ci_over="seeds")
    assert t.value == pytest.approx(5.0 / 3.0) and (t.interval, t.units) == ("jackknife-basic99", 3)
    # a linear statistic: the 99% t interval of the per-unit differences (up to the draws' quantiles)
    low, high = stats.t_interval(samples[:, 1] - samples[:, 0], 0.99)
    assert t.ci[0] <= low + 1e-9 and t.ci[1] >= high - 1e-9
    # with x fixed, Spearman's ρ of the means is spearman_test (there clipped to [-1, 1])
    x = np.array([0.0, 1.0, 2.0])
    arms = np.array([[0.0, 1.0, 0.5], [2.0, 1.0, 3.0], [0.5, 0.7, 0.2], [1.0, 1.2, 1.1], [0.0, 0.1, 0.3]])
    a = claimtests.of_means_test("n", "s", arms, lambda m: stats.spearman(x, m), 0.0, ">=", n_resamples=50, ci_over="u")
    b = claimtests.spearman_test("n", "s", x, arms, 0.0, ">=", n_resamples=50, ci_over="u")
    assert a.value == b.value and a.interval == b.interval == "jackknife-basic95"
    assert np.clip(a.ci, -1, 1) == pytest.approx(b.ci)


def test_iqm_test_aggregates_runs_across_games():
    scores = np.array([[1.0, 10.0, 3.0, 0.5], [2.0, 12.0, 2.0, 0.7], [1.5, 9.0, 4.0, 0.2], [1.2, 11.0, 2.5, 0.4]])
    t = claimtests.iqm_test("n", "s", scores, 1.0, ">=", n_resamples=200, ci_over="runs per game")
    assert t.value == pytest.approx(np.sort(scores.ravel())[4:12].mean())
    assert (t.interval, t.units) == ("trimmed-t99", 4) and t.ci == stats.iqm_interval(scores, 200).ci
