"""Enforcement's rules: cases, the steps taken in them, approvals, the deadlines those steps start.

A reviewed inspection with violations opens a case per law (the regime of its checklists, or the regime the
sanction rules file it under: NIX18 violations are Alcoholwet offences and go to the alcohol case), or adds to
the open case of its target and regime (violations_reviewed, in reaction to inspection.reviewed, in the review's
transaction; the partial unique index keeps one open case per target and regime under concurrency).
Officers open, merge and close cases by hand with a reason.

Every change of a case or a step first moves the case's version with the client's If-Match (412 when stale);
that UPDATE also locks the case, so two officers acting on one case take turns and the second, holding the
old version, is refused. Every change writes an audit event in the same transaction.

Steps: warning; voornemen (zienswijze term, then the zienswijze received or not); besluit (boete, last onder
dwangsom, last onder bestuursdwang, schorsing, intrekking, ontzegging_19a, sluiting_13b), approved by a
second officer who neither drafted it nor inspected the violations it rests on, and sendable only then, on
the day of sending the officer records (every term counts from it); a boete above the Awb threshold rests on
a voornemen on the same violations (5:53); hercontrole (planned automatically when a last onder dwangsom is
sent, at the end of its begunstigingstermijn; the reviewed follow-up inspection sets its outcome, compliance
or forfeiture of the sum the decision gives (dwangsom.py), which an officer may correct with a reason);
invordering of a forfeited sum within the 1-year limit (5:35, checked when drafted and when sent); bezwaar
against a sent decision, with its term (6:7-6:9), decision deadline (7:10) and the recorded changes of
either. A sent step never changes (a database trigger holds this too); a sent decision may be withdrawn,
which is recorded beside it. The Awb's terms and thresholds are data (procedure.py).

Visibility: enforcement officers and admins (route guards) see the cases of their regimes; a sex-work case
needs the sexwork regime. Anything else is 404, like a missing case.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import msgspec

from backend.core import audit, calendar
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import BadRequest, Conflict, FieldError, Forbidden, NotFound, Unprocessable
from backend.core.events import Event
from backend.core.pagination import decode_cursor, keyset_page
from backend.enforcement import dwangsom, letter, queries, rules
from backend.enforcement import proposal as proposals
from backend.enforcement.models import (
    BezwaarChange,
    Case,
    CaseClose,
    CaseMerge,
    CaseOpen,
    CasePage,
    CaseSummary,
    DeadlineItem,
    DeadlineView,
    Proposal,
    StepCreate,
    StepOutcome,
    StepSend,
    StepWithdraw,
    ZienswijzeRecord,
)
from backend.enforcement.procedure import awb
from backend.inspections import service as inspections
from backend.letters import service as letters_service
from backend.letters.service import Letters
from backend.planning import service as planning
from backend.registry import service as registry
from backend.users.service import actor_of

OBJECT_TYPE = "enforcement_case"
DEFAULT_ZIENSWIJZE_WEEKS = 2
HERCONTROLE_WINDOW_DAYS = 14
MAX_HERCONTROLE_INSPECTORS = 4  # an assignment takes 1-4 inspectors
DEADLINE_HORIZON_DAYS = 366

_DECISION_FIELDS = {
    "boete": ("amount_cents",),
    "last_onder_dwangsom": ("order_text", "begunstiging_days", "dwangsom_cents", "dwangsom_unit", "dwangsom_max_cents"),
    "last_onder_bestuursdwang": ("order_text", "begunstiging_days"),
    "schorsing": ("weeks",),
    "ontzegging_19a": ("weeks",),
    "sluiting_13b": ("months",),
    "intrekking": (),
}
# What a besluit must state (a voornemen may leave it open).
_REQUIRED_IN_BESLUIT = {
    "boete": ("amount_cents",),
    "last_onder_dwangsom": _DECISION_FIELDS["last_onder_dwangsom"],
    "schorsing": ("weeks",),
    "ontzegging_19a": ("weeks",),
    "sluiting_13b": ("months",),
}
_OPTIONAL_FIELDS = ("type", "document_text", "deviation_reason", "behaviour")
_STEP_FIELDS = (
    "decision",
    "violation_ids",
    "amount_cents",
    "weeks",
    "months",
    "order_text",
    "begunstiging_days",
    "dwangsom_cents",
    "dwangsom_unit",
    "dwangsom_max_cents",
    "zienswijze_weeks",
    "related_step_id",
    "received_on",
    "posted_on",
)
SCHORSING_MAX_WEEKS = 12  # Alcoholwet art. 32


def _scope(principal: Principal) -> tuple[Any, ...]:
    from backend.core.visibility import Visibility

    return (Visibility.of(principal).regimes,)


def _refused(problems: list[FieldError], code: str = "validation_failed") -> None:
    if problems:
        raise Unprocessable("The request has invalid fields.", code=code, errors=problems)


def _invalid(pointer: str, detail: str, code: str = "validation_failed") -> Unprocessable:
    return Unprocessable(detail, code=code, errors=[FieldError(detail=detail, pointer=pointer)])


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- reading ------------------------------------------------------------------------------------------------


async def _case_row(conn: asyncpg.Connection, principal: Principal, case_id: UUID) -> dict[str, Any]:
    row = await conn.fetchrow(queries.GET_CASE, *_scope(principal), case_id)
    if row is None:
        raise NotFound("No such case.")
    return dict(row)


async def _violations(conn: asyncpg.Connection, case_id: UUID) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(queries.CASE_VIOLATIONS, case_id)]


async def _steps(conn: asyncpg.Connection, case_id: UUID) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(queries.CASE_STEPS, case_id)]


async def _view(conn: asyncpg.Connection, principal: Principal, case_id: UUID) -> Case:
    fields = await _case_row(conn, principal, case_id)
    fields["violations"] = await _violations(conn, case_id)
    fields["steps"] = await _steps(conn, case_id)
    fields["history"] = [dict(row) for row in await conn.fetch(queries.CASE_HISTORY, case_id)]
    return msgspec.convert(fields, Case)


async def get_case(
    conn: asyncpg.Connection, principal: Principal, case_id: UUID, *, request_id: str | None = None
) -> Case:
    view = await _view(conn, principal, case_id)
    if view.regime == "sexwork":
        # Who looked at a sex-work case is logged (DOMAIN.md, sensitive data: every read).
        async with conn.transaction():
            await _audit(conn, principal, case_id, "read", request_id)
    return view


async def list_cases(
    conn: asyncpg.Connection, principal: Principal, *, filters: dict[str, Any], cursor: str | None, limit: int
) -> CasePage:
    after = decode_cursor(cursor, tuple[datetime, UUID])
    sql, args = queries.list_cases(filters, scope=_scope(principal), after=after, limit=limit + 1)
    rows = await conn.fetch(sql, *args)
    items, next_cursor = keyset_page(
        rows,
        limit,
        lambda row: msgspec.convert(dict(row), CaseSummary),
        lambda last: (last.opened_at.isoformat(), str(last.id)),
    )
    return CasePage(items=items, next_cursor=next_cursor)


# --- changing a case: the version check that also locks it ---------------------------------------------------


async def _bump(
    tx: asyncpg.Connection,
    case: dict[str, Any],
    version: int | None,
    *,
    status: str | None = None,
    team_id: str | None = None,
) -> int:
    new_version = await tx.fetchval(queries.BUMP, case["id"], version, status, team_id)
    if new_version is None:
        if case["status"] == "closed":
            raise Conflict("The case is closed; it no longer changes.", code="case_closed")
        raise stale(case["version"])
    return new_version


async def _history(
    tx: asyncpg.Connection,
    case_id: UUID,
    status: str,
    principal: Principal | None,
    *,
    result: str | None = None,
    reason: str | None = None,
) -> None:
    await tx.execute(queries.INSERT_HISTORY, case_id, status, result, reason, principal.user_id if principal else None)


async def _audit(
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
    await audit.record(
        tx,
        actor=actor_of(principal),
        action=f"enforcement_case.{action}",
        object_type=OBJECT_TYPE,
        object_id=case_id,
        request_id=request_id,
        reason=reason,
        before=before,
        after=after,
    )


# --- cases: from a review, and by hand -----------------------------------------------------------------------


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
        await _hercontrole_inspected(tx, principal, inspection, request_id)


async def _hercontrole_inspected(
    tx: asyncpg.Connection, principal: Principal, inspection: Any, request_id: str | None
) -> None:
    """The follow-up inspection after the begunstigingstermijn: a violation the decision rests on found again
    (same code) means it continues and the dwangsom is forfeited; none found, it ended. An officer may correct
    the outcome with a reason (record_outcome). Inspected within the term: nothing follows, the officer decides."""
    row = await tx.fetchrow(queries.PLANNED_HERCONTROLE, inspection.assignment_id)
    observed_on = inspection.inspected_at.astimezone(calendar.AMSTERDAM).date()
    if row is None or observed_on <= row["due_on"]:
        return
    step = dict(row)
    ordered = set(step["violation_ids"])
    codes = {v["code"] for v in await _violations(tx, step["case_id"]) if v["violation_id"] in ordered}
    continued = [v for v in inspection.violations if v.code in codes]
    result = "forfeited" if continued else "complied"
    await tx.fetchval(queries.BUMP, step["case_id"], None, None, None)
    await _settle_hercontrole(
        tx,
        step["case_id"],
        step,
        result=result,
        observed_on=observed_on,
        violations_observed=max(len(continued), 1),
        source="inspection",
        inspection_id=inspection.id,
    )
    await _audit(
        tx,
        principal,
        step["case_id"],
        "hercontrole_inspected",
        request_id,
        after={"step_id": str(step["id"]), "inspection_id": str(inspection.id), "result": result},
    )


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
        employee_class, source = answered, "inspection"
        if answered is None:
            employee_class = await _registered_employee_class(tx, principal, violation.object_id, violation.observed_on)
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
        await tx.fetchval(queries.BUMP, case_id, None, None, inspection.team_id)
        await _audit(
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
    case_id = await tx.fetchval(
        queries.INSERT_CASE_IF_NONE_OPEN,
        uuid4(),
        inspection.object_id,
        inspection.location_id,
        regime,
        inspection.wijk,
        inspection.team_id,
        principal.user_id,
    )
    if case_id is not None:
        await _history(tx, case_id, "open", principal, reason=f"inspection {inspection.id} reviewed with violations")
        return case_id, True
    case_id = await tx.fetchval(queries.LOCK_OPEN_CASE, target, regime)
    if case_id is None:  # the open case was closed between our insert and the lock: open a new one
        return await _open_or_lock(tx, principal, inspection, regime)
    return case_id, False


async def open_case(tx: asyncpg.Connection, principal: Principal, data: CaseOpen, *, request_id: str | None) -> Case:
    if (data.object_id is None) == (data.location_id is None):
        raise _invalid("/object_id", "give exactly one of object_id and location_id")
    if not principal.sees_regime(data.regime):
        raise _invalid("/regime", "not one of your regimes")
    try:
        if data.object_id is not None:
            target: Any = await registry.get_object(tx, principal, data.object_id)
        else:
            assert data.location_id is not None
            target = await registry.get_location(tx, principal, data.location_id, request_id=request_id)
    except NotFound:
        pointer = "/object_id" if data.object_id is not None else "/location_id"
        raise _invalid(pointer, "no such object" if data.object_id else "no such location") from None
    if data.regime not in target.regimes:
        raise _invalid("/regime", f"the target is not supervised under {data.regime}")
    reason = data.reason.strip()
    regime = rules.rulebook().case_regime(data.regime)
    case_id = await tx.fetchval(
        queries.INSERT_CASE_IF_NONE_OPEN,
        uuid4(),
        data.object_id,
        data.location_id,
        regime,
        target.wijk,
        None,
        principal.user_id,
    )
    if case_id is None:
        raise Conflict("The target has an open case of this regime already; add to that one.", code="case_already_open")
    await _history(tx, case_id, "open", principal, reason=reason)
    await _audit(
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
    return await _view(tx, principal, case_id)


async def close_case(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    data: CaseClose,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    case = await _case_row(tx, principal, case_id)
    if case["status"] == "closed":
        raise Conflict("The case is closed already.", code="case_closed")
    if await tx.fetchval(queries.CLOSE, case_id, data.result, None, version) is None:
        raise stale(case["version"])
    await tx.execute(queries.END_PROCEDURE_DEADLINES, case_id)
    reason = data.reason.strip()
    await _history(tx, case_id, "closed", principal, result=data.result, reason=reason)
    await _audit(
        tx,
        principal,
        case_id,
        "closed",
        request_id,
        reason=reason,
        before={"status": case["status"]},
        after={"status": "closed", "result": data.result},
    )
    return await _view(tx, principal, case_id)


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
        raise _invalid("/source_case_id", "a case is not merged into itself")
    case = await _case_row(tx, principal, case_id)
    try:
        source = await _case_row(tx, principal, data.source_case_id)
    except NotFound:
        raise _invalid("/source_case_id", "no such case") from None
    book = rules.rulebook()
    if book.case_regime(source["regime"]) != book.case_regime(case["regime"]):
        raise _invalid("/source_case_id", f"a {source['regime']} case; this case is {case['regime']} (another law)")
    await _bump(tx, case, version)
    if source["status"] == "closed":
        raise Conflict("The source case is closed; it cannot be merged.", code="case_closed")
    if await tx.fetchval(queries.HAS_STEPS, data.source_case_id):
        raise Conflict("The source case has steps; it is merged only before any step.", code="case_has_steps")
    if await tx.fetchval(queries.CLOSE, data.source_case_id, "merged", case_id, data.source_version) is None:
        raise stale(source["version"])
    await tx.execute(queries.MOVE_VIOLATIONS, data.source_case_id, case_id)
    reason = data.reason.strip()
    await _history(tx, data.source_case_id, "closed", principal, result="merged", reason=reason)
    await _audit(
        tx,
        principal,
        data.source_case_id,
        "merged",
        request_id,
        reason=reason,
        after={"status": "closed", "result": "merged", "merged_into": str(case_id)},
    )
    await _audit(
        tx,
        principal,
        case_id,
        "merged_in",
        request_id,
        reason=reason,
        after={"source_case_id": str(data.source_case_id)},
    )
    return await _view(tx, principal, case_id)


# --- the proposal --------------------------------------------------------------------------------------------


def _answered_employee_class(book: rules.RuleBook, inspection: Any) -> str | None:
    """The offender's size as the inspector recorded it on the day (BB-01, per the sanction rules), if answered."""
    for checklist in inspection.checklists:
        for question, classes in book.employee_class_answers.items():
            if checklist.answers.get(question) in classes:
                return classes[checklist.answers[question]]
    return None


