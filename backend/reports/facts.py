"""The reports' read model, kept by reactions to domain events (registered in backend/reactions.py).

Each reaction runs in the transaction of the change it hears of and writes the facts of the record that changed
(migrations/0070_reports_read_model.sql): the record is read through its owning feature's service, classified as
the indicators count it (reports.definitions), and its old facts are replaced. The per-day counts follow the facts
by trigger in the same transaction, so a report never sees a change without its counts.

The read model counts every record, whoever's action changed it: its reads are made as a reader that sees every
regime and team (only counts ever leave the reports), in the name of the user whose action it follows.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.complaints import service as complaints
from backend.core import calendar
from backend.core.auth import Principal
from backend.core.events import Event, Statement, StatementReaction
from backend.inspections import service as inspections
from backend.inspections.models import Inspection
from backend.inspections.trail import InspectionSnapshot
from backend.planning import service as planning
from backend.planning.models import Assignment
from backend.registry import service as registry
from backend.reports import definitions as defs
from backend.reports import queries

ALL_REGIMES = frozenset({"alcohol", "nix18", "coffeeshop", "sexwork", "gambling"})
CLOSED_COMPLAINT_STATES = ("resolved", "rejected")
SANCTION_TYPES = ("warning", "besluit")
SETTLED = ("complied", "forfeited")


@dataclass(frozen=True)
class CaseReads:
    """The enforcement service's reads of cases (enforcement imports reports for its letters, so reports gets
    them handed over in backend/reactions.py instead of importing enforcement)."""

    get_case: Callable[..., Awaitable[Any]]  # (conn, principal, case_id) -> Case, a read logged as nobody's
    open_cases_at: Callable[..., Awaitable[Any]]  # (conn, principal, *, object_id, location_id) -> CasePage


_cases: list[CaseReads] = []


def read_cases_with(reads: CaseReads) -> None:
    _cases[:] = [reads]


def _enforcement() -> CaseReads:
    if not _cases:
        raise RuntimeError("reports.facts.read_cases_with was not called (backend/reactions.py wires it)")
    return _cases[0]


def _reader(principal: Principal) -> Principal:
    return Principal(
        user_id=principal.user_id,
        subject=principal.subject,
        issuer=principal.issuer,
        roles=frozenset({"admin"}),
        regimes=ALL_REGIMES,
        teams=frozenset(),
    )


async def _object_kind(tx: asyncpg.Connection, object_id: UUID | None) -> str:
    return defs.LOCATION_KIND if object_id is None else await registry.object_kind(tx, object_id)


async def rebuild(conn: asyncpg.Connection) -> None:
    """Every fact and count again from the features' own tables (the migrations' reports_rebuild, then the month
    counts and latest controls from those), in one transaction: for a database whose records were written without
    the reactions (an import, a restore)."""
    async with conn.transaction():
        await conn.execute(queries.COUNT_NOW)
        await conn.execute(queries.REBUILD, *defs.permit_questions())
        await conn.execute(queries.REBUILD_SUMMARIES)


# --- inspections -----------------------------------------------------------------------------------------------


def _submitted_facts(happened: Event) -> list[Statement]:
    """A first submission's facts, from the event's snapshot alone: the stored view, the kind of its object and
    its assignment as the submission read them. Not reviewed, it counts no violations yet."""
    snapshot = happened.snapshot
    assert isinstance(snapshot, InspectionSnapshot)
    inspection = snapshot.view
    kind = defs.LOCATION_KIND if inspection.object_id is None else snapshot.object_kind
    assert kind is not None, "a submission's snapshot has the kind of its object"
    reason, followed = _assignment_facts(snapshot.assignment)
    return [Statement(queries.INSERT_INSPECTION_FACT, _fact(inspection, kind, reason)), *followed]


def _assignment_facts(assignment: Assignment | None) -> tuple[str | None, list[Statement]]:
    """What an inspection's assignment adds: the reason it counts under, and the complaint it follows up marked
    followed."""
    if assignment is None:
        return None, []
    followed = [Statement(queries.COMPLAINT_FOLLOWED, (assignment.complaint_id,))] if assignment.complaint_id else []
    return assignment.reason, followed


# inspection.submitted: its facts, with the outbox's message and the photos' question in one round trip.
on_inspection_submitted = StatementReaction(_submitted_facts)


async def on_inspection_changed(tx: asyncpg.Connection, happened: Event, principal: Principal) -> None:
    """inspection.corrected/reviewed/returned: the inspection's facts anew; a complaint it follows up is
    followed; after a review, the cases it opened and the hercontrole it settled. The inspection is the event's
    snapshot (the stored view the inspections feature announced; the reactions before this one change nothing the
    facts are made of), read anew only for an event without one. The object's kind and the assignment come with
    the snapshot when the change read them (a correction)."""
    reader = _reader(principal)
    snapshot = happened.snapshot
    if isinstance(snapshot, InspectionSnapshot):
        inspection, known_kind, assignment = snapshot.view, snapshot.object_kind, snapshot.assignment
    else:
        inspection, known_kind = await inspections.get_inspection(tx, reader, happened.subject_id), None
        assignment = None
    if assignment is None and inspection.assignment_id is not None:
        assignment = await planning.get_assignment(tx, reader, inspection.assignment_id)
    reason, followed = _assignment_facts(assignment)
    for statement in followed:
        await tx.execute(statement.sql, *statement.args)
    kind = known_kind or await _object_kind(tx, inspection.object_id)
    await replace_inspection(tx, inspection, kind, reason)
    if happened.type == "inspection.reviewed":
        await _after_review(tx, reader, inspection)


def _answer_text(value: Any) -> str | None:
    """An answer as PostgreSQL's `->>` gives it (what the definitions compare)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def nix18_complied(answers: dict[str, Any]) -> bool:
    """definitions.NIX18_COMPLIED_SQL for one purchase attempt's answers."""
    answer = {key: _answer_text(answers.get(key)) for key in ("NX-03", "NX-04", "NX-05a", "NX-06")}
    return answer["NX-04"] != "yes" or (
        answer["NX-03"] == "yes" and answer["NX-05a"] == "age_18_plus" and answer["NX-06"] != "no"
    )


