"""Confidence intervals over independent units, and verdicts.

Empirical claims are *recorded*, not asserted: a statistic, its interval over the
independent units behind it (seeds, teachers, runs), a threshold fixed before looking at
the data, and a verdict that follows mechanically from them (:func:`judge`).

Which interval depends on how many independent units there are (issue 14):

* fewer than :data:`MIN_UNITS` (3): no interval, only the range over the units
  (:func:`unit_range`), and the claim test is not reproduced;
* 3 or 4: t intervals at 99% (:data:`FEW_UNITS_CONFIDENCE`);
* :data:`MIN_BOOTSTRAP_UNITS` (5) or more: 95% intervals that adapt to skewed samples —
  the studentized bootstrap (:func:`bootstrap_t_interval`) widened to contain the t interval,
  for means (:func:`mean_interval`) and ratios of means (:func:`ratio_interval`).

Statistics of the mean over units (a Spearman ρ across arms) get :func:`of_means_interval`,
any other statistic of the units :func:`statistic_interval` (jackknife t).  Each returns an
:class:`Interval` that names its kind (:data:`INTERVAL_KINDS`) and its number of units.
Their coverage of the true value is simulated in ``tests/test_coverage.py``: at least 93%
for normal and skewed samples at 3 to 32 units, where the percentile bootstrap of
:func:`bootstrap_ci` covers the mean of 3 normal samples in about 74% of draws.  Nested units
(students of teachers) are resampled by :func:`hierarchical_bootstrap_means`; scores across
games are aggregated by their interquartile mean with a stratified bootstrap (:func:`iqm_interval`,
rliable's method).

Samples must be finite: a NaN or infinite sample raises a ``ValueError`` naming the
function and its argument, rather than being dropped (which would silently narrow an
interval).  Where leaving non-finite values out is intended, the caller says so with
``nan_policy="omit"`` (:func:`spearman`, :func:`percentile_interval`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from scipy import stats

from tdgen.validate import finite_float, integer, nonnegative_int, positive_int

Direction = Literal[">=", "<="]
NanPolicy = Literal["raise", "omit"]  # non-finite values: a ValueError, or left out
REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"


def bootstrap_ci(
    samples: np.ndarray,
    statistic: Callable[[np.ndarray], float] = np.mean,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` over the first axis of ``samples`` (seeds).

    Not for verdicts: at a few units it is far too narrow (it covers the mean of normal
    samples in about 74% of draws at 3 units and 84% at 5, for a nominal 95%); claim tests
    use :func:`mean_interval` and its kin.  Returns ``None`` when there are fewer than two samples (no interval exists).
    ``samples`` must be finite.  A resample whose statistic is not finite (a degenerate
    resample, e.g. one with all ranks tied for a Spearman ρ) is left out of the interval.
    """
    samples = finite_samples("bootstrap_ci", "samples", samples)
    positive_int("bootstrap_ci: n_resamples", n_resamples)
    nonnegative_int("bootstrap_ci: seed", seed)
    _confidence("bootstrap_ci", confidence)
    if samples.shape[0] < 2:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, samples.shape[0], size=(n_resamples, samples.shape[0]))
    return percentile_interval(np.array([statistic(samples[i]) for i in idx]), confidence, nan_policy="omit")


def bootstrap_means(samples: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Means of ``n_resamples`` bootstrap resamples of the seeds (first axis) of ``samples``.

    Resampling seeds with replacement weights each seed by a multinomial count, so
    all resampled means come from one matrix product: ``[n_resamples, ...]``.  Use
    it when a statistic is a function of the mean over seeds of a large array.
    ``samples`` must be finite.
    """
    samples = finite_samples("bootstrap_means", "samples", samples)
    positive_int("bootstrap_means: n_resamples", n_resamples)
    nonnegative_int("bootstrap_means: seed", seed)
    n = samples.shape[0]
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_resamples)
    means = (counts / n) @ samples.reshape(n, -1)
    return means.reshape(n_resamples, *samples.shape[1:])


def percentile_interval(
    values: np.ndarray, confidence: float = 0.95, nan_policy: NanPolicy = "raise"
) -> tuple[float, float] | None:
    """Central percentile interval of bootstrap ``values``; ``None`` if there are none.

    A non-finite value raises a ``ValueError``, unless ``nan_policy="omit"``: then the
    non-finite values are left out (``None`` if none are left).
    """
    _confidence("percentile_interval", confidence)
    values = np.asarray(values, dtype=float)
    if _policy("percentile_interval", nan_policy) == "omit":
        values = values[np.isfinite(values)]
    values = finite_samples("percentile_interval", "values", values)
    if values.size == 0:
        return None
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def ratio_of_means(pairs: np.ndarray) -> float:
    """Mean of the first column over mean of the second: ``[seeds, 2] -> float`` (a paired ratio statistic).

    ``pairs`` must be finite.
    """
    pairs = finite_samples("ratio_of_means", "pairs", np.asarray(pairs, dtype=float))
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ValueError(f"ratio_of_means: pairs must have shape [seeds, 2], got {pairs.shape}")
    return float(pairs[:, 0].mean() / pairs[:, 1].mean())


def spearman(x: np.ndarray, y: np.ndarray, nan_policy: NanPolicy = "raise") -> float:
    """Spearman rank correlation of two equally long vectors.

    A non-finite value raises a ``ValueError``, unless ``nan_policy="omit"``: then the
    pairs with a non-finite member are left out.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"spearman needs equal shapes, got {x.shape} and {y.shape}")
    if _policy("spearman", nan_policy) == "raise":
        finite_samples("spearman", "x", x)
        finite_samples("spearman", "y", y)
    keep = np.isfinite(x) & np.isfinite(y)
    return float(stats.spearmanr(x[keep], y[keep]).statistic)


