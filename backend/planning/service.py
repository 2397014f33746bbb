"""Planning's rules: who may plan, see and change assignments (planned inspections), and what is valid.

Visibility (queries.VISIBLE): an assignment's regimes decide first, as for registry records: they must share
one with the caller's, and a sex-work assignment needs the sexwork regime. Within that, admins and
enforcement officers see every assignment; inspectors and coordinators see their teams' assignments, and
inspectors the ones they are assigned to. Anything else answers 404, like a missing assignment.

Coordinators plan and change the assignments of their own teams; admins those of any team. The target,
checklists and inspectors are checked through the registry, checklists and users services, so their own
visibility rules apply: a target or checklist the planner may not see is refused like one that is missing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.checklists import service as checklists
from backend.core import audit, calendar
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.config import PROJECT_ROOT
from backend.core.errors import Conflict, FieldProblems, Forbidden, NotFound
from backend.core.events import Event
from backend.core.ids import new_id
from backend.core.pagination import PageRequest
from backend.core.visibility import Visibility
from backend.planning import queries
from backend.planning.models import (
    Assignment,
    AssignmentCreate,
    AssignmentFilters,
    AssignmentPage,
    Cancel,
    Reassign,
    Reschedule,
)
from backend.registry import service as registry
from backend.registry.models import Establishment
from backend.users import service as users

CHECKLIST_KINDS_FILE = PROJECT_ROOT / "schemas" / "planning" / "checklist-object-kinds.json"

_AUDITED = (
    "object_id",
    "location_id",
    "team_id",
    "wijk",
    "regimes",
    "checklist_version_ids",
    "planned_from",
    "planned_to",
    "inspector_ids",
    "reason",
    "partners",
    "notes",
    "status",
    "cancel_reason",
)


def _scope(principal: Principal) -> tuple[Any, ...]:
    """The bind values of queries.VISIBLE for this caller."""
    return queries.visible_args(Visibility.of(principal))


def _sees_regimes(regimes: Collection[str], theirs: frozenset[str] | set[str]) -> bool:
    return not set(theirs).isdisjoint(regimes) and ("sexwork" not in regimes or "sexwork" in theirs)


def _assignment(row: asyncpg.Record) -> Assignment:
    fields = dict(row)
    fields["overdue"] = fields["status"] == "planned" and fields["planned_to"] < calendar.today()
    return msgspec.convert(fields, Assignment)


def _audit_state(value: Assignment) -> dict[str, Any]:
    fields = msgspec.to_builtins(value)
    return {key: fields[key] for key in _AUDITED}


def _may_plan_for(principal: Principal, team_id: str) -> bool:
    return principal.has_role("admin") or (principal.has_role("coordinator") and team_id in principal.teams)


# --- reading -------------------------------------------------------------------------------------------


async def get_assignment(conn: asyncpg.Connection, principal: Principal, assignment_id: UUID) -> Assignment:
    row = await conn.fetchrow(queries.GET, *_scope(principal), assignment_id)
    if row is None:
        raise NotFound("No such assignment.")
    return _assignment(row)


async def list_assignments(
    conn: asyncpg.Connection, principal: Principal, filters: AssignmentFilters, page: PageRequest
) -> AssignmentPage:
    calendar.ensure_in_order(filters.from_, filters.to)
    await registry.ensure_known_wijk_filter(conn, filters.wijk)
    today = calendar.today()
    prepared = filters.filter_values()
    overdue = prepared.pop("overdue")
    prepared |= {
        "overdue_before": today if overdue else None,
        "not_overdue_before": today if overdue is False else None,
    }
    items, next_cursor = await queries.ASSIGNMENT_LIST.page(
        conn, prepared, page, scope_args=_scope(principal), item=_assignment
    )
    return AssignmentPage(items=items, next_cursor=next_cursor)


# --- phone sync: batch reads ------------------------------------------------------------------------------

_BEFORE_EVERY_ID = UUID(int=0)  # no assignment has the nil UUID (ids are version 7)


async def get_assignments(conn: asyncpg.Connection, principal: Principal, ids: list[UUID]) -> list[Assignment]:
    """The assignments of `ids` the caller may see, in any status, in one query (the others are left out)."""
    if not ids:
        return []
    return [_assignment(row) for row in await conn.fetch(queries.GET_MANY, *_scope(principal), ids)]


async def planned_assignments_of_caller(
    conn: asyncpg.Connection, principal: Principal, *, after: UUID | None, limit: int
) -> list[Assignment]:
    """The caller's own planned assignments (they are among the inspectors) that they may see, ordered by id,
    the first `limit` after `after`."""
    rows = await conn.fetch(queries.PLANNED_OF_CALLER, *_scope(principal), after or _BEFORE_EVERY_ID, limit)
    return [_assignment(row) for row in rows]


async def targets_planned_for_caller(
    conn: asyncpg.Connection, principal: Principal, *, object_ids: list[UUID], location_ids: list[UUID]
) -> set[UUID]:
    """Which of these objects and locations a planned assignment of the caller's own (that they may see)
    targets."""
    if not object_ids and not location_ids:
        return set()
    rows = await conn.fetch(queries.PLANNED_TARGETS_OF_CALLER, *_scope(principal), object_ids, location_ids)
    return {row["target_id"] for row in rows}


# --- checks shared by create and the changes ------------------------------------------------------------


def _check_window(problems: FieldProblems, planned_from: date, planned_to: date) -> None:
    if planned_to < planned_from:
        problems.add("/planned_to", "planned_to is before planned_from")
    elif planned_to < calendar.today():
        problems.add("/planned_to", "the window has already passed")


async def _check_inspectors(
    conn: asyncpg.Connection, problems: FieldProblems, inspector_ids: list[UUID], team_id: str, regimes: Sequence[str]
) -> None:
    """Each must be an active user with the inspector role in the team, who may see the assignment."""
    if len(set(inspector_ids)) != len(inspector_ids):
        problems.add("/inspector_ids", "an inspector is listed twice")
    for index, user_id in enumerate(inspector_ids):
        pointer = f"/inspector_ids/{index}"
        user, problem = await users.as_inspector(conn, user_id)
        if problem is not None or user is None:
            problems.add(pointer, problem or "no such user")
        elif team_id not in user.teams:
            problems.add(pointer, f"this inspector is not in team {team_id}")
        elif not _sees_regimes(regimes, set(user.regimes)):
            problems.add(pointer, "this inspector is not scoped for the assignment's regimes")


async def _target(
    conn: asyncpg.Connection,
    problems: FieldProblems,
    principal: Principal,
    data: AssignmentCreate,
    request_id: str | None,
) -> tuple[list[str], str, str | None] | None:
    """The target's regimes, wijk and kind (None for a location), or None with the problem added (one the caller
    may not see counts as missing)."""
    found = await registry.target_of(conn, principal, data.object_id, data.location_id, problems, request_id=request_id)
    if found is None:
        return None
    if not isinstance(found, Establishment):
        return list(found.regimes), found.wijk, None
    if found.status != "active":
        problems.add("/object_id", "the object is closed")
        return None
    return list(found.regimes), found.wijk, found.kind


def _check_regimes(
    problems: FieldProblems, principal: Principal, regimes: Sequence[str], target_regimes: Sequence[str]
) -> None:
    if len(set(regimes)) != len(regimes):
        problems.add("/regimes", "a regime is listed twice")
    if not set(regimes) <= set(target_regimes):
        problems.add("/regimes", "plan only regimes of the object or location")
    if not set(regimes) <= principal.regimes:
        problems.add("/regimes", "plan only regimes you are scoped for")
    if "sexwork" in target_regimes and "sexwork" not in regimes:
        # Otherwise users without the sexwork scope would learn of a sex-work target through the assignment.
        problems.add("/regimes", "a sex-work target is planned with the sexwork regime")


@functools.cache
def checklist_kinds() -> dict[str, frozenset[str]]:
    """Template key -> the object kinds it is made for (schemas/planning/checklist-object-kinds.json)."""
    templates = json.loads(CHECKLIST_KINDS_FILE.read_text(encoding="utf-8"))["templates"]
    return {key: frozenset(kinds) for key, kinds in templates.items()}


async def _check_checklists(
    conn: asyncpg.Connection,
    problems: FieldProblems,
    principal: Principal,
    version_ids: list[UUID],
    regimes: Sequence[str],
    kind: str | None,
) -> None:
    """Each checklist fits a planned regime and the object's kind; every planned regime has its checklist."""
    covered = set()
    if len(set(version_ids)) != len(version_ids):
        problems.add("/checklist_version_ids", "a checklist version is listed twice")
    for index, version_id in enumerate(version_ids):
        pointer = f"/checklist_version_ids/{index}"
        try:
            version = await checklists.get_version(conn, principal, version_id)
        except NotFound:
            problems.add(pointer, "no such checklist version")
            continue
        covered.add(version.regime)
        if version.regime != checklists.ANY_REGIME and version.regime not in regimes:
            problems.add(pointer, f"a checklist of regime {version.regime}, not planned here")
        fits = checklist_kinds().get(version.key)
        if kind is not None and fits is not None and kind not in fits:
            problems.add(pointer, f"checklist {version.key} is not made for an object of kind {kind}")
    for regime in sorted(set(regimes) - covered):
        problems.add("/checklist_version_ids", f"regime {regime} is planned without a checklist of it")


