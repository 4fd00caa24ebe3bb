"""Figures and tables of claim 5: what distillation changes, against how closely the students fit their teachers.

The students of :func:`tdgen.distillation.distill_lengths` are taken at ``L`` distillation
lengths; a measure of every student is ``[T, L, S]`` (teachers, lengths, students of a
teacher) and of every teacher ``[T]`` (:func:`tdgen.distillation.by_length`).  The
independent unit is the teacher: students are averaged within their teacher first, and
intervals are :func:`tdgen.stats.mean_interval` over the ``T`` teachers' means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from tdgen import stats
from tdgen.results import ClaimTest


def dose_response(
    lengths: Sequence[int],
    panels: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray, int]],
    fit_label: str,
    log_fit: bool = True,
) -> plt.Figure:
    """One panel per measure: the students' mean at each length against their fit, the teachers' mean as a line.

    Args:
      lengths: ``[L]`` Adam steps of each length (labels of the first panel's points).
      panels: y-axis label -> ``(fit [T, L, S], teacher [T], students [T, L, S], chosen)``:
        each student's fit to its teacher (e.g. its Q-error; the x of length ``k`` is the
        mean over its students), the measure of every teacher and student, and the length
        of the verdict (a dotted vertical line).  A point is the mean of the teachers'
        student means, its bar :func:`tdgen.stats.mean_interval` over teachers (a range
        below 3 teachers); the dashed line is the teachers' mean.
      fit_label: the x-axis label (with units).
      log_fit: a logarithmic x-axis (for fits spanning decades, e.g. squared errors).
    """
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False, layout="constrained")
    for i, (ax, (label, (fit, teacher, students, chosen))) in enumerate(zip(axes.flat, panels.items())):
        x = np.asarray(fit, dtype=float).mean(axis=(0, 2))
        per_teacher = np.asarray(students, dtype=float).mean(axis=2)  # [T, L]
        interval = stats.mean_interval(per_teacher)
        y = per_teacher.mean(axis=0)
        bars = np.abs(np.stack([y - interval.low, interval.high - y]))
        ax.errorbar(x, y, yerr=bars, marker="o", color="C1", capsize=3, label="students (mean over teachers)")
        ax.axhline(np.mean(teacher), color="C0", linestyle="--", label="teachers (mean)")
        ax.axvline(x[chosen], color="0.4", linestyle=":", label="length of the verdict")
        ax.set_xscale("log" if log_fit else "linear")
        ax.tick_params(axis="x", which="both", labelrotation=30, labelsize=8)  # minor labels within a decade
        ax.set_xlabel(fit_label)
        ax.set_ylabel(label)
        for k, steps in enumerate(lengths if i == 0 else ()):  # the Adam steps of each point, once
            ax.annotate(f"{steps:,}", (x[k], y[k]), fontsize=7, textcoords="offset points", xytext=(4, 4))
    axes.flat[0].legend(fontsize=7)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    return fig


def _cell(test: ClaimTest) -> str:
    """``value [low, high]`` of one test (its range, or no interval, where it has none)."""
    value = f"{test.value:.3g}"
    if test.ci is None:
        return value
    low, high = test.ci
    return f"{value} [{low:.3g}, {high:.3g}]" + (" (range)" if test.interval == "range" else "")


def sensitivity_table(
    lengths: Sequence[int],
    fit: Mapping[str, Sequence[float]],
    tests: Sequence[Sequence[ClaimTest]],
    chosen: int,
) -> str:
    """Markdown table of the same tests at every distillation length: a row per length, a column per test.

    Args:
      lengths: ``[L]`` Adam steps of each length.
      fit: column name -> ``[L]`` a fit of the students at each length (e.g. the mean Q-error).
      tests: ``[L][n]`` the ``n`` tests at each length, in the same order at every length
        (columns named by the first length's test names); a cell is ``value [low, high]``.
      chosen: the row of the verdict's length, marked in the first column.
    """
    names = [test.name for test in tests[0]]
    if any([test.name for test in row] != names for row in tests) or len(tests) != len(lengths):
        raise ValueError("sensitivity_table: give the same tests, in the same order, at every length")
    header = ["Adam steps", *fit, *names]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for k, (steps, row) in enumerate(zip(lengths, tests)):
        first = f"**{steps:,}** (verdict)" if k == chosen else f"{steps:,}"
        cells = [first, *(f"{np.asarray(values)[k]:.3g}" for values in fit.values()), *map(_cell, row)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
