"""The records inspections' writing statements take: each field lands in the column of its name.

The records are built with every field holding its own name (a Struct does not check types on construction),
so the bind values the conversion beside the SQL produces can be read against the statement's column lists."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from backend.core.visibility import Visibility
from backend.inspections import queries

ROW_OF_PARAMETER = {"checklists": queries.ChecklistRow, "violations": queries.ViolationRow, "photos": queries.PhotoRow}


def _named(struct: type[msgspec.Struct], **nested: Any) -> Any:
    """An instance of `struct` whose every field holds its own name (or what `nested` gives)."""
    return struct(**{name: nested.get(name, name) for name in struct.__struct_fields__})


def _names(column_list: str) -> list[str]:
    """The column names of "a, b" or of a recordset definition "a uuid, b smallint"."""
    return [part.split()[0] for part in column_list.split(",")]


def _recordsets(sql: str) -> dict[int, list[str]]:
    """Parameter number -> the columns of `jsonb_to_recordset($n::jsonb) AS x(...)` (the widest one per number)."""
    found: dict[int, list[str]] = {}
    for number, columns in re.findall(r"jsonb_to_recordset\(\$(\d+)::jsonb\)\s*AS \w+\(([^)]*)\)", sql):
        if len(_names(columns)) > len(found.get(int(number), [])):
            found[int(number)] = _names(columns)
    return found


def test_insert_binds_the_new_inspection_in_its_column_order() -> None:
    new = _named(queries.NewInspection, fields=_named(queries.InspectionFields))
    args = queries.insert_args(new)
    match = re.search(r"INSERT INTO inspection \(([^)]*)\)\s*VALUES \(([^)]*)\)", queries.INSERT)
    assert match is not None
    columns, values = _names(match.group(1)), [value.strip() for value in match.group(2).split(",")]
    assert values == [f"${number}" for number in range(1, len(columns) + 1)]
    assert list(args[: len(columns)]) == columns
    assert columns[4:] == list(queries.InspectionFields.__struct_fields__)
    revision = re.search(r"INSERT INTO inspection_revision \(([^)]*)\)\s*SELECT ([^\n]*) FROM ins", queries.INSERT)
    assert revision is not None
    for column, value in zip(_names(revision.group(1)), _names(revision.group(2)), strict=True):
        if value.startswith("$"):
            assert args[int(value[1:]) - 1] == {"body_sha256": "body_sha256", "body": "body"}[column]
    recordsets = _recordsets(queries.INSERT)
    assert len(recordsets) == 3
    for number, columns in recordsets.items():
        assert columns == list(ROW_OF_PARAMETER[args[number - 1]].__struct_fields__)
    assert args[len(args) - 1] == "audit_events" and "$28" in queries.INSERT and "$29" not in queries.INSERT


def test_correct_binds_the_fields_in_its_column_order() -> None:
    args = queries.correct_args("id", "base_revision", _named(queries.InspectionFields))  # type: ignore[arg-type]
    assignments = re.findall(r"(\w+) = \$(\d+)", queries.CORRECT)
    assert {column for column, _ in assignments if column not in ("id", "revision")} == set(
        queries.InspectionFields.__struct_fields__
    )
    for column, number in assignments:
        assert args[int(number) - 1] == {"id": "id", "revision": "base_revision"}.get(column, column)
    assert len(args) == len(assignments)


def test_replacing_rows_of_a_correction_reads_the_row_records() -> None:
    assert _recordsets(queries.INSERT_CHECKLISTS) == {2: list(queries.ChecklistRow.__struct_fields__)}
    assert _recordsets(queries.INSERT_VIOLATIONS) == {6: list(queries.ViolationRow.__struct_fields__)}
    assert _recordsets(queries.REPLACE_PHOTOS) == {2: list(queries.PhotoRow.__struct_fields__)}


# Inspections' own tables, the audit trail core writes for every feature, and the statements' own row sources.
OWN_TABLES = {"inspection", "inspection_revision", "inspection_checklist", "inspection_photo", "violation"}
ROW_SOURCES = {"audit_event", "ins", "cl", "vi", "ph", "jsonb_to_recordset", "jsonb_populate_recordset"}


def test_the_statements_touch_only_inspections_tables() -> None:
    """Objects and users are read through the registry's and users' services, not joined here."""
    sql = "\n".join(value for name, value in vars(queries).items() if isinstance(value, str) and name.isupper())
    scope_args = queries.visible_args(_named(Visibility))
    for listing in (queries.INSPECTION_LIST, queries.VIOLATION_LIST):
        sql += listing.page_sql({}, scope_args=scope_args, after=None, limit=1)[0]
    named = set(re.findall(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]\w*)", sql))
    assert named <= OWN_TABLES | ROW_SOURCES, named - OWN_TABLES - ROW_SOURCES
