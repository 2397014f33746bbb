"""A complaint's changes: its state along TRANSITIONS (service.py), its handler, an inspection planned from it,
and the record that the reporter was informed another way (after an e-mail to them failed, or of the answer when
they left no e-mail address)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from backend.complaints import queries, reference, service
from backend.complaints.models import (
    AssignHandler,
    Complaint,
    InformReporter,
    PlanInspection,
    PlannedInspection,
    Reject,
    Reopen,
    Resolve,
    Transition,
)
from backend.complaints.service import CLOSED_STATES, HANDLERS, TRANSITIONS
from backend.core import audit, calendar, events
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import Conflict, FieldProblems, NotFound, invalid
from backend.planning import service as planning
from backend.planning.models import AssignmentCreate
from backend.registry import service as registry
from backend.registry.models import LocationCreate
from backend.users import service as users
from backend.users.models import Regime


def _check_transition(current: str, target: str) -> None:
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise Conflict(
            f"A {current} complaint cannot become {target}; it can become: {', '.join(sorted(allowed))}.",
            code="transition_not_allowed",
        )


async def _changeable(tx: asyncpg.Connection, principal: Principal, complaint_id: UUID, version: int) -> asyncpg.Record:
    row = await service.visible_row(tx, principal, complaint_id)
    if row["version"] != version:
        raise stale(row["version"])
    return row


async def _move(
    tx: asyncpg.Connection,
    principal: Principal,
    row: asyncpg.Record,
    target: str,
    *,
    reason: str | None,
    request_id: str | None,
    outcome: str | None = None,
    answer: str | None = None,
    forwarded_to: str | None = None,
    resolution_due_on: date | None = None,
    assignment_id: UUID | None = None,
) -> asyncpg.Record:
    """Apply one allowed state change: the row, its history entry and the audit event, in the caller's tx."""
    updated = await tx.fetchrow(
        queries.TRANSITION,
        row["id"],
        row["version"],
        row["state"],
        target,
        outcome,
        answer,
        forwarded_to,
        target in CLOSED_STATES,
        resolution_due_on,
    )
    if updated is None:
        raise stale(row["version"])
    await tx.execute(
        queries.INSERT_TRANSITION,
        row["id"],
        row["state"],
        target,
        principal.user_id,
        reason,
        outcome,
        answer,
        forwarded_to,
        assignment_id,
    )
    after: dict[str, Any] = {"state": target}
    for key, value in (
        ("outcome", outcome),
        ("forwarded_to", forwarded_to),
        ("assignment_id", str(assignment_id) if assignment_id else None),
        ("resolution_due_on", resolution_due_on.isoformat() if resolution_due_on else None),
    ):
        if value is not None:
            after[key] = value
    if answer is not None:
        after["answered"] = True  # the answer's text stays out of the audit trail (it is addressed to a person)
    await audit.record_user_action(
        tx,
        principal,
        "complaint",
        row["id"],
        target,
        request_id=request_id,
        reason=reason,
        before={"state": row["state"]},
        after=after,
    )
    # Answering (resolved or rejected) and reopening move the complaint in and out of its handling term.
    if target in CLOSED_STATES:
        await events.announce(tx, service.event("complaint.answered", principal, updated, request_id), principal)
    elif target == "reopened":
        await events.announce(tx, service.event("complaint.reopened", principal, updated, request_id), principal)
    return updated


def _check_answer(row: asyncpg.Record, answer: str | None, required: str) -> None:
    """An answer closing the complaint (resolved or rejected) is required when the reporter wants feedback, and
    refused when they do not: it is addressed to them (422 on /answer, nothing stored)."""
    problems = FieldProblems()
    if answer is not None and not row["wants_feedback"]:
        problems.add(
            "/answer", "the reporter asked for no feedback; close the complaint without an answer", "no_feedback_wanted"
        )
    if answer is None and row["wants_feedback"]:
        problems.add("/answer", required, "answer_required")
    problems.raise_if_any()


async def transition(
    tx: asyncpg.Connection,
    principal: Principal,
    complaint_id: UUID,
    data: Transition,
    *,
    version: int,
    request_id: str | None,
) -> Complaint:
    row = await _changeable(tx, principal, complaint_id, version)
    target = data.__struct_config__.tag
    assert isinstance(target, str)  # every Transition class is tagged with the state it leads to (models.py)
    _check_transition(row["state"], target)
    reason = data.reason.strip() if data.reason else None
    changes: dict[str, Any] = {}
    if isinstance(data, Resolve):
        _check_answer(row, data.answer, "the reporter wants feedback: give the answer sent to them")
        changes = {"outcome": data.outcome, "answer": data.answer}
    elif isinstance(data, Reject):
        # The acknowledgement promised the reporter word once their complaint is dealt with; forwarding it is that.
        _check_answer(
            row,
            data.answer,
            "the reporter wants feedback: tell them what happened (forwarded to whom, or why the municipality "
            "does not handle it)",
        )
        changes = {"forwarded_to": data.forwarded_to.strip(), "answer": data.answer}
    elif isinstance(data, Reopen):
        category = reference.categories().get(row["category"])
        if category is not None:  # a category dropped from the data keeps its last date
            changes = {"resolution_due_on": calendar.add_working_days(calendar.today(), category.handling_working_days)}
    updated = await _move(tx, principal, row, target, reason=reason, request_id=request_id, **changes)
    return await service.view(tx, principal, updated)