async def _registered_employee_class(
    conn: asyncpg.Connection, principal: Principal, object_id: UUID | None, day: date
) -> str | None:
    """The registry's employee class of the object on `day` (its history); None for a location."""
    if object_id is None:
        return None
    try:
        return await registry.employee_class_on(conn, principal, object_id, day)
    except NotFound:
        return None


async def _employee_class(conn: asyncpg.Connection, principal: Principal, case: dict[str, Any]) -> tuple[str, str]:
    """The offender's column of the fine table and where it came from, for the case's newest violation: the
    class recorded when it entered the case (the inspection's answer, else the registry on its date); else the
    registry's class today. A location without a registered object: fewer than 50 assumed (and said so)."""
    recorded = await conn.fetchrow(queries.RECORDED_EMPLOYEE_CLASS, case["id"])
    if recorded is not None:
        return recorded["employee_class"], recorded["employee_class_source"] or "registry"
    current = await _registered_employee_class(conn, principal, case["object_id"], calendar.today())
    return (current, "registry") if current else ("under_50", "assumed")


async def get_proposal(conn: asyncpg.Connection, principal: Principal, case_id: UUID) -> Proposal:
    case = await _case_row(conn, principal, case_id)
    return await _proposal(conn, principal, case, await _violations(conn, case_id), await _steps(conn, case_id))


