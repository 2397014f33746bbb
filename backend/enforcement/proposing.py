"""The proposal for a case as the rules use it: the offender's size (the fine column) and where it came from,
then the proposal built from the case's records (proposal.py). Read on its own (GET .../proposal) and kept
with every drafted step, which says why it deviates from it."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.enforcement import proposal, queries, reading, records, rules
from backend.enforcement.models import Proposal
from backend.enforcement.records import CaseRecord, StepRecord, ViolationRecord
from backend.registry import service as registry


async def registered_employee_class(
    conn: asyncpg.Connection, principal: Principal, object_id: UUID | None, day: date
) -> str | None:
    """The registry's employee class of the object on `day` (its history); None for a location."""
    if object_id is None:
        return None
    try:
        return await registry.employee_class_on(conn, principal, object_id, day)
    except NotFound:
        return None


async def _employee_class(conn: asyncpg.Connection, principal: Principal, case: CaseRecord) -> tuple[str, str]:
    """The offender's column of the fine table and where it came from, for the case's newest violation: the
    class recorded when it entered the case (the inspection's answer, else the registry on its date); else the
    registry's class today. A location without a registered object: fewer than 50 assumed (and said so)."""
    recorded = await conn.fetchrow(queries.RECORDED_EMPLOYEE_CLASS, case.id)
    if recorded is not None:
        return recorded["employee_class"], recorded["employee_class_source"] or "registry"
    current = await registered_employee_class(conn, principal, case.object_id, calendar.today())
    return (current, "registry") if current else ("under_50", "assumed")


async def get_proposal(conn: asyncpg.Connection, principal: Principal, case_id: UUID) -> Proposal:
    case = await reading.case(conn, principal, case_id)
    return await proposal_for(
        conn, principal, case, await records.violations(conn, case_id), await records.steps(conn, case_id)
    )


async def proposal_for(
    conn: asyncpg.Connection,
    principal: Principal,
    case: CaseRecord,
    violations: list[ViolationRecord],
    steps: list[StepRecord],
) -> Proposal:
    employee_class, source = await _employee_class(conn, principal, case)
    return await proposal.build(
        conn,
        rules.rulebook(),
        case=case,
        violations=violations,
        steps=steps,
        employee_class=employee_class,
        class_source=source,
    )