# ---------------------------------------------------------------------------------------------
# Intervals over independent units (issue 14)
# ---------------------------------------------------------------------------------------------

#: The fewest independent units that get an interval; with fewer, only the range of the units (:func:`unit_range`).
MIN_UNITS = 3
#: From this many units on, intervals of means and ratios are studentized bootstrap intervals; with
#: ``MIN_UNITS`` to ``MIN_BOOTSTRAP_UNITS - 1`` units they are t intervals at ``FEW_UNITS_CONFIDENCE``.
MIN_BOOTSTRAP_UNITS = 5
#: The nominal level of every interval from ``MIN_BOOTSTRAP_UNITS`` units on.
CONFIDENCE = 0.95
#: The nominal level of the t intervals with 3 or 4 units.  At 95% they cover the mean of skewed samples
#: (exponential) in only about 88% of draws, and a bootstrap has too few distinct resamples there
#: (1 in 9 resamples of 3 units repeats one unit three times and has no spread); at 99% they cover it
#: in at least 95% (``tests/test_coverage.py``).
FEW_UNITS_CONFIDENCE = 0.99

#: Every kind of interval a claim test can record (its ``interval`` field):
#:
#: * ``"boot-t95"`` – the studentized (bootstrap-t) 95% interval of a mean or a ratio of means,
#:   widened where needed to contain the Student / delta-method t interval (:func:`mean_interval`,
#:   :func:`ratio_interval`);
#: * ``"t99"`` – the Student / delta-method t interval at 99%, with 3 or 4 units;
#: * ``"jackknife-basic95"``, ``"jackknife-basic99"`` – a statistic of the mean over units (a Spearman ρ
#:   across arms): the union of its jackknife t interval and its basic interval over multivariate t
#:   draws of the mean (:func:`of_means_interval`);
#: * ``"jackknife-t95"``, ``"jackknife-t99"`` – jackknife t interval of any statistic of the units
#:   (:func:`statistic_interval`); ``"jackknife-z95"``, ``"jackknife-z99"`` the same for a correlation,
#:   on Fisher's *z* scale;
#: * ``"stratified-boot-t95"``, ``"trimmed-t99"`` – the interquartile mean across games: a stratified
#:   bootstrap-t interval widened to contain the trimmed-mean t interval, or that t interval at 99%
#:   with 3 or 4 runs (:func:`iqm_interval`);
#: * ``"range"`` – fewer than :data:`MIN_UNITS` units: the smallest and largest value over the units,
#:   no interval (a claim test judged on a range is not reproduced, :func:`judge`);
#: * ``"none"`` – nothing was sampled (a deterministic number, no interval).
IntervalKind = Literal[
    "boot-t95",
    "t99",
    "jackknife-basic95",
    "jackknife-basic99",
    "jackknife-t95",
    "jackknife-t99",
    "jackknife-z95",
    "jackknife-z99",
    "stratified-boot-t95",
    "trimmed-t99",
    "range",
    "none",
]
#: The kinds of :data:`IntervalKind` as a tuple, for checks (``kind in INTERVAL_KINDS``).
INTERVAL_KINDS: tuple[str, ...] = get_args(IntervalKind)


@dataclass(frozen=True)
class Interval:
    """An interval (or a range) of a statistic, its kind and the number of independent units behind it.

    ``low`` and ``high`` are floats, or arrays of shape ``[...]`` where the samples were
    ``[units, ...]`` (the vectorised form the coverage tests use); ``kind`` is one of
    :data:`INTERVAL_KINDS`; ``units`` the number of independent units (seeds, teachers, runs).
    """

    low: float | np.ndarray
    high: float | np.ndarray
    kind: str
    units: int

    @property
    def ci(self) -> tuple[float, float]:
        """``(low, high)`` as floats (for one statistic)."""
        return float(self.low), float(self.high)


def t_quantile(units: int, confidence: float = CONFIDENCE) -> float:
    """Two-sided Student t quantile ``t_{(1 + confidence)/2, units − 1}`` (``units >= 2``)."""
    integer("t_quantile: units", units, low=2)
    return float(stats.t.ppf(0.5 + _confidence("t_quantile", confidence) / 2, units - 1))