async def _proposal(
    conn: asyncpg.Connection,
    principal: Principal,
    case: dict[str, Any],
    violations: list[dict[str, Any]],
    steps: list[dict[str, Any]],
) -> Proposal:
    employee_class, source = await _employee_class(conn, principal, case)
    return await proposals.build(
        conn,
        rules.rulebook(),
        case=case,
        violations=violations,
        steps=steps,
        employee_class=employee_class,
        class_source=source,
    )


# --- steps: drafting -----------------------------------------------------------------------------------------


def _given(data: StepCreate) -> list[str]:
    return [name for name in _STEP_FIELDS if getattr(data, name) not in (None, [])]


def _allowed_fields(data: StepCreate) -> set[str]:
    if data.type == "warning":
        return {"violation_ids"}
    if data.type in ("voornemen", "besluit"):
        extra = {"zienswijze_weeks"} if data.type == "voornemen" else set()
        return {"decision", "violation_ids", *_DECISION_FIELDS.get(data.decision or "", ()), *extra}
    if data.type == "invordering":
        return {"related_step_id", "amount_cents"}
    return {"related_step_id", "received_on", "posted_on"}


def _field_problems(data: StepCreate) -> list[FieldError]:
    problems = []
    if data.type in ("voornemen", "besluit") and data.decision is None:
        problems.append(FieldError(detail=f"a {data.type} names its decision", pointer="/decision"))
    allowed = _allowed_fields(data)
    for name in _given(data):
        if name not in allowed:
            what = f"{data.type} {data.decision}" if data.decision else data.type
            problems.append(FieldError(detail=f"does not apply to a {what}", pointer=f"/{name}"))
    if data.type == "besluit" and data.decision in _REQUIRED_IN_BESLUIT:
        for name in _REQUIRED_IN_BESLUIT[data.decision]:
            if getattr(data, name) is None:
                problems.append(FieldError(detail=f"a besluit {data.decision} states it", pointer=f"/{name}"))
    if data.type == "invordering" and data.related_step_id is None:
        problems.append(FieldError(detail="name the forfeited hercontrole", pointer="/related_step_id"))
    if data.type == "bezwaar" and data.addressee is not None:
        problems.append(FieldError(detail="a bezwaar has no letter of its own here", pointer="/addressee"))
    if data.type == "bezwaar":
        if data.related_step_id is None:
            problems.append(FieldError(detail="name the decision objected to", pointer="/related_step_id"))
        if data.received_on is None:
            problems.append(FieldError(detail="the day the bezwaar was received", pointer="/received_on"))
    return problems


def _range_problems(data: StepCreate, book: rules.RuleBook) -> list[FieldError]:
    """Legal bounds: schorsing at most 12 weeks (art. 32), an art. 19a ban 1-12 weeks, a maximum not below
    the dwangsom."""
    problems = []
    if data.decision == "schorsing" and data.weeks is not None and data.weeks > SCHORSING_MAX_WEEKS:
        problems.append(
            FieldError(
                detail=f"a schorsing lasts at most {SCHORSING_MAX_WEEKS} weeks (Alcoholwet art. 32)", pointer="/weeks"
            )
        )
    low, high = book.ban_weeks()
    if data.decision == "ontzegging_19a" and data.weeks is not None and not low <= data.weeks <= high:
        problems.append(FieldError(detail=f"an art. 19a ban lasts {low} to {high} weeks", pointer="/weeks"))
    if (
        data.dwangsom_cents is not None
        and data.dwangsom_max_cents is not None
        and data.dwangsom_max_cents < data.dwangsom_cents
    ):
        problems.append(FieldError(detail="the maximum is below the dwangsom itself", pointer="/dwangsom_max_cents"))
    if data.received_on is not None and data.received_on > calendar.today():
        problems.append(FieldError(detail="is in the future", pointer="/received_on"))
    if data.posted_on is not None and data.received_on is not None and data.posted_on > data.received_on:
        problems.append(FieldError(detail="is after the day it was received", pointer="/posted_on"))
    return problems


def _dealt_with(steps: list[dict[str, Any]]) -> set[UUID]:
    return {
        v
        for s in steps
        if (s["type"] == "warning" and s["status"] == "sent") or s["type"] == "besluit"
        for v in s["violation_ids"]
    }


def _chosen_violations(
    data: StepCreate,
    violations: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    voornemen: dict[str, Any] | None,
) -> list[UUID]:
    known = {v["violation_id"] for v in violations}
    unknown = [
        FieldError(detail="is not a violation of this case", pointer=f"/violation_ids/{index}")
        for index, violation_id in enumerate(data.violation_ids)
        if violation_id not in known
    ]
    _refused(unknown)
    if len(set(data.violation_ids)) != len(data.violation_ids):
        raise _invalid("/violation_ids", "a violation is listed twice")
    if data.violation_ids:
        return list(data.violation_ids)
    if voornemen is not None and voornemen["violation_ids"]:
        return list(voornemen["violation_ids"])
    chosen = [v["violation_id"] for v in violations if v["violation_id"] not in _dealt_with(steps)]
    if not chosen:
        raise _invalid("/violation_ids", "the case has no violation left that this step could rest on")
    return chosen


