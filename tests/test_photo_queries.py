"""The records the photos' writing statements take: each field lands in the column of its name (as in
tests/test_inspection_queries.py, the records hold their own field names)."""

from __future__ import annotations

import re

from backend.photos import queries


def _insert(sql: str, table: str) -> tuple[list[str], list[str]]:
    """The column list of `INSERT INTO table (...)` and the values (VALUES or SELECT) given for them."""
    match = re.search(rf"INSERT INTO {table} \(([^)]*)\)\s*(?:VALUES \(|SELECT )([^)\n]*)", sql)
    assert match is not None
    return [c.strip() for c in match.group(1).split(",")], [v.strip() for v in match.group(2).split(",")]


def test_insert_binds_the_new_photo_in_its_column_order() -> None:
    new = queries.NewPhoto(**{name: name for name in queries.NewPhoto.__struct_fields__})
    columns, values = _insert(queries.INSERT, "photo")
    args = queries.insert_args(new)
    assert [args[int(value[1:]) - 1] for value in values] == columns
    assert len(args) == len(columns)


def test_insert_upload_binds_the_new_upload_in_its_column_order() -> None:
    new = queries.NewUpload(**{name: name for name in queries.NewUpload.__struct_fields__})
    columns, values = _insert(queries.INSERT_UPLOAD, "photo_upload")
    args = queries.insert_upload_args(new, 5)
    assert [args[int(value[1:]) - 1] for value in values] == columns
    assert args[len(columns)] == 5 and "$9" in queries.INSERT_UPLOAD and "$10" not in queries.INSERT_UPLOAD
