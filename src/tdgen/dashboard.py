"""The claims dashboard: MyST markdown generated from the results files (never typed by hand).

Every verdict shown is re-derived from the numbers (:func:`tdgen.results.test_verdict`,
:func:`tdgen.results.claim_verdict`), never read from a stored string.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tdgen.results import claim_verdict, test_verdict


def format_number(x: float | None) -> str:
    """Three significant digits, or an en dash for a missing value."""
    return "–" if x is None else f"{x:.3g}"


def _link(claim: dict) -> str:
    return f"{{doc}}`Claim {claim['claim']} – {claim['title']} </{claim['notebook']}>`"


def _needs(test: dict) -> str:
    return f"{'≥' if test['direction'] == '>=' else '≤'} {format_number(test['threshold'])}"


def _verdict(text: str) -> str:
    return f"**{text}**" if text == "reproduced" else f"*{text}*"


def summary_table(claims: list[dict], prefix: str = "../", others: Mapping[str, list[dict]] | None = None) -> str:
    """One row per claim: link, thumbnail, primary tests passed, verdict, profile.

    ``prefix`` leads from the page that shows the table to the project root.  ``others`` maps
    further profiles (``gpu``, ``paper``) to their results: each gets a column with its primary
    tests passed and verdict for the same claim (an en dash where it has none).
    """
    others = dict(others or {})
    by_profile = {name: {c["claim"]: c for c in found} for name, found in others.items()}
    lines = [
        "| Claim | Figure | Primary tests reproduced | Verdict | Profile |"
        + "".join(f" At `{name}` |" for name in others),
        "|---|---|---|---|---|" + "---|" * len(others),
    ]
    for claim in claims:
        figure = f"![]({prefix}{claim['figure']}){{w=160px}}" if claim.get("figure") else ""
        cells = "".join(f" {_outcome(by_profile[name].get(claim['claim']))} |" for name in others)
        lines.append(
            f"| {_link(claim)} | {figure} | {_passed(claim)} | {_verdict(claim_verdict(claim['tests']))} "
            f"| `{claim['profile']}` |{cells}"
        )
    return "\n".join(lines)


def primary_passed(claim: dict) -> tuple[int, int]:
    """``(reproduced, all)`` of a claim's primary tests, by verdicts re-derived from their numbers."""
    primary = [t for t in claim["tests"] if t["primary"]]
    return sum(test_verdict(t) == "reproduced" for t in primary), len(primary)


def _passed(claim: dict) -> str:
    return "{} of {}".format(*primary_passed(claim))


def _outcome(claim: dict | None) -> str:
    """Another profile's result for a claim as one cell: verdict and primary tests passed."""
    return "–" if claim is None else f"{_verdict(claim_verdict(claim['tests']))} ({_passed(claim)})"


def interval_cell(test: dict) -> str:
    """A test's interval as a table cell: ``[low, high]`` with its kind and what it is over, ``range [min, max]``
    where there were too few units for an interval, or an en dash where nothing was sampled."""
    ci, kind = test["ci"], test.get("interval", "none")
    if ci is None:
        return "–"
    ends = f"[{format_number(ci[0])}, {format_number(ci[1])}]"
    if kind == "range":
        return f"range {ends}"
    over = f"; {test['ci_over']}" if test.get("ci_over") else ""
    return f"{ends} ({kind}{over})"


