"""What a built page shows a reader, and what it must not show.

A page must show no Python warning, no traceback and no path of the machine that built the book.
:func:`page_problems` reads one page's HTML and names each such thing it shows.  The visible text
(no scripts, styles or attributes) is checked for tracebacks and the repository's own absolute path;
the text of notebook cell outputs, where stray stderr lands, also for warning lines and for paths of
any machine (``/tmp/``, ``/home/``, ``/root/``, ``/Users/``, ``site-packages``, ``.venv``).  Prose
may name ``.venv`` (the Reproducing page does); an output may not.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
HIDDEN = frozenset({"script", "style", "template", "noscript"})
OUTPUT_CLASSES = frozenset({"cell_output", "output"})  # myst-nb's container of a cell's outputs, and each output

TRACEBACK = "Traceback (most recent call last)"
# A Python warning as warnings.showwarning prints it (``path:line: SomeWarning: message``), or a logging line.
WARNING_LINE = re.compile(r"^.*\b\w*Warning: .*$|^WARNING\b.*$", re.MULTILINE)
# An absolute path of some machine: a home, a temporary folder, an installed package or a virtual environment.
MACHINE_PATH = re.compile(r"(?<![\w.:/-])/(?:tmp|home|root|Users)/\S*|\S*(?:site-packages|dist-packages|\.venv\b)\S*")


class PageText(HTMLParser):
    """The visible text of a page (``text``) and, separately, the text of its cell outputs (``outputs``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._open: list[tuple[str, bool, bool]] = []  # (tag, inside an output, hidden) of each open element
        self._text: list[str] = []
        self._outputs: list[str] = []

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def outputs(self) -> str:
        return "".join(self._outputs)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        in_output, hidden = self._open[-1][1:] if self._open else (False, False)
        classes = set((dict(attrs).get("class") or "").split())
        self._open.append((tag, in_output or bool(classes & OUTPUT_CLASSES), hidden or tag in HIDDEN))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <br/>, <img .../>: no text, nothing opened

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, -1, -1):  # closing a tag closes any left open inside it
            if self._open[depth][0] == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        in_output, hidden = self._open[-1][1:] if self._open else (False, False)
        if hidden:
            return
        self._text.append(data)
        if in_output:
            self._outputs.append(data)


def text_problems(text: str, outputs: str, root: str) -> list[str]:
    """What ``text`` (a page's visible text) and ``outputs`` (its cell outputs' text) show that they must not.

    ``root`` is the absolute path of the repository the book was built in.
    """
    problems = []
    if TRACEBACK in text:
        problems.append(f"a traceback: {_line_with(text, TRACEBACK)}")
    if root and root in text:
        problems.append(f"the repository's path {root}: {_line_with(text, root)}")
    problems += [f"a warning in a cell output: {match.group().strip()}" for match in WARNING_LINE.finditer(outputs)]
    problems += [f"a machine's path in a cell output: {match.group()}" for match in MACHINE_PATH.finditer(outputs)]
    return list(dict.fromkeys(problems))


def page_problems(html: str, root: str) -> list[str]:
    """:func:`text_problems` of one page's HTML."""
    page = PageText()
    page.feed(html)
    page.close()
    return text_problems(page.text, page.outputs, root)


def _line_with(text: str, needle: str) -> str:
    start = text.rfind("\n", 0, text.find(needle)) + 1
    end = text.find("\n", start)
    return text[start : end if end >= 0 else None].strip()[:200]
