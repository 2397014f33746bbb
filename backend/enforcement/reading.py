"""Reading enforcement: which cases a caller sees, one case in full, the list of cases, the deadlines view.

Visibility: enforcement officers and admins (route guards) see the cases of their regimes; a sex-work case
needs the sexwork regime. Anything else is 404, like a missing case. Who read a sex-work case is audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import BadRequest, NotFound
from backend.core.pagination import PageRequest
from backend.core.visibility import Visibility
from backend.enforcement import next_steps, queries, records
from backend.enforcement.models import (
    Case,
    CaseFilters,
    CasePage,
    CaseSummary,
    DeadlineItem,
    DeadlineQuery,
    DeadlineView,
    LetterDispatch,
)
from backend.enforcement.records import CaseRecord, StepRecord, ViolationRecord
from backend.reports.service import ViolationText, violation_texts

DEADLINE_HORIZON_DAYS = 366


def _scope(principal: Principal) -> tuple[Any, ...]:
    return (Visibility.of(principal).regimes,)


async def _visible(conn: asyncpg.Connection, principal: Principal, case_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(queries.GET_CASE, *_scope(principal), case_id)
    if row is None:
        raise NotFound("No such case.")
    return row


async def case(conn: asyncpg.Connection, principal: Principal, case_id: UUID) -> CaseRecord:
    """The case when the caller may see it; 404 otherwise, as for a case that does not exist."""
    return records.case_record(await _visible(conn, principal, case_id))


async def changing(
    tx: asyncpg.Connection, principal: Principal, case_id: UUID, step_id: UUID, version: int
) -> tuple[CaseRecord, StepRecord]:
    """A step about to change, and its case: visible to the caller, the case's version moved from `version` (412
    when stale), which also locks it."""
    found = await case(tx, principal, case_id)
    await records.bump(tx, found, version)
    return found, await records.step(tx, case_id, step_id)


MailReader = Callable[[asyncpg.Connection, list[UUID]], Awaitable[dict[UUID, LetterDispatch]]]
FailedMailReader = Callable[[asyncpg.Connection], Awaitable[list[UUID]]]


async def _no_mail(conn: asyncpg.Connection, step_ids: list[UUID]) -> dict[UUID, LetterDispatch]:
    return {}


async def _no_failed_mail(conn: asyncpg.Connection) -> list[UUID]:
    return []


_mail_reader: MailReader = _no_mail
_failed_mail_reader: FailedMailReader = _no_failed_mail


def read_mail_with(reader: MailReader, failed: FailedMailReader) -> None:
    """Where the e-mail deliveries of sent letters (mailing.py) come from, and which of them failed for good: the
    outbox's readers, given at start (backend/reactions.py), so this feature does not import the one that depends
    on it."""
    global _mail_reader, _failed_mail_reader
    _mail_reader, _failed_mail_reader = reader, failed


async def failed_mail(conn: asyncpg.Connection) -> list[UUID]:
    """The sent steps whose letter's e-mail failed for good: the back office posts those instead."""
    return await _failed_mail_reader(conn)


async def emailed_on(conn: asyncpg.Connection, step_id: UUID) -> date | None:
    """The day (Europe/Amsterdam) the mail server took the e-mail of this sent step's letter, None while it has
    not (or for a letter not e-mailed): the moment an e-mailed letter is sent (Awb 2:17 lid 1)."""
    found = (await _mail_reader(conn, [step_id])).get(step_id)
    if found is None or found.state != "sent" or found.sent_at is None:
        return None
    return found.sent_at.astimezone(calendar.AMSTERDAM).date()


async def delivery_failed(conn: asyncpg.Connection, step_id: UUID) -> bool:
    """Whether the e-mail of this sent step's letter failed for good."""
    found = (await _mail_reader(conn, [step_id])).get(step_id)
    return found is not None and found.state == "failed"