async def assign_handler(
    tx: asyncpg.Connection,
    principal: Principal,
    complaint_id: UUID,
    data: AssignHandler,
    *,
    version: int,
    request_id: str | None,
) -> Complaint:
    row = await _changeable(tx, principal, complaint_id, version)
    problems = FieldProblems()
    try:
        user = await users.get_user(tx, data.handler_id)
    except NotFound:
        problems.add("/handler_id", "no such user")
    else:
        if not user.active:
            problems.add("/handler_id", "this user is deactivated")
        elif not set(user.roles) & set(HANDLERS):
            problems.add("/handler_id", "this user is not a complaint handler")
        elif row["regime"] is not None and row["regime"] not in user.regimes:
            problems.add("/handler_id", f"this handler is not scoped for regime {row['regime']}")
    problems.raise_if_any()
    updated = await tx.fetchrow(queries.SET_HANDLER, complaint_id, version, data.handler_id)
    if updated is None:
        raise stale(row["version"])
    await audit.record_user_action(
        tx,
        principal,
        "complaint",
        complaint_id,
        "handler_assigned",
        request_id=request_id,
        before={"handler_id": str(row["handler_id"]) if row["handler_id"] else None},
        after={"handler_id": str(data.handler_id)},
    )
    return await service.view(tx, principal, updated)


async def _plan_target(
    tx: asyncpg.Connection,
    principal: Principal,
    row: asyncpg.Record,
    data: PlanInspection,
    regimes: list[Regime],
    request_id: str | None,
) -> tuple[UUID | None, UUID | None]:
    """(object_id, location_id) of the assignment: the complaint's object, the given location, or a location
    made from the complaint's address."""
    if row["object_id"] is not None:
        if data.location_id is not None:
            raise invalid("/location_id", "the complaint concerns an object: the inspection targets it")
        return row["object_id"], None
    if data.location_id is not None:
        return None, data.location_id
    if row["street"] is None:
        raise invalid("/location_id", "the complaint has no address: give a location_id (POST /api/v1/locations)")
    location = await registry.create_location(
        tx,
        principal,
        LocationCreate(
            street=row["street"],
            house_number=row["house_number"],
            house_number_addition=row["house_number_addition"],
            postcode=row["postcode"],
            city=row["city"],
            wijk=row["wijk"],
            latitude=row["latitude"],
            longitude=row["longitude"],
            description="Adres uit een klachtmelding",
            regimes=regimes,
        ),
        request_id=request_id,
    )
    return None, location.id


async def plan_inspection(
    tx: asyncpg.Connection,
    principal: Principal,
    complaint_id: UUID,
    data: PlanInspection,
    *,
    version: int,
    request_id: str | None,
) -> PlannedInspection:
    """Plan an inspection (an assignment with reason complaint that knows the complaint) and move the complaint
    to inspection_planned, in one transaction. The planning rules (team, regimes, checklists, inspectors,
    window) are planning's own."""
    row = await _changeable(tx, principal, complaint_id, version)
    _check_transition(row["state"], "inspection_planned")
    # The regimes are not tied to the complaint's: neighbours' complaints are a trigger of checks for illegal
    # prostitution (research/domain.md 4.2), whatever category they were filed under. Planning checks that the
    # planner is scoped for them; the complaint shows the result only to callers who may see them (service.py).
    regimes = list(data.regimes) if data.regimes else ([row["regime"]] if row["regime"] else [])
    if not regimes:
        raise invalid("/regimes", "the complaint's category has no regime: give the regimes to inspect")
    object_id, location_id = await _plan_target(tx, principal, row, data, regimes, request_id)
    assignment = await planning.create_assignment(
        tx,
        principal,
        AssignmentCreate(
            object_id=object_id,
            location_id=location_id,
            team_id=data.team_id,
            regimes=regimes,
            checklist_version_ids=data.checklist_version_ids,
            planned_from=data.planned_from,
            planned_to=data.planned_to,
            inspector_ids=data.inspector_ids,
            reason="complaint",
            partners=data.partners,
            notes=data.notes,
        ),
        request_id=request_id,
        complaint_id=complaint_id,
    )
    updated = await _move(
        tx, principal, row, "inspection_planned", reason=None, request_id=request_id, assignment_id=assignment.id
    )
    return PlannedInspection(complaint=await service.view(tx, principal, updated), assignment=assignment)


async def inform_reporter(
    tx: asyncpg.Connection,
    principal: Principal,
    complaint_id: UUID,
    data: InformReporter,
    *,
    version: int,
    request_id: str | None,
) -> Complaint:
    """Records that the handler informed the reporter another way: after an e-mail to them failed for good, or, for a
    reporter who wants feedback but left no e-mail address, after the complaint was answered (409 `no_failed_email`
    when there is nothing of either since the last record). The complaint leaves the worklist until another e-mail
    to the reporter fails or such a reporter's complaint is answered again."""
    row = await _changeable(tx, principal, complaint_id, version)
    if not await service.to_inform(tx, row, await service.feedback_emails(tx, complaint_id)):
        raise Conflict(
            "The reporter has nothing to be told since they were last informed: no e-mail to them failed, and no "
            "answer awaits a reporter without an e-mail address. There is nothing to record.",
            code="no_failed_email",
        )
    updated = await tx.fetchrow(queries.SET_REPORTER_INFORMED, complaint_id, version, data.how, principal.user_id)
    if updated is None:
        raise stale(row["version"])
    await audit.record_user_action(
        tx, principal, "complaint", complaint_id, "reporter_informed", request_id=request_id, after={"how": data.how}
    )
    return await service.view(tx, principal, updated)