# --- commands ---------------------------------------------------------------------------------------------


async def create_assignment(
    tx: asyncpg.Connection,
    principal: Principal,
    data: AssignmentCreate,
    *,
    request_id: str | None,
    complaint_id: UUID | None = None,
) -> Assignment:
    """Plan an inspection. `complaint_id`: the complaint it follows up (the complaints feature passes it, with
    reason complaint, after checking the complaint)."""
    if not _may_plan_for(principal, data.team_id):
        raise Forbidden("You plan only for your own teams.", code="not_your_team")
    problems = FieldProblems()
    target = await _target(tx, problems, principal, data, request_id)
    target_regimes, wijk, kind = target or ([], "", None)
    if target is not None:
        _check_regimes(problems, principal, data.regimes, target_regimes)
    _check_window(problems, data.planned_from, data.planned_to)
    await _check_checklists(tx, problems, principal, data.checklist_version_ids, data.regimes, kind)
    await _check_inspectors(tx, problems, data.inspector_ids, data.team_id, data.regimes)
    if len(set(data.partners)) != len(data.partners):
        problems.add("/partners", "a partner is listed twice")
    problems.raise_if_any()
    row = await tx.fetchrow(
        queries.INSERT,
        new_id(),
        data.object_id,
        data.location_id,
        data.team_id,
        wijk,
        sorted(data.regimes),
        data.checklist_version_ids,
        data.planned_from,
        data.planned_to,
        data.inspector_ids,
        data.reason,
        sorted(data.partners),
        data.notes or None,
        principal.user_id,
        complaint_id,
    )
    created = _assignment(row)
    after = _audit_state(created)
    if complaint_id is not None:
        after["complaint_id"] = str(complaint_id)
    await audit.record_user_action(
        tx, principal, "assignment", created.id, "created", request_id=request_id, after=after
    )
    return created