async def _voornemen_for(
    tx: asyncpg.Connection, data: StepCreate, steps: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The sent voornemen a besluit follows; refuses a besluit before it or before its zienswijze term ended."""
    if data.type != "besluit" or data.decision not in proposals.VOORNEMEN_REQUIRED:
        return None
    sent = [s for s in steps if s["type"] == "voornemen" and s["decision"] == data.decision and s["status"] == "sent"]
    if not sent:
        raise Conflict(
            f"A besluit {data.decision} needs a sent voornemen {data.decision} first (Awb 4:8).",
            code="voornemen_required",
        )
    wanted = set(data.violation_ids)
    # The latest voornemen on these violations (any, when none is named or none covers them all).
    voornemen = next((s for s in reversed(sent) if wanted <= set(s["violation_ids"])), sent[-1])
    if voornemen["zienswijze"] == "pending":
        term = await tx.fetchrow(queries.DEADLINE_OF, voornemen["id"], "zienswijze")
        if term is not None and term["due_on"] >= calendar.today():
            raise Conflict(
                f"The zienswijze term of the voornemen runs until {term['due_on']}; record the zienswijze "
                "or wait for the term to end.",
                code="zienswijze_term_running",
            )
    return voornemen


def _heard_on_these(data: StepCreate, voornemen: dict[str, Any] | None, chosen: list[UUID]) -> None:
    """Awb 5:53: a boete above the threshold rests on a voornemen on the same violations, whose zienswijze term
    ended or was answered (_voornemen_for checks the term)."""
    threshold = awb()["boete_voornemen_above_cents"]
    if data.type != "besluit" or data.decision != "boete" or (data.amount_cents or 0) <= threshold:
        return
    unheard = sorted(set(chosen) - set(voornemen["violation_ids"] if voornemen else ()))
    if unheard:
        raise Conflict(
            f"A boete above {threshold // 100} euro needs a voornemen on the same violations first "
            f"(Awb 5:53); not in it: {', '.join(map(str, unheard))}.",
            code="voornemen_required",
        )


def _deviation(data: StepCreate, advice: Proposal, violation_ids: list[UUID]) -> str | None:
    """Why the chosen step differs from the proposal (None when it follows it)."""
    nxt = advice.next
    if (data.type, data.decision) != (nxt.type, nxt.decision):
        proposed = f"{nxt.type} {nxt.decision or ''}".strip()
        return f"the proposal is {proposed}, not {data.type} {data.decision or ''}".strip()
    if data.decision == "boete" and data.amount_cents is not None:
        expected = proposals.proposed_fine_cents(advice, violation_ids)
        if expected is not None and expected != data.amount_cents:
            return f"the rules give {expected} cents for these violations, not {data.amount_cents}"
    return None


async def create_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    data: StepCreate,
    *,
    version: int,
    letters: Letters,
    request_id: str | None,
) -> Case:
    problems = _field_problems(data)
    book = rules.rulebook()
    problems += _range_problems(data, book)
    _refused(problems)
    case = await _case_row(tx, principal, case_id)
    await _bump(tx, case, version)
    violations, steps = await _violations(tx, case_id), await _steps(tx, case_id)
    columns: dict[str, Any] = {
        name: getattr(data, name)
        for name in (
            "decision",
            "document_text",
            "amount_cents",
            "weeks",
            "months",
            "order_text",
            "begunstiging_days",
            "dwangsom_cents",
            "dwangsom_unit",
            "dwangsom_max_cents",
            "zienswijze_weeks",
            "deviation_reason",
            "behaviour",
            "received_on",
            "posted_on",
        )
    }
    columns.update(status="draft", related_step_id=None, violation_ids=[], proposal=None, late=None)
    new_status = ""
    if data.type in ("warning", "voornemen", "besluit"):
        await _prepare_sanction(tx, principal, case, data, violations, steps, columns)
    elif data.type == "invordering":
        await _prepare_invordering(tx, data, steps, columns)
    else:
        new_status = await _prepare_bezwaar(tx, data, steps, columns)
    step_id = await _insert_step(tx, case_id, data.type, columns, principal)
    if data.type == "besluit" and data.decision == "boete":
        await tx.execute(queries.FINE_VIOLATIONS, columns["violation_ids"], step_id)
    if data.addressee is not None:
        await tx.execute(queries.SET_ADDRESSEE, step_id, msgspec.to_builtins(data.addressee))
    await _draft_letter(tx, principal, letters, case, step_id, violations)
    if data.type == "bezwaar":
        await _bezwaar_registered(tx, principal, case, step_id, columns, new_status)
    await _audit(
        tx,
        principal,
        case_id,
        "step_drafted" if data.type != "bezwaar" else "bezwaar_registered",
        request_id,
        reason=data.deviation_reason,
        after={
            "step_id": str(step_id),
            "type": data.type,
            "decision": data.decision,
            "amount_cents": columns["amount_cents"],
            "violation_ids": [str(v) for v in columns["violation_ids"]],
        },
    )
    return await _view(tx, principal, case_id)


async def _draft_letter(
    tx: asyncpg.Connection,
    principal: Principal,
    letters: Letters,
    case: dict[str, Any],
    step_id: UUID,
    violations: list[dict[str, Any]],
) -> None:
    """Render the drafted step's letter (dated today, as a preview): what it lacks is a 422 and nothing is kept."""
    step = await _step(tx, case["id"], step_id)
    rendered = await letter.render(tx, principal, letters, case, step, violations, calendar.today())
    if rendered is not None:
        await tx.execute(queries.SET_LETTER, step_id, rendered.sha256, rendered.template_version_id)


async def _prepare_sanction(
    tx: asyncpg.Connection,
    principal: Principal,
    case: dict[str, Any],
    data: StepCreate,
    violations: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    columns: dict[str, Any],
) -> None:
    voornemen = await _voornemen_for(tx, data, steps)
    chosen = _chosen_violations(data, violations, steps, voornemen)
    _heard_on_these(data, voornemen, chosen)
    if data.type == "besluit" and data.decision == "boete":
        fined = [row["violation_id"] for row in await tx.fetch(queries.ALREADY_FINED, chosen)]
        if fined:
            raise Conflict(
                f"A boete already rests on violation(s) {', '.join(map(str, sorted(fined)))}: one fine per violation.",
                code="already_fined",
            )
    advice = await _proposal(tx, principal, case, violations, steps)
    deviation = _deviation(data, advice, chosen)
    if deviation is not None and data.deviation_reason is None and voornemen and voornemen["deviation_reason"]:
        # The besluit carries out the voornemen: the reason written for choosing it still holds.
        columns["deviation_reason"] = voornemen["deviation_reason"]
    elif deviation is not None and data.deviation_reason is None:
        raise _invalid(
            "/deviation_reason",
            f"{deviation}: give the reason (LHSO: the offender's behaviour and the consequences)",
            code="deviation_reason_required",
        )
    if data.type == "voornemen" and data.zienswijze_weeks is None:
        columns["zienswijze_weeks"] = DEFAULT_ZIENSWIJZE_WEEKS
    columns.update(
        violation_ids=chosen,
        related_step_id=voornemen["id"] if voornemen else None,
        proposal=msgspec.to_builtins(advice),
    )


async def _prepare_invordering(
    tx: asyncpg.Connection, data: StepCreate, steps: list[dict[str, Any]], columns: dict[str, Any]
) -> None:
    hercontrole = next((s for s in steps if s["id"] == data.related_step_id), None)
    if hercontrole is None or hercontrole["type"] != "hercontrole" or hercontrole["status"] != "forfeited":
        raise Conflict(
            "An invordering collects a sum forfeited at a hercontrole of this case.", code="nothing_forfeited"
        )
    if await tx.fetchval(queries.INVORDERING_OF, hercontrole["id"]) is not None:
        raise Conflict("This forfeited sum has an invordering already.", code="already_collected")
    limit = await tx.fetchrow(queries.DEADLINE_OF, hercontrole["id"], "invordering_limit")
    if limit is not None and calendar.today() > limit["due_on"]:
        raise Conflict(f"The power to collect lapsed on {limit['due_on']} (Awb 5:35).", code="collection_time_barred")
    amount = data.amount_cents if data.amount_cents is not None else hercontrole["forfeited_cents"]
    if amount > hercontrole["forfeited_cents"]:
        raise _invalid(
            "/amount_cents", f"more than the {hercontrole['forfeited_cents']} cents forfeited", code="above_forfeited"
        )
    columns.update(amount_cents=amount, related_step_id=hercontrole["id"], violation_ids=hercontrole["violation_ids"])


async def _prepare_bezwaar(
    tx: asyncpg.Connection, data: StepCreate, steps: list[dict[str, Any]], columns: dict[str, Any]
) -> str:
    decision = next((s for s in steps if s["id"] == data.related_step_id), None)
    if decision is None or decision["type"] not in ("besluit", "invordering") or decision["status"] != "sent":
        raise Conflict("A bezwaar is made against a sent decision of this case.", code="not_a_sent_decision")
    if any(s["type"] == "bezwaar" and s["related_step_id"] == decision["id"] for s in steps):
        raise Conflict("A bezwaar against this decision is registered already.", code="bezwaar_exists")
    assert data.received_on is not None
    term_end = calendar.term_end(decision["sent_on"], weeks=awb()["bezwaar_term_weeks"])
    columns.update(
        status="registered",
        related_step_id=decision["id"],
        violation_ids=decision["violation_ids"],
        late=bezwaar_late(term_end, data.received_on, data.posted_on),
    )
    return "bezwaar"


def bezwaar_late(term_end: date, received_on: date, posted_on: date | None) -> bool:
    """Received after the term: late, unless posted within it and received no later than a week after it
    (Awb 6:9 lid 2)."""
    if received_on <= term_end:
        return False
    grace = timedelta(days=awb()["bezwaar_post_grace_days"])
    return not (posted_on is not None and posted_on <= term_end and received_on <= term_end + grace)


async def _insert_step(
    tx: asyncpg.Connection,
    case_id: UUID,
    step_type: str,
    columns: dict[str, Any],
    principal: Principal,
    *,
    step_id: UUID | None = None,
) -> UUID:
    step_id = step_id or uuid4()
    c = columns
    await tx.fetchval(
        queries.INSERT_STEP,
        step_id,
        case_id,
        step_type,
        c.get("decision"),
        c["status"],
        c.get("related_step_id"),
        c.get("violation_ids", []),
        c.get("document_text"),
        c.get("amount_cents"),
        c.get("weeks"),
        c.get("months"),
        c.get("order_text"),
        c.get("begunstiging_days"),
        c.get("dwangsom_cents"),
        c.get("dwangsom_unit"),
        c.get("dwangsom_max_cents"),
        c.get("zienswijze_weeks"),
        c.get("proposal"),
        c.get("deviation_reason"),
        c.get("behaviour"),
        c.get("assignment_id"),
        c.get("due_on"),
        c.get("received_on"),
        c.get("late"),
        principal.user_id,
        c.get("posted_on"),
    )
    return step_id


async def _bezwaar_registered(
    tx: asyncpg.Connection,
    principal: Principal,
    case: dict[str, Any],
    step_id: UUID,
    columns: dict[str, Any],
    status: str,
) -> None:
    decision = await tx.fetchrow(queries.GET_STEP, columns["related_step_id"], case["id"])
    term_end = calendar.term_end(decision["sent_on"], weeks=awb()["bezwaar_term_weeks"])
    await tx.execute(
        queries.INSERT_DEADLINE,
        case["id"],
        step_id,
        "bezwaar_decision",
        calendar.term_end(term_end, weeks=awb()["bezwaar_decision_weeks"]),
    )
    await tx.execute(queries.RESOLVE_DEADLINE, decision["id"], "bezwaar_term")
    await tx.execute(queries.SET_STATUS, case["id"], status)
    await _history(
        tx,
        case["id"],
        status,
        principal,
        reason=f"bezwaar against step {decision['seq']}" + (" (received after the term)" if columns["late"] else ""),
    )


# --- steps: approval, sending, what follows ---------------------------------------------------------------------


async def _step(tx: asyncpg.Connection, case_id: UUID, step_id: UUID) -> dict[str, Any]:
    row = await tx.fetchrow(queries.GET_STEP, step_id, case_id)
    if row is None:
        raise NotFound("No such step in this case.")
    return dict(row)


async def _rests_on_inspectors(tx: asyncpg.Connection, case_id: UUID, step: dict[str, Any]) -> set[UUID]:
    ids = set(step["violation_ids"])
    return {user for v in await _violations(tx, case_id) if v["violation_id"] in ids for user in v["inspector_ids"]}


async def approve_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    *,
    version: int,
    letters: Letters,
    request_id: str | None,
) -> Case:
    """Vier-ogen: a second officer, neither the drafter nor an inspector of the violations it rests on, approves
    the letter as it reads today; its SHA-256 is the approval. An approved step whose letter changed since (the
    addressee, the template) is approved again."""
    case = await _case_row(tx, principal, case_id)
    await _bump(tx, case, version)
    step = await _step(tx, case_id, step_id)
    if step["type"] not in ("besluit", "invordering"):
        raise Conflict(f"A {step['type']} needs no approval.", code="no_approval_needed")
    if step["status"] not in ("draft", "approved"):
        raise Conflict(f"The step is {step['status']}; only a draft is approved.", code="not_a_draft")
    today = calendar.today()
    rendered = await letter.render(tx, principal, letters, case, step, await _violations(tx, case_id), today)
    assert rendered is not None  # a decision always has a letter
    if step["status"] == "approved" and rendered.sha256 == step["approved_sha256"]:
        raise Conflict("The step is approved and its letter has not changed since.", code="not_a_draft")
    if step["drafted_by"] == principal.user_id:
        raise Forbidden(
            "You drafted this decision; a second officer approves it (vier-ogenprincipe).", code="four_eyes"
        )
    if principal.user_id in await _rests_on_inspectors(tx, case_id, step):
        raise Forbidden(
            "You inspected a violation this decision rests on; another officer approves it.", code="four_eyes"
        )
    await tx.execute(queries.APPROVE, step_id, principal.user_id, rendered.sha256, rendered.template_version_id, today)
    await _audit(
        tx,
        principal,
        case_id,
        "step_approved",
        request_id,
        before={"step_id": str(step_id), "status": step["status"]},
        after={"step_id": str(step_id), "status": "approved", "letter_sha256": rendered.sha256},
    )
    return await _view(tx, principal, case_id)


