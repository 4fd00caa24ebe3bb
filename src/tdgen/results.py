"""Claim results files: one small JSON file per claim and profile, shown on the claims page.

Schema (``results/<profile>/claim<N>.json``)::

    {"claim": 1, "title": ..., "statement": ..., "notebook": "notebooks/01_...",
     "profile": "quick", "verdict": "reproduced" | "not reproduced",
     "figure": "figures/quick/<name>.png" | null,
     "tests": [{"name": ..., "statistic": ..., "value": float,
                "ci": [lo, hi] | null, "ci_over": str | null,
                "threshold": float, "direction": ">=" | "<=",
                "primary": bool, "verdict": ...}, ...]}

The claim's verdict is ``reproduced`` only when every *primary* test is;
secondary tests are reported beside it with their own verdicts.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from tdgen.paths import atomic_write_bytes, output_dir, project_root
from tdgen.stats import NOT_REPRODUCED, REPRODUCED, Direction, judge


@dataclass(frozen=True)
class ClaimTest:
    """One recorded statistic of a claim, with the verdict that follows from it."""

    name: str
    statistic: str
    value: float
    ci: tuple[float, float] | None
    ci_over: str | None
    threshold: float
    direction: Direction
    primary: bool = True

    @property
    def verdict(self) -> str:
        return judge(self.value, self.ci, self.threshold, self.direction)

    def to_json(self) -> dict:
        out = asdict(self)
        out["value"] = _finite_or_none(self.value)
        out["ci"] = None if self.ci is None else [_finite_or_none(x) for x in self.ci]
        out["verdict"] = self.verdict
        return out


def _finite_or_none(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def record_claim(
    claim: int,
    title: str,
    statement: str,
    notebook: str,
    profile: str,
    tests: list[ClaimTest],
    figure: str | None = None,
) -> dict:
    """Write the claim's results file atomically (``results/<profile>/claim<N>.json``) and return its content."""
    if not tests:
        raise ValueError("a claim needs at least one test")
    primary = [t for t in tests if t.primary]
    if not primary:
        raise ValueError("a claim needs at least one primary test")
    verdict = REPRODUCED if all(t.verdict == REPRODUCED for t in primary) else NOT_REPRODUCED
    payload = {
        "claim": claim,
        "title": title,
        "statement": statement,
        "notebook": notebook,
        "profile": profile,
        "verdict": verdict,
        "figure": figure,
        "tests": [t.to_json() for t in tests],
    }
    path = output_dir("results", profile) / f"claim{claim}.json"
    atomic_write_bytes(path, (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode())
    return payload


def load_claims(profile: str, root: Path | None = None) -> list[dict]:
    """All results files of ``profile``, sorted by claim number."""
    folder = (root or project_root()) / "results" / profile
    claims = [json.loads(p.read_text()) for p in sorted(folder.glob("claim*.json"))]
    return sorted(claims, key=lambda c: c["claim"])
