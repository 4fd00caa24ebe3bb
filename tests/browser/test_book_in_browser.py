"""The built book as a reader meets it: links resolve, images load, no JavaScript errors, no page shows
a warning, a traceback or a path of the building machine, and the notebooks link into the API reference.

Runs on the HTML book named by ``TDGEN_BOOK_HTML`` (``make check-book`` sets it to the
book ``make book`` built in ``_build/html``).  The link and text checks need only Python (what a
page must not show: :mod:`page_checks`, itself tested on fake pages in ``test_page_checks.py``); the
page checks open the book in headless Chromium, served from 127.0.0.1, and save screenshots
to ``<book>/../screenshots/``.  They are skipped, with the reason, when Chromium or
chromedriver is missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from page_checks import page_problems, text_problems

import tdgen

BOOK_ENV = "TDGEN_BOOK_HTML"
BOOK = Path(os.environ[BOOK_ENV]).resolve() if os.environ.get(BOOK_ENV) else None
pytestmark = pytest.mark.skipif(
    BOOK is None or not (BOOK / "index.html").exists(),
    reason=f"no built book: set {BOOK_ENV} to a built _build/html (make check-book does this after make book)",
)
PAGES = {
    "landing": "book/intro.html",
    "notebook": "notebooks/02_td_fitting_order.html",
    "reproducing": "book/reproducing.html",
    "api": "book/api/science.html",
}
REPOSITORY = str(BOOK.parent.parent) if BOOK else ""  # the book is built in <repository>/_build/html
API = "book/api"


class _References(HTMLParser):
    """Collects ids and the local targets of href/src attributes of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value and not urlsplit(value).scheme and not value.startswith("//"):
                self.targets.append(value)


@functools.cache
def _parse(page: Path) -> _References:
    parser = _References()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    return parser


def test_internal_links_and_anchors_resolve():
    broken = []
    for page in sorted(BOOK.rglob("*.html")):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        for target in _parse(page).targets:
            parts = urlsplit(target)
            destination = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if destination.is_dir():
                destination = destination / "index.html"
            if not destination.exists():
                broken.append(f"{page.relative_to(BOOK)} → {target} (missing file)")
            elif parts.fragment and destination.suffix == ".html" and parts.fragment not in _parse(destination).ids:
                broken.append(f"{page.relative_to(BOOK)} → {target} (missing anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def _pages() -> list[Path]:
    return [page for page in sorted(BOOK.rglob("*.html")) if "_static" not in page.parts]


def test_no_page_shows_a_warning_a_traceback_or_a_path_of_the_building_machine():
    shown = {
        str(page.relative_to(BOOK)): problems
        for page in _pages()
        if (problems := page_problems(page.read_text(encoding="utf-8", errors="replace"), REPOSITORY))
    }
    assert not shown, "pages that show what a reader must not see:\n" + "\n".join(
        f"{name}: {problem}" for name, problems in shown.items() for problem in problems
    )


def _documented_modules() -> dict[str, str]:
    """Every tdgen module with a source file, and the API page that must document it: its layer's (tdgen.LAYERS)."""
    package = Path(tdgen.__file__).resolve().parent
    pages = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        layer = next(
            name
            for name, members in tdgen.LAYERS
            if any(module == m or (m != "tdgen" and module.startswith(m + ".")) for m in members)
        )
        pages[module] = "index" if module == "tdgen" else layer.replace(" ", "_")
    return pages


def test_the_api_reference_documents_every_module_on_its_layers_page():
    missing = []
    for module, page in _documented_modules().items():
        html = BOOK / API / f"{page}.html"
        if not html.exists() or f"module-{module}" not in _parse(html).ids:
            missing.append(f"{module} (on {API}/{page}.html)")
    assert not missing, "modules the API reference leaves out of their layer's page: " + ", ".join(missing)


def test_every_notebook_page_links_to_entries_of_the_api_reference():
    """Each notebook names the tdgen functions it calls with links to their entries (whether those resolve:
    test_internal_links_and_anchors_resolve)."""
    api = (BOOK / API).resolve()
    notebooks = sorted((BOOK / "notebooks").glob("*.html"))
    assert notebooks, "no notebook pages"
    unlinked = []
    for page in notebooks:
        entries = []
        for target in _parse(page).targets:
            parts = urlsplit(target)
            if (page.parent / unquote(parts.path)).resolve().parent == api and parts.fragment.startswith("tdgen."):
                entries.append(parts.fragment)
        if not entries:
            unlinked.append(page.name)
    assert not unlinked, f"notebook pages with no link to an entry (#tdgen.…) of the API reference ({API}): {unlinked}"


def test_every_notebook_page_has_a_colab_launch_button():
    for page in sorted((BOOK / "notebooks").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        expected = "colab.research.google.com/github/".lower()
        assert expected in html.lower(), f"{page.name} has no Open-in-Colab link"
        assert f"notebooks/{page.stem}.ipynb" in html, f"{page.name}'s Colab link does not open the paired .ipynb"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(BOOK))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip(
            "Chromium or chromedriver not found: install them (Debian/Ubuntu: apt-get install chromium "
            "chromium-driver) to open the book in a real browser"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_window_size(1300, 1000)
    yield driver
    driver.quit()


def _is_ignorable(message: str) -> bool:
    """A resource from another host this (possibly offline) machine could not fetch, e.g. MathJax's CDN,
    or the favicon browsers ask for on their own."""
    failed_fetch = "Failed to load resource" in message
    return failed_fetch and ("127.0.0.1" not in message or "/favicon.ico" in message)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_errors(name, server, browser):
    browser.get(f"{server}/{PAGES[name]}")
    shown = browser.execute_script("return document.body.innerText;")
    outputs = browser.execute_script(
        "return Array.from(document.querySelectorAll('.cell_output')).map(e => e.innerText).join('\\n');"
    )
    broken_images = browser.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);"
    )
    errors = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not _is_ignorable(entry["message"])
    ]
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1300, min(int(height), 12000))
    shots = BOOK.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    browser.save_screenshot(str(shots / f"{name}.png"))
    browser.set_window_size(1300, 1000)
    assert browser.title, "page has no title"
    assert not broken_images, f"images that did not load: {broken_images}"
    assert not errors, f"JavaScript errors: {errors}"
    problems = text_problems(shown, outputs, REPOSITORY)
    assert not problems, f"the page shows what a reader must not see: {problems}"


def test_reproducing_page_shows_where_each_claims_numbers_came_from():
    import json

    html = (BOOK / "book" / "reproducing.html").read_text(encoding="utf-8")
    profile = os.environ.get("TDGEN_PROFILE", "quick")
    claims = sorted((BOOK.parent.parent / "results" / profile).glob("claim*.json"))
    assert "Where each claim" in html, "the Reproducing page has no provenance section"
    assert claims, f"no results files of the {profile} profile next to the book"
    for path in claims:
        commit = (json.loads(path.read_text()).get("provenance") or {}).get("commit")
        assert commit and commit[:10] in html, f"{path.name}'s commit is not on the Reproducing page"