def details(claim: dict) -> str:
    """A claim's statement and every recorded test with statistic, value, interval, units, threshold and verdict.

    Intervals are 95% (99% with 3 or 4 units, :mod:`tdgen.stats`); with fewer than 3 independent
    units a test shows the range over its units, marked ``range``, and is not reproduced.
    """
    lines = [
        f"### {_link(claim)}: {_verdict(claim_verdict(claim['tests']))}",
        "",
        f"> {claim['statement']}",
        "",
        "| Test | Statistic | Value | Interval | Units | Needs | Verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in claim["tests"]:
        role = "" if t["primary"] else " (secondary)"
        units = "–" if t.get("units") is None else str(t["units"])
        lines.append(
            f"| {t['name']}{role} | {t['statistic']} | {format_number(t['value'])} | {interval_cell(t)} "
            f"| {units} | {_needs(t)} | {_verdict(test_verdict(t))} |"
        )
    return "\n".join(lines)


def dashboard(
    claims: list[dict],
    profile: str,
    prefix: str = "../",
    with_details: bool = True,
    others: Mapping[str, list[dict]] | None = None,
) -> str:
    """The whole dashboard in MyST markdown; a note instead when ``profile`` has no results yet.

    ``others``: further profiles' results, a column each in the summary (:func:`summary_table`).
    """
    if not claims:
        return (
            ":::{note}\n"
            f"No results for the `{profile}` profile yet: run `make book` (with `TDGEN_PROFILE={profile}`).\n"
            ":::"
        )
    parts = [summary_table(claims, prefix, others)]
    if with_details:
        parts.extend(details(c) for c in claims)
    return "\n\n".join(parts)


def other_profile_section(claim: dict, figures: list[str], prefix: str = "../") -> str:
    """One claim as another profile (``gpu``) found it, for the claim's own page: its tests and its figures.

    ``figures`` are paths from the project root (``figures/gpu/claim4_….png``), ``prefix`` leads
    from the page to that root.  The figures are shown as they are, without captions: the
    captions above, at the building profile, say what each shows.
    """
    provenance = claim.get("provenance") or {}
    device = f" on {provenance['device']}" if provenance.get("device") else ""
    parts = [
        f"### At the `{claim['profile']}` profile",
        f"The same notebook run at `{claim['profile']}`{device}, read from its committed results file; "
        f"verdict: {_verdict(claim_verdict(claim['tests']))}.",
        details(claim),
        *(f"![{Path(f).stem}]({prefix}{f})" for f in figures),
    ]
    return "\n\n".join(parts)


def profiles_table(differences_only: bool = False) -> str:
    """Every setting of every profile with its kind, one row each, read from :mod:`tdgen.profiles`.

    ``differences_only``: only the settings in which the profiles differ
    (:func:`tdgen.profiles.profile_differences`).
    """
    from tdgen.profiles import PROFILES, profile_differences, profile_settings

    names = list(PROFILES)
    lines = ["| Setting | Kind | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 2) + "|"]
    for setting in profile_differences() if differences_only else profile_settings():
        cells = " | ".join(_budget_cell(setting.values[n]) for n in names)
        lines.append(f"| `{setting.path}` | {setting.kind} | {cells} |")
    return "\n".join(lines)


def _budget_cell(value: object) -> str:
    """A budget as a table cell: numbers in ``g`` format, tuples as comma-separated lists (``–`` when empty)."""
    if isinstance(value, tuple):
        return ", ".join(_budget_cell(v) for v in value) or "–"
    return f"{value:g}" if isinstance(value, int | float) else str(value)


BUILD_PACKAGES = (
    "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "matplotlib", "seaborn",
    "jupyter-book", "myst-nb", "jupyter-cache", "sphinx", "jupytext",
)  # fmt: skip


def environment_table() -> str:
    """The machine and package versions of this build (Python, OS, CPUs, JAX devices, key packages)."""
    import os
    import platform
    from importlib import metadata

    import jax

    from tdgen.profiles import get_profile

    rows = [
        ("profile", f"`{get_profile().name}`"),
        ("Python", platform.python_version()),
        ("platform", platform.platform()),
        ("CPU cores", str(os.cpu_count())),
        ("JAX devices", ", ".join(sorted({f"{d.platform} ({d.device_kind})" for d in jax.devices()}))),
    ]
    for package in BUILD_PACKAGES:
        try:
            rows.append((package, metadata.version(package)))
        except metadata.PackageNotFoundError:
            rows.append((package, "not installed"))
    return "\n".join(["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows)])


def provenance_table(claims: list[dict]) -> str:
    """Where each claim's numbers came from: one column per claim, one row per field of its provenance."""
    if not claims:
        return "No results files for this profile yet."
    provenances = [claim.get("provenance") or {} for claim in claims]
    packages = list(dict.fromkeys(name for p in provenances for name in p.get("versions") or {}))

    def commit(p: dict) -> str:
        text = p.get("commit")
        return f"`{text[:10]}`" + (" (modified)" if text.endswith("+dirty") else "") if text else "–"

    rows: list[tuple[str, object]] = [
        ("commit", commit),
        ("lock", lambda p: f"`{p['lock_sha256'][:12]}`" if p.get("lock_sha256") else "–"),
        *((name, lambda p, n=name: (p.get("versions") or {}).get(n) or "–") for name in packages),
        ("device", lambda p: p.get("device") or "–"),
        ("CPU", lambda p: f"{p['cpu']}, {p.get('cpu_count') or '?'} cores" if p.get("cpu") else "–"),
        ("OPENBLAS_CORETYPE", lambda p: (p.get("numeric_env") or {}).get("OPENBLAS_CORETYPE") or "–"),
        ("wall time", lambda p: "–" if p.get("wall_time_s") is None else f"{p['wall_time_s'] / 60:.1f} min"),
    ]
    lines = ["| | " + " | ".join(f"Claim {c['claim']}" for c in claims) + " |", "|---" * (len(claims) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(cell(p) for p in provenances) + " |" for label, cell in rows]
    return "\n".join(lines)