def _permit_checked(inspection: Inspection) -> bool:
    return any(defs.permit_checked(c.template_key, c.answers) for c in inspection.checklists)


def _dims(inspection: Inspection, kind: str) -> tuple[Any, ...]:
    """What every fact of an inspection is counted by: day, regimes, wijk, object kind, team."""
    day = inspection.inspected_at.astimezone(calendar.AMSTERDAM).date()
    return (day, list(inspection.regimes), inspection.wijk, kind, inspection.team_id)


def _counted_violations(inspection: Inspection) -> list[Any]:
    """The violations the indicators count: those of a reviewed inspection."""
    return inspection.violations if inspection.state == "reviewed" else []


def _fact(inspection: Inspection, kind: str, reason: str | None) -> tuple[Any, ...]:
    """The bind values of INSERT_INSPECTION_FACT."""
    reviewed = inspection.state == "reviewed"
    regime_at = [c.regime for c in inspection.checklists]
    return (
        inspection.id,
        inspection.object_id,
        *_dims(inspection, kind),
        reviewed,
        reviewed and _permit_checked(inspection),
        reason,
        sorted({regime_at[v.checklist] for v in _counted_violations(inspection)}),
    )


async def replace_inspection(tx: asyncpg.Connection, inspection: Inspection, kind: str, reason: str | None) -> None:
    """The inspection's facts anew."""
    reviewed = inspection.state == "reviewed"
    dims = _dims(inspection, kind)
    regime_at = [c.regime for c in inspection.checklists]
    violations = _counted_violations(inspection)
    code_regimes: dict[str, set[str]] = {}
    for v in violations:
        code_regimes.setdefault(v.code, set()).add(regime_at[v.checklist])
    attempts = [
        (position, _answer_text(c.answers.get("NX-01")) or "onbekend", nix18_complied(c.answers))
        for position, c in enumerate(inspection.checklists)
        if reviewed and c.template_key == defs.NIX18_TEMPLATE
    ]
    await tx.execute(queries.DELETE_INSPECTION_FACTS, inspection.id)
    await tx.execute(queries.INSERT_INSPECTION_FACT, *_fact(inspection, kind, reason))
    if attempts:
        await tx.executemany(queries.INSERT_NIX18_FACT, [(inspection.id, *a, *dims) for a in attempts])
    if violations:
        await tx.executemany(
            queries.INSERT_VIOLATION_FACT,
            [
                (
                    inspection.id,
                    v.id,
                    v.code,
                    regime_at[v.checklist],
                    msgspec.to_builtins(v.article),
                    v.observed_on,
                    *dims,
                )
                for v in violations
            ],
        )
        await tx.executemany(
            queries.INSERT_CODE_FACT,
            [(inspection.id, code, sorted(regimes), *dims) for code, regimes in code_regimes.items()],
        )


