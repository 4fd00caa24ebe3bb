"""Verdicts, results files and the dashboard built from them (the profiles: test_profiles.py)."""

import json

import numpy as np
import pytest

from tdgen import dashboard, results, stats


def test_judge_uses_far_end_of_interval():
    assert stats.judge(0.95, (0.91, 0.99), 0.9, ">=") == stats.REPRODUCED
    assert stats.judge(0.95, (0.85, 0.99), 0.9, ">=") == stats.NOT_REPRODUCED
    assert stats.judge(-0.8, None, -0.7, "<=") == stats.REPRODUCED
    assert stats.judge(float("nan"), None, 0.0, ">=") == stats.NOT_REPRODUCED
    with pytest.raises(ValueError, match="direction"):
        stats.judge(1.0, None, 0.0, ">")
    # a range (fewer than 3 units) is never enough, wherever it lies
    assert stats.judge(0.95, (0.91, 0.99), 0.9, ">=", "range") == stats.NOT_REPRODUCED
    assert stats.judge(0.95, (0.91, 0.99), 0.9, ">=", "boot-t95") == stats.REPRODUCED
    with pytest.raises(ValueError, match="judge: interval must be one of"):
        stats.judge(0.95, (0.91, 0.99), 0.9, ">=", "percentile")


def test_bootstrap_ci_brackets_the_mean():
    samples = np.random.default_rng(0).normal(1.0, 0.1, size=200)
    lo, hi = stats.bootstrap_ci(samples)
    assert lo < samples.mean() < hi
    assert hi - lo < 0.05
    assert stats.bootstrap_ci(samples[:1]) is None


def test_record_and_load_claim_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("TDGEN_ROOT", str(tmp_path))
    tests = [
        results.ClaimTest("a", "ρ", -0.9, (-0.95, -0.85), "seeds", -0.7, "<=", interval="t99", units=3),
        results.ClaimTest("b", "ρ", 0.1, None, None, 0.5, ">=", primary=False),
    ]
    payload = results.record_claim(7, "Title", "Statement", "notebooks/07_x", "smoke", tests, figure=None)
    on_disk = json.loads((tmp_path / "results" / "smoke" / "claim7.json").read_text())
    assert on_disk == payload
    assert on_disk["verdict"] == "reproduced"  # the failing test is secondary
    assert [t["verdict"] for t in on_disk["tests"]] == ["reproduced", "not reproduced"]
    assert [(t["interval"], t["units"]) for t in on_disk["tests"]] == [("t99", 3), ("none", None)]
    assert results.load_claims("smoke", tmp_path) == [payload]
    assert not list((tmp_path / "results" / "smoke").glob("*.tmp"))


def test_claim_verdict_fails_when_a_primary_test_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("TDGEN_ROOT", str(tmp_path))
    tests = [
        results.ClaimTest("a", "ρ", -0.9, None, None, -0.7, "<="),
        results.ClaimTest("b", "ρ", -0.2, None, None, -0.7, "<="),
    ]
    assert results.record_claim(1, "T", "S", "nb", "smoke", tests)["verdict"] == "not reproduced"


def test_dashboard_lists_every_claim_with_numbers():
    claim = {
        "claim": 2,
        "title": "TD fitting order",
        "statement": "S",
        "notebook": "notebooks/02_x",
        "profile": "quick",
        "verdict": "reproduced",
        "figure": "figures/quick/f.png",
        "tests": [
            {
                "name": "rates",
                "statistic": "err",
                "value": 0.02,
                "ci": [0.01, 0.03],
                "ci_over": "seeds",
                "threshold": 0.05,
                "direction": "<=",
                "primary": True,
                "interval": "jackknife-basic95",
                "units": 32,
                "verdict": "reproduced",
            },
        ],
    }
    text = dashboard.dashboard([claim], "quick")
    assert "{doc}`Claim 2 – TD fitting order </notebooks/02_x>`" in text
    assert "../figures/quick/f.png" in text
    assert "| 1 of 1 |" in text
    assert "| [0.01, 0.03] (jackknife-basic95; seeds) | 32 |" in text and "≤ 0.05" in text
    assert "No results" in dashboard.dashboard([], "paper")
    # another profile's results: a column with its verdict; a claim it lacks gets an en dash
    failed = {**claim, "profile": "gpu", "tests": [{**claim["tests"][0], "value": 0.2, "ci": [0.1, 0.3]}]}
    text = dashboard.summary_table([claim, {**claim, "claim": 3}], others={"gpu": [failed]})
    header, _, first, second = text.splitlines()
    assert header.endswith("| Profile | At `gpu` |")
    assert first.endswith("| `quick` | *not reproduced* (0 of 1) |") and second.endswith("| `quick` | – |")
    # the claim's own page: the other profile's device, tests and figures
    section = dashboard.other_profile_section(
        {**failed, "provenance": {"device": "gpu (H200) ×1"}}, ["figures/gpu/claim2_a.png"]
    )
    assert section.startswith("### At the `gpu` profile") and "on gpu (H200) ×1" in section
    assert "*not reproduced*" in section and "| rates |" in section
    assert section.endswith("![claim2_a](../figures/gpu/claim2_a.png)")


def test_bootstrap_means_resample_seeds():
    samples = np.arange(12.0).reshape(4, 3)
    means = stats.bootstrap_means(samples, n_resamples=500)
    assert means.shape == (500, 3)
    # Each resampled mean is a mean of 4 rows drawn from the samples: within the rows' range,
    # and on average the overall mean.
    assert np.all(means >= samples.min(axis=0)) and np.all(means <= samples.max(axis=0))
    np.testing.assert_allclose(means.mean(axis=0), samples.mean(axis=0), atol=0.3)
    assert stats.percentile_interval(np.array([np.nan]), nan_policy="omit") is None


def test_atomic_write_replaces_the_file_with_ordinary_permissions(tmp_path):
    import os
    import stat

    from tdgen.paths import atomic_write_bytes

    target = tmp_path / "out" / "file.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_ratio_of_means_is_paired_mean_ratio():
    assert stats.ratio_of_means(np.array([[2.0, 1.0], [4.0, 3.0]])) == pytest.approx(1.5)