async def _with_dispatch(conn: asyncpg.Connection, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The step rows with their recorded dispatch ('email', 'post' or None) as a LetterDispatch's fields: an
    e-mail's delivery, and when a letter for post (or whose e-mail failed) was posted."""
    mailed = [step["id"] for step in steps if step["dispatch"] == "email"]
    deliveries = await _mail_reader(conn, mailed) if mailed else {}
    for step in steps:
        posted = {"posted_on": step.pop("letter_posted_on"), "posted_by": step.pop("letter_posted_by")}
        if step["dispatch"] == "email":
            found = deliveries.get(step["id"], LetterDispatch(by="email"))
            step["dispatch"] = {**msgspec.structs.asdict(found), **posted}
        elif step["dispatch"] == "post":
            step["dispatch"] = msgspec.structs.asdict(LetterDispatch(by="post", **posted))
    return steps


def _violation(row: asyncpg.Record, texts: dict[str, ViolationText]) -> dict[str, Any]:
    """A violation with the Dutch words its letters use: the checklist's description and current article."""
    text = texts.get(row["code"])
    return {
        **dict(row),
        "description": text.description if text else None,
        "article": (text.article if text else None) or row["article_key"],
    }


async def view(conn: asyncpg.Connection, principal: Principal, case_id: UUID) -> Case:
    """The case as the API answers it: with its violations (in Dutch words), steps (and their deadlines), status
    history and the steps that may be drafted now."""
    row = await _visible(conn, principal, case_id)
    violations = await conn.fetch(queries.CASE_VIOLATIONS, case_id)
    texts = await violation_texts(conn, principal)
    fields = dict(row)
    fields["violations"] = [_violation(v, texts) for v in violations]
    step_rows = await conn.fetch(queries.CASE_STEPS, case_id)
    fields["steps"] = await _with_dispatch(conn, [dict(s) for s in step_rows])
    fields["history"] = [dict(h) for h in await conn.fetch(queries.CASE_HISTORY, case_id)]
    fields["next_steps"] = await next_steps.draftable(
        conn,
        records.case_record(row),
        [msgspec.convert(dict(v), ViolationRecord) for v in violations],
        [records.step_record(s) for s in step_rows],
    )
    return msgspec.convert(fields, Case)


async def get_case(
    conn: asyncpg.Connection, principal: Principal, case_id: UUID, *, request_id: str | None = None
) -> Case:
    found = await view(conn, principal, case_id)
    if found.regime == "sexwork":
        # Who looked at a sex-work case is logged (DOMAIN.md, sensitive data: every read).
        async with conn.transaction():
            await records.audit(conn, principal, case_id, "read", request_id)
    return found


async def list_cases(
    conn: asyncpg.Connection, principal: Principal, filters: CaseFilters, page: PageRequest
) -> CasePage:
    items, next_cursor = await queries.CASE_LIST.page(
        conn, filters, page, scope_args=_scope(principal), item=lambda row: msgspec.convert(dict(row), CaseSummary)
    )
    return CasePage(items=items, next_cursor=next_cursor)


async def open_cases_at(
    conn: asyncpg.Connection, principal: Principal, *, object_id: UUID | None = None, location_id: UUID | None = None
) -> CasePage:
    """The newest open cases of an establishment or a location (a page of at most 100: a target has a few)."""
    at = CaseFilters(open_=True, object_id=object_id, location_id=location_id)
    return await list_cases(conn, principal, at, PageRequest(limit=100))


async def deadlines(conn: asyncpg.Connection, principal: Principal, query: DeadlineQuery) -> DeadlineView:
    """What expires from today up to `until` (default: the coming seven days), and what is overdue."""
    today = calendar.today()
    until, limit = query.until or today + timedelta(days=7), query.limit
    if until < today:
        raise BadRequest("`until` is before today.", code="invalid_date_range")
    if until > today + timedelta(days=DEADLINE_HORIZON_DAYS):
        raise BadRequest(f"`until` is at most {DEADLINE_HORIZON_DAYS} days ahead.", code="invalid_date_range")
    rows = await conn.fetch(queries.DEADLINES, *_scope(principal), today, until, limit)
    items = [msgspec.convert(dict(row), DeadlineItem) for row in rows]
    return DeadlineView(
        today=today, until=until, expiring=[i for i in items if not i.overdue], overdue=[i for i in items if i.overdue]
    )