async def plan_hercontrole(
    tx: asyncpg.Connection,
    principal: Principal,
    *,
    object_id: UUID | None,
    location_id: UUID | None,
    team_id: str,
    wijk: str,
    regimes: list[str],
    checklist_version_ids: list[UUID],
    inspector_ids: list[UUID],
    planned_from: date,
    planned_to: date,
    notes: str,
    request_id: str | None,
) -> Assignment:
    """A hercontrole the enforcement feature plans (in its transaction) when a last onder dwangsom is sent, at
    the end of its begunstigingstermijn: the decision orders it, so no planner's team check applies; the team,
    checklists and inspectors are those of the inspections the decision rests on."""
    row = await tx.fetchrow(
        queries.INSERT,
        new_id(),
        object_id,
        location_id,
        team_id,
        wijk,
        sorted(regimes),
        checklist_version_ids,
        planned_from,
        planned_to,
        inspector_ids,
        "hercontrole",
        [],
        notes,
        principal.user_id,
        None,
    )
    created = _assignment(row)
    await audit.record_user_action(
        tx,
        principal,
        "assignment",
        created.id,
        "created",
        request_id=request_id,
        reason="hercontrole",
        after=_audit_state(created),
    )
    return created


async def assignments_of_complaint(
    conn: asyncpg.Connection, principal: Principal, complaint_id: UUID
) -> list[Assignment]:
    """The assignments planned from a complaint whose regimes the caller may see, whatever their team (the
    complaints feature shows them as a follow-up summary to whoever may see the complaint), in planning order. A
    complaint may lead to an inspection under another regime (a nuisance complaint to a check for illegal
    prostitution), so seeing the complaint is not enough: sex work needs the sexwork scope."""
    rows = await conn.fetch(queries.OF_COMPLAINT, complaint_id)
    return [_assignment(row) for row in rows if _sees_regimes(row["regimes"], principal.regimes)]


