"""Claim results files: one small JSON file per claim and profile, shown on the claims page.

Schema (``results/<profile>/claim<N>.json``)::

    {"claim": 1, "title": ..., "statement": ..., "notebook": "notebooks/01_...",
     "profile": "quick", "verdict": "reproduced" | "not reproduced",
     "figure": "figures/quick/<name>.png" | null,
     "tests": [{"name": ..., "statistic": ..., "value": float,
                "ci": [lo, hi] | null, "ci_over": str | null,
                "threshold": float, "direction": ">=" | "<=",
                "primary": bool, "interval": "boot-t95" | "t99" | ... | "range" | "none",
                "units": int | null, "verdict": ...}, ...]}

plus a ``provenance`` block (:func:`tdgen.provenance.collect`: commit, lock hash,
package versions, device, CPU, profile, wall time).

``interval`` names the kind of ``ci`` (:data:`tdgen.stats.INTERVAL_KINDS`) and ``units`` the
number of independent units behind the test (seeds, teachers, runs).  They must agree:
``"none"`` exactly when ``ci`` is null (``units`` may then be null: nothing was sampled);
``"range"`` (the smallest and largest value over the units, no interval, never reproduced)
exactly when there are fewer than :data:`tdgen.stats.MIN_UNITS` units; a 99% kind with 3 or
4 units, a 95% kind from :data:`tdgen.stats.MIN_BOOTSTRAP_UNITS` on.  Files written before
these two fields existed fail validation (``field 'tests[0].interval' is missing``) until
their notebooks are run again.

The claim's verdict is ``reproduced`` only when every *primary* test is;
secondary tests are reported beside it with their own verdicts.  Stored verdict
strings are never trusted: :func:`load_claims` validates every file against this
schema and re-derives each verdict from value, interval, threshold and direction
(:func:`tdgen.stats.judge`); a stored verdict that disagrees is an error naming the
file and the field.

A re-run that reproduces a file's numbers in the same environment leaves the file
untouched (:func:`record_claim`), so a rebuild on the machine and lock that made
the committed results leaves ``git status`` clean.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from numbers import Real
from pathlib import Path

from tdgen import provenance
from tdgen.paths import atomic_write_bytes, output_dir, project_root
from tdgen.stats import (
    INTERVAL_KINDS,
    MIN_BOOTSTRAP_UNITS,
    MIN_UNITS,
    NOT_REPRODUCED,
    REPRODUCED,
    Direction,
    judge,
)

RESULTS_FILE = re.compile(r"claim([1-9][0-9]*)\.json")  # claim1.json, not claim01.json or claim_old.json


class ResultsFileError(ValueError):
    """A results file that does not follow the schema; the message names the file and the field."""


@dataclass(frozen=True)
class ClaimTest:
    """One recorded statistic of a claim, with the verdict that follows from it.

    ``interval`` is the kind of ``ci`` (:data:`tdgen.stats.INTERVAL_KINDS`; ``"none"`` without
    one) and ``units`` the number of independent units behind the test (``None``: nothing
    sampled).  The factories of :mod:`tdgen.claimtests` fill both in.
    """

    name: str
    statistic: str
    value: float
    ci: tuple[float, float] | None
    ci_over: str | None
    threshold: float
    direction: Direction
    primary: bool = True
    interval: str = "none"
    units: int | None = None

    @property
    def verdict(self) -> str:
        """The verdict of the numbers as stored (:func:`test_verdict`): a non-finite value or end fails."""
        return test_verdict(self._stored())

    def _stored(self) -> dict:
        out = asdict(self)
        out["value"] = _finite_or_none(self.value)
        out["ci"] = None if self.ci is None else [_finite_or_none(x) for x in self.ci]
        return out

    def to_json(self) -> dict:
        return {**self._stored(), "verdict": self.verdict}


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
    payload = {
        "claim": claim,
        "title": title,
        "statement": statement,
        "notebook": notebook,
        "profile": profile,
        "verdict": claim_verdict([t.to_json() for t in tests]),
        "figure": figure,
        "tests": [t.to_json() for t in tests],
        "provenance": provenance.collect(profile),
    }
    path = output_dir("results", profile) / f"claim{claim}.json"
    validate_claim(payload, path)
    if not _same_run(path, payload):
        atomic_write_bytes(path, (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode())
    return payload


def _same_run(path: Path, payload: dict) -> bool:
    """Whether ``path`` already holds ``payload``'s numbers from the same environment (then it is kept as it is)."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(old, dict) or not provenance.same_environment(old.get("provenance"), payload["provenance"]):
        return False
    strip = lambda c: {k: v for k, v in c.items() if k != "provenance"}
    return strip(old) == json.loads(json.dumps(strip(payload)))


