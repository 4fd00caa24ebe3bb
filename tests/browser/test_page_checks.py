"""The page checks of the built book (page_checks) on small fake pages: they must catch what they are for.

These need no built book: they run with every ``pytest tests/browser``.
"""

from __future__ import annotations

from page_checks import page_problems

ROOT = "/srv/build/tdgen-book"


def _page(body: str) -> str:
    """A page as myst-nb writes one: scripts in the head, a prose section, and the given body."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<script>const THEBE_JS_URL = "https://unpkg.com/thebe"; // Traceback (most recent call last) /tmp/x</script>
<style>.output::before {{ content: "UserWarning: "; }}</style><link rel="stylesheet" href="_static/a.css"></head>
<body><main><section id="claim"><h1>Claim<a class="headerlink" href="#claim">#</a></h1>
<p>Run <code>make book</code>: it creates <code>.venv</code> and reads <a href="/tmp/notes.html">notes</a>.</p>
<div class="admonition warning"><p class="admonition-title">Warning</p><p>Slow on a CPU.</p></div>
<img src="_images/fig.png" alt="figure"/><br/>
{body}
</section></main></body></html>"""


def _output(text: str, stream: str = "stderr") -> str:
    return f"""<div class="cell docutils container"><div class="cell_input docutils container">
<div class="highlight-ipython3 notranslate"><div class="highlight"><pre><span></span>run()</pre></div></div></div>
<div class="cell_output docutils container"><div class="output {stream} highlight-myst-ansi notranslate">
<div class="highlight"><pre><span></span>{text}</pre></div></div></div></div>"""


# The output tqdm.auto printed into notebooks 03–05 of the book before the runner chose its bar itself.
TQDM_WARNING = (
    f"{ROOT}/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found. "
    "Please update jupyter and ipywidgets. See https://ipywidgets.readthedocs.io/en/stable/user_install.html\n"
    "  from .autonotebook import tqdm as notebook_tqdm\n"
)


def test_a_clean_page_passes():
    clean = _page(_output("spectrum of ring (64 states): 64 eigenvalues\nDirichlet energy 0.853\n", "stream"))
    assert page_problems(clean, ROOT) == []


def test_tqdms_warning_with_the_venv_path_fails():
    problems = page_problems(_page(_output(TQDM_WARNING)), ROOT)
    assert any("warning" in p and "TqdmWarning: IProgress not found" in p for p in problems), problems
    assert any("repository's path" in p for p in problems), problems
    assert any("machine's path" in p and "site-packages" in p for p in problems), problems


def test_every_kind_of_warning_line_fails():
    for line in (
        "/tmp/ipykernel_1/123.py:4: UserWarning: the grid is small",
        "<string>:1: DeprecationWarning: jax.tree_map is deprecated",
        "RuntimeWarning: invalid value encountered in divide",
        "WARNING:2026-01-01 jax._src.xla_bridge: An NVIDIA GPU may be present on this machine",
    ):
        problems = page_problems(_page(_output(line + "\n")), ROOT)
        assert any(p.startswith("a warning") for p in problems), (line, problems)


def test_a_traceback_fails_in_an_output_or_in_prose():
    traceback = "Traceback (most recent call last):\n  File &quot;x.py&quot;, line 1\nValueError: boom\n"
    assert any(p.startswith("a traceback") for p in page_problems(_page(_output(traceback)), ROOT))
    prose = _page(f"<pre>{traceback}</pre>")
    assert any(p.startswith("a traceback") for p in page_problems(prose, ROOT))


def test_machine_paths_fail_in_outputs_and_the_repository_path_anywhere():
    for path in ("/home/alice/tdgen/cache", "/root/.cache/jax", "/Users/bob/x.json", "/opt/py/dist-packages/a.py"):
        problems = page_problems(_page(_output(f"cached at {path}\n", "stream")), ROOT)
        assert any(p.startswith("a machine's path") for p in problems), (path, problems)
    in_prose = page_problems(_page(f"<p>The results are in {ROOT}/results/quick.</p>"), ROOT)
    assert any("repository's path" in p for p in in_prose), in_prose
    in_a_link_only = page_problems(_page(f'<p><a href="file://{ROOT}/x">the file</a></p>'), ROOT)
    assert in_a_link_only == [], "an attribute is not shown"


def test_urls_and_relative_paths_in_outputs_pass():
    text = "see https://example.org/home/tmp/page and results/quick/claim3.json, figures/quick/a.png\n"
    assert page_problems(_page(_output(text, "stream")), ROOT) == []
