"""Publishing versioned template files (checklists, letters) from a directory, the same way for each kind.

Each file is read as JSON and published in its own transaction by the feature's `publish`, so a refused file
stores nothing and does not stop the others; two files defining the same template are refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import asyncpg
import jsonschema_rs
import msgspec

from backend.core import audit
from backend.core.errors import FieldError, Unprocessable

MAX_SCHEMA_PROBLEMS = 50


class TemplateProblem(msgspec.Struct, frozen=True):
    """One reason a template is refused: `pointer` (RFC 6901) into the template document."""

    pointer: str
    detail: str


class TemplateInvalid(Exception):
    """The template is refused; `problems` say where and why."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        super().__init__("; ".join(f"{p.pointer or '/'}: {p.detail}" for p in problems))
        self.problems = problems


def refused(detail: str, code: str, problems: list[tuple[str, str]]) -> Unprocessable:
    """The 422 refusing a template, one field error per (pointer, detail)."""
    return Unprocessable(detail, code=code, errors=[FieldError(detail=d, pointer=p) for p, d in problems])


def checked_content(
    tx: asyncpg.Connection, document: Any, check: Callable[[Any], dict[str, Any]], *, detail: str, code: str
) -> dict[str, Any]:
    """The content `check` makes of the document, or the 422 (`detail`, `code`) with the problems it found."""
    if not tx.is_in_transaction():
        raise RuntimeError("publish runs inside the caller's transaction, so a refusal can roll back what it began")
    try:
        return check(document)
    except TemplateInvalid as exc:
        raise refused(detail, code, [(p.pointer, p.detail) for p in exc.problems]) from None


def next_version(latest: asyncpg.Record | None) -> int:
    """The number the next version gets, after the `latest` row (None: the template has no version yet)."""
    return latest["version"] + 1 if latest is not None else 1


@functools.cache
def schema_validator(path: Path) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")), validate_formats=True)


def schema_problems(
    schema: Path, document: Any, hint: Callable[[list[Any]], str | None] = lambda _path: None
) -> list[TemplateProblem]:
    """The document's JSON Schema errors (at most MAX_SCHEMA_PROBLEMS), by pointer; `hint` may explain an error
    from its schema path."""
    problems = []
    for error in schema_validator(schema).iter_errors(document):
        where = "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in error.instance_path)
        extra = hint(list(error.schema_path))
        problems.append(TemplateProblem(where, _short(error.message) + (f" ({extra})" if extra else "")))
        if len(problems) >= MAX_SCHEMA_PROBLEMS:
            break
    return sorted(problems, key=lambda p: p.pointer)


def _short(message: str) -> str:
    # jsonschema_rs quotes the offending instance; a whole section quoted back helps nobody.
    return message if len(message) <= 300 else message[:297] + "..."


class FileUnreadable(Exception):
    """A template file that is not UTF-8 JSON; the message says why (with line and column)."""


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FileUnreadable("the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise FileUnreadable(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def template_files(directory: Path) -> list[Path]:
    """The *.json templates in `directory`, in name order. A few small local files, listed and read (`read_json`)
    on the event loop's thread: publishing a directory is a command-line step, never part of a request."""
    return sorted(directory.glob("*.json"))


def content_sha256(content: Mapping[str, Any]) -> str:
    """Hash of the canonical JSON (sorted keys): equal content gives an equal hash, whatever the layout."""
    return hashlib.sha256(msgspec.json.encode(content, order="sorted")).hexdigest()


@dataclass
class FileReport:
    """What publishing one file did, for the CLI to print."""

    file: str
    outcome: Literal["published", "unchanged", "refused"]
    key: str | None = None
    version: int | None = None
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        name = self.key or self.file
        if self.outcome == "refused":
            return [f"{name} ({self.file}): refused"] + [f"  {problem}" for problem in self.problems]
        verb = "published" if self.outcome == "published" else "unchanged, latest is"
        return [f"{name} ({self.file}): {verb} v{self.version}"]


Publish = Callable[..., Awaitable[Any]]


async def publish_files(
    conn: asyncpg.Connection,
    paths: list[Path],
    *,
    identity: str,
    publish: Publish,
    load: Callable[[Path], Any] = read_json,
) -> list[FileReport]:
    """Publish each file with `publish(tx, document, actor=..., published_by=None, request_id=None)`, whose
    result has `outcome` and `version.version`; `identity` is the member naming the template (key, kind)."""
    reports: list[FileReport] = []
    defined_in: dict[str, str] = {}
    for path in paths:
        reports.append(await _publish_file(conn, path, identity, publish, load, defined_in))
    return reports


async def _publish_file(
    conn: asyncpg.Connection,
    path: Path,
    identity: str,
    publish: Publish,
    load: Callable[[Path], Any],
    defined_in: dict[str, str],
) -> FileReport:
    try:
        document = load(path)
    except FileUnreadable as exc:
        return FileReport(path.name, "refused", problems=[f"/: {exc}"])
    name = document.get(identity) if isinstance(document, dict) and isinstance(document.get(identity), str) else None
    if name is not None and name in defined_in:
        return FileReport(
            path.name, "refused", name, problems=[f"/{identity}: template {name} is also defined in {defined_in[name]}"]
        )
    if name is not None:
        defined_in[name] = path.name
    try:
        async with conn.transaction():
            result = await publish(conn, document, actor=audit.Actor(label="cli"), published_by=None, request_id=None)
    except Unprocessable as exc:
        problems = [f"{error.pointer or '/'}: {error.detail}" for error in exc.errors or []]
        return FileReport(path.name, "refused", name, problems=[exc.detail, *problems])
    return FileReport(path.name, result.outcome, name, result.version.version)
