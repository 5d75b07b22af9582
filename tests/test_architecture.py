"""The house shows its architecture: the layers hold (import-linter's contracts in pyproject.toml), no module
imports itself back through others, and each package says in its first lines what it owns and stays small
enough to read."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "plugin"
MAX_FILES_PER_FOLDER = 14  # "about a dozen": a folder that grows past this wants splitting


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), type-checking imports included."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_circles() -> None:
    graph = grimp.build_graph("plugin", exclude_type_checking_imports=False)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="c")
    graph.add_import(importer="c", imported="a")
    assert _cycles(graph) == [["a", "b", "c"]]


def _packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py") if "__pycache__" not in p.parts)


def test_each_package_says_what_it_owns() -> None:
    # imported rather than parsed with ``ast``: CPython 3.11's AST converter shares a recursion counter between
    # threads, and the tests' worker threads compile templates meanwhile
    names = [".".join(p.relative_to(ROOT).parts) for p in _packages()]
    silent = [name for name in names if not (importlib.import_module(name).__doc__ or "").strip()]
    assert not silent, f"packages without a docstring in __init__.py: {silent}"


def test_no_folder_holds_more_than_about_a_dozen_files() -> None:
    crowded = {str(p.relative_to(ROOT)): n for p in _packages() if p.parent != ROOT
               and (n := len([f for f in p.glob("*.py") if f.name != "__init__.py"])) > MAX_FILES_PER_FOLDER}
    assert not crowded, crowded
