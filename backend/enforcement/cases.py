"""Cases: opened by a reviewed inspection with violations or by hand, merged, closed.

A reviewed inspection with violations opens a case per law (the regime of its checklists, or the regime the
sanction rules file it under: NIX18 violations are Alcoholwet offences and go to the alcohol case), or adds to
the open case of its target and regime (violations_reviewed, in reaction to inspection.reviewed, in the review's
transaction; the partial unique index keeps one open case per target and regime under concurrency).
Officers open, merge and close cases by hand with a reason. A new case is announced as `case.opened`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.core import events
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import Conflict, NotFound, invalid
from backend.core.events import Event
from backend.core.ids import new_id
from backend.enforcement import hercontrole, proposing, queries, reading, records, rules
from backend.enforcement.models import Case, CaseClose, CaseMerge, CaseOpen
from backend.enforcement.records import NewCase
from backend.inspections import service as inspections
from backend.registry import service as registry


async def on_inspection_reviewed(tx: asyncpg.Connection, reviewed: Event, principal: Principal) -> None:
    """Reaction to inspection.reviewed: the inspection in full, as the reviewer sees it, goes to the cases."""
    inspection = await inspections.get_inspection(tx, principal, reviewed.subject_id)
    await inspection_reviewed(tx, principal, inspection, request_id=reviewed.request_id)


async def inspection_reviewed(
    tx: asyncpg.Connection, principal: Principal, inspection: Any, *, request_id: str | None
) -> None:
    """A coordinator reviewed `inspection` (in its transaction): its violations go to the cases, and when it was
    the planned hercontrole of a last onder dwangsom, its findings set that hercontrole's outcome."""
    if inspection.violations:
        await violations_reviewed(tx, principal, inspection, request_id=request_id)
    if inspection.assignment_id is not None:
        await hercontrole.inspected(tx, principal, inspection, request_id)


def _answered_employee_class(book: rules.RuleBook, inspection: Any) -> str | None:
    """The offender's size as the inspector recorded it on the day (BB-01, per the sanction rules), if answered."""
    for checklist in inspection.checklists:
        for question, classes in book.employee_class_answers.items():
            if checklist.answers.get(question) in classes:
                answered: str = classes[checklist.answers[question]]
                return answered
    return None


async def violations_reviewed(
    tx: asyncpg.Connection, principal: Principal, inspection: Any, *, request_id: str | None
) -> list[UUID]:
    """A coordinator reviewed `inspection` (the inspections feature's full view, in its transaction): its
    violations open a case per law (the regime the sanction rules file them under), or join the open case of
    the target and that regime. Returns the cases."""
    book = rules.rulebook()
    by_regime: dict[str, list[dict[str, Any]]] = {}
    present = sorted({*inspection.inspector_ids, inspection.submitted_by})
    answered = _answered_employee_class(book, inspection)
    for violation in inspection.violations:
        employee_class: str | None = answered
        source: str | None = "inspection"
        if answered is None:
            employee_class = await proposing.registered_employee_class(
                tx, principal, violation.object_id, violation.observed_on
            )
            source = "registry" if employee_class else None
        found_under = inspection.checklists[violation.checklist].regime
        regime = book.case_regime(found_under)
        rule = book.rule(found_under, violation.code)
        article = rule.article if rule else rules.article_key(msgspec.to_builtins(violation.article))
        by_regime.setdefault(regime, []).append(
            {
                "violation_id": str(violation.id),
                "inspection_id": str(inspection.id),
                "establishment_id": str(violation.object_id) if violation.object_id else None,
                "location_id": str(violation.location_id) if violation.location_id else None,
                "code": violation.code,
                "article_key": article,
                "observed_on": violation.observed_on.isoformat(),
                "inspector_ids": [str(user_id) for user_id in present],
                "checklist_version_id": str(violation.checklist_version_id),
                "employee_class": employee_class,
                "employee_class_source": source,
            }
        )
    cases = []
    for regime, rows in sorted(by_regime.items()):
        case_id, opened = await _open_or_lock(tx, principal, inspection, regime)
        added = await tx.fetch(queries.ADD_VIOLATIONS, case_id, rows)
        await records.lock(tx, case_id, team_id=inspection.team_id)
        if opened:
            await _announce_opened(
                tx, principal, case_id, inspection.object_id or inspection.location_id, regime, request_id
            )
        await records.audit(
            tx,
            principal,
            case_id,
            "violations_added",
            request_id,
            after={
                "inspection_id": str(inspection.id),
                "opened": opened,
                "violation_ids": sorted(str(row["violation_id"]) for row in added),
            },
        )
        cases.append(case_id)
    return cases


async def _open_or_lock(
    tx: asyncpg.Connection, principal: Principal, inspection: Any, regime: str
) -> tuple[UUID, bool]:
    target = inspection.object_id or inspection.location_id
    new = NewCase(
        id=new_id(),
        establishment_id=inspection.object_id,
        location_id=inspection.location_id,
        regime=regime,
        wijk=inspection.wijk,
        team_id=inspection.team_id,
        opened_by=principal.user_id,
    )
    case_id = await records.insert_case(tx, new)
    if case_id is not None:
        await records.history(
            tx, case_id, "open", principal, reason=f"inspection {inspection.id} reviewed with violations"
        )
        return case_id, True
    case_id = await tx.fetchval(queries.LOCK_OPEN_CASE, target, regime)
    if case_id is None:  # the open case was closed between our insert and the lock: open a new one
        return await _open_or_lock(tx, principal, inspection, regime)
    return case_id, False


