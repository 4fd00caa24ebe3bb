"""The locked environment agrees with pyproject.toml, and every copy of the repository URL and ref with its source.

``requirements.lock`` (what ``make`` installs into .venv) and ``requirements-colab.txt`` (what the
notebooks' Colab cell installs) are written by ``make lock``; ``_config.yml``'s ``repository.url`` is
the one repository URL, and ``v<pyproject version>`` the ref the Colab cell installs from.
"""

import re
import tomllib
from itertools import takewhile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-9]_*.py"))


def _pins(path: Path) -> dict[str, tuple[str, int]]:
    """``{name: (version, number of hashes)}`` of a requirements file written by uv."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    pins = {}
    for entry in re.split(r"\n(?=\S)", text):
        if match := re.match(r"([A-Za-z0-9][\w.-]*)==([^\s\\;]+)", entry):
            pins[canonicalize_name(match[1])] = (match[2], entry.count("--hash=sha256:"))
    return pins


def _header(path: Path) -> str:
    return "".join(takewhile(lambda line: line.startswith("#"), path.read_text().splitlines(keepends=True)))


def test_lock_pins_pyproject_dependencies_and_extras_book_and_test() -> None:
    pins = _pins(ROOT / "requirements.lock")
    assert all(hashes for _, hashes in pins.values()), "pip --require-hashes needs a hash for every pin"
    extras = PYPROJECT["optional-dependencies"]
    for line in [*PYPROJECT["dependencies"], *extras["book"], *extras["test"]]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), f"{name}=={version} breaks {line!r}"


@pytest.mark.parametrize("name", ["requirements.lock", "requirements-colab.txt"])
def test_lock_files_name_the_command_that_regenerates_them(name: str) -> None:
    assert "make lock" in _header(ROOT / name)
    assert re.search(r"^lock:", (ROOT / "Makefile").read_text(), re.MULTILINE)


def test_colab_requirements_pin_the_locked_versions_with_jax_for_cuda() -> None:
    lock, colab = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-colab.txt")
    moved = {name: (lock[name][0], version) for name, (version, _) in colab.items() if name in lock}
    assert all(a == b for a, b in moved.values()), moved
    assert colab["jax-cuda12-plugin"][0] == colab["jaxlib"][0] == lock["jax"][0]
    assert not {"ipykernel", "ipython", "jupyter-book", "pandas"} & colab.keys(), "Colab keeps its own"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_colab_cell_installs_from_the_repository_at_this_release(notebook: Path) -> None:
    cell = notebook.read_text().split("# %%")[1]
    assert cell.startswith(' tags=["remove-cell"]') and "google.colab" in cell
    match = re.search(r'REPO, REF = "([^"]+)", "([^"]+)"', cell)
    assert match, "the Colab cell sets REPO, REF"
    assert match.groups() == (REPOSITORY, f"v{PYPROJECT['version']}")
    assert "requirements-colab.txt" in cell and "--no-deps" in cell


def test_repository_url_and_version_agree_with_their_sources() -> None:
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["repository-code"] == PYPROJECT["urls"]["Repository"] == REPOSITORY
    assert citation["version"] == PYPROJECT["version"]
    assert citation["license"] == PYPROJECT["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
