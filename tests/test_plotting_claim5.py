"""Claim 5's figure and table draw from one number per network, teachers ``[T]`` and students ``[T, L, S]``."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tdgen import claimtests, stats
from tdgen.plotting import claim5, set_theme


def test_dose_response_plots_teacher_means_of_students_against_the_fit():
    set_theme()
    rng = np.random.default_rng(0)
    fit = np.exp(-np.arange(3))[None, :, None] * (1.0 + rng.random((5, 3, 2)))  # [T, L, S], shrinking with length
    measures = {"return": (rng.random(5), rng.random((5, 3, 2))), "switches": (rng.random(5), rng.random((5, 3, 2)))}
    panels = {label: (fit, teacher, students, 1) for label, (teacher, students) in measures.items()}
    fig = claim5.dose_response((10, 20, 40), panels, "Q-error")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_ylabel() for ax in visible] == list(panels)
    ax = visible[1]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "Q-error"
    students = ax.lines[0]  # the error bar's line: x the mean fit, y the mean of the teachers' student means
    np.testing.assert_allclose(students.get_xdata(), fit.mean(axis=(0, 2)))
    np.testing.assert_allclose(students.get_ydata(), measures["switches"][1].mean(axis=(0, 2)))
    teacher_line = next(line for line in ax.lines if line.get_linestyle() == "--")
    np.testing.assert_allclose(teacher_line.get_ydata(), measures["switches"][0].mean())
    verdict_line = next(line for line in ax.lines if line.get_linestyle() == ":")
    np.testing.assert_allclose(verdict_line.get_xdata(), fit[:, 1].mean())
    interval = stats.mean_interval(measures["switches"][1].mean(axis=2))
    segments = ax.collections[0].get_segments()  # the error bars, one per length
    np.testing.assert_allclose([s[:, 1].min() for s in segments], interval.low, rtol=1e-6)
    assert [t.get_text() for t in visible[0].texts] == ["10", "20", "40"]
    plt.close(fig)


def test_sensitivity_table_has_a_row_per_length_and_marks_the_verdict():
    rng = np.random.default_rng(1)
    ci = {"threshold": 0.0, "direction": ">=", "n_resamples": 100, "ci_over": "teachers"}
    tests = [[claimtests.mean_test(name, "s", rng.random((5, 2)) + k, **ci) for name in ("a", "b")] for k in range(3)]
    table = claim5.sensitivity_table((10, 20, 40), {"Q-error": [3.0, 2.0, 1.0]}, tests, chosen=2).splitlines()
    assert table[0] == "| Adam steps | Q-error | a | b |" and len(table) == 2 + 3
    assert table[2].startswith("| 10 | 3 | ") and table[4].startswith("| **40** (verdict) | 1 | ")
    low, high = tests[1][1].ci
    assert table[3].endswith(f"| {tests[1][1].value:.3g} [{low:.3g}, {high:.3g}] |")
    with pytest.raises(ValueError, match="same tests"):
        claim5.sensitivity_table((10, 20, 40), {}, [tests[0], tests[1][::-1], tests[2]], chosen=0)