def t_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Student's t interval of the mean over the first axis: ``samples [units, ...] -> (low, high)``, each ``[...]``.

    .. math:: \\bar x \\pm t_{(1+c)/2,\\,n-1}\\, s/\\sqrt{n},\\qquad
              s^2 = \\tfrac{1}{n-1}\\textstyle\\sum_i (x_i - \\bar x)^2

    Exact for normal samples; it undercovers the mean of skewed ones at a few units
    (``tests/test_coverage.py``).  Needs at least two units; ``samples`` must be finite.
    """
    x = _units("t_interval", samples, 2)
    _confidence("t_interval", confidence)
    n, mean = x.shape[0], x.mean(axis=0)
    half = t_quantile(n, confidence) * x.std(axis=0, ddof=1) / np.sqrt(n)
    return mean - half, mean + half


def resample_counts(units: int, n_resamples: int, seed: int = 0) -> np.ndarray:
    """How often each unit is drawn in each bootstrap resample: ``[n_resamples, units]``, rows summing to ``units``.

    Every statistic that is a function of weighted sums over units (means, variances, ratios)
    of every resample then comes from one matrix product with these counts.
    """
    positive_int("resample_counts: units", units)
    positive_int("resample_counts: n_resamples", n_resamples)
    nonnegative_int("resample_counts: seed", seed)
    return np.random.default_rng(seed).multinomial(units, np.full(units, 1.0 / units), size=n_resamples).astype(float)


def bootstrap_t_interval(
    samples: np.ndarray, confidence: float = CONFIDENCE, n_resamples: int = 2000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap-t interval of the mean: ``samples [units, ...] -> (low, high)``, each ``[...]``.

    With :math:`\\hat\\sigma = s/\\sqrt n` and, in each resample *b* of the units,
    :math:`T^*_b = (\\bar x^*_b - \\bar x)/\\hat\\sigma^*_b`, the interval is

    .. math:: \\left[\\bar x - \\hat\\sigma\\, T^*_{(1+c)/2},\\; \\bar x - \\hat\\sigma\\, T^*_{(1-c)/2}\\right]

    (Efron & Tibshirani 1993, ch. 12): the resampled t statistics carry the samples' skewness, so
    the interval is asymmetric where the samples are.  A resample whose units are all equal has
    no spread (:math:`T^* = \\pm\\infty`); with fewer than :data:`MIN_BOOTSTRAP_UNITS` units they are
    common, and the interval may be unbounded.  Every column of the trailing axes uses the same
    resamples (``seed``).  Needs at least two units; ``samples`` must be finite.
    """
    return _bootstrap_t(
        "bootstrap_t_interval", samples, np.ones_like(np.asarray(samples, dtype=float)), confidence, n_resamples, seed
    )


def mean_interval(samples: np.ndarray, n_resamples: int = 2000, seed: int = 0) -> Interval:
    """The interval of the mean of ``samples [units, ...]`` over units that claim tests record.

    * fewer than :data:`MIN_UNITS` units: the range (:func:`unit_range`), kind ``"range"``;
    * 3 or 4 units: Student's t at :data:`FEW_UNITS_CONFIDENCE` (:func:`t_interval`), kind ``"t99"``;
    * :data:`MIN_BOOTSTRAP_UNITS` or more: the bootstrap-t interval (:func:`bootstrap_t_interval`)
      widened to contain Student's t interval, both at 95%, kind ``"boot-t95"``.

    Coverage of the true mean, simulated for normal, exponential (either sign) and lognormal
    (σ = 0.5) samples at 3 to 32 units, is at least 93% (``tests/test_coverage.py``).
    """
    x = _units("mean_interval", samples, 1)
    n = x.shape[0]
    if n < MIN_UNITS:
        return unit_range(x)
    if n < MIN_BOOTSTRAP_UNITS:
        return Interval(*t_interval(x, FEW_UNITS_CONFIDENCE), "t99", n)
    t_low, t_high = t_interval(x, CONFIDENCE)
    b_low, b_high = bootstrap_t_interval(x, CONFIDENCE, n_resamples, seed)
    return Interval(np.minimum(t_low, b_low), np.maximum(t_high, b_high), "boot-t95", n)


def unit_range(values: np.ndarray) -> Interval:
    """The smallest and largest of one value per unit, ``values [units, ...]``, kind ``"range"`` (no interval).

    What a claim test records with fewer than :data:`MIN_UNITS` independent units.
    """
    return _range(_units("unit_range", values, 1))


def _range(values: np.ndarray) -> Interval:
    """:func:`unit_range` of derived values (a statistic of each unit), which may be ``nan`` (then so is the range)."""
    x = np.asarray(values, dtype=float)
    return Interval(_scalar(x.min(axis=0)), _scalar(x.max(axis=0)), "range", x.shape[0])


