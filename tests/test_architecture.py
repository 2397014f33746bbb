"""The shape of the code: dependencies between feature folders point one way, and a feature's SQL names only the
tables its migrations create. Every module of backend/ is parsed (not imported): each import of another feature
folder is an edge, and any cycle among the folders fails, named with the modules that close it, so a new cycle is
caught at the change that makes it; each table another feature owns that a folder's SQL names is a crossing."""

from __future__ import annotations

import ast
import itertools
import re
from collections import defaultdict
from pathlib import Path

import pytest

BACKEND = Path(__file__).resolve().parent.parent / "backend"
MIGRATIONS = BACKEND.parent / "migrations"


def feature_folders(root: Path) -> set[str]:
    """The feature folders, core included. Modules at the top of backend/ (app, cli, reactions, the demo loaders)
    wire the features together and are no feature."""
    return {path.name for path in root.iterdir() if (path / "__init__.py").exists()}


def feature_imports(root: Path) -> dict[str, dict[str, str]]:
    """For each feature folder (core included), the folders it imports, each with one module that does it."""
    folders = feature_folders(root)
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


def fake_backend(tmp_path: Path, module: str, bodies: dict[str, str]) -> Path:
    """A backend/ with a feature folder per entry of `bodies`, each with one module of that text."""
    root = tmp_path / "backend"
    for folder, body in bodies.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
        (root / folder / module).write_text(body)
    return root


def test_the_cycle_search_finds_a_cycle_and_names_its_modules(tmp_path):
    """The check itself can fail: two folders importing each other are reported, one-way imports are not."""
    root = fake_backend(
        tmp_path,
        "service.py",
        {
            "a": "from backend.b import service\n",
            "b": "from backend.a.models import Thing\n",
            "c": "import backend.a.service\n",
        },
    )
    graph = feature_imports(root)
    assert [describe(graph, cycle) for cycle in cycles(graph)] == [
        "a -> b -> a (backend/a/service.py imports b; backend/b/service.py imports a)"
    ]


def hand_written_pages(root: Path) -> list[str]:
    """Classes outside core/pagination.py that declare a list page's two fields themselves instead of naming a
    `Page[Item]`."""
    found = []
    for module in sorted(root.rglob("*.py")):
        if module == root / "core" / "pagination.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                declared = {
                    item.target.id
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                }
                if {"items", "next_cursor"} <= declared:
                    found.append(f"{module.relative_to(root.parent)}: {node.name}")
    return found


def test_every_list_page_is_a_page_of_its_items():
    """One shape for a page of a list (core.pagination.Page), so each list answers alike and the OpenAPI
    document names each page after its list."""
    assert hand_written_pages(BACKEND) == []


# --- each feature's SQL names only its own tables -------------------------------------------------------------

# Which folder owns the tables a migration creates. A migration named after its folder (0009_enforcement.sql,
# 0042_sync_feed_purge.sql) needs no entry; the others are named here, and the foundation names each table's.
MIGRATION_OWNERS: dict[str, str | dict[str, tuple[str, ...]]] = {
    "0001_foundation.sql": {
        "app_user": ("users",),
        "idempotency_key": ("core",),
        # The trail: core.audit appends to it inside every feature's transaction; the audit folder reads it.
        "audit_event": ("core", "audit"),
        "wijk": ("registry",),
    },
    "0031_employee_class_history.sql": "registry",
    "0040_photo_uploads.sql": "photos",
    "0050_letter_templates.sql": "letters",
    "0051_letters_in_procedure.sql": "registry",  # object_addressee: who receives an object's letters
}

CREATE_TABLE = re.compile(r"\bCREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.IGNORECASE)
# Where SQL names a table (keywords in capitals, as our SQL writes them; prose says "from" in lower case).
SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE|USING)\s+(?:ONLY\s+)?(\w+)")