async def step_document(
    conn: asyncpg.Connection,
    principal: Principal,
    letters: Letters,
    case_id: UUID,
    step_id: UUID,
    *,
    request_id: str | None,
) -> tuple[bytes, str]:
    """The step's letter and its SHA-256: a sent step's stored document, checked against the hash the step
    recorded (a changed file is refused, never served); otherwise a preview rendered now, dated today. Every read
    is audited."""
    case = await _case_row(conn, principal, case_id)
    step = await _step(conn, case_id, step_id)
    if letter.kind_of(step) is None:
        raise NotFound("This step has no letter.", code="no_letter")
    if step["sent_on"] is not None:
        if step["letter_sha256"] is None:  # sent before letters were kept: there is no document to show
            raise NotFound("No letter was stored when this step was sent.", code="no_letter")
        pdf, sha = await _stored_letter(conn, principal, letters, case_id, step, request_id), step["letter_sha256"]
    else:
        rendered = await letter.render(
            conn, principal, letters, case, step, await _violations(conn, case_id), calendar.today()
        )
        assert rendered is not None
        pdf, sha = rendered.pdf, rendered.sha256
    async with conn.transaction():
        await _audit(
            conn,
            principal,
            case_id,
            "document_read",
            request_id,
            after={"step_id": str(step_id), "sha256": sha, "preview": step["sent_on"] is None},
        )
    return pdf, sha


