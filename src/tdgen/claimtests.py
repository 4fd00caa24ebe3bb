"""Factories of the claims' tests: a statistic over independent units, its interval and its threshold.

Every notebook builds its :class:`~tdgen.results.ClaimTest` rows with these, so a test's
interval is computed the same way on every page:

* :func:`mean_test` – the mean of one number per unit (e.g. a difference paired by seed);
* :func:`ratio_test` – ``mean(numerator) / mean(denominator)``, the two paired by unit;
* :func:`spearman_test` – Spearman's ρ between a fixed ``x`` per arm and the mean over units
  of a ``[units, arms]`` array;
* :func:`iqm_test` – the interquartile mean of ``[runs, games]`` scores across games;
* :func:`fixed_test` – a deterministic number (no interval: nothing is sampled);
* :func:`statistic_test` – any statistic of the ``[units, ...]`` samples themselves;
* :func:`of_means_test` – any statistic of the mean over units of a ``[units, ...]`` array.

The first axis holds the *independent* units named by ``ci_over`` (seeds, teachers, runs).
:func:`mean_test` and :func:`ratio_test` also take nested units, ``[units, subunits]`` (the
students of each teacher): each unit's subunits are averaged first, so the interval is over
the independent units only (the first stage of
:func:`tdgen.stats.hierarchical_bootstrap_means`).  Each test records its interval's kind
and its number of units (``interval``, ``units``); with fewer than
:data:`tdgen.stats.MIN_UNITS` units it records the range over the units instead of an
interval, and is not reproduced.  The intervals, their levels and their simulated coverage
are :mod:`tdgen.stats`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tdgen import stats
from tdgen.results import ClaimTest
from tdgen.stats import Direction, Interval


def _test(
    name: str,
    statistic: str,
    value: float,
    interval: Interval,
    ci_over: str,
    threshold: float,
    direction: Direction,
    primary: bool,
) -> ClaimTest:
    return ClaimTest(
        name,
        statistic,
        float(value),
        interval.ci,
        ci_over,
        threshold,
        direction,
        primary=primary,
        interval=interval.kind,
        units=interval.units,
    )


def _unit_means(function: str, argument: str, samples: np.ndarray) -> np.ndarray:
    """``samples [units]``, or the mean over subunits of nested ``samples [units, subunits]``."""
    samples = np.asarray(samples, dtype=float)
    if samples.ndim not in (1, 2):
        raise ValueError(f"{function}: {argument} must be [units] or [units, subunits], got shape {samples.shape}")
    return samples if samples.ndim == 1 else samples.mean(axis=1)


def mean_test(
    name: str,
    statistic: str,
    samples: np.ndarray,
    threshold: float,
    direction: Direction,
    *,
    n_resamples: int,
    ci_over: str,
    primary: bool = True,
) -> ClaimTest:
    """``mean(samples)``, ``samples [units]`` or nested ``[units, subunits]``, with its interval over units.

    The interval is :func:`tdgen.stats.mean_interval` of the units' values (their subunits'
    means when nested); the value is the grand mean.
    """
    samples = np.asarray(samples, dtype=float)
    units = _unit_means("mean_test", "samples", samples)
    interval = stats.mean_interval(units, n_resamples=n_resamples)
    return _test(name, statistic, samples.mean(), interval, ci_over, threshold, direction, primary)


def ratio_test(
    name: str,
    statistic: str,
    numerator: np.ndarray,
    denominator: np.ndarray,
    threshold: float,
    direction: Direction,
    *,
    n_resamples: int,
    ci_over: str,
    primary: bool = True,
) -> ClaimTest:
    """``mean(numerator) / mean(denominator)``, paired by unit, with its interval over units.

    Both are ``[units]``, or nested ``[units, subunits]`` (averaged over subunits first); the
    interval is :func:`tdgen.stats.ratio_interval` (delta-method studentized, pairs resampled
    together).
    """
    numerator, denominator = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if numerator.shape != denominator.shape:
        raise ValueError(
            "ratio_test: numerator and denominator must have equal shapes, "
            f"got {numerator.shape} and {denominator.shape}"
        )
    num = _unit_means("ratio_test", "numerator", numerator)
    den = _unit_means("ratio_test", "denominator", denominator)
    interval = stats.ratio_interval(num, den, n_resamples=n_resamples)
    return _test(
        name, statistic, numerator.mean() / denominator.mean(), interval, ci_over, threshold, direction, primary
    )


def spearman_test(
    name: str,
    statistic: str,
    x: np.ndarray,
    samples: np.ndarray,
    threshold: float,
    direction: Direction,
    *,
    n_resamples: int,
    ci_over: str,
    primary: bool = True,
) -> ClaimTest:
    """Spearman ρ between ``x [arms]`` and the mean over units of ``samples [units, arms]``.

    The interval is :func:`tdgen.stats.of_means_interval` of ρ, clipped to [−1, 1]: the union
    of its jackknife t interval and its basic interval over multivariate t draws of the
    arms' means (one vectorised ρ over all draws, :func:`tdgen.stats.spearman_rows`).
    """
    samples = np.asarray(samples, dtype=float)
    x = np.asarray(x, dtype=float)
    interval = stats.of_means_interval(
        samples, lambda means: stats.spearman_rows(x, means), n_resamples, vectorised=True, bounds=(-1.0, 1.0)
    )
    value = stats.spearman(x, samples.mean(axis=0))
    return _test(name, statistic, value, interval, ci_over, threshold, direction, primary)


def iqm_test(
    name: str,
    statistic: str,
    scores: np.ndarray,
    threshold: float,
    direction: Direction,
    *,
    n_resamples: int,
    ci_over: str,
    primary: bool = True,
) -> ClaimTest:
    """Interquartile mean of ``scores [runs, games]`` across games, with its stratified interval.

    rliable's aggregate, with :func:`tdgen.stats.iqm_interval`'s studentized stratified
    bootstrap; ``units`` is the number of runs per game.
    """
    scores = np.asarray(scores, dtype=float)
    interval = stats.iqm_interval(scores, n_resamples=n_resamples)
    return _test(name, statistic, stats.iqm(scores), interval, ci_over, threshold, direction, primary)


def fixed_test(
    name: str,
    statistic: str,
    value: float,
    threshold: float,
    direction: Direction,
    *,
    primary: bool = True,
    units: int | None = None,
) -> ClaimTest:
    """A deterministic ``value`` (given the run): recorded without an interval (kind ``"none"``).

    ``units``: how many independent units the value was computed from, if any.
    """
    return ClaimTest(
        name,
        statistic,
        float(value),
        None,
        None,
        threshold,
        direction,
        primary=primary,
        interval="none",
        units=None if units is None else int(units),
    )


def statistic_test(
    name: str,
    statistic: str,
    samples: np.ndarray,
    estimate: Callable[[np.ndarray], float],
    threshold: float,
    direction: Direction,
    *,
    ci_over: str,
    primary: bool = True,
    correlation: bool = False,
) -> ClaimTest:
    """``estimate(samples)``, ``samples [units, ...]``, with the interval of ``estimate`` over the units.

    For example the Spearman ρ between the two columns of ``[units, 2]`` pairs (then pass
    ``correlation=True``).  The interval is the jackknife t interval
    (:func:`tdgen.stats.statistic_interval`: leave one unit out at a time, ``units + 1`` calls
    of ``estimate``), on Fisher's *z* scale for a ``correlation``.
    """
    samples = np.asarray(samples)
    interval = stats.statistic_interval(samples, estimate, fisher_z=correlation)
    return _test(name, statistic, estimate(samples), interval, ci_over, threshold, direction, primary)


def of_means_test(
    name: str,
    statistic: str,
    samples: np.ndarray,
    estimate: Callable[[np.ndarray], float],
    threshold: float,
    direction: Direction,
    *,
    n_resamples: int,
    ci_over: str,
    primary: bool = True,
    bounds: tuple[float, float] | None = None,
) -> ClaimTest:
    """``estimate(mean over units of samples)``, ``samples [units, ...]``, with its interval.

    For a statistic of a mean that is too noisy to compute per unit (e.g. a rate fitted to a
    mean trajectory).  The interval is :func:`tdgen.stats.of_means_interval`: the union of the
    jackknife t interval over leave-one-out means and the basic interval over ``n_resamples``
    multivariate t draws of the mean (``n_resamples + units + 1`` calls of ``estimate``),
    clipped to ``bounds`` where the statistic has them (``(-1, 1)`` for a correlation).
    """
    samples = np.asarray(samples)
    interval = stats.of_means_interval(samples, estimate, n_resamples, bounds=bounds)
    return _test(name, statistic, estimate(samples.mean(axis=0)), interval, ci_over, threshold, direction, primary)
