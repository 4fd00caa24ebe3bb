"""Factories of the claims' tests: a statistic over independent units, its interval and its threshold.

Every notebook builds its :class:`~tdgen.results.ClaimTest` rows with these, so a test's
interval is computed the same way on every page:

* :func:`mean_test` – the mean of one number per unit (e.g. a difference paired by seed);
* :func:`ratio_test` – ``mean(numerator) / mean(denominator)``, the two paired by unit;
* :func:`spearman_test` – Spearman's ρ between a fixed ``x`` per arm and the mean over units
  of a ``[units, arms]`` array;
* :func:`fixed_test` – a deterministic number (no interval: nothing is sampled);
* :func:`bootstrap_test` – any statistic of the ``[units, ...]`` samples themselves;
* :func:`of_means_test` – any statistic of the mean over units of a ``[units, ...]`` array.

Intervals are 95% bootstrap intervals over the first axis (the units named by
``ci_over``), with ``n_resamples`` resamples from :mod:`tdgen.stats`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tdgen import stats
from tdgen.results import ClaimTest
from tdgen.stats import Direction


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
    """``mean(samples)`` over units, ``samples [units]``, with the bootstrap interval of the mean."""
    return bootstrap_test(
        name,
        statistic,
        samples,
        np.mean,
        threshold,
        direction,
        n_resamples=n_resamples,
        ci_over=ci_over,
        primary=primary,
    )


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
    """``mean(numerator) / mean(denominator)``, both ``[units]`` and paired by unit, with its bootstrap interval.

    The units are resampled as pairs (:func:`tdgen.stats.ratio_of_means`).
    """
    pairs = np.stack([numerator, denominator], axis=1)
    return bootstrap_test(
        name,
        statistic,
        pairs,
        stats.ratio_of_means,
        threshold,
        direction,
        n_resamples=n_resamples,
        ci_over=ci_over,
        primary=primary,
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

    The interval is the percentile interval of ρ over bootstrap resamples of the units
    (:func:`of_means_test`).
    """
    return of_means_test(
        name,
        statistic,
        samples,
        lambda means: stats.spearman(x, means),
        threshold,
        direction,
        n_resamples=n_resamples,
        ci_over=ci_over,
        primary=primary,
    )


def fixed_test(
    name: str, statistic: str, value: float, threshold: float, direction: Direction, *, primary: bool = True
) -> ClaimTest:
    """A deterministic ``value`` (given the run): recorded without an interval."""
    return ClaimTest(name, statistic, float(value), None, None, threshold, direction, primary=primary)


def bootstrap_test(
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
) -> ClaimTest:
    """``estimate(samples)``, ``samples [units, ...]``, with the bootstrap interval of ``estimate`` over the units.

    For example the Spearman ρ between the two columns of ``[units, 2]`` pairs, the
    units resampled as pairs (:func:`tdgen.stats.bootstrap_ci`).
    """
    samples = np.asarray(samples)
    return ClaimTest(
        name,
        statistic,
        float(estimate(samples)),
        stats.bootstrap_ci(samples, estimate, n_resamples=n_resamples),
        ci_over,
        threshold,
        direction,
        primary=primary,
    )


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
) -> ClaimTest:
    """``estimate(mean over units of samples)``, ``samples [units, ...]``, with its bootstrap interval.

    The interval is the percentile interval of ``estimate`` over the means of bootstrap
    resamples of the units (:func:`tdgen.stats.bootstrap_means`), for a statistic of a
    mean that is too noisy to compute per unit (e.g. a rate fitted to a mean trajectory).
    """
    samples = np.asarray(samples)
    boot = stats.bootstrap_means(samples, n_resamples)
    return ClaimTest(
        name,
        statistic,
        float(estimate(samples.mean(axis=0))),
        stats.percentile_interval(np.array([estimate(b) for b in boot])),
        ci_over,
        threshold,
        direction,
        primary=primary,
    )