async def _stored_letter(
    conn: asyncpg.Connection,
    principal: Principal,
    letters: Letters,
    case_id: UUID,
    step: dict[str, Any],
    request_id: str | None,
) -> bytes:
    try:
        return await letters_service.read_document(letters, step["letter_sha256"])
    except letters_service.DocumentTampered:
        async with conn.transaction():
            await _audit(
                conn,
                principal,
                case_id,
                "document_tampered",
                request_id,
                after={"step_id": str(step["id"]), "sha256": step["letter_sha256"]},
            )
        raise Conflict(
            "The stored letter no longer matches the hash recorded when it was sent; it is not served. "
            "Restore it from the backup.",
            code="document_tampered",
        ) from None


_SENT_STATUS = {"warning": "warned", "voornemen": "voornemen", "besluit": "besluit", "invordering": "invordering"}


def _sending_day(data: StepSend, step: dict[str, Any]) -> date:
    """The day of sending as given (default today): not after today, not before the approval of a decision or
    the drafting of another step."""
    today = calendar.today()
    sent_on = data.sent_on or today
    if sent_on > today:
        raise _invalid("/sent_on", "is in the future")
    ready = step["approved_at"] or step["created_at"]
    ready_on = ready.astimezone(calendar.AMSTERDAM).date()
    if sent_on < ready_on:
        what = "approved" if step["approved_at"] else "drafted"
        raise _invalid("/sent_on", f"is before the step was {what} ({ready_on})")
    return sent_on


async def send_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: StepSend,
    *,
    version: int,
    atw_terms: tuple[str, ...],
    letters: Letters,
    request_id: str | None,
) -> Case:
    """Send a step to the offender; a decision only once approved, with the letter approved. Its letter, dated
    the day of sending, is stored write-once and its SHA-256 recorded. Sent, it never changes. Its terms count
    from the day of sending."""
    case = await _case_row(tx, principal, case_id)
    await _bump(tx, case, version)
    step = await _step(tx, case_id, step_id)
    if step["type"] not in _SENT_STATUS:
        raise Conflict(f"A {step['type']} is not sent.", code="not_sendable")
    if step["status"] == "sent":
        raise Conflict("The step was sent already; a sent step does not change.", code="already_sent")
    needs_approval = step["type"] in ("besluit", "invordering")
    if needs_approval and step["status"] != "approved":
        raise Conflict("A decision is sent only after a second officer approved it.", code="not_approved")
    sent_on = _sending_day(data, step)
    await _send_letter(tx, principal, letters, case, step, sent_on)
    await tx.execute(queries.SEND, step_id, principal.user_id, sent_on, "approved" if needs_approval else "draft")
    new_status = _SENT_STATUS[step["type"]]
    if step["type"] == "voornemen":
        end = calendar.term_end(sent_on, weeks=step["zienswijze_weeks"], atw="zienswijze" in atw_terms)
        await tx.execute(queries.INSERT_DEADLINE, case_id, step_id, "zienswijze", end)
    elif step["type"] == "besluit":
        await tx.execute(
            queries.INSERT_DEADLINE,
            case_id,
            step_id,
            "bezwaar_term",
            calendar.term_end(sent_on, weeks=awb()["bezwaar_term_weeks"]),
        )
        if step["related_step_id"] is not None:
            await tx.execute(queries.RESOLVE_DEADLINE, step["related_step_id"], "zienswijze")
        if step["decision"] == "last_onder_dwangsom":
            await _plan_hercontrole(tx, principal, case, step, sent_on, atw_terms, request_id)
            new_status = "hercontrole"
    elif step["type"] == "invordering":
        limit = await tx.fetchrow(queries.DEADLINE_OF, step["related_step_id"], "invordering_limit")
        if limit is not None and sent_on > limit["due_on"]:
            raise Conflict(
                f"The power to collect lapsed on {limit['due_on']} (Awb 5:35); the invordering is not sent.",
                code="collection_time_barred",
            )
        # The authority acted on the forfeited sum: neither its payment term nor the collection limit is open.
        for kind in ("payment", "invordering_limit"):
            await tx.execute(queries.RESOLVE_DEADLINE, step["related_step_id"], kind)
    await tx.execute(queries.SET_STATUS, case_id, new_status)
    await _history(tx, case_id, new_status, principal, reason=f"step {step['seq']} ({step['type']}) sent")
    await _audit(
        tx,
        principal,
        case_id,
        "step_sent",
        request_id,
        after={
            "step_id": str(step_id),
            "type": step["type"],
            "decision": step["decision"],
            "sent_on": sent_on.isoformat(),
        },
    )
    return await _view(tx, principal, case_id)


async def _send_letter(
    tx: asyncpg.Connection,
    principal: Principal,
    letters: Letters,
    case: dict[str, Any],
    step: dict[str, Any],
    sent_on: date,
) -> None:
    """A decision's letter must read as approved (rendered again on the day of approval: only the date may differ
    from it). Then the letter dated `sent_on` is stored write-once and its hash recorded on the step."""
    violations = await _violations(tx, case["id"])
    if step["approved_sha256"] is not None:
        again = await letter.render(tx, principal, letters, case, step, violations, step["approved_letter_on"])
        if again is None or again.sha256 != step["approved_sha256"]:
            raise Conflict(
                "The letter changed since it was approved (its data or template); a second officer "
                "approves it again before it is sent.",
                code="letter_changed",
            )
    rendered = await letter.render(tx, principal, letters, case, step, violations, sent_on)
    if rendered is None:
        return
    await letters_service.store_document(letters, rendered)
    await tx.execute(queries.SET_LETTER, step["id"], rendered.sha256, rendered.template_version_id)


