"""Confidence intervals and verdicts.

Empirical claims are *recorded*, not asserted: a statistic, its 95% confidence
interval over seeds (bootstrap), a threshold fixed before looking at the data,
and a verdict that follows mechanically from them (:func:`judge`).

Samples must be finite: a NaN or infinite sample raises a ``ValueError`` naming the
function and its argument, rather than being dropped (which would silently narrow an
interval).  Where leaving non-finite values out is intended, the caller says so with
``nan_policy="omit"`` (:func:`spearman`, :func:`percentile_interval`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy import stats

from tdgen.validate import finite_float, nonnegative_int, positive_int

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

    Returns ``None`` when there are fewer than two samples (no interval exists).
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


def judge(value: float, ci: tuple[float, float] | None, threshold: float, direction: Direction) -> str:
    """Verdict of ``value (direction) threshold``, judged on the interval's far end when there is one.

    With a confidence interval the claim counts as reproduced only when the whole
    interval lies on the claimed side of the threshold.  A non-finite ``value`` (a
    statistic that could not be computed) is judged not reproduced; ``threshold`` and
    the interval's ends must be finite, the interval ordered.
    """
    if direction not in (">=", "<="):
        raise ValueError(f"direction must be '>=' or '<=', got {direction!r}")
    finite_float("judge: threshold", threshold)
    if ci is not None:
        low, high = (finite_float(f"judge: ci[{i}]", end) for i, end in enumerate(ci))
        if low > high:
            raise ValueError(f"judge: ci must be ordered (low, high), got {ci!r}")
    if not np.isfinite(value):
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
