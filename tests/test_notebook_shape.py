"""The notebooks read like short paper sections: at most 450 lines each, no code cell over 40 lines.

Method belongs in tdgen (documented and tested there); a notebook that grows past these limits is
doing the package's job.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))
MAX_LINES, MAX_CELL_LINES = 450, 40


def code_cells(source: str) -> list[list[str]]:
    """The code cells of a jupytext py:percent ``source``: each a list of its lines, without the ``# %%`` line
    and the blank lines that end it."""
    cells = []
    for chunk in re.split(r"(?m)^# %%", source)[1:]:
        header, _, body = chunk.partition("\n")
        if header.strip().startswith("[markdown]"):
            continue
        cells.append(body.rstrip("\n").split("\n"))
    return cells


def test_cells_are_read_from_the_percent_format():
    source = "# %%\nimport x\n\n# %% [markdown]\n# text\n\n# %% tags=['remove-cell']\na = 1\nb = 2\n\n\n"
    assert code_cells(source) == [["import x"], ["a = 1", "b = 2"]]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_short(notebook):
    assert len(notebook.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_no_code_cell_is_long(notebook):
    long = [len(cell) for cell in code_cells(notebook.read_text()) if len(cell) > MAX_CELL_LINES]
    assert long == [], f"code cells of {long} lines (at most {MAX_CELL_LINES})"


def test_every_notebook_is_checked():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