def ratio_interval(numerator: np.ndarray, denominator: np.ndarray, n_resamples: int = 2000, seed: int = 0) -> Interval:
    """Interval of :math:`r = \\bar y / \\bar z`, ``numerator`` *y* and ``denominator`` *z*, paired by unit.

    Both are ``[units, ...]``; the ends are floats, or ``[...]`` arrays.  The standard error is the
    delta method's (linearisation):

    .. math:: \\hat\\sigma_r = \\frac{s_d}{\\sqrt n},\\qquad d_i = \\frac{y_i - r z_i}{\\bar z}

    and the policy is :func:`mean_interval`'s: fewer than :data:`MIN_UNITS` units, the range
    of the per-unit ratios :math:`y_i / z_i`; 3 or 4 units, :math:`r \\pm t_{0.995,n-1}\\hat\\sigma_r`
    (``"t99"``); from :data:`MIN_BOOTSTRAP_UNITS` units on, the bootstrap-t interval of *r*
    (each resample studentized by its own delta-method error), widened to contain
    :math:`r \\pm t_{0.975,n-1}\\hat\\sigma_r` (``"boot-t95"``).  The delta method and the
    resampled pairs keep the correlation of numerator and denominator; the studentized
    bootstrap corrects the skewness a ratio has at a few units.  The denominator's mean must
    not be zero (nor change sign across resamples, for a meaningful interval); both must be finite.
    """
    y = _units("ratio_interval", numerator, 1, "numerator")
    z = _units("ratio_interval", denominator, 1, "denominator")
    if y.shape != z.shape:
        raise ValueError(
            f"ratio_interval: numerator and denominator must have equal shapes, got {y.shape} and {z.shape}"
        )
    n = y.shape[0]
    if np.any(z.mean(axis=0) == 0):
        raise ValueError("ratio_interval: denominator has mean 0 (no ratio)")
    if n < MIN_UNITS:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _range(y / z)
    r = y.mean(axis=0) / z.mean(axis=0)
    se = (y - r * z).std(axis=0, ddof=1) / np.sqrt(n) / np.abs(z.mean(axis=0))
    if n < MIN_BOOTSTRAP_UNITS:
        half = t_quantile(n, FEW_UNITS_CONFIDENCE) * se
        return Interval(r - half, r + half, "t99", n)
    half = t_quantile(n, CONFIDENCE) * se
    b_low, b_high = _bootstrap_t("ratio_interval", y, z, CONFIDENCE, n_resamples, seed)
    return Interval(np.minimum(r - half, b_low), np.maximum(r + half, b_high), "boot-t95", n)


