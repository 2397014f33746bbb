"""A case, its violations and its steps as the rules read and write them: named fields, not rows.

The reading functions turn a row into its record; the inserts take a record and bind its fields in the order
the statement names them (queries.CASE_INSERT_FIELDS, queries.STEP_INSERT_FIELDS). Every change of a case goes
through `bump` (the If-Match version check that also locks the case), writes its status history (`history`) and
its audit event (`audit`) in the same transaction; what happened to a step is announced with `announce_step`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit as audit_trail
from backend.core import events
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import Conflict, NotFound
from backend.enforcement import queries
from backend.enforcement.models import StepFields

OBJECT_TYPE = "enforcement_case"


class CaseRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    object_id: UUID | None  # the establishment
    location_id: UUID | None
    regime: str
    wijk: str
    team_id: str | None
    status: str
    version: int
    opened_at: datetime
    kenmerk: str  # the reference on its letters (migrations/0083)

    @property
    def target_id(self) -> UUID:
        """The establishment, or the location when there is none: what the case is about."""
        target = self.object_id or self.location_id
        assert target is not None  # a case has one of them (database check)
        return target


class ViolationRecord(msgspec.Struct, frozen=True, kw_only=True):
    violation_id: UUID
    inspection_id: UUID
    code: str
    article_key: str
    observed_on: date
    added_at: datetime
    inspector_ids: list[UUID]
    checklist_version_id: UUID
    employee_class: str | None
    employee_class_source: str | None


class StepRecord(StepFields, frozen=True, kw_only=True):
    case_id: UUID
    deviation_reason: str | None
    due_on: date | None
    observed_on: date | None
    forfeited_cents: int | None
    forfeited_units: int | None
    forfeited_on: date | None
    assignment_id: UUID | None  # a hercontrole: the follow-up inspection planned
    outcome_source: str | None
    outcome_inspection_id: UUID | None  # a hercontrole: the follow-up inspection that set its outcome
    late: bool | None
    late_excused: bool | None
    addressee: dict[str, Any] | None
    letter_sha256: str | None
    approved_sha256: str | None
    approved_letter_on: date | None
    drafted_by: UUID
    approved_at: datetime | None
    created_at: datetime
    sent_on: date | None
    withdrawn_on: date | None
    dispatch: str | None = None  # a sent letter's: 'email' or 'post'
    letter_posted_on: date | None = None  # a letter for post: the day the back office posted it

    def made_known_on(self, emailed_on: date | None = None) -> date | None:
        """The day a sent step's letter was made known (Awb 3:41): the day of sending, or a later day it left: when
        the back office posted it (a letter for post, or one whose e-mail failed) or when the mail server took its
        e-mail after retries (`emailed_on`, Awb 2:17). The bezwaar term counts from it (6:8)."""
        if self.sent_on is None:
            return None
        return max(day for day in (self.sent_on, self.letter_posted_on, emailed_on) if day is not None)


class NewCase(msgspec.Struct, frozen=True, kw_only=True):
    """A case to open (queries.INSERT_CASE_IF_NONE_OPEN); the field names are its columns."""

    id: UUID
    establishment_id: UUID | None
    location_id: UUID | None
    regime: str
    wijk: str
    team_id: str | None
    opened_by: UUID


class NewStep(msgspec.Struct, kw_only=True):
    """A step to insert (queries.INSERT_STEP), filled in while it is drafted; the field names are its columns."""

    id: UUID
    case_id: UUID
    type: str
    status: str
    drafted_by: UUID
    decision: str | None = None
    related_step_id: UUID | None = None
    violation_ids: list[UUID] = []
    document_text: str | None = None
    amount_cents: int | None = None
    weeks: int | None = None
    months: int | None = None
    order_text: str | None = None
    begunstiging_days: int | None = None
    dwangsom_cents: int | None = None
    dwangsom_unit: str | None = None
    dwangsom_max_cents: int | None = None
    zienswijze_weeks: int | None = None
    proposal: dict[str, Any] | None = None
    deviation_reason: str | None = None
    behaviour: str | None = None
    assignment_id: UUID | None = None
    due_on: date | None = None
    received_on: date | None = None
    late: bool | None = None
    posted_on: date | None = None


# --- reading --------------------------------------------------------------------------------------------------


def case_record(row: asyncpg.Record) -> CaseRecord:
    return msgspec.convert(dict(row), CaseRecord)


async def violations(conn: asyncpg.Connection, case_id: UUID) -> list[ViolationRecord]:
    return [msgspec.convert(dict(row), ViolationRecord) for row in await conn.fetch(queries.CASE_VIOLATIONS, case_id)]


async def steps(conn: asyncpg.Connection, case_id: UUID) -> list[StepRecord]:
    return [step_record(row) for row in await conn.fetch(queries.STEP_RECORDS, case_id)]


def step_record(row: asyncpg.Record) -> StepRecord:
    return msgspec.convert(dict(row), StepRecord)


async def related_step(conn: asyncpg.Connection, case_id: UUID, step_id: UUID) -> StepRecord | None:
    row = await conn.fetchrow(queries.GET_STEP, step_id, case_id)
    return None if row is None else step_record(row)


async def step(conn: asyncpg.Connection, case_id: UUID, step_id: UUID) -> StepRecord:
    found = await related_step(conn, case_id, step_id)
    if found is None:
        raise NotFound("No such step in this case.")
    return found


async def rests_on(conn: asyncpg.Connection, case_id: UUID, step: StepRecord) -> list[ViolationRecord]:
    """The case's violations the step rests on."""
    ids = set(step.violation_ids)
    return [v for v in await violations(conn, case_id) if v.violation_id in ids]


