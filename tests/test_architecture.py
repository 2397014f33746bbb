"""The shape of the code: dependencies between feature folders point one way. Every module of backend/ is
parsed (not imported) and each import of another feature folder is an edge; any cycle among the folders fails,
named with the modules that close it, so a new cycle is caught at the change that makes it."""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"


def feature_imports(root: Path) -> dict[str, dict[str, str]]:
    """For each feature folder (core included), the folders it imports, each with one module that does it.
    Modules at the top of backend/ (app, cli, reactions, ...) wire the features together and are no feature."""
    folders = {path.name for path in root.iterdir() if (path / "__init__.py").exists()}
    graph: dict[str, dict[str, str]] = defaultdict(dict)
    for module in sorted(root.rglob("*.py")):
        folder = module.relative_to(root).parts[0]
        if folder not in folders:
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            for name in _imported(node):
                parts = name.split(".")
                if len(parts) > 1 and parts[0] == root.name and parts[1] in folders and parts[1] != folder:
                    graph[folder].setdefault(parts[1], str(module.relative_to(root.parent)))
    return graph


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return []


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Every elementary cycle found from each folder, once per set of folders (small graph: a plain search)."""
    found: dict[frozenset[str], list[str]] = {}

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], {})):
            if nxt == path[0]:
                found.setdefault(frozenset(path), [*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle is walked from its smallest folder only
                walk([*path, nxt])

    for start in sorted(graph):
        walk([start])
    return list(found.values())


def describe(graph: dict[str, dict[str, str]], cycle: list[str]) -> str:
    return (
        " -> ".join(cycle) + " (" + "; ".join(f"{graph[a][b]} imports {b}" for a, b in itertools.pairwise(cycle)) + ")"
    )


def test_no_import_cycle_between_feature_folders():
    graph = feature_imports(BACKEND)
    found = [describe(graph, cycle) for cycle in cycles(graph)]
    assert found == [], "import cycles between feature folders:\n" + "\n".join(found)


def test_core_imports_no_feature():
    assert set(feature_imports(BACKEND).get("core", {})) == set()


def test_the_cycle_search_finds_a_cycle_and_names_its_modules(tmp_path):
    """The check itself can fail: two folders importing each other are reported, one-way imports are not."""
    root = tmp_path / "backend"
    for folder, body in {
        "a": "from backend.b import service\n",
        "b": "from backend.a.models import Thing\n",
        "c": "import backend.a.service\n",
    }.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
        (root / folder / "service.py").write_text(body)
    graph = feature_imports(root)
    assert [describe(graph, cycle) for cycle in cycles(graph)] == [
        "a -> b -> a (backend/a/service.py imports b; backend/b/service.py imports a)"
    ]