def _bootstrap_t(
    function: str, y: np.ndarray, z: np.ndarray, confidence: float, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap-t interval of ``mean(y) / mean(z)`` over units (``z`` all ones: of the mean of ``y``)."""
    y = _units(function, y, 2)
    z = np.asarray(z, dtype=float)
    _confidence(function, confidence)
    n, shape = y.shape[0], y.shape[1:]
    y, z = y.reshape(n, -1), z.reshape(n, -1)
    r = y.mean(axis=0) / z.mean(axis=0)
    d = y - r * z  # centred linearisation: sum_i d_i = 0
    se = d.std(axis=0, ddof=1) / np.sqrt(n) / np.abs(z.mean(axis=0))
    counts = resample_counts(n, n_resamples, seed) / n  # [B, n], rows sum to 1
    z_star = counts @ z  # [B, k]
    d_star = counts @ d  # mean of d in each resample: r* − r = d̄* / z̄*
    r_star = r + d_star / z_star
    # resampled delta-method error: spread of y − r* z in the resample, i.e. of d − (r* − r) z
    dr = r_star - r
    m2 = counts @ d**2 - 2 * dr * (counts @ (d * z)) + dr**2 * (counts @ z**2)
    mean_e = d_star - dr * z_star  # = 0 up to rounding
    var = np.maximum(m2 - mean_e**2, 0.0) * n / (n - 1)
    se_star = np.sqrt(var / n) / np.abs(z_star)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = (r_star - r) / se_star
    flat = var <= 1e-12 * (d**2).mean(axis=0)  # no spread in the resample (one unit repeated), up to rounding
    t_star = np.where(flat, np.where(r_star > r, np.inf, np.where(r_star < r, -np.inf, 0.0)), t_star)
    alpha = (1.0 - confidence) / 2
    t_low, t_high = np.quantile(t_star, [alpha, 1.0 - alpha], axis=0, method="inverted_cdf")
    low, high = r - t_high * se, r - t_low * se
    low = np.where(se == 0, r, low)  # no spread among the units at all: a point
    high = np.where(se == 0, r, high)
    return low.reshape(shape), high.reshape(shape)


def jackknife_interval(
    samples: np.ndarray, estimate: Callable[[np.ndarray], float | np.ndarray], confidence: float = CONFIDENCE
) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Jackknife t interval of ``estimate(samples)``, ``samples [units, ...]``: leave one unit out at a time.

    With :math:`\\hat\\theta_{(i)}` the estimate without unit *i* and :math:`\\bar\\theta_{(\\cdot)}`
    their mean,

    .. math:: \\hat\\theta \\pm t_{(1+c)/2,\\,n-1}\\,\\hat\\sigma_J,\\qquad
              \\hat\\sigma_J^2 = \\tfrac{n-1}{n}\\textstyle\\sum_i (\\hat\\theta_{(i)} - \\bar\\theta_{(\\cdot)})^2

    For the mean it is exactly Student's t interval; for a smooth statistic (a ratio, a
    correlation of the units' columns) it is the delta-method t interval without the
    derivatives (Efron & Tibshirani 1993, ch. 11).  ``n + 1`` calls of ``estimate``, which
    may return an array (then so are the ends).  A leave-one-out estimate that is not finite
    makes the interval ``(nan, nan)`` (judged not reproduced).
    """
    x = _units("jackknife_interval", samples, 2)
    n = x.shape[0]
    theta = np.asarray(estimate(x), dtype=float)
    loo = np.array([np.asarray(estimate(np.delete(x, i, axis=0)), dtype=float) for i in range(n)])
    half = t_quantile(n, confidence) * _jackknife_se(loo)
    return _scalar(theta - half), _scalar(theta + half)


def _jackknife_se(loo: np.ndarray) -> np.ndarray:
    """Jackknife standard error from the leave-one-out estimates ``loo [units, ...]``."""
    n = loo.shape[0]
    return np.sqrt((n - 1) / n * np.sum((loo - loo.mean(axis=0)) ** 2, axis=0))


def _scalar(x: np.ndarray) -> float | np.ndarray:
    """A 0-d array as a float, any other array as it is."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _level(units: int) -> tuple[float, str]:
    """The nominal level of an interval over ``units`` units (>= MIN_UNITS), and its suffix in a kind's name."""
    return (FEW_UNITS_CONFIDENCE, "99") if units < MIN_BOOTSTRAP_UNITS else (CONFIDENCE, "95")


def statistic_interval(
    samples: np.ndarray, estimate: Callable[[np.ndarray], float], fisher_z: bool = False
) -> Interval:
    """The interval claim tests record for any statistic ``estimate`` of the units ``samples [units, ...]``.

    Fewer than :data:`MIN_UNITS` units: the range of ``estimate`` over single units (``"range"``);
    else the jackknife t interval (:func:`jackknife_interval`) at 99% with 3 or 4 units
    (``"jackknife-t99"``), at 95% from :data:`MIN_BOOTSTRAP_UNITS` units on (``"jackknife-t95"``).

    ``fisher_z``, for a correlation :math:`\\rho`: the jackknife runs on
    :math:`z = \\operatorname{artanh}\\rho` (estimates clipped to :math:`\\pm(1 - 10^{-9})`) and
    the ends go back through :math:`\\tanh` (``"jackknife-z95"``, ``"jackknife-z99"``): the
    sampling distribution of *z* is closer to normal and its spread depends less on
    :math:`\\rho`, so the interval covers a Spearman ρ between paired columns in at least 95%
    of simulated draws from 8 units on, where the plain jackknife covers it in 85–93% below 32
    units (``tests/test_coverage.py``).  ``estimate`` may return an array (then so do the ends).
    """
    x = _units("statistic_interval", samples, 1)
    n = x.shape[0]
    if n < MIN_UNITS:
        return _range(np.array([np.asarray(estimate(x[i : i + 1]), dtype=float) for i in range(n)]))
    confidence, level = _level(n)
    if not fisher_z:
        return Interval(*jackknife_interval(x, estimate, confidence), f"jackknife-t{level}", n)
    bound = 1.0 - 1e-9

    def z(units: np.ndarray) -> np.ndarray:
        return np.arctanh(np.clip(np.asarray(estimate(units), dtype=float), -bound, bound))

    low, high = jackknife_interval(x, z, confidence)
    return Interval(_scalar(np.tanh(low)), _scalar(np.tanh(high)), f"jackknife-z{level}", n)


def mean_draws(samples: np.ndarray, n_resamples: int = 2000, seed: int = 0) -> np.ndarray:
    """Draws of the mean over units from its multivariate t distribution: ``[units, ...] -> [n_resamples, ...]``.

    With :math:`D = X - \\bar x` the units' deviations (``[units, k]`` after flattening the
    trailing axes), :math:`w_b \\sim N(0, I_n)` and :math:`v_b \\sim \\chi^2_{n-1}`,

    .. math:: \\mu^*_b = \\bar x + \\frac{w_b^\\top D}{\\sqrt{n(n-1)}}\\sqrt{\\frac{n-1}{v_b}}
              \\;\\sim\\; t_{n-1}\\!\\left(\\bar x,\\; S/n\\right),\\qquad S = \\tfrac{D^\\top D}{n-1}

    the multivariate t with the sample covariance *S* of the units (a Gaussian multiplier
    bootstrap calibrated to Student's t): each coordinate's central interval is exactly
    Student's t interval, and a statistic of the mean (a Spearman ρ across arms) sees the
    correlations between arms that shared units.  Every column of the trailing axes uses the
    same multipliers (``seed``).  Needs two units; ``samples`` must be finite.
    """
    x = _units("mean_draws", samples, 2)
    positive_int("mean_draws: n_resamples", n_resamples)
    nonnegative_int("mean_draws: seed", seed)
    n, shape = x.shape[0], x.shape[1:]
    flat = x.reshape(n, -1)
    deviations = flat - flat.mean(axis=0)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_resamples, n))
    scale = np.sqrt((n - 1) / rng.chisquare(n - 1, size=n_resamples))[:, None]
    draws = flat.mean(axis=0) + (w @ deviations) / np.sqrt(n * (n - 1)) * scale
    return draws.reshape(n_resamples, *shape)