async def _announce_opened(
    tx: asyncpg.Connection, principal: Principal, case_id: UUID, target: UUID, regime: str, request_id: str | None
) -> None:
    """case.opened, once the case holds what opened it: related "object" is its establishment or location."""
    opened = events.event(
        "case.opened",
        actor=principal.user_id,
        subject_type="case",
        subject_id=case_id,
        related={"object": target},
        regimes=[regime],
        request_id=request_id,
    )
    await events.announce(tx, opened, principal)


async def open_case(tx: asyncpg.Connection, principal: Principal, data: CaseOpen, *, request_id: str | None) -> Case:
    if (data.object_id is None) == (data.location_id is None):
        raise invalid("/object_id", "give exactly one of object_id and location_id")
    if not principal.sees_regime(data.regime):
        raise invalid("/regime", "not one of your regimes")
    try:
        if data.object_id is not None:
            target: Any = await registry.get_object(tx, principal, data.object_id)
        else:
            assert data.location_id is not None
            target = await registry.get_location(tx, principal, data.location_id, request_id=request_id)
    except NotFound:
        pointer = "/object_id" if data.object_id is not None else "/location_id"
        raise invalid(pointer, "no such object" if data.object_id else "no such location") from None
    if data.regime not in target.regimes:
        raise invalid("/regime", f"the target is not supervised under {data.regime}")
    reason = data.reason.strip()
    regime = rules.rulebook().case_regime(data.regime)
    new = NewCase(
        id=new_id(),
        establishment_id=data.object_id,
        location_id=data.location_id,
        regime=regime,
        wijk=target.wijk,
        team_id=None,
        opened_by=principal.user_id,
    )
    case_id = await records.insert_case(tx, new)
    if case_id is None:
        raise Conflict("The target has an open case of this regime already; add to that one.", code="case_already_open")
    await records.history(tx, case_id, "open", principal, reason=reason)
    await records.audit(
        tx,
        principal,
        case_id,
        "opened",
        request_id,
        reason=reason,
        after={
            "regime": regime,
            "object_id": str(data.object_id) if data.object_id else None,
            "location_id": str(data.location_id) if data.location_id else None,
        },
    )
    await _announce_opened(tx, principal, case_id, target.id, regime, request_id)
    return await reading.view(tx, principal, case_id)


async def close_case(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    data: CaseClose,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    case = await reading.case(tx, principal, case_id)
    if case.status == "closed":
        raise Conflict("The case is closed already.", code="case_closed")
    if await tx.fetchval(queries.CLOSE, case_id, data.result, None, version) is None:
        raise stale(case.version)
    await tx.execute(queries.END_PROCEDURE_DEADLINES, case_id)
    reason = data.reason.strip()
    await records.history(tx, case_id, "closed", principal, result=data.result, reason=reason)
    await records.audit(
        tx,
        principal,
        case_id,
        "closed",
        request_id,
        reason=reason,
        before={"status": case.status},
        after={"status": "closed", "result": data.result},
    )
    return await reading.view(tx, principal, case_id)


async def merge_cases(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    data: CaseMerge,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    """Move the source case's violations into this case and close the source with result 'merged'."""
    if data.source_case_id == case_id:
        raise invalid("/source_case_id", "a case is not merged into itself")
    case = await reading.case(tx, principal, case_id)
    try:
        source = await reading.case(tx, principal, data.source_case_id)
    except NotFound:
        raise invalid("/source_case_id", "no such case") from None
    book = rules.rulebook()
    if book.case_regime(source.regime) != book.case_regime(case.regime):
        raise invalid("/source_case_id", f"a {source.regime} case; this case is {case.regime} (another law)")
    await records.bump(tx, case, version)
    if source.status == "closed":
        raise Conflict("The source case is closed; it cannot be merged.", code="case_closed")
    if await tx.fetchval(queries.HAS_STEPS, data.source_case_id):
        raise Conflict("The source case has steps; it is merged only before any step.", code="case_has_steps")
    if await tx.fetchval(queries.CLOSE, data.source_case_id, "merged", case_id, data.source_version) is None:
        raise stale(source.version)
    await tx.execute(queries.MOVE_VIOLATIONS, data.source_case_id, case_id)
    reason = data.reason.strip()
    await records.history(tx, data.source_case_id, "closed", principal, result="merged", reason=reason)
    await records.audit(
        tx,
        principal,
        data.source_case_id,
        "merged",
        request_id,
        reason=reason,
        after={"status": "closed", "result": "merged", "merged_into": str(case_id)},
    )
    await records.audit(
        tx,
        principal,
        case_id,
        "merged_in",
        request_id,
        reason=reason,
        after={"source_case_id": str(data.source_case_id)},
    )
    return await reading.view(tx, principal, case_id)
