"""Bulk import of establishments from a municipal register export (CSV), over HTTP and `toezicht import objects`.

The file: UTF-8 (a BOM is fine), semicolon-separated, a header row with exactly the columns in COLUMNS (any
order, case-insensitive). Every row is checked, and every bad cell is reported with its line and column.
All-or-nothing by default: one bad row and nothing is stored. With `partial` the good rows are stored and
the bad ones reported. Duplicates (same name at the same address, within the file or against an active
establishment) are bad rows. Good rows go in with one COPY; the import is one audit event.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec

from backend.core import audit
from backend.core.errors import Conflict, Unprocessable
from backend.core.ids import new_id
from backend.registry import queries
from backend.registry.models import KINDS, REGIMES, ImportIssue, ImportReport, ObjectWrite
from backend.registry.service import normalise_addition, normalise_postcode, object_problems, object_row

DELIMITER = ";"

# CSV column -> ObjectWrite field.
COLUMNS = {
    "naam": "name",
    "handelsnaam": "trade_name",
    "straat": "street",
    "huisnummer": "house_number",
    "toevoeging": "house_number_addition",
    "postcode": "postcode",
    "plaats": "city",
    "wijk": "wijk",
    "kvk": "kvk_number",
    "soort": "kind",
    "werknemers": "employee_class",
    "toezichtniveau": "supervision_level",
    "regimes": "regimes",
    "lat": "latitude",
    "lon": "longitude",
}
COLUMN_OF = {field: column for column, field in COLUMNS.items()}
_FIELD_TYPES = {field.name: field.type for field in msgspec.structs.fields(ObjectWrite)}

# Clearer words than the validator's for the values people get wrong most.
_REASONS = {
    "postcode": "not a Dutch postcode (1234 AB)",
    "kvk": "a KvK number has 8 digits",
    "soort": f"unknown kind; one of: {', '.join(sorted(KINDS))}",
    "regimes": f"comma-separated regimes, at least one of: {', '.join(sorted(REGIMES))}",
    "huisnummer": "a house number is a whole number from 1 to 99999",
    "lat": "a latitude in the Netherlands (50.7 to 53.6)",
    "lon": "a longitude in the Netherlands (3.3 to 7.3)",
}


class ImportRejected(Unprocessable):
    """Nothing was stored; the report says why (the routes answer it as problem+json with the report)."""

    def __init__(self, detail: str, *, code: str, report: ImportReport) -> None:
        super().__init__(detail, code=code)
        self.report = report


# --- cells -----------------------------------------------------------------------------------------------


def _optional(cell: str) -> str | None:
    return cell or None


def _number(cell: str) -> Any:
    return int(cell) if cell.isdigit() else cell


def _decimal(cell: str) -> Any:
    """Dutch spreadsheets write 52,0907; others 52.0907."""
    if not cell:
        return None
    try:
        return float(cell.replace(",", "."))
    except ValueError:
        return cell


def _employee_class(cell: str) -> str:
    if not cell.isdigit():
        raise ValueError("the number of employees, a whole number")
    return "under_50" if int(cell) < 50 else "50_or_more"


def _supervision(cell: str) -> str:
    level = {"regulier": "regular", "verscherpt": "verscherpt"}.get(cell.lower())
    if level is None:
        raise ValueError("regulier or verscherpt")
    return level


def _regimes(cell: str) -> list[str]:
    return [part.strip().lower() for part in cell.split(",") if part.strip()]


# CSV column -> cell text to the value ObjectWrite validates (ValueError: a reason for the report).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "handelsnaam": _optional,
    "toevoeging": _optional,
    "kvk": _optional,
    "huisnummer": _number,
    "plaats": lambda cell: cell or "Utrecht",
    "soort": str.lower,
    "werknemers": _employee_class,
    "toezichtniveau": _supervision,
    "regimes": _regimes,
    "lat": _decimal,
    "lon": _decimal,
}


class _Row(msgspec.Struct):
    line: int
    data: ObjectWrite


def _check_row(
    line: int, cells: dict[str, str], wijken: frozenset[str], wijk_names: dict[str, str]
) -> tuple[ObjectWrite | None, list[ImportIssue]]:
    """The row as an ObjectWrite, or every issue it has."""
    values: dict[str, Any] = {}
    issues: list[ImportIssue] = []
    for column, field in COLUMNS.items():
        cell = cells[column].strip()
        if "\x00" in cell:
            issues.append(ImportIssue(row=line, column=column, reason="contains a NUL character"))
            continue
        try:
            values[field] = _PARSERS.get(column, str)(cell)
        except ValueError as exc:
            issues.append(ImportIssue(row=line, column=column, reason=str(exc)))
    if "wijk" in values:
        values["wijk"] = wijk_names.get(values["wijk"].lower(), values["wijk"])
    if issues:
        return None, issues + _cell_issues(line, values)
    try:
        data = msgspec.convert(values, ObjectWrite)
    except msgspec.ValidationError:
        return None, _cell_issues(line, values)
    problems = object_problems(data, wijken)
    return (None if problems else data), [
        ImportIssue(row=line, column=COLUMN_OF[p.pointer.lstrip("/")] if p.pointer else None, reason=p.detail)
        for p in problems
    ]


def _cell_issues(line: int, values: dict[str, Any]) -> list[ImportIssue]:
    """Each value checked on its own, so a row reports all its bad cells rather than the first."""
    issues = []
    for field, value in values.items():
        try:
            msgspec.convert(value, _FIELD_TYPES[field])
        except msgspec.ValidationError as exc:
            column = COLUMN_OF[field]
            reason = str(exc) if value == "" else _REASONS.get(column, str(exc))
            issues.append(ImportIssue(row=line, column=column, reason="empty" if value == "" else reason))
    return issues


# --- the file --------------------------------------------------------------------------------------------


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        report = _report(
            0,
            0,
            [ImportIssue(row=line, reason=f"byte 0x{content[exc.start]:02X} is not UTF-8; export the file as UTF-8")],
            stored=False,
        )
        raise ImportRejected("The file is not UTF-8 text.", code="csv_encoding", report=report) from None


def _header(reader: Any) -> list[str]:
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    issues = [ImportIssue(row=1, column=c, reason="missing column") for c in missing]
    issues += [ImportIssue(row=1, column=c, reason="unknown column") for c in unknown]
    issues += [ImportIssue(row=1, column=c, reason="column appears twice") for c in repeated]
    if issues:
        hint = " Columns are separated by semicolons." if len(header) == 1 and "," in header[0] else ""
        raise ImportRejected(
            f"The header must name exactly these columns: {DELIMITER.join(COLUMNS)}.{hint}",
            code="csv_columns",
            report=_report(0, 0, issues, stored=False),
        )
    return header


def _report(rows: int, imported: int, issues: list[ImportIssue], *, stored: bool) -> ImportReport:
    issues.sort(key=lambda issue: issue.row)
    rejected = len({issue.row for issue in issues}) if rows else 0  # a file-level problem rejects no single row
    return ImportReport(rows=rows, imported=imported, rejected=rejected, stored=stored, issues=issues)


def check_file(content: bytes, wijk_rows: list[tuple[str, str]]) -> tuple[int, list[_Row], list[ImportIssue]]:
    """(data rows, the good rows, every issue) of a file; raises ImportRejected for a file it cannot read."""
    wijken = frozenset(code for code, _ in wijk_rows)
    wijk_names = {name.lower(): code for code, name in wijk_rows}
    reader = csv.reader(io.StringIO(_decode(content), newline=""), delimiter=DELIMITER)
    try:
        header = _header(reader)
        good: list[_Row] = []
        issues: list[ImportIssue] = []
        seen: dict[tuple[Any, ...], int] = {}
        rows = 0
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, e.g. at the end
            rows += 1
            if len(cells) != len(header):
                issues.append(ImportIssue(row=line, reason=f"{len(cells)} fields; the header has {len(header)}"))
                continue
            data, row_issues = _check_row(line, dict(zip(header, cells, strict=True)), wijken, wijk_names)
            if data is not None:
                first = seen.setdefault(_duplicate_key(data), line)
                if first != line:
                    row_issues.append(
                        ImportIssue(row=line, column="naam", reason=f"same name and address as row {first}")
                    )
                else:
                    good.append(_Row(line, data))
            issues += row_issues
    except csv.Error as exc:
        raise ImportRejected(
            "The file is not valid CSV.",
            code="csv_malformed",
            report=_report(0, 0, [ImportIssue(row=reader.line_num, reason=str(exc))], stored=False),
        ) from None
    if rows == 0:
        raise ImportRejected(
            "The file has no data rows.",
            code="csv_empty",
            report=_report(0, 0, [ImportIssue(row=1, reason="no data rows")], stored=False),
        )
    return rows, good, issues


def _duplicate_key(data: ObjectWrite) -> tuple[str, int, str, str]:
    """What the unique index establishment_active_address_name_key compares."""
    return (
        normalise_postcode(data.postcode),
        data.house_number,
        normalise_addition(data.house_number_addition) or "",
        data.name.strip().lower(),
    )


async def _already_registered(conn: asyncpg.Connection, good: list[_Row]) -> set[tuple[Any, ...]]:
    keys = [_duplicate_key(row.data) for row in good]
    found = (
        await conn.fetch(queries.EXISTING_ACTIVE_KEYS, *(list(column) for column in zip(*keys, strict=True)))
        if keys
        else []
    )
    return {tuple(record) for record in found}


async def import_objects(
    conn: asyncpg.Connection, content: bytes, *, partial: bool, actor: audit.Actor, request_id: str | None = None
) -> ImportReport:
    """Check the file and store its establishments; must run inside the caller's transaction."""
    wijk_rows = [(r["code"], r["name"]) for r in await conn.fetch("SELECT code, name FROM wijk")]
    rows, good, issues = check_file(content, wijk_rows)
    registered = await _already_registered(conn, good)
    for row in good:
        if _duplicate_key(row.data) in registered:
            issues.append(
                ImportIssue(
                    row=row.line,
                    column="naam",
                    reason="an active object with this name is already registered at this address",
                )
            )
    bad_lines = {issue.row for issue in issues}
    good = [row for row in good if row.line not in bad_lines]
    if issues and not partial:
        raise ImportRejected(
            f"{len(bad_lines)} of {rows} rows have errors; nothing was stored "
            "(send partial=true to store the good rows).",
            code="csv_invalid_rows",
            report=_report(rows, 0, issues, stored=False),
        )
    await _copy(conn, good)
    report = _report(rows, len(good), issues, stored=bool(good))
    await audit.record(
        conn,
        actor=actor,
        action="establishment.imported",
        object_type="establishment_import",
        object_id=new_id(),
        request_id=request_id,
        after={
            "rows": rows,
            "imported": report.imported,
            "rejected": report.rejected,
            "partial": partial,
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )
    return report


async def _copy(conn: asyncpg.Connection, good: list[_Row]) -> None:
    if not good:
        return
    records = [(new_id(), *object_row(row.data)) for row in good]
    try:
        await conn.copy_records_to_table("establishment", records=records, columns=queries.COPY_COLUMNS)
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "An object in the file was registered by someone else meanwhile; nothing was stored. "
            "Import the file again.",
            code="duplicate_object",
        ) from None