def of_means_interval(
    samples: np.ndarray,
    estimate: Callable[[np.ndarray], float | np.ndarray],
    n_resamples: int = 2000,
    seed: int = 0,
    vectorised: bool = False,
    bounds: tuple[float, float] | None = None,
) -> Interval:
    """The interval claim tests record for ``estimate(mean over units of samples)``, ``samples [units, ...]``.

    Fewer than :data:`MIN_UNITS` units: the range of ``estimate`` of each unit's own values
    (``"range"``).  Else, at level *c* (99% with 3 or 4 units, 95% from
    :data:`MIN_BOOTSTRAP_UNITS` on; kinds ``"jackknife-basic99"``, ``"jackknife-basic95"``),
    the union of

    * the jackknife t interval of :math:`\\hat\\theta = g(\\bar x)` over the leave-one-out means
      (:func:`jackknife_interval`), and
    * the basic (reverse-percentile) interval over :func:`mean_draws`,
      :math:`[2\\hat\\theta - q^*_{(1+c)/2},\\; 2\\hat\\theta - q^*_{(1-c)/2}]`, with :math:`q^*` the
      quantiles of :math:`g(\\mu^*_b)` (draws whose estimate is not finite are left out),

    clipped to ``bounds`` (e.g. ``(-1, 1)`` for a correlation) when given.  A rank statistic
    of noisy means (Spearman's ρ across arms) is biased towards 0: noise scrambles the ranks,
    and the draws scramble them again, so a percentile interval of the draws misses a true
    ρ = 1 in most draws at 10 units; the basic interval reflects that bias back, and the
    jackknife covers where the draws' spread is too small.  Their union covers the true ρ in at
    least 94% of simulated draws, with normal and skewed noise, 3 to 32 units
    (``tests/test_coverage.py``).  For a linear ``estimate`` both parts are Student's t interval.

    ``vectorised``: ``estimate`` maps a stack ``[m, ...]`` of means to ``[m]`` (or ``[m, ...]``)
    at once, instead of one mean at a time.  ``n_resamples + n + 1`` evaluations of ``estimate``.
    """
    x = _units("of_means_interval", samples, 1)
    n = x.shape[0]

    def apply(stack: np.ndarray) -> np.ndarray:
        if vectorised:
            return np.asarray(estimate(stack), dtype=float)
        return np.array([np.asarray(estimate(s), dtype=float) for s in stack])

    if n < MIN_UNITS:
        return _range(apply(x))
    confidence, level = _level(n)
    theta = apply(x.mean(axis=0)[None])[0]
    total = x.sum(axis=0)
    if vectorised:
        loo = apply((total - x) / (n - 1))
    else:  # one leave-one-out mean at a time: no second copy of a large ``samples``
        loo = np.array([np.asarray(estimate((total - unit) / (n - 1)), dtype=float) for unit in x])
    half = t_quantile(n, confidence) * _jackknife_se(loo)
    values = apply(mean_draws(x, n_resamples, seed))
    with np.errstate(invalid="ignore"):
        q_low, q_high = np.nanquantile(values, [(1 - confidence) / 2, (1 + confidence) / 2], axis=0)
    low, high = np.fmin(theta - half, 2 * theta - q_high), np.fmax(theta + half, 2 * theta - q_low)
    if bounds is not None:
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    return Interval(_scalar(low), _scalar(high), f"jackknife-basic{level}", n)


