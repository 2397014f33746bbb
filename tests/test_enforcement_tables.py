"""A feature's SQL touches only its own tables: every statement in backend/enforcement names enforcement_ tables
only; what it needs of users, inspections or the registry it asks their services for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ENFORCEMENT = Path(__file__).resolve().parent.parent / "backend" / "enforcement"
# A table after the keywords that name one (functions such as jsonb_to_recordset(...) are no table).
TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_][a-z0-9_]*)\b(?!\s*\()")


def tables_named(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.search(r"\bSELECT\b|\bINSERT\b|\bUPDATE\b", node.value)
        ):
            found |= set(TABLE.findall(node.value))
    return found


def test_enforcement_sql_names_only_enforcement_tables():
    named = {path.name: tables_named(path.read_text(encoding="utf-8")) for path in sorted(ENFORCEMENT.glob("*.py"))}
    foreign = {name: sorted(t for t in tables if not t.startswith("enforcement_")) for name, tables in named.items()}
    assert {name: tables for name, tables in foreign.items() if tables} == {}
    assert {"enforcement_case", "enforcement_step", "enforcement_deadline"} <= set().union(*named.values())


def test_the_check_finds_another_features_table():
    sql = 'X = "SELECT display_name FROM app_user WHERE id = $1"\nY = "SELECT * FROM jsonb_to_recordset($1)"'
    assert tables_named(sql) == {"app_user"}