async def _plan_hercontrole(
    tx: asyncpg.Connection,
    principal: Principal,
    case: dict[str, Any],
    besluit: dict[str, Any],
    sent_on: date,
    atw_terms: tuple[str, ...],
    request_id: str | None,
) -> None:
    """A last onder dwangsom was sent: a follow-up inspection is planned for the day after its
    begunstigingstermijn ends, by the team and inspectors of the inspections it rests on."""
    end = calendar.term_end(sent_on, days=besluit["begunstiging_days"], atw="begunstigingstermijn" in atw_terms)
    ids = set(besluit["violation_ids"])
    rests_on = [v for v in await _violations(tx, case["id"]) if v["violation_id"] in ids]
    inspectors = sorted({user for v in rests_on for user in v["inspector_ids"]})[:MAX_HERCONTROLE_INSPECTORS]
    checklists = sorted({v["checklist_version_id"] for v in rests_on})[:10]
    assignment = await planning.plan_hercontrole(
        tx,
        principal,
        object_id=case["object_id"],
        location_id=case["location_id"],
        team_id=case["team_id"],
        wijk=case["wijk"],
        regimes=[case["regime"]],
        checklist_version_ids=checklists,
        inspector_ids=inspectors,
        planned_from=end + timedelta(days=1),
        planned_to=end + timedelta(days=HERCONTROLE_WINDOW_DAYS),
        notes=f"Hercontrole last onder dwangsom (zaak {case['id']}); begunstigingstermijn tot en met {end}.",
        request_id=request_id,
    )
    step_id = await _insert_step(
        tx,
        case["id"],
        "hercontrole",
        {
            "status": "planned",
            "related_step_id": besluit["id"],
            "violation_ids": besluit["violation_ids"],
            "assignment_id": assignment.id,
            "due_on": end,
        },
        principal,
    )
    await tx.execute(queries.INSERT_DEADLINE, case["id"], step_id, "begunstigingstermijn", end)


async def withdraw_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: StepWithdraw,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    """The authority withdraws a sent decision: it stays on record, and a withdrawn boete no longer counts for
    recidive."""
    case = await _case_row(tx, principal, case_id)
    await _bump(tx, case, version)
    step = await _step(tx, case_id, step_id)
    if step["type"] not in ("besluit", "invordering") or step["status"] != "sent":
        raise Conflict("Only a sent decision is withdrawn.", code="not_a_sent_decision")
    if step["withdrawn_on"] is not None:
        raise Conflict(f"The decision was withdrawn on {step['withdrawn_on']}.", code="already_withdrawn")
    reason = data.reason.strip()
    await tx.execute(queries.WITHDRAW, step_id, calendar.today(), reason)
    await tx.execute(queries.RESOLVE_STEP_DEADLINES, step_id)
    await _audit(
        tx,
        principal,
        case_id,
        "step_withdrawn",
        request_id,
        reason=reason,
        after={"step_id": str(step_id), "withdrawn_on": calendar.today().isoformat()},
    )
    return await _view(tx, principal, case_id)


