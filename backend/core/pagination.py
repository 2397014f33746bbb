"""Keyset pagination: an opaque cursor that encodes the sort key of the last row a client has seen.

Keyset (not OFFSET) pages stay correct when rows are inserted concurrently, and cost the same on page 1
and page 1000.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from types import GenericAlias
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import asyncpg
import msgspec
from litestar.params import QueryParameter

from backend.core.errors import BadRequest
from backend.core.query_groups import QueryGroup

_MAX_CURSOR_LENGTH = 512
T = TypeVar("T")
# A bigint sort key (e.g. a sequence number) as it may appear in a cursor.
BigintKey = Annotated[int, msgspec.Meta(gt=0, le=2**63 - 1)]
DEFAULT_LIMIT = 50
# Query parameters every list endpoint takes.
PageLimit = Annotated[int, QueryParameter(ge=1, le=200, description="Items per page (1-200)")]
PageCursor = Annotated[
    str | None, QueryParameter(max_length=_MAX_CURSOR_LENGTH, description="`next_cursor` of the previous page")
]


class PageRequest(QueryGroup, frozen=True):
    """Which page of a list a client asks for: the one after `cursor` (none: the first), of at most `limit` items."""

    cursor: PageCursor = None
    limit: PageLimit = DEFAULT_LIMIT


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of a list: its items, and the cursor of the next page (None on the last).

    Each list names its own page (`class CasePage(Page[CaseSummary])`), so the OpenAPI document has one
    clearly named component per list instead of a name built from the item type's module path."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).decode().rstrip("=")


def keyset_page(
    rows: Sequence[Any], limit: int, item: Callable[[Any], T], key: Callable[[T], tuple[Any, ...]]
) -> tuple[list[T], str | None]:
    """A page from the `limit + 1` rows its query asked for: the first `limit` rows as items, and the cursor
    after the last of them (its sort key, `key`) when the extra row shows there is more."""
    items = [item(row) for row in rows[:limit]]
    return items, encode_cursor(*key(items[-1])) if items and len(rows) > limit else None


def decode_cursor(cursor: str | None, shape: type[T]) -> T | None:
    """The sort key a cursor encodes, as `shape` (a tuple type such as `tuple[str, UUID]`), or None for the
    first page. Anything we did not hand out, including well-formed JSON of the wrong types, is a 400."""
    if cursor is None:
        return None
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise ValueError  # PostgreSQL text cannot hold NUL
        return msgspec.convert(values, shape)
    except (ValueError, TypeError, binascii.Error, msgspec.DecodeError, msgspec.ValidationError):
        raise BadRequest("The cursor is not one this API handed out.", code="invalid_cursor") from None


# The Python type of a sort key in a cursor, by the SQL type a KeysetQuery orders by.
_KEY_TYPES: dict[str, Any] = {"timestamptz": datetime, "date": date, "uuid": UUID, "text": str, "bigint": BigintKey}
# A list's filters: as the client gave them, or a mapping the service prepared from them.
Filters = QueryGroup | Mapping[str, Any]


class KeysetQuery(msgspec.Struct, frozen=True):
    """A list's keyset query, declared once beside its SQL: `select` (e.g. "SELECT cols FROM t") restricted to
    what the caller may see (`visible`, using the scope arguments as $1..$n), to each non-None filter
    (`filter_sql[name]` with a `{}` placeholder for its parameter), ordered by the two key columns of
    `order_by` with their SQL types, e.g. (("name", "text"), ("id", "uuid")), ascending or, when
    `newest_first`, descending. A listed item holds its sort key under the columns' names (`c.opened_at`:
    `opened_at`), or under `key_names` where they differ."""

    select: str
    visible: str
    filter_sql: dict[str, str]
    order_by: tuple[tuple[str, str], tuple[str, str]]
    newest_first: bool = False
    key_names: tuple[str, str] | None = None

    def page_sql(
        self, filters: Filters, *, scope_args: Sequence[Any], after: tuple[Any, Any] | None, limit: int
    ) -> tuple[str, list[Any]]:
        """SQL and arguments for one page: the rows after the cursor's key (`after`), at most `limit` of them.
        Only fixed SQL fragments are joined, every value is a bind parameter."""
        args = list(scope_args)
        conditions = [self.visible]
        values = filters.filter_values() if isinstance(filters, QueryGroup) else filters
        for name, value in values.items():
            if value is not None:
                args.append(value)
                conditions.append(self.filter_sql[name].format(f"${len(args)}"))
        (first, first_type), (second, second_type) = self.order_by
        if after is not None:
            args.extend(after)
            beyond = "<" if self.newest_first else ">"
            conditions.append(
                f"({first}, {second}) {beyond} (${len(args) - 1}::{first_type}, ${len(args)}::{second_type})"
            )
        args.append(limit)
        where = " AND ".join(f"({condition})" for condition in conditions)
        direction = " DESC" if self.newest_first else ""
        return f"{self.select} WHERE {where} ORDER BY {first}{direction}, {second}{direction} LIMIT ${len(args)}", args

    async def fetch(
        self,
        conn: asyncpg.Connection,
        filters: Filters,
        *,
        scope_args: Sequence[Any],
        after: tuple[Any, Any] | None,
        limit: int,
    ) -> list[asyncpg.Record]:
        """The rows of one page of `limit` items and one more, by which `keyset_page` sees that a next page exists."""
        sql, args = self.page_sql(filters, scope_args=scope_args, after=after, limit=limit + 1)
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows

    async def page(
        self,
        conn: asyncpg.Connection,
        filters: Filters,
        page: PageRequest,
        *,
        scope_args: Sequence[Any],
        item: Callable[[asyncpg.Record], T],
    ) -> tuple[list[T], str | None]:
        """The page a client asked for: its cursor read as this query's sort key (400 for one we did not hand
        out), at most `page.limit` items made by `item`, and the cursor after the last of them."""
        shape: Any = GenericAlias(tuple, tuple(_KEY_TYPES[sql_type] for _, sql_type in self.order_by))
        after = decode_cursor(page.cursor, shape)
        rows = await self.fetch(conn, filters, scope_args=scope_args, after=after, limit=page.limit)
        names = self.key_names or tuple(column.rsplit(".", 1)[-1] for column, _ in self.order_by)

        def sort_key(last: Any) -> tuple[Any, ...]:
            """The last item's sort key (a record's or a Struct's), as the next page's cursor holds it."""
            if isinstance(last, asyncpg.Record):
                return tuple(last[name] for name in names)
            return tuple(getattr(last, name) for name in names)

        return keyset_page(rows, page.limit, item, sort_key)