# --- writing --------------------------------------------------------------------------------------------------


async def insert_case(tx: asyncpg.Connection, case: NewCase) -> UUID | None:
    """The new case's id; None when its target has an open case of the regime already."""
    opened: UUID | None = await tx.fetchval(
        queries.INSERT_CASE_IF_NONE_OPEN, *(getattr(case, name) for name in queries.CASE_INSERT_FIELDS)
    )
    return opened


async def insert_step(tx: asyncpg.Connection, step: NewStep) -> UUID:
    await tx.fetchval(queries.INSERT_STEP, *(getattr(step, name) for name in queries.STEP_INSERT_FIELDS))
    return step.id


async def bump(
    tx: asyncpg.Connection,
    case: CaseRecord,
    version: int | None,
    *,
    status: str | None = None,
    team_id: str | None = None,
) -> int:
    """Move the case's version when it is still `version` (None: whatever it is), which also locks the case."""
    new_version: int | None = await tx.fetchval(queries.BUMP, case.id, version, status, team_id)
    if new_version is None:
        if case.status == "closed":
            raise Conflict("The case is closed; it no longer changes.", code="case_closed")
        raise stale(case.version)
    return new_version


async def lock(tx: asyncpg.Connection, case_id: UUID, *, team_id: str | None = None) -> None:
    """Move the version of a case changed by the system (no client version): locks it like `bump`."""
    await tx.fetchval(queries.BUMP, case_id, None, None, team_id)


async def history(
    tx: asyncpg.Connection,
    case_id: UUID,
    status: str,
    principal: Principal | None,
    *,
    result: str | None = None,
    reason: str | None = None,
) -> None:
    await tx.execute(queries.INSERT_HISTORY, case_id, status, result, reason, principal.user_id if principal else None)


async def audit(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    action: str,
    request_id: str | None,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await audit_trail.record_user_action(
        tx,
        principal,
        OBJECT_TYPE,
        case_id,
        action,
        request_id=request_id,
        reason=reason,
        before=before,
        after=after,
    )


async def announce_step(
    tx: asyncpg.Connection, principal: Principal, what: str, case: CaseRecord, step_id: UUID, request_id: str | None
) -> None:
    """Announce `step.<what>` (sent, withdrawn) in the transaction that did it: the step, with its case and the
    case's target, in the case's regime."""
    happened = events.event(
        f"step.{what}",
        actor=principal.user_id,
        subject_type="step",
        subject_id=step_id,
        related={"case": case.id, "object": case.target_id},
        regimes=[case.regime],
        request_id=request_id,
    )
    await events.announce(tx, happened, principal)