async def _changeable(tx: asyncpg.Connection, principal: Principal, assignment_id: UUID) -> Assignment:
    current = await get_assignment(tx, principal, assignment_id)
    if not _may_plan_for(principal, current.team_id):
        raise Forbidden("You change only your own teams' assignments.", code="not_your_team")
    if current.status != "planned":
        raise Conflict(f"The assignment is {current.status}; it can no longer change.", code="assignment_closed")
    return current


async def _apply(
    tx: asyncpg.Connection,
    principal: Principal,
    current: Assignment,
    action: str,
    sql: str,
    version: int,
    *args: Any,
    reason: str | None = None,
    request_id: str | None,
) -> Assignment:
    row = await tx.fetchrow(sql, current.id, version, *args)
    if row is None:
        raise stale(current.version)
    updated = _assignment(row)
    await audit.record_user_update(
        tx,
        principal,
        "assignment",
        current.id,
        action,
        _audit_state(current),
        _audit_state(updated),
        request_id=request_id,
        reason=reason,
    )
    return updated


async def reassign(
    tx: asyncpg.Connection,
    principal: Principal,
    assignment_id: UUID,
    data: Reassign,
    *,
    version: int,
    request_id: str | None,
) -> Assignment:
    current = await _changeable(tx, principal, assignment_id)
    problems = FieldProblems()
    await _check_inspectors(tx, problems, data.inspector_ids, current.team_id, list(current.regimes))
    problems.raise_if_any()
    return await _apply(
        tx, principal, current, "reassigned", queries.REASSIGN, version, data.inspector_ids, request_id=request_id
    )


async def reschedule(
    tx: asyncpg.Connection,
    principal: Principal,
    assignment_id: UUID,
    data: Reschedule,
    *,
    version: int,
    request_id: str | None,
) -> Assignment:
    current = await _changeable(tx, principal, assignment_id)
    problems = FieldProblems()
    _check_window(problems, data.planned_from, data.planned_to)
    problems.raise_if_any()
    return await _apply(
        tx,
        principal,
        current,
        "rescheduled",
        queries.RESCHEDULE,
        version,
        data.planned_from,
        data.planned_to,
        request_id=request_id,
    )


async def cancel(
    tx: asyncpg.Connection,
    principal: Principal,
    assignment_id: UUID,
    data: Cancel,
    *,
    version: int,
    request_id: str | None,
) -> Assignment:
    current = await _changeable(tx, principal, assignment_id)
    reason = data.reason.strip()
    return await _apply(
        tx, principal, current, "cancelled", queries.CANCEL, version, reason, reason=reason, request_id=request_id
    )


async def call_off_hercontrole(
    tx: asyncpg.Connection, principal: Principal, assignment_id: UUID, *, reason: str, request_id: str | None
) -> bool:
    """A hercontrole the enforcement feature planned (plan_hercontrole) is not held: the last onder dwangsom it
    would check no longer binds (in enforcement's transaction). The decision that ended the last orders it, as
    sending the last planned it, so no planner's team check applies. An assignment done or cancelled already stays
    as it is; returns whether it changed."""
    current = await get_assignment(tx, principal, assignment_id)
    if current.status != "planned":
        return False
    reason = reason.strip()
    await _apply(
        tx,
        principal,
        current,
        "cancelled",
        queries.CANCEL,
        current.version,
        reason,
        reason=reason,
        request_id=request_id,
    )
    return True


async def mark_done(
    tx: asyncpg.Connection, principal: Principal, assignment_id: UUID, *, inspection_id: UUID, request_id: str | None
) -> bool:
    """The inspection of a planned assignment was submitted: the assignment is done (in the submission's
    transaction). A cancelled or done assignment stays as it is; returns whether it changed."""
    row = await tx.fetchrow(queries.MARK_DONE, assignment_id)
    if row is None:
        return False
    await audit.record_user_action(
        tx,
        principal,
        "assignment",
        assignment_id,
        "done",
        request_id=request_id,
        before={"status": "planned"},
        after={"status": "done", "inspection_id": str(inspection_id)},
    )
    return True


async def on_inspection_stored(tx: asyncpg.Connection, stored: Event, principal: Principal) -> None:
    """Reaction to inspection.submitted and .corrected: the assignment it was planned under is done."""
    assignment_id = stored.related.get("assignment")
    if assignment_id is not None:
        await mark_done(tx, principal, assignment_id, inspection_id=stored.subject_id, request_id=stored.request_id)
