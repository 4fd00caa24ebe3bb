"""The package's layers (tdgen.LAYERS): no module imports from a layer above its own, and no imports form a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tdgen

PACKAGE = Path(tdgen.__file__).resolve().parent


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tdgen_imports(source: str, name: str, is_package: bool) -> set[str]:
    """Every tdgen module ``source`` imports, at any depth (function bodies too): ``from tdgen.a import b`` names
    ``tdgen.a.b`` when that is a module, else ``tdgen.a``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "tdgen"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.split(".")[0] != "tdgen":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    found.discard(name)
    return found


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """Index of ``module``'s layer in tdgen.LAYERS: the entry naming it, or the subpackage holding it."""
    for index, (_, members) in enumerate(tdgen.LAYERS):
        for member in members:
            if module == member or (member != "tdgen" and module.startswith(member + ".")):
                return index
    raise LookupError(f"{module} is in no layer of tdgen.LAYERS: add it to one")


def graph(modules: dict[str, Path] = MODULES) -> dict[str, set[str]]:
    return {name: tdgen_imports(path.read_text(), name, path.name == "__init__.py") for name, path in modules.items()}


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{a} ({tdgen.LAYERS[layer_of(a)][0]}) imports {b} ({tdgen.LAYERS[layer_of(b)][0]})"
        for a, targets in sorted(edges.items())
        for b in sorted(targets)
        if layer_of(b) > layer_of(a)
    ]


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_every_module_has_a_layer():
    for module in MODULES:
        layer_of(module)


def test_no_module_imports_from_a_layer_above_its_own():
    assert upward_imports(graph()) == []


def test_imports_form_no_cycle():
    assert find_cycle(graph()) is None


def test_the_checks_catch_an_upward_import_and_a_cycle():
    edges = {"tdgen.envs.maze": {"tdgen.rl.runner"}, "tdgen.rl.runner": set()}
    assert upward_imports(edges) == ["tdgen.envs.maze (environments) imports tdgen.rl.runner (reinforcement learning)"]
    assert find_cycle({"tdgen.critical": {"tdgen.spectral"}, "tdgen.spectral": {"tdgen.critical"}}) == [
        "tdgen.critical",
        "tdgen.spectral",
        "tdgen.critical",
    ]
    with pytest.raises(LookupError, match=r"tdgen\.nowhere is in no layer"):
        layer_of("tdgen.nowhere")


def test_imports_are_read_from_function_bodies_and_relative_forms():
    source = "def f():\n    from tdgen.rl import runner\nfrom . import interface\nimport tdgen.stats\n"
    assert tdgen_imports(source, "tdgen.envs", is_package=True) == {
        "tdgen.rl.runner",
        "tdgen.envs.interface",
        "tdgen.stats",
    }


def test_every_package_folder_is_a_regular_package():
    # setuptools' packages.find leaves a folder without __init__.py (a namespace package) out of the wheel,
    # so a pip-installed tdgen (Colab) would lack it even though an editable install finds it.
    folders = {path.parent for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts}
    assert sorted(str(f.relative_to(PACKAGE)) for f in folders if not (f / "__init__.py").exists()) == []
