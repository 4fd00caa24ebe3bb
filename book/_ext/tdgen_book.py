"""The book's Sphinx extension: generated tables, read order, and one upstream fix.

``{claims-table}`` is filled from ``results/<profile>/claim*.json``, ``{provenance-table}``
from the provenance blocks of the same files, ``{profiles-table}`` and
``{profile-differences}`` from ``tdgen.profiles`` and ``{build-environment}`` from the
building machine.  ``{other-profiles} N`` shows on claim ``N``'s page what other profiles'
committed results (``gpu``, ``paper``) found, beside the building profile's executed notebook.

Pages that use it are read *after* every notebook (whose execution writes the
results files) and are re-read on every build, so the dashboard always shows the
numbers of the notebooks just executed or loaded from the cache.

Upstream fix: with jupyter-book 1.0.4 and sphinx-thebe 0.3.1 every page declares
``const THEBE_JS_URL`` twice, a JavaScript SyntaxError in every browser; identical
script entries are dropped from each page (:func:`_drop_duplicate_scripts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from tdgen.dashboard import dashboard, environment_table, other_profile_section, profiles_table, provenance_table
from tdgen.profiles import PROFILES, TEST_PROFILES, get_profile
from tdgen.results import load_claims

# Pages re-read after the notebooks on every build: the dashboards and the status page.
PAGES = ("book/intro", "book/claims", "book/reproducing")


def _claims(directive: SphinxDirective, profile: str | None = None) -> list[dict]:
    """The validated results files of ``profile`` (default: the building one), each a dependency of the page."""
    profile = profile or get_profile().name
    root = Path(directive.env.srcdir)
    claims = load_claims(profile, root)
    for claim in claims:
        directive.env.note_dependency(str(root / "results" / profile / f"claim{claim['claim']}.json"))
    return claims


def _other_profiles(directive: SphinxDirective) -> dict[str, list[dict]]:
    """The results of every other profile that has any (the tests' profiles left out), by name."""
    building = get_profile().name
    others = {name: _claims(directive, name) for name in PROFILES if name not in (building, *TEST_PROFILES)}
    return {name: claims for name, claims in others.items() if claims}


class ClaimsTable(SphinxDirective):
    """``{claims-table}`` with the option ``:summary-only:`` to leave out the per-test tables."""

    has_content = False
    option_spec: ClassVar = {"summary-only": directives.flag}

    def run(self) -> list[nodes.Node]:
        profile = get_profile().name
        root = Path(self.env.srcdir)
        claims = _claims(self)
        page_dir = (root / self.env.docname).parent
        prefix = Path("/".join([".."] * len(page_dir.relative_to(root).parts))).as_posix() + "/"
        with_details = "summary-only" not in self.options
        text = dashboard(claims, profile, prefix=prefix, with_details=with_details, others=_other_profiles(self))
        return _parse_markdown(self, text, "claims-table")


def _parse_markdown(directive: SphinxDirective, text: str, source: str) -> list[nodes.Node]:
    container = nodes.container()
    directive.state.nested_parse(StringList(text.splitlines(), source=source), directive.content_offset, container)
    return [container]


class OtherProfiles(SphinxDirective):
    """``{other-profiles} N``: claim ``N`` as every other profile with results found it (tests and figures).

    Nothing where no other profile has results for the claim.
    """

    has_content = False
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        number = int(self.arguments[0])
        root = Path(self.env.srcdir)
        prefix = "../" * len(Path(self.env.docname).parent.parts)
        sections = []
        for name, claims in _other_profiles(self).items():
            for claim in (c for c in claims if c["claim"] == number):
                found = (root / "figures" / name).glob(f"claim{number}_*.png")
                figures = sorted(p.relative_to(root).as_posix() for p in found)
                sections.append(other_profile_section(claim, figures, prefix))
        return _parse_markdown(self, "\n\n".join(sections), "other-profiles") if sections else []


class ProvenanceTable(SphinxDirective):
    """``{provenance-table}``: per claim, the commit, lock, versions, device, CPU and wall time of its numbers."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return _parse_markdown(self, provenance_table(_claims(self)), "provenance-table")


class ProfilesTable(SphinxDirective):
    """``{profiles-table}``: every setting of every run profile, with its kind, from ``tdgen.profiles``."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return _parse_markdown(self, profiles_table(), "profiles-table")


class ProfileDifferences(SphinxDirective):
    """``{profile-differences}``: the settings (and kinds) in which the profiles differ."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return _parse_markdown(self, profiles_table(differences_only=True), "profile-differences")


class BuildEnvironment(SphinxDirective):
    """``{build-environment}``: the machine and package versions the book was built with."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return _parse_markdown(self, environment_table(), "build-environment")


def _read_dashboards_last(app: Sphinx, env, docnames: list[str]) -> None:
    for page in PAGES:
        if page in docnames:
            docnames.remove(page)
            docnames.append(page)


def _always_reread(app: Sphinx, env, added, changed, removed) -> list[str]:
    return [page for page in PAGES if page in env.found_docs]


def _drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Keep the first of scripts with the same source and attributes.

    The copies may differ in priority, and an inline script's filename may be ``None`` or ``""``.
    """
    seen: set[tuple] = set()
    unique = []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", script) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.add_directive("claims-table", ClaimsTable)
    app.add_directive("other-profiles", OtherProfiles)
    app.add_directive("provenance-table", ProvenanceTable)
    app.add_directive("profiles-table", ProfilesTable)
    app.add_directive("profile-differences", ProfileDifferences)
    app.add_directive("build-environment", BuildEnvironment)
    app.connect("env-before-read-docs", _read_dashboards_last)
    app.connect("env-get-outdated", _always_reread)
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