def claim_verdict(tests: list[dict]) -> str:
    """``reproduced`` when every primary test's re-derived verdict is, else ``not reproduced``."""
    primary = [t for t in tests if t["primary"]]
    if not primary:
        return NOT_REPRODUCED
    return REPRODUCED if all(test_verdict(t) == REPRODUCED for t in primary) else NOT_REPRODUCED


def test_verdict(test: dict) -> str:
    """A stored test's verdict, re-derived from its value, interval, threshold and direction."""
    value = math.nan if test["value"] is None else test["value"]
    ci = test["ci"]
    if ci is not None and None in ci:
        return NOT_REPRODUCED  # a non-finite interval end: the interval cannot lie on the claimed side
    return judge(value, None if ci is None else tuple(ci), test["threshold"], test["direction"], test["interval"])


test_verdict.__test__ = False  # not a pytest test, despite its name


def _number(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


_TEST_FIELDS: dict[str, tuple[str, object]] = {
    "name": ("a string", lambda x: isinstance(x, str) and x),
    "statistic": ("a string", lambda x: isinstance(x, str) and x),
    "value": ("a number or null", lambda x: x is None or _number(x)),
    "ci": (
        "null or [low, high] with low <= high",
        lambda x: (
            x is None
            or (
                isinstance(x, list)
                and len(x) == 2
                and all(v is None or _number(v) for v in x)
                and (None in x or x[0] <= x[1])
            )
        ),
    ),
    "ci_over": ("a string or null", lambda x: x is None or isinstance(x, str)),
    "threshold": ("a finite number", lambda x: _number(x) and math.isfinite(x)),
    "direction": ("'>=' or '<='", lambda x: x in (">=", "<=")),
    "primary": ("true or false", lambda x: isinstance(x, bool)),
    "interval": (f"one of {', '.join(map(repr, INTERVAL_KINDS))}", lambda x: x in INTERVAL_KINDS),
    "units": (
        "a number of independent units >= 1, or null",
        lambda x: x is None or (isinstance(x, int) and not isinstance(x, bool) and x >= 1),
    ),
    "verdict": (f"{REPRODUCED!r} or {NOT_REPRODUCED!r}", lambda x: x in (REPRODUCED, NOT_REPRODUCED)),
}
_CLAIM_FIELDS: dict[str, tuple[str, object]] = {
    "claim": ("a claim number >= 1", lambda x: isinstance(x, int) and not isinstance(x, bool) and x >= 1),
    "title": ("a string", lambda x: isinstance(x, str) and x),
    "statement": ("a string", lambda x: isinstance(x, str) and x),
    "notebook": ("a notebook path", lambda x: isinstance(x, str) and x),
    "profile": ("a profile name", lambda x: isinstance(x, str) and x),
    "verdict": (f"{REPRODUCED!r} or {NOT_REPRODUCED!r}", lambda x: x in (REPRODUCED, NOT_REPRODUCED)),
    "figure": ("a path or null", lambda x: x is None or isinstance(x, str)),
    "tests": ("a non-empty list of tests", lambda x: isinstance(x, list) and x),
}


def _check_fields(record: object, spec: dict, where: str, path: Path) -> None:
    if not isinstance(record, dict):
        raise ResultsFileError(f"{path}: {where or 'the file'} must be a JSON object, got {type(record).__name__}")
    for field, (expected, ok) in spec.items():
        name = f"{where}.{field}" if where else field
        if field not in record:
            raise ResultsFileError(f"{path}: field '{name}' is missing")
        if not ok(record[field]):
            raise ResultsFileError(f"{path}: field '{name}' must be {expected}, got {record[field]!r}")


def _check_interval(test: dict, where: str, path: Path) -> None:
    """``interval``, ``ci`` and ``units`` of one test agree (the rules in the module's docstring)."""
    kind, units, ci = test["interval"], test["units"], test["ci"]
    if (kind == "none") != (ci is None):
        raise ResultsFileError(
            f"{path}: field '{where}.interval' is {kind!r}, but '{where}.ci' is {ci!r} "
            "(kind 'none' exactly when there is no interval)"
        )
    if kind == "none":
        return
    if units is None:
        raise ResultsFileError(f"{path}: field '{where}.units' is null, but the test has an interval ({kind!r})")
    if (kind == "range") != (units < MIN_UNITS):
        raise ResultsFileError(
            f"{path}: field '{where}.interval' is {kind!r} with {units} unit(s): "
            f"fewer than {MIN_UNITS} units get a 'range', {MIN_UNITS} or more an interval"
        )
    few = units < MIN_BOOTSTRAP_UNITS
    if (kind.endswith("99") and not few) or (kind.endswith("95") and few):
        raise ResultsFileError(
            f"{path}: field '{where}.interval' is {kind!r} with {units} unit(s): 99% kinds are for "
            f"{MIN_UNITS} to {MIN_BOOTSTRAP_UNITS - 1} units, 95% kinds for {MIN_BOOTSTRAP_UNITS} or more"
        )


def validate_claim(claim: object, path: Path) -> dict:
    """Check one results file's content against the schema and its stored verdicts against its numbers.

    Raises :class:`ResultsFileError` naming ``path`` and the field.  Returns ``claim``.
    """
    _check_fields(claim, _CLAIM_FIELDS, "", path)
    for i, test in enumerate(claim["tests"]):
        _check_fields(test, _TEST_FIELDS, f"tests[{i}]", path)
        _check_interval(test, f"tests[{i}]", path)
        if test["verdict"] != test_verdict(test):
            raise ResultsFileError(
                f"{path}: field 'tests[{i}].verdict' says {test['verdict']!r}, but its numbers give "
                f"{test_verdict(test)!r}"
            )
    if not any(t["primary"] for t in claim["tests"]):
        raise ResultsFileError(f"{path}: field 'tests' has no primary test")
    if claim["verdict"] != claim_verdict(claim["tests"]):
        raise ResultsFileError(
            f"{path}: field 'verdict' says {claim['verdict']!r}, but its primary tests give "
            f"{claim_verdict(claim['tests'])!r}"
        )
    if "provenance" in claim and not isinstance(claim["provenance"], dict):
        raise ResultsFileError(f"{path}: field 'provenance' must be a JSON object")
    return claim


def read_claim(path: Path) -> dict:
    """One validated results file; a malformed one raises :class:`ResultsFileError` naming it."""
    try:
        claim = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsFileError(f"{path}: not a readable JSON file ({error})") from error
    validate_claim(claim, path)
    named = RESULTS_FILE.fullmatch(Path(path).name)
    if named and claim["claim"] != int(named.group(1)):
        raise ResultsFileError(
            f"{path}: field 'claim' is {claim['claim']}, but the file is named for claim {named.group(1)}"
        )
    return claim


def claim_files(folder: Path) -> list[Path]:
    """The results files of a folder: ``claim<N>.json`` only, sorted by claim number."""
    found = [p for p in Path(folder).glob("claim*.json") if RESULTS_FILE.fullmatch(p.name)]
    return sorted(found, key=lambda p: int(RESULTS_FILE.fullmatch(p.name).group(1)))


def load_claims(profile: str, root: Path | None = None) -> list[dict]:
    """All validated results files of ``profile``, sorted by claim number."""
    return [read_claim(p) for p in claim_files((root or project_root()) / "results" / profile)]
