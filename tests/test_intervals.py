"""The intervals over independent units (tdgen.stats, issue 14): identities, policies and hand computations.

Their coverage is simulated in test_coverage.py.
"""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tdgen import stats


def test_t_interval_is_students():
    x = np.array([1.0, 2.5, 2.0, 4.0])
    low, high = stats.t_interval(x)
    expected = scipy_stats.t.interval(0.95, 3, loc=x.mean(), scale=scipy_stats.sem(x))
    assert (low, high) == pytest.approx(expected)
    # two units: t quantile 12.7, the width behind the Student t interval [−1.44, 4.61]
    assert stats.t_quantile(2) == pytest.approx(12.706, abs=1e-3)


def test_mean_interval_policy_by_number_of_units():
    x = np.array([0.3, 1.2, -0.4, 2.0, 0.9, 1.1])
    two, four, six = stats.mean_interval(x[:2]), stats.mean_interval(x[:4]), stats.mean_interval(x)
    assert (two.kind, two.units, two.ci) == ("range", 2, (0.3, 1.2))
    assert (four.kind, four.units) == ("t99", 4) and four.ci == pytest.approx(stats.t_interval(x[:4], 0.99))
    assert (six.kind, six.units) == ("boot-t95", 6)
    low, high = stats.t_interval(x)
    boot_low, boot_high = stats.bootstrap_t_interval(x)
    assert six.ci == (min(low, boot_low), max(high, boot_high))


def test_intervals_are_vectorised_over_trailing_axes():
    x = np.random.default_rng(0).exponential(size=(6, 3))
    together = stats.mean_interval(x, n_resamples=300, seed=4)
    for j in range(3):
        alone = stats.mean_interval(x[:, j], n_resamples=300, seed=4)
        assert (together.low[j], together.high[j]) == pytest.approx(alone.ci)
    ratio = stats.ratio_interval(x + 1, x[::-1] + 2, n_resamples=300)
    assert ratio.low.shape == (3,) and np.all(ratio.low <= ratio.high)


def test_bootstrap_t_follows_the_skew_of_the_samples():
    x = np.array([0.1, 0.2, 0.15, 0.3, 0.25, 3.0, 0.2, 0.1])  # one far unit on the right
    low, high = stats.bootstrap_t_interval(x, n_resamples=4000)
    assert high - x.mean() > 1.5 * (x.mean() - low)
    t_low, t_high = stats.t_interval(x)
    assert t_high - x.mean() == pytest.approx(x.mean() - t_low)


def test_ratio_interval_of_a_constant_denominator_is_the_mean_interval():
    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0, 2.5])
    assert stats.ratio_interval(y, np.ones(6), 500).ci == pytest.approx(stats.mean_interval(y, 500).ci)
    assert stats.ratio_interval(2 * y, 2 * np.ones(6), 500).ci == pytest.approx(stats.mean_interval(y, 500).ci)
    few = stats.ratio_interval(y[:2], np.array([2.0, 4.0]))
    assert (few.kind, few.ci) == ("range", (0.5, 0.75))  # the per-unit ratios 1/2 and 3/4


def test_ratio_interval_delta_method_at_three_units():
    y, z = np.array([1.0, 2.0, 4.0]), np.array([2.0, 3.0, 3.0])
    r = y.mean() / z.mean()
    se = np.std(y - r * z, ddof=1) / np.sqrt(3) / z.mean()
    interval = stats.ratio_interval(y, z)
    assert interval.kind == "t99" and interval.ci == pytest.approx((r - 9.925 * se, r + 9.925 * se), rel=1e-4)


def test_jackknife_of_the_mean_is_students_t():
    x = np.array([1.0, 4.0, 2.0, 3.5, 0.5])
    assert stats.jackknife_interval(x, np.mean) == pytest.approx(stats.t_interval(x))
    interval = stats.statistic_interval(x, np.mean)
    assert (interval.kind, interval.units) == ("jackknife-t95", 5)
    assert stats.statistic_interval(x[:4], np.mean).kind == "jackknife-t99"
    assert stats.statistic_interval(x[:2], np.mean).ci == (1.0, 4.0)


def test_fisher_z_jackknife_stays_inside_minus_one_one():
    pairs = np.array([[0.0, 3.0], [1.0, 2.5], [2.0, 1.0], [3.0, 0.5], [4.0, 0.7], [5.0, 0.2]])
    interval = stats.statistic_interval(pairs, lambda p: stats.spearman(p[:, 0], p[:, 1]), fisher_z=True)
    assert interval.kind == "jackknife-z95" and -1 <= interval.low < interval.high <= 1


def test_mean_draws_have_students_t_marginals_and_the_units_covariance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 2)) @ np.array([[1.0, 0.8], [0.0, 0.6]])  # correlated arms
    draws = stats.mean_draws(x, n_resamples=200_000, seed=2)
    low, high = stats.t_interval(x)
    assert np.quantile(draws, [0.025, 0.975], axis=0) == pytest.approx(np.stack([low, high]), abs=0.02)
    n = 6
    expected = np.cov(x.T) / n * (n - 1) / (n - 3)  # covariance of a multivariate t with n - 1 df
    assert np.cov(draws.T) == pytest.approx(expected, rel=0.05)


def test_of_means_interval_of_a_linear_statistic_contains_students_t():
    x = np.random.default_rng(3).normal(size=(8, 3))
    interval = stats.of_means_interval(x, lambda m: m[0] - m[2], n_resamples=2000)
    low, high = stats.t_interval(x[:, 0] - x[:, 2])
    assert interval.kind == "jackknife-basic95"
    assert interval.low <= low + 1e-9 and interval.high >= high - 1e-9
    assert interval.ci == pytest.approx((low, high), abs=0.1 * (high - low))  # and is close to it