def table_owners(
    migrations: Path, folders: set[str], declared: dict[str, str | dict[str, tuple[str, ...]]] = MIGRATION_OWNERS
) -> dict[str, set[str]]:
    """Each table the migrations create, with the folders that own it."""
    owners: dict[str, set[str]] = {}
    for migration in sorted(migrations.glob("*.sql")):
        created = CREATE_TABLE.findall(migration.read_text(encoding="utf-8"))
        owner = declared.get(migration.name, migration.stem.split("_")[1])
        assert not created or isinstance(owner, dict) or owner in folders, (
            f"{migration.name} creates {created}: name the folder that owns them in MIGRATION_OWNERS"
        )
        for table in created:
            owners[table] = set(owner[table]) if isinstance(owner, dict) else {owner}
    return owners


def sql_crossings(root: Path, owners: dict[str, set[str]]) -> dict[tuple[str, str], str]:
    """(folder, table) for each table of another folder that a string in the folder's modules names as a table
    (queries.py and any other SQL), each with one module that does it."""
    folders = feature_folders(root)
    found: dict[tuple[str, str], str] = {}
    for module in sorted(root.rglob("*.py")):
        folder = module.relative_to(root).parts[0]
        if folder not in folders:
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for table in SQL_TABLE.findall(node.value):
                    if table in owners and folder not in owners[table]:
                        found.setdefault((folder, table), str(module.relative_to(root.parent)))
    return found


def test_a_features_sql_names_only_its_own_tables():
    """Features use each other through their service functions, never through another feature's SQL, so each
    feature's rules about its data stay in one place."""
    crossings = sql_crossings(BACKEND, table_owners(MIGRATIONS, feature_folders(BACKEND)))
    found = sorted(f"{module} names {table}" for (_folder, table), module in crossings.items())
    assert found == [], "SQL of a feature naming another feature's tables:\n" + "\n".join(found)


def test_the_table_check_finds_a_crossing_and_names_its_module(tmp_path):
    """The check itself can fail: a folder naming another's table is reported; its own tables, a CTE and prose
    are not."""
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_a.sql").write_text("CREATE TABLE thing (id uuid);\nCREATE TABLE thing_part (id uuid);\n")
    (migrations / "0002_b_more.sql").write_text("CREATE TABLE other (id uuid);\n")
    (migrations / "0003_c_rules.sql").write_text("ALTER TABLE thing ADD COLUMN x int;\n")
    root = fake_backend(
        tmp_path,
        "queries.py",
        {
            "a": 'SQL = "SELECT * FROM thing JOIN thing_part USING (id)"\n',
            "b": 'def f():\n    """Reads from thing."""\n    return "WITH thing AS (SELECT 1) DELETE FROM thing_part"'
            "\n",
            "c": "LOOKUP = f\"SELECT id FROM {'x'} JOIN other o ON true\"\n",
        },
    )
    owners = table_owners(migrations, feature_folders(root), declared={})
    assert owners == {"thing": {"a"}, "thing_part": {"a"}, "other": {"b"}}
    assert sql_crossings(root, owners) == {
        ("b", "thing_part"): "backend/b/queries.py",
        ("c", "other"): "backend/c/queries.py",
    }
    # A migration that names no folder must be declared.
    (migrations / "0004_misc.sql").write_text("CREATE TABLE loose (id uuid);\n")
    with pytest.raises(AssertionError, match=re.escape("0004_misc.sql creates ['loose']")):
        table_owners(migrations, feature_folders(root), declared={})
    assert table_owners(migrations, feature_folders(root), declared={"0004_misc.sql": "c"})["loose"] == {"c"}


def names_bound_twice(source: str) -> list[str]:
    """Module-level names a module binds more than once (functions, classes, assignments): the later one silently
    replaces the earlier, so a reader who finds the first reads the wrong one."""
    bound: defaultdict[str, int] = defaultdict(int)
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound[node.name] += 1
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound[target.id] += 1
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound[node.target.id] += 1
    return sorted(name for name, count in bound.items() if count > 1)


def test_no_module_binds_a_top_level_name_twice():
    twice = {
        str(path.relative_to(BACKEND)): names
        for path in sorted(BACKEND.rglob("*.py"))
        if (names := names_bound_twice(path.read_text()))
    }
    assert twice == {}


def test_a_name_bound_twice_is_found():
    assert names_bound_twice('MOVE = "a"\nOTHER = 1\nMOVE = "a"\n') == ["MOVE"]
