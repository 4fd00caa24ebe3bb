"""Regenerated results against committed ones: every number and verdict that moved.

CI runs ``python -m tdgen.booktools compare-results results/quick`` after ``make
book``.  Each ``claim<N>.json`` the build wrote is compared with the one committed
at ``HEAD`` (everything but its ``provenance`` block):

* where both come from the same environment (:func:`tdgen.provenance.same_environment`:
  the same lock, package versions, CPU model and flags, device and numeric
  settings), the numbers must agree to ``rtol`` (1e-9) and every verdict must be
  the same, else the comparison fails;
* elsewhere the differences and changed verdicts are printed, and do not fail.
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tdgen.provenance import same_environment
from tdgen.results import claim_files, claim_verdict, read_claim, test_verdict, validate_claim

RTOL = 1e-9


@dataclass(frozen=True)
class Difference:
    """One field that differs between the committed and the regenerated file."""

    file: str
    field: str
    committed: object
    regenerated: object

    @property
    def relative(self) -> float | None:
        """``|new − old| / max(|old|, |new|)`` for two numbers, else ``None``."""
        a, b = self.committed, self.regenerated
        if not (_is_number(a) and _is_number(b)):
            return None
        scale = max(abs(a), abs(b))
        return 0.0 if scale == 0 else abs(b - a) / scale


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _leaves(obj: object, prefix: str = "") -> dict[str, object]:
    """Flatten JSON into ``{field path: leaf}``; tests are keyed by name, not position."""
    if isinstance(obj, dict):
        out: dict[str, object] = {}
        for key, value in obj.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
        return out
    if isinstance(obj, list):
        names = [t.get("name") for t in obj] if all(isinstance(t, dict) and "name" in t for t in obj) else None
        keys = [repr(n) for n in names] if names and len(set(names)) == len(names) else range(len(obj))
        out = {}
        for key, value in zip(keys, obj):
            out.update(_leaves(value, f"{prefix}[{key}]"))
        return out
    return {prefix: obj}


def differences(committed: dict, regenerated: dict, file: str, rtol: float = RTOL) -> list[Difference]:
    """Every leaf outside ``provenance`` that differs: numbers beyond ``rtol`` (relative), anything else at all."""
    old = _leaves({k: v for k, v in committed.items() if k != "provenance"})
    new = _leaves({k: v for k, v in regenerated.items() if k != "provenance"})
    found = []
    for field in sorted(old.keys() | new.keys()):
        a, b = old.get(field, "(missing)"), new.get(field, "(missing)")
        if _is_number(a) and _is_number(b):
            if abs(b - a) > rtol * max(abs(a), abs(b)):
                found.append(Difference(file, field, a, b))
        elif a != b:
            found.append(Difference(file, field, a, b))
    return found


def changed_verdicts(committed: dict, regenerated: dict) -> list[str]:
    """Tests (and the claim) whose re-derived verdict differs: ``"name: old → new"``."""
    old = {t["name"]: test_verdict(t) for t in committed["tests"]}
    new = {t["name"]: test_verdict(t) for t in regenerated["tests"]}
    lines = [
        f"{name}: {old.get(name, '(absent)')} → {new.get(name, '(absent)')}"
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]
    before, after = claim_verdict(committed["tests"]), claim_verdict(regenerated["tests"])
    return lines + ([f"claim {regenerated['claim']}: {before} → {after}"] if before != after else [])


@dataclass(frozen=True)
class FileReport:
    """The comparison of one results file."""

    file: str
    strict: bool  # same environment: any difference fails
    differences: list[Difference]
    verdicts: list[str]
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.strict and bool(self.differences or self.verdicts)


def committed_claim(path: Path, ref: str = "HEAD") -> dict | None:
    """The validated results file at ``path`` as committed at ``ref``; ``None`` when it is not committed."""
    root = path.resolve().parent
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True)
    if top.returncode:
        return None
    relative = path.resolve().relative_to(Path(top.stdout.strip()).resolve()).as_posix()
    shown = subprocess.run(["git", "show", f"{ref}:{relative}"], cwd=root, capture_output=True)
    if shown.returncode:
        return None
    try:
        return validate_claim(json.loads(shown.stdout), Path(f"{ref}:{relative}"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{ref}:{relative}: not a readable JSON file ({error})") from error


def compare_folder(folder: Path, ref: str = "HEAD", rtol: float = RTOL) -> list[FileReport]:
    """Compare every ``claim<N>.json`` of ``folder`` with its committed version at ``ref``."""
    reports = []
    for path in claim_files(folder):
        new, old = read_claim(path), committed_claim(path, ref)
        if old is None:
            reports.append(FileReport(path.name, False, [], [], note="not committed: nothing to compare"))
            continue
        strict = same_environment(old.get("provenance"), new.get("provenance"))
        note = "" if strict else "environment differs from the committed run's: differences are reported, not failed"
        if not old.get("provenance"):
            note = "the committed file has no provenance: differences are reported, not failed"
        reports.append(
            FileReport(path.name, strict, differences(old, new, path.name, rtol), changed_verdicts(old, new), note)
        )
    return reports


def _cell(x: object) -> str:
    return f"{x:.10g}" if _is_number(x) else str(x)


def format_reports(reports: list[FileReport]) -> str:
    """A plain-text table of every difference, then one summary line per file."""
    lines = []
    rows = [d for r in reports for d in r.differences]
    if rows:
        lines.append(f"{'file':<12} {'field':<90} {'committed':>18} {'regenerated':>18} {'rel. diff':>10}")
        for d in rows:
            rel = "" if d.relative is None else f"{d.relative:.2e}"
            old, new = _cell(d.committed)[:18], _cell(d.regenerated)[:18]
            lines.append(f"{d.file:<12} {d.field[:90]:<90} {old:>18} {new:>18} {rel:>10}")
        lines.append("")
    for r in reports:
        largest = max((d.relative for d in r.differences if d.relative is not None), default=0.0)
        mode = "same environment (strict)" if r.strict else "other environment"
        status = "FAILED" if r.failed else "ok"
        lines.append(
            f"{r.file}: {len(r.differences)} differing fields, largest relative difference {largest:.2e}; "
            f"{mode}: {status}" + (f" ({r.note})" if r.note else "")
        )
        lines.extend(f"    verdict changed: {v}" for v in r.verdicts)
    return "\n".join(lines)