def test_spearman_rows_equals_spearman_row_by_row():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    ys = np.array([[1.0, 2.0, 2.0, 5.0, 0.0], [5.0, 4.0, 3.0, 2.0, 1.0], [0.3, 0.1, 0.2, 0.5, 0.4]])
    assert stats.spearman_rows(x, ys) == pytest.approx([stats.spearman(x, y) for y in ys])
    assert np.isnan(stats.spearman_rows(x, np.ones((1, 5)))[0])


def test_hierarchical_bootstrap_is_wider_than_the_pooled_one_when_teachers_differ():
    rng = np.random.default_rng(5)
    teachers, students = 5, 4
    samples = rng.normal(0.0, 1.0, size=(teachers, 1)) + rng.normal(0.0, 0.1, size=(teachers, students))
    nested = stats.hierarchical_bootstrap_means(samples, n_resamples=4000, seed=1)
    pooled = stats.bootstrap_means(samples.reshape(-1), n_resamples=4000, seed=1)
    assert nested.mean() == pytest.approx(samples.mean(), abs=0.05)
    assert nested.std() > 1.5 * pooled.std()  # about sd(teachers)/√5 against sd(all)/√20
    teachers_only = stats.hierarchical_bootstrap_means(samples, 4000, seed=1, resample_students=False)
    assert teachers_only.std() == pytest.approx(stats.bootstrap_means(samples.mean(axis=1), 4000).std(), rel=0.1)
    # without teacher effects the two agree
    flat = rng.normal(size=(teachers, students))
    ratio = stats.hierarchical_bootstrap_means(flat, 4000).std() / stats.bootstrap_means(flat.ravel(), 4000).std()
    assert 0.7 < ratio < 1.6


def test_hierarchical_bootstrap_by_hand():
    samples = np.array([[1.0, 2.0], [10.0, 20.0], [100.0, 200.0]])
    got = stats.hierarchical_bootstrap_means(samples, n_resamples=3, seed=7)
    rng = np.random.default_rng(7)
    chosen = rng.integers(0, 3, size=(3, 3))
    pupils = rng.integers(0, 2, size=(3, 3, 2))
    for b in range(3):
        drawn = [samples[chosen[b, j], pupils[b, j, k]] for j in range(3) for k in range(2)]
        assert got[b] == pytest.approx(np.mean(drawn))


def test_iqm_is_the_interquartile_mean():
    assert stats.iqm(np.arange(1.0, 9.0)) == 4.5  # the mean of 3, 4, 5, 6
    assert stats.iqm(np.array([[1.0, 100.0], [2.0, 3.0], [4.0, -50.0], [5.0, 6.0]])) == pytest.approx(3.5)


def test_stratified_bootstrap_resamples_runs_within_each_game_by_hand():
    scores = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])  # [runs, games]
    got = stats.stratified_bootstrap(scores, statistic=lambda s: s[:, 0].sum() + 1000 * s[:, 1].sum(), seed=3)
    idx = np.random.default_rng(3).integers(0, 3, size=(2000, 3, 2))
    by_hand = [sum(scores[idx[b, r, 0], 0] for r in range(3)) + 1000 * sum(scores[idx[b, r, 1], 1] for r in range(3))
               for b in range(2000)]  # fmt: skip
    assert got == pytest.approx(by_hand)
    boot = stats.stratified_bootstrap(scores, n_resamples=50, seed=3)  # IQM, vectorised
    resampled = scores[idx[:50], np.arange(2)]
    assert boot == pytest.approx([stats.iqm(r) for r in resampled])


def test_stratified_iqm_error_by_hand():
    scores = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 14.0], [3.0, 12.0]])  # 4 runs of 2 games: N = 8, g = 2
    estimate, se, df = stats.stratified_iqm(scores)
    assert estimate == pytest.approx(np.mean([2.0, 3.0, 10.0, 11.0]))
    winsorized = np.clip(scores, 2.0, 11.0)  # at the pooled 3rd and 6th smallest scores
    spread = winsorized.var(axis=0, ddof=1).sum()
    assert se == pytest.approx(np.sqrt(spread / (4 * 2**2)) / 0.5) and df == 8 - 4 - 2


def test_iqm_interval_policy_by_runs():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 4)) + np.array([0.0, 1.0, 2.0, 5.0])
    assert stats.iqm_interval(scores[:2]).kind == "range"
    few = stats.iqm_interval(scores[:4])
    estimate, se, df = stats.stratified_iqm(scores[:4])
    assert few.kind == "trimmed-t99" and few.ci == pytest.approx(
        (estimate - scipy_stats.t.ppf(0.995, df) * se, estimate + scipy_stats.t.ppf(0.995, df) * se)
    )
    many = stats.iqm_interval(scores, 500)
    estimate, se, df = stats.stratified_iqm(scores)
    half = scipy_stats.t.ppf(0.975, df) * se
    assert many.kind == "stratified-boot-t95" and many.low <= estimate - half and many.high >= estimate + half


def test_units_without_spread_give_a_point():
    assert stats.mean_interval(np.full(6, 2.0)).ci == (2.0, 2.0)
    ratio = stats.ratio_interval(np.array([2.0, 4.0, 6.0, 8.0, 1.0]), np.array([1.0, 2.0, 3.0, 4.0, 0.5]))
    assert ratio.kind == "boot-t95" and ratio.ci == pytest.approx((2.0, 2.0))
    # a large offset moves the interval and nothing else (spreads are taken about the mean)
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.5, 5.0])
    shifted = np.array(stats.mean_interval(1e9 + x).ci) - 1e9
    assert shifted == pytest.approx(stats.mean_interval(x).ci, abs=1e-5)