def spearman_rows(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Spearman ρ of ``x [arms]`` with each row of ``ys [rows, arms]``: ``[rows]`` (ties get average ranks).

    The same numbers as :func:`spearman` row by row, in one vectorised pass; a row whose
    values are all tied has no ρ (``nan``).
    """
    x, ys = np.asarray(x, dtype=float), np.atleast_2d(np.asarray(ys, dtype=float))
    if ys.shape[-1] != x.shape[-1] or x.ndim != 1:
        raise ValueError(f"spearman_rows: x must be [arms] and ys [rows, arms], got {x.shape} and {ys.shape}")
    finite_samples("spearman_rows", "x", x)
    finite_samples("spearman_rows", "ys", ys)
    rx = stats.rankdata(x)
    ry = stats.rankdata(ys, axis=-1)
    rx, ry = rx - rx.mean(), ry - ry.mean(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ry @ rx) / np.sqrt((ry**2).sum(axis=-1) * (rx**2).sum())


def hierarchical_bootstrap_means(
    samples: np.ndarray, n_resamples: int = 2000, seed: int = 0, resample_students: bool = True
) -> np.ndarray:
    """Grand means of hierarchical bootstrap resamples: ``[teachers, students, ...] -> [n_resamples, ...]``.

    Each resample draws ``teachers`` teachers with replacement, then, for each drawn teacher,
    ``students`` of its students with replacement (``resample_students``; else it keeps the
    teacher's students as they are), and averages everything drawn.  Its spread contains the
    spread between teachers, which a bootstrap of the pooled (teacher, student) pairs misses:
    the teachers are the independent units.  Resampling both levels overstates the variance of
    the grand mean by about :math:`\\sigma^2_{\\text{within}}/(ab)` for *a* teachers of *b*
    students (Davison & Hinkley 1997, §3.8); resampling the teachers only does not.
    ``samples`` must be finite, with at least one teacher and one student.
    """
    x = np.asarray(finite_samples("hierarchical_bootstrap_means", "samples", samples), dtype=float)
    if x.ndim < 2:
        raise ValueError(
            f"hierarchical_bootstrap_means: samples must be [teachers, students, ...], got shape {x.shape}"
        )
    positive_int("hierarchical_bootstrap_means: n_resamples", n_resamples)
    nonnegative_int("hierarchical_bootstrap_means: seed", seed)
    teachers, students = x.shape[:2]
    if teachers == 0 or students == 0:
        raise ValueError(f"hierarchical_bootstrap_means: samples needs a teacher and a student, got shape {x.shape}")
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, teachers, size=(n_resamples, teachers))
    if not resample_students:
        return x.mean(axis=1)[chosen].mean(axis=1)
    pupils = rng.integers(0, students, size=(n_resamples, teachers, students))
    return x[chosen[..., None], pupils].mean(axis=(1, 2))


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all ``scores`` (any shape): the mean of the middle 50%, 25% cut at each end.

    rliable's ``aggregate_iqm``: ``scipy.stats.trim_mean(scores, 0.25, axis=None)``.
    """
    return float(stats.trim_mean(finite_samples("iqm", "scores", scores), 0.25, axis=None))


def stratified_bootstrap(
    scores: np.ndarray,
    statistic: Callable[[np.ndarray], float] = iqm,
    n_resamples: int = 2000,
    seed: int = 0,
) -> np.ndarray:
    """``statistic`` of stratified bootstrap resamples of ``scores [runs, games, ...]``: ``[n_resamples]``.

    Each game's runs are resampled with replacement, independently of the other games' (the
    games are the strata; rliable's ``StratifiedBootstrap`` without ``task_bootstrap``): resample
    *b* holds ``scores[idx[b, r, g], g]`` with ``idx[b, r, g]`` drawn uniformly from the runs.
    """
    x = np.asarray(finite_samples("stratified_bootstrap", "scores", scores), dtype=float)
    if x.ndim < 2:
        raise ValueError(f"stratified_bootstrap: scores must be [runs, games, ...], got shape {x.shape}")
    positive_int("stratified_bootstrap: n_resamples", n_resamples)
    nonnegative_int("stratified_bootstrap: seed", seed)
    runs, games = x.shape[:2]
    idx = np.random.default_rng(seed).integers(0, runs, size=(n_resamples, runs, games))
    resampled = x[idx, np.arange(games)]  # [B, runs, games, ...]
    if statistic is iqm:  # the same numbers, in one call
        return stats.trim_mean(resampled.reshape(n_resamples, -1), 0.25, axis=1)
    return np.array([float(statistic(r)) for r in resampled])


def stratified_iqm(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Interquartile mean of ``scores [..., runs, games]`` with its standard error under stratified sampling.

    Returns ``(iqm, se, df)``, ``iqm`` and ``se`` of shape ``[...]``.  With *n* runs of each of *G*
    games, :math:`N = nG`, :math:`g = \\lfloor N/4 \\rfloor` scores cut at each end and
    :math:`h = N - 2g` kept, the trimmed mean's influence function is its score winsorized at the
    pooled quantiles, divided by :math:`1 - 2\\cdot 0.25`; the games are sampled apart (strata),
    so only the spread *within* each game counts (Tukey & McLaughlin 1963, by strata):

    .. math:: \\widehat{\\mathrm{se}} = \\frac{1}{0.5}\\sqrt{\\frac{1}{nG^2}\\sum_{k=1}^{G} s^2_{w,k}},
              \\qquad \\mathrm{df} = h - G

    with :math:`s^2_{w,k}` the variance (``ddof=1``) of game *k*'s winsorized scores.  The degrees
    of freedom are Yuen's :math:`h - 1` with one mean per game instead of one.
    """
    x = np.asarray(scores, dtype=float)
    runs, games = x.shape[-2:]
    total = runs * games
    cut = total // 4
    ordered = np.sort(x.reshape(*x.shape[:-2], total), axis=-1)
    estimate = ordered[..., cut : total - cut].mean(axis=-1)
    low, high = ordered[..., cut][..., None, None], ordered[..., total - cut - 1][..., None, None]
    spread = np.clip(x, low, high).var(axis=-2, ddof=1).sum(axis=-1)
    return estimate, np.sqrt(spread / (runs * games**2)) / 0.5, max(total - 2 * cut - games, 1)


def iqm_interval(scores: np.ndarray, n_resamples: int = 2000, seed: int = 0) -> Interval:
    """The interquartile mean across runs and games, ``scores [runs, games]``, with its interval.

    rliable's aggregate (Agarwal et al. 2021: :func:`iqm`, resampling each game's runs apart,
    :func:`stratified_bootstrap`), with a studentized interval in place of rliable's percentile
    one, which covers in about 80% of draws at 3 runs of 4 games and 87–89% at 5
    (``tests/test_coverage.py``):

    * fewer than :data:`MIN_UNITS` runs: the range of each run's IQM across games (``"range"``);
    * 3 or 4 runs: the trimmed-mean t interval of :func:`stratified_iqm`,
      :math:`\\mathrm{IQM} \\pm t_{0.995,\\,\\mathrm{df}}\\,\\widehat{\\mathrm{se}}` (``"trimmed-t99"``);
    * :data:`MIN_BOOTSTRAP_UNITS` runs or more: the stratified bootstrap-t interval (each resample
      studentized by its own :func:`stratified_iqm` error) widened to contain the 95% trimmed-mean
      t interval (``"stratified-boot-t95"``).

    rliable itself is not a dependency: it brings ``arch`` and, through it, ``statsmodels`` and
    ``pandas``, and its ``StratifiedBootstrap`` draws its resamples from NumPy's global random
    state (``np.random.choice``, whatever ``random_state`` says), so its intervals would not be
    reproducible from a seed.

    ``units`` is the number of runs per game.  ``scores [..., runs, games]`` gives one interval
    per leading index at once (``low`` and ``high`` of shape ``[...]``, the same resamples for all).
    """
    x = np.asarray(finite_samples("iqm_interval", "scores", scores), dtype=float)
    if x.ndim < 2:
        raise ValueError(f"iqm_interval: scores must be [runs, games], got shape {x.shape}")
    positive_int("iqm_interval: n_resamples", n_resamples)
    nonnegative_int("iqm_interval: seed", seed)
    runs, games = x.shape[-2:]
    if runs < MIN_UNITS:
        per_run = stats.trim_mean(x, 0.25, axis=-1)  # each run's IQM across games: [..., runs]
        return Interval(_scalar(per_run.min(axis=-1)), _scalar(per_run.max(axis=-1)), "range", runs)
    estimate, se, df = stratified_iqm(x)
    confidence, level = _level(runs)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    if runs < MIN_BOOTSTRAP_UNITS:
        return Interval(_scalar(estimate - half), _scalar(estimate + half), f"trimmed-t{level}", runs)
    idx = np.random.default_rng(seed).integers(0, runs, size=(n_resamples, runs, games))
    boot, boot_se, _ = stratified_iqm(x[..., idx, np.arange(games)])  # [..., B]
    shift = boot - estimate[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_star = np.where(boot_se > 0, shift / boot_se, np.sign(shift) * np.inf)
    alpha = (1 - confidence) / 2
    t_low, t_high = np.quantile(np.nan_to_num(t_star, nan=0.0), [alpha, 1 - alpha], axis=-1, method="inverted_cdf")
    low = np.minimum(estimate - t_high * se, estimate - half)
    high = np.maximum(estimate - t_low * se, estimate + half)
    return Interval(_scalar(low), _scalar(high), f"stratified-boot-t{level}", runs)


def _units(function: str, samples: np.ndarray, least: int, argument: str = "samples") -> np.ndarray:
    """``samples`` as a float array with at least ``least`` units on its first axis, every entry finite."""
    x = np.asarray(finite_samples(function, argument, samples), dtype=float)
    if x.shape[0] < least:
        raise ValueError(
            f"{function}: {argument} needs at least {least} unit(s) on its first axis, got shape {x.shape}"
        )
    return x


def judge(
    value: float,
    ci: tuple[float, float] | None,
    threshold: float,
    direction: Direction,
    interval: str | None = None,
) -> str:
    """Verdict of ``value (direction) threshold``, judged on the interval's far end when there is one.

    With a confidence interval the claim counts as reproduced only when the whole
    interval lies on the claimed side of the threshold.  A ``"range"`` (fewer than
    :data:`MIN_UNITS` independent units, ``interval="range"``) is never enough: too few units
    to judge, so not reproduced, wherever the range lies.  A non-finite ``value`` (a
    statistic that could not be computed) is judged not reproduced; ``threshold`` and
    the interval's ends must be finite, the interval ordered.
    """
    if direction not in (">=", "<="):
        raise ValueError(f"direction must be '>=' or '<=', got {direction!r}")
    if interval is not None and interval not in INTERVAL_KINDS:
        raise ValueError(f"judge: interval must be one of {INTERVAL_KINDS}, got {interval!r}")
    finite_float("judge: threshold", threshold)
    if ci is not None:
        low, high = (finite_float(f"judge: ci[{i}]", end) for i, end in enumerate(ci))
        if low > high:
            raise ValueError(f"judge: ci must be ordered (low, high), got {ci!r}")
    if not np.isfinite(value) or interval == "range":
        return NOT_REPRODUCED
    bound = value if ci is None else (ci[0] if direction == ">=" else ci[1])
    ok = bound >= threshold if direction == ">=" else bound <= threshold
    return REPRODUCED if ok else NOT_REPRODUCED


def finite_samples(function: str, argument: str, samples: np.ndarray) -> np.ndarray:
    """``samples`` as an array, if it has a leading axis and every entry is finite; else a ``ValueError``."""
    array = np.asarray(samples)
    if array.ndim == 0:
        raise ValueError(f"{function}: {argument} must be an array of samples, got the scalar {samples!r}")
    bad = ~np.isfinite(np.asarray(array, dtype=float))
    if bad.any():
        raise ValueError(
            f"{function}: {argument} has {int(bad.sum())} non-finite value(s) (NaN or inf) among {bad.size}, "
            f"the first at index {tuple(int(i) for i in np.argwhere(bad)[0])}"
        )
    return array


def _confidence(function: str, confidence: float) -> float:
    """``confidence`` if it lies strictly between 0 and 1."""
    return finite_float(f"{function}: confidence", confidence, 0, 1, low_open=True, high_open=True)


def _policy(function: str, nan_policy: str) -> str:
    """``nan_policy`` if it is ``"raise"`` or ``"omit"``."""
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"{function}: nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    return nan_policy