async def record_zienswijze(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: ZienswijzeRecord,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    case = await _case_row(tx, principal, case_id)
    await _bump(tx, case, version)
    step = await _step(tx, case_id, step_id)
    if step["type"] != "voornemen" or step["status"] != "sent":
        raise Conflict("A zienswijze answers a sent voornemen.", code="not_a_sent_voornemen")
    if step["zienswijze"] != "pending":
        raise Conflict(f"The zienswijze was recorded already ({step['zienswijze']}).", code="zienswijze_recorded")
    term = await tx.fetchrow(queries.DEADLINE_OF, step_id, "zienswijze")
    if not data.received and term is not None and term["due_on"] >= calendar.today():
        raise Conflict(
            f"The zienswijze term runs until {term['due_on']}; 'not received' is recorded after it.",
            code="zienswijze_term_running",
        )
    outcome = "received" if data.received else "not_received"
    await tx.execute(queries.RECORD_ZIENSWIJZE, step_id, outcome, data.summary)
    await tx.execute(queries.RESOLVE_DEADLINE, step_id, "zienswijze")
    await _audit(
        tx,
        principal,
        case_id,
        "zienswijze_recorded",
        request_id,
        after={"step_id": str(step_id), "zienswijze": outcome},
    )
    return await _view(tx, principal, case_id)


async def record_outcome(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: StepOutcome,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    case = await _case_row(tx, principal, case_id)
    await _bump(tx, case, version)
    step = await _step(tx, case_id, step_id)
    if step["type"] == "hercontrole":
        await _hercontrole_outcome(tx, case_id, step, data)
    elif step["type"] == "bezwaar":
        if data.result not in ("gegrond", "ongegrond", "niet_ontvankelijk"):
            raise _invalid("/result", "a bezwaar is decided gegrond, ongegrond or niet_ontvankelijk")
        if data.observed_on is not None or data.forfeited_cents is not None:
            raise _invalid("/observed_on", "applies to a hercontrole only")
        if data.violations_observed is not None or data.reason is not None:
            raise _invalid(
                "/violations_observed" if data.violations_observed else "/reason", "applies to a hercontrole only"
            )
        if step["status"] != "registered":
            raise Conflict("The bezwaar was decided already.", code="outcome_recorded")
        await tx.execute(queries.BEZWAAR_OUTCOME, step_id, data.result)
        await tx.execute(queries.RESOLVE_DEADLINE, step_id, "bezwaar_decision")
    else:
        raise Conflict(f"A {step['type']} has no outcome to record.", code="no_outcome")
    await _audit(
        tx,
        principal,
        case_id,
        "outcome_recorded",
        request_id,
        reason=data.reason,
        after={"step_id": str(step_id), "result": data.result, "forfeited_cents": data.forfeited_cents},
    )
    return await _view(tx, principal, case_id)


async def _hercontrole_outcome(tx: asyncpg.Connection, case_id: UUID, step: dict[str, Any], data: StepOutcome) -> None:
    if data.result not in ("complied", "forfeited"):
        raise _invalid("/result", "a hercontrole finds compliance (complied) or forfeiture (forfeited)")
    if data.observed_on is None:
        raise _invalid("/observed_on", "the day of the hercontrole")
    if data.observed_on > calendar.today():
        raise _invalid("/observed_on", "is in the future")
    if data.result == "complied" and data.forfeited_cents is not None:
        raise _invalid("/forfeited_cents", "nothing is forfeited when the offender complied")
    if data.result == "complied" and data.violations_observed is not None:
        raise _invalid("/violations_observed", "nothing is forfeited when the offender complied")
    if step["status"] != "planned":
        if step["outcome_source"] != "inspection" or data.reason is None:
            raise Conflict(
                "The outcome of this hercontrole was recorded already; an outcome taken from the follow-up "
                "inspection is corrected with a reason.",
                code="outcome_recorded",
            )
        if await tx.fetchval(queries.INVORDERING_OF, step["id"]) is not None:
            raise Conflict(
                "The forfeited sum has an invordering; the outcome no longer changes.", code="already_collected"
            )
    await _settle_hercontrole(
        tx,
        case_id,
        step,
        result=data.result,
        observed_on=data.observed_on,
        violations_observed=data.violations_observed or 1,
        cents=data.forfeited_cents,
        source="officer",
        reason=data.reason,
    )


async def _settle_hercontrole(
    tx: asyncpg.Connection,
    case_id: UUID,
    step: dict[str, Any],
    *,
    result: str,
    observed_on: date,
    violations_observed: int = 1,
    cents: int | None = None,
    source: str,
    reason: str | None = None,
    inspection_id: UUID | None = None,
) -> None:
    """Record a hercontrole's outcome. Forfeited: the law's sum (dwangsom.forfeiture) unless the officer gives
    another with a reason, never above the maximum; the payment term (5:33) and the collection limit (5:35) count
    from the day of forfeiture."""
    if observed_on <= step["due_on"]:
        raise Conflict(
            f"The begunstigingstermijn runs until {step['due_on']}; nothing is forfeited within it.",
            code="begunstigingstermijn_running",
        )
    units = forfeited_on = None
    if result == "forfeited":
        besluit = await tx.fetchrow(queries.GET_STEP, step["related_step_id"], case_id)
        so_far = await tx.fetchval(queries.FORFEITED_UNDER, besluit["id"], step["id"])
        law = dwangsom.forfeiture(
            unit=besluit["dwangsom_unit"],
            sum_cents=besluit["dwangsom_cents"],
            max_cents=besluit["dwangsom_max_cents"],
            so_far_cents=so_far,
            term_last_day=step["due_on"],
            observed_on=observed_on,
            violations_observed=violations_observed,
        )
        if cents is not None and so_far + cents > besluit["dwangsom_max_cents"]:
            raise _invalid(
                "/forfeited_cents",
                f"with the {so_far} cents forfeited before, above the maximum of "
                f"{besluit['dwangsom_max_cents']} cents (Awb 5:32b)",
                code="above_maximum",
            )
        if cents is not None and cents != law.cents and reason is None:
            raise _invalid(
                "/forfeited_cents",
                f"the decision forfeits {law.cents} cents ({law.units} x "
                f"{besluit['dwangsom_cents']}, {besluit['dwangsom_unit']}); give the "
                "reason for another sum",
                code="reason_required",
            )
        cents = law.cents if cents is None else cents
        units, forfeited_on = law.units, law.forfeited_on
        await tx.execute(
            queries.SET_DEADLINE,
            case_id,
            step["id"],
            "payment",
            calendar.term_end(forfeited_on, weeks=awb()["payment_weeks"]),
        )
        await tx.execute(
            queries.SET_DEADLINE,
            case_id,
            step["id"],
            "invordering_limit",
            add_years(forfeited_on, awb()["collection_limit_years"]),
        )
    else:
        cents = None
        for kind in ("payment", "invordering_limit"):
            await tx.execute(queries.RESOLVE_DEADLINE, step["id"], kind)
    await tx.execute(
        queries.HERCONTROLE_OUTCOME,
        step["id"],
        result,
        observed_on,
        cents,
        units,
        forfeited_on,
        source,
        reason,
        inspection_id,
    )
    await tx.execute(queries.RESOLVE_DEADLINE, step["id"], "begunstigingstermijn")


async def change_bezwaar(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: BezwaarChange,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    """Record a change of a registered bezwaar with its reason: lateness excused (Awb 6:11), the advisory
    committee's decision term, the one extension, or a postponement the objector consented to (7:10). The
    decision deadline moves; the change keeps what it was."""
    if data.change != "postponement" and (data.weeks is not None or data.consent is not None):
        raise _invalid("/weeks" if data.weeks is not None else "/consent", "applies to a postponement only")
    if data.change == "postponement" and data.consent is not True:
        raise _invalid("/consent", "a further postponement needs the objector's consent (Awb 7:10 lid 4)")
    if data.change == "postponement" and data.weeks is None:
        raise _invalid("/weeks", "by how many weeks the decision is postponed")
    case = await _case_row(tx, principal, case_id)
    await _bump(tx, case, version)
    step = await _step(tx, case_id, step_id)
    if step["type"] != "bezwaar" or step["status"] != "registered":
        raise Conflict("Only a bezwaar not decided yet changes.", code="not_a_pending_bezwaar")
    earlier = [row["change"] for row in await tx.fetch(queries.BEZWAAR_CHANGES, step_id)]
    term = await tx.fetchrow(queries.DEADLINE_OF, step_id, "bezwaar_decision")
    due_before = term["due_on"] if term is not None else None
    due_after = due_before
    if data.change == "lateness_excused":
        if not step["late"] or step["late_excused"]:
            raise Conflict("The bezwaar is not late, or its lateness was excused already.", code="not_late")
        await tx.execute(queries.EXCUSE_LATENESS, step_id)
    else:
        due_after = await _moved_decision_term(tx, step, data, earlier, due_before)
        await tx.execute(queries.MOVE_DEADLINE, step_id, "bezwaar_decision", due_after)
    reason = data.reason.strip()
    await tx.execute(
        queries.INSERT_BEZWAAR_CHANGE, step_id, data.change, reason, due_before, due_after, principal.user_id
    )
    await _audit(
        tx,
        principal,
        case_id,
        "bezwaar_changed",
        request_id,
        reason=reason,
        before={"step_id": str(step_id), "due_on": due_before.isoformat() if due_before else None},
        after={"step_id": str(step_id), "change": data.change, "due_on": due_after.isoformat() if due_after else None},
    )
    return await _view(tx, principal, case_id)


async def _moved_decision_term(
    tx: asyncpg.Connection,
    step: dict[str, Any],
    data: BezwaarChange,
    earlier: list[str],
    due: date | None,
) -> date:
    """The decision deadline after the change (Awb 7:10): 12 weeks after the bezwaar term with an advisory
    committee (decided before any extension), one extension, then postponements with consent."""
    if due is None:
        raise Conflict("The decision term of this bezwaar has ended.", code="not_a_pending_bezwaar")
    if data.change == "advisory_committee":
        if earlier and set(earlier) != {"lateness_excused"}:
            raise Conflict(
                "The advisory committee's term is set before the term is extended or postponed.",
                code="bezwaar_term_changed",
            )
        decision = await tx.fetchrow(queries.GET_STEP, step["related_step_id"], step["case_id"])
        term_end = calendar.term_end(decision["sent_on"], weeks=awb()["bezwaar_term_weeks"])
        return calendar.term_end(term_end, weeks=awb()["bezwaar_decision_weeks_with_committee"])
    if data.change == "extension":
        if "extension" in earlier or "postponement" in earlier:
            raise Conflict(
                "The decision term is extended only once (Awb 7:10 lid 3); postpone it further with "
                "the objector's consent.",
                code="already_extended",
            )
        return calendar.term_end(due, weeks=awb()["bezwaar_extension_weeks"])
    assert data.weeks is not None
    return calendar.term_end(due, weeks=data.weeks)


# --- deadlines ------------------------------------------------------------------------------------------------


async def deadlines(conn: asyncpg.Connection, principal: Principal, *, until: date | None, limit: int) -> DeadlineView:
    """What expires from today up to `until` (default: the coming seven days), and what is overdue."""
    today = calendar.today()
    until = until or today + timedelta(days=7)
    if until < today:
        raise BadRequest("`until` is before today.", code="invalid_date_range")
    if until > today + timedelta(days=DEADLINE_HORIZON_DAYS):
        raise BadRequest(f"`until` is at most {DEADLINE_HORIZON_DAYS} days ahead.", code="invalid_date_range")
    rows = await conn.fetch(queries.DEADLINES, *_scope(principal), today, until, limit)
    items = [msgspec.convert(dict(row), DeadlineItem) for row in rows]
    return DeadlineView(
        today=today, until=until, expiring=[i for i in items if not i.overdue], overdue=[i for i in items if i.overdue]
    )