# --- enforcement ---------------------------------------------------------------------------------------------


async def _after_review(tx: asyncpg.Connection, reader: Principal, inspection: Inspection) -> None:
    """The enforcement feature reacted before: a case it opened now belongs to the inspection's team, and a
    planned hercontrole this inspection was may have its outcome."""
    if inspection.violations:
        at = {"object_id": inspection.object_id} if inspection.object_id else {"location_id": inspection.location_id}
        page = await _enforcement().open_cases_at(tx, reader, **at)
        now = await tx.fetchval("SELECT now()")
        for case in page.items:
            if case.opened_at == now:
                await _remember_case(tx, reader, case.id, inspection.team_id)
    if inspection.assignment_id is not None:
        case_id = await tx.fetchval(queries.HERCONTROLE_CASE, inspection.assignment_id)
        if case_id is not None:
            await replace_sanctions(tx, reader, case_id)


async def _remember_case(tx: asyncpg.Connection, reader: Principal, case_id: UUID, team_id: str | None) -> None:
    case = await _enforcement().get_case(tx, reader, case_id)
    kind = await _object_kind(tx, case.object_id)
    if case.object_id is not None:
        regimes = (await registry.get_object(tx, reader, case.object_id)).regimes
    else:
        assert case.location_id is not None
        regimes = (await registry.get_locations(tx, reader, [case.location_id]))[0].regimes
    await tx.execute(queries.INSERT_CASE, case.id, case.regime, case.wijk, team_id, kind, "sexwork" in regimes)


async def on_step_sent(tx: asyncpg.Connection, happened: Event, principal: Principal) -> None:
    """step.sent: the case's sanctions anew (a last onder dwangsom also plans its hercontrole)."""
    reader = _reader(principal)
    case_id = happened.related["case"]
    if not await tx.fetchval(queries.CASE_KNOWN, case_id):
        await _remember_case(tx, reader, case_id, None)  # opened by hand: no team
    await replace_sanctions(tx, reader, case_id)


# step.withdrawn: the same event shape, and the case's sanctions anew leave the withdrawn decision out.
on_step_withdrawn = on_step_sent


async def replace_sanctions(tx: asyncpg.Connection, reader: Principal, case_id: UUID) -> None:
    case = await _enforcement().get_case(tx, reader, case_id)
    rows = []
    for s in case.steps:
        if s.type in SANCTION_TYPES and s.sent_on is not None and s.withdrawn_on is None:
            rows.append((s.id, case_id, s.type, s.decision, s.amount_cents, s.sent_on, False, s.forfeited_cents))
        elif s.type == "hercontrole" and s.status in SETTLED:
            day = s.observed_on or s.updated_at.astimezone(UTC).date()
            forfeited = s.status == "forfeited"
            rows.append((s.id, case_id, s.type, s.decision, s.amount_cents, day, forfeited, s.forfeited_cents))
    await tx.execute(queries.DELETE_SANCTIONS, case_id)
    if rows:
        await tx.executemany(queries.INSERT_SANCTION, rows)
    planned = [(s.assignment_id, case_id) for s in case.steps if s.type == "hercontrole" and s.assignment_id]
    if planned:
        await tx.executemany(queries.INSERT_HERCONTROLE, planned)


# --- complaints ----------------------------------------------------------------------------------------------


async def on_complaint_changed(tx: asyncpg.Connection, happened: Event, principal: Principal) -> None:
    """complaint.received/answered/reopened: the complaint's facts anew."""
    reader = _reader(principal)
    complaint = await complaints.read_complaint(tx, reader, happened.subject_id)
    state = complaint.state if complaint.state in CLOSED_COMPLAINT_STATES else "open"
    followed = any(f.inspection_id is not None for f in complaint.inspections)
    await tx.execute(
        queries.REPLACE_COMPLAINT_FACT,
        complaint.id,
        complaint.received_at.astimezone(calendar.AMSTERDAM).date(),
        complaint.regime,
        complaint.location.wijk,
        complaint.object_id,
        await _object_kind(tx, complaint.object_id),
        state,
        complaint.closed_at and complaint.closed_at.astimezone(calendar.AMSTERDAM).date(),
        complaint.resolution_due_on,
        followed,
    )
