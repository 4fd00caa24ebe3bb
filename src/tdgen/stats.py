"""Confidence intervals and verdicts.

Empirical claims are *recorded*, not asserted: a statistic, its 95% confidence
interval over seeds (bootstrap), a threshold fixed before looking at the data,
and a verdict that follows mechanically from them (:func:`judge`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from scipy import stats

Direction = Literal[">=", "<="]
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
    """
    samples = np.asarray(samples)
    if samples.shape[0] < 2:
        return None
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, samples.shape[0], size=(n_resamples, samples.shape[0]))
    return percentile_interval(np.array([statistic(samples[i]) for i in idx]), confidence)


def bootstrap_means(samples: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Means of ``n_resamples`` bootstrap resamples of the seeds (first axis) of ``samples``.

    Resampling seeds with replacement weights each seed by a multinomial count, so
    all resampled means come from one matrix product: ``[n_resamples, ...]``.  Use
    it when a statistic is a function of the mean over seeds of a large array.
    """
    samples = np.asarray(samples)
    n = samples.shape[0]
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_resamples)
    means = (counts / n) @ samples.reshape(n, -1)
    return means.reshape(n_resamples, *samples.shape[1:])


def percentile_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """Central percentile interval of bootstrap ``values`` (non-finite ones dropped); ``None`` if none are left."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def ratio_of_means(pairs: np.ndarray) -> float:
    """Mean of the first column over mean of the second: ``[seeds, 2] -> float`` (a paired ratio statistic)."""
    pairs = np.asarray(pairs, dtype=float)
    return float(pairs[:, 0].mean() / pairs[:, 1].mean())


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two equally long vectors (NaN pairs dropped)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"spearman needs equal shapes, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    return float(stats.spearmanr(x[keep], y[keep]).statistic)


def judge(value: float, ci: tuple[float, float] | None, threshold: float, direction: Direction) -> str:
    """Verdict of ``value (direction) threshold``, judged on the interval's far end when there is one.

    With a confidence interval the claim counts as reproduced only when the whole
    interval lies on the claimed side of the threshold.
    """
    if direction not in (">=", "<="):
        raise ValueError(f"direction must be '>=' or '<=', got {direction!r}")
    if not np.isfinite(value):
        return NOT_REPRODUCED
    bound = value if ci is None else (ci[0] if direction == ">=" else ci[1])
    ok = bound >= threshold if direction == ">=" else bound <= threshold
    return REPRODUCED if ok else NOT_REPRODUCED
