"""Complaints' rules: who sees what, a complaint as each caller sees it, the lists (deadlines, hot spots, the
reporters to inform) and the table of state changes. intake.py registers a complaint; lifecycle.py changes one
(its state, handler, a planned inspection, the reporter informed). The rules below hold for all three.

Roles. Complaint handlers (complaints_officer) and admins register complaints (by hand or as the account of an
external intake system), change their state, assign handlers, and are the only ones who see the reporter's
identity, contact details and the answers sent to the reporter. Coordinators (and admins) plan inspections
from complaints. Everyone else who may see a complaint sees it without those details.

Visibility (queries.VISIBLE). A complaint's regime is its category's (schemas/complaints/categories.json), or
sexwork when it concerns an object with the sexwork regime (so a complaint never reveals a sex-work object to
users not scoped for sex work). A user sees a complaint of a regime they are scoped for, whatever their role;
a sex-work complaint therefore only users with the sexwork regime. Categories without a regime ('other',
'ondermijning') are triaged by complaint handlers and admins only. A complaint the caller may not see answers
404, like one that does not exist. A handler cannot register a complaint they could then not see (422).
The inspections planned from a complaint may be of other regimes than the complaint's (a nuisance complaint can
lead to a check for illegal prostitution), so a complaint shows only those whose regimes the caller may see, by
the inspections' own rule on regimes (sex work only with the sexwork scope): their assignment, outcome and
violation codes, and their assignment's id in the history.

Privacy. The reporter's details live in their own table (complaint_reporter) that only `get_complaint` reads,
and only for handlers and admins, and `feedback_contact`, for the e-mail to the reporter the outbox sends; each
such read writes a `complaint.reporter_read` audit event. Lists, the
responses of commands (which the Idempotency-Key store keeps), audit events, sync and planning never carry them.

Lifecycle. TRANSITIONS below is the one table of allowed state changes; each change checks the version
(If-Match) and the state it leaves in one UPDATE, is kept in the complaint's history (who, when, why) and
audited. Leaving 'received' acknowledges the complaint. Reopening starts a new handling term from that day.
An answer to the reporter is required on resolving and on rejecting (what happened: forwarded to whom, or why
the municipality does not handle it) when they want feedback, and refused when they do not.

Deadlines. Acknowledgement and resolution dates are the category's working days (Mon-Fri without the Atw
holidays, backend/core/calendar.py) after the day of receipt in Europe/Amsterdam.

Location. An address and/or coordinates, or the object (whose address is then used). The wijk is the
handler's explicit override, else the object's, else the one of the address's four-digit postcode area
(schemas/complaints/wijk-pc4.json). No match and no override: 422 location_outside_wijken.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from backend.complaints import queries, reference
from backend.complaints.models import (
    CategoryList,
    CategoryView,
    Complaint,
    ComplaintFilters,
    ComplaintPage,
    ComplaintRef,
    ComplaintSummary,
    DueQuery,
    FeedbackEmail,
    HistoryEntry,
    HotSpot,
    HotSpotList,
    HotSpotQuery,
    InspectionFollowUp,
    ObjectMatch,
    Reporter,
    ReporterInformed,
    ReporterToInform,
    ReporterToInformPage,
    WorklistFilters,
)
from backend.core import audit, calendar, events
from backend.core.auth import Principal
from backend.core.errors import FieldProblems, NotFound
from backend.core.pagination import PageRequest, decode_cursor, encode_cursor
from backend.core.visibility import COMPLAINT_HANDLERS, Visibility
from backend.inspections import service as inspections
from backend.planning import service as planning
from backend.registry import service as registry
from backend.registry.models import EstablishmentPage, ObjectFilters

HANDLERS = COMPLAINT_HANDLERS
PLANNERS = ("coordinator", "admin")

# The allowed state changes, in one place. inspection_planned is reached only by planning an inspection; to plan
# another one (e.g. the first was cancelled) the handler moves the complaint back to in_progress first.
TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset({"in_progress", "inspection_planned", "rejected"}),
    "in_progress": frozenset({"inspection_planned", "resolved", "rejected"}),
    "inspection_planned": frozenset({"in_progress", "resolved"}),
    "resolved": frozenset({"reopened"}),
    "reopened": frozenset({"in_progress", "inspection_planned", "resolved", "rejected"}),
    "rejected": frozenset({"reopened"}),
}
CLOSED_STATES = frozenset({"resolved", "rejected"})
# The states POST .../transitions reaches (inspection_planned is reached by planning an inspection).
TRANSITION_TARGETS = frozenset({"in_progress", "resolved", "reopened", "rejected"})

Listed = TypeVar("Listed", bound=ComplaintSummary)


def is_handler(principal: Principal) -> bool:
    return principal.has_role(*HANDLERS)


def _scope(principal: Principal) -> tuple[list[str], bool]:
    """The bind values of queries.VISIBLE for this caller."""
    return queries.visible_args(Visibility.of(principal))


def sees(principal: Principal, regime: str | None) -> bool:
    return principal.sees_regime(regime) if regime is not None else is_handler(principal)


def categories() -> CategoryList:
    return CategoryList(
        items=[msgspec.convert(msgspec.to_builtins(c), CategoryView) for c in reference.categories().values()]
    )


# --- shaping rows ---------------------------------------------------------------------------------------------


def _deadline_flags(fields: dict[str, Any]) -> None:
    on = calendar.today()
    fields["acknowledgement_overdue"] = fields["state"] == "received" and fields["acknowledgement_due_on"] < on
    fields["overdue"] = fields["state"] not in CLOSED_STATES and fields["resolution_due_on"] < on


def _location_fields(fields: dict[str, Any]) -> None:
    keys = (
        "street",
        "house_number",
        "house_number_addition",
        "postcode",
        "city",
        "latitude",
        "longitude",
        "wijk",
        "wijk_source",
    )
    fields["location"] = {key: fields.pop(key) for key in keys}


def _summary(row: asyncpg.Record) -> ComplaintSummary:
    return _listed(row, ComplaintSummary)


def _listed(row: asyncpg.Record, item: type[Listed]) -> Listed:
    """A row of a list as its item: a complaint summary, or one with what that list adds."""
    fields = dict(row)
    _deadline_flags(fields)
    _location_fields(fields)
    return msgspec.convert(fields, item)


async def _follow_ups(
    conn: asyncpg.Connection, principal: Principal, complaint_id: UUID
) -> tuple[list[InspectionFollowUp], set[UUID]]:
    """The inspections planned from the complaint that the caller may see by their regimes (planning and the
    inspections feature decide), and the ids of those assignments."""
    shown = await planning.assignments_of_complaint(conn, principal, complaint_id)
    outcomes = await inspections.outcomes_of_assignments(conn, principal, [a.id for a in shown])
    items = []
    for assignment in shown:
        outcome = outcomes.get(assignment.id)
        reviewed = outcome is not None and outcome.state == "reviewed"
        items.append(
            InspectionFollowUp(
                assignment_id=assignment.id,
                assignment_status=assignment.status,
                team_id=assignment.team_id,
                planned_from=assignment.planned_from,
                planned_to=assignment.planned_to,
                inspection_id=outcome.inspection_id if outcome else None,
                inspection_state=outcome.state if outcome else None,
                reviewed=reviewed,
                violations_found=bool(outcome.violation_codes) if reviewed and outcome else None,
                violation_codes=list(outcome.violation_codes) if reviewed and outcome else [],
            )
        )
    return items, {a.id for a in shown}


async def with_reporter(
    tx: asyncpg.Connection, principal: Principal, complaint: Complaint, *, request_id: str | None
) -> Complaint:
    """The complaint with the reporter's details when the caller is a handler (or admin): that read is audited
    (complaint.reporter_read), whether it is a GET or the answer to the intake that typed them in."""
    if not is_handler(principal) or complaint.anonymous:
        return complaint
    reporter = await tx.fetchrow(queries.REPORTER, complaint.id)
    await audit.record_user_action(tx, principal, "complaint", complaint.id, "reporter_read", request_id=request_id)
    return msgspec.structs.replace(
        complaint, reporter=Reporter(name=reporter["name"], email=reporter["email"], phone=reporter["phone"])
    )


FeedbackMailReader = Callable[[asyncpg.Connection, UUID], Awaitable[list[FeedbackEmail]]]
# The complaints with an e-mail to the reporter that failed for good, with when the last of those failed.
FailedFeedbackReader = Callable[[asyncpg.Connection], Awaitable[dict[UUID, datetime]]]


async def _no_feedback_mail(conn: asyncpg.Connection, complaint_id: UUID) -> list[FeedbackEmail]:
    return []


async def _no_failed_feedback(conn: asyncpg.Connection) -> dict[UUID, datetime]:
    return {}


_feedback_mail_reader: FeedbackMailReader = _no_feedback_mail
_failed_feedback_reader: FailedFeedbackReader = _no_failed_feedback


def read_feedback_mail_with(reader: FeedbackMailReader, failed: FailedFeedbackReader) -> None:
    """Where the state of the e-mails to a reporter comes from: the outbox's readers, given at start (backend/
    reactions.py), so this feature does not import the one that sends them."""
    global _feedback_mail_reader, _failed_feedback_reader
    _feedback_mail_reader, _failed_feedback_reader = reader, failed


async def feedback_emails(conn: asyncpg.Connection, complaint_id: UUID) -> list[FeedbackEmail]:
    """The e-mails to this complaint's reporter and how each went (the outbox's reader)."""
    return await _feedback_mail_reader(conn, complaint_id)


def reporter_informed(row: asyncpg.Record) -> ReporterInformed | None:
    if row["reporter_informed_at"] is None:
        return None
    return ReporterInformed(
        at=row["reporter_informed_at"], by=row["reporter_informed_by"], how=row["reporter_informed_how"]
    )


async def to_inform(conn: asyncpg.Connection, row: asyncpg.Record, emails: list[FeedbackEmail]) -> bool:
    """Whether the reporter did not hear from us since a handler last recorded informing them another way: an e-mail
    to them failed for good, or they want feedback, left no e-mail address (a phone number only) and the complaint
    was answered (resolved or rejected), so no e-mail carries the answer. queries.REPORTERS_TO_INFORM lists the
    same complaints."""
    moments = [e.failed_at for e in emails if e.failed_at is not None]
    if (
        row["state"] in CLOSED_STATES
        and row["answered_at"] is not None
        and row["wants_feedback"]
        and not await wants_email(conn, row["id"])
    ):
        moments.append(row["answered_at"])
    informed_at = row["reporter_informed_at"]
    return any(informed_at is None or moment > informed_at for moment in moments)


async def view(conn: asyncpg.Connection, principal: Principal, row: asyncpg.Record) -> Complaint:
    """The complaint as this caller may see it, without the reporter's details (see with_reporter)."""
    fields = dict(row)
    handler = is_handler(principal)
    fields["anonymous"] = not fields.pop("has_contact")
    fields["reporter"] = None
    if not handler:
        fields["answer"] = None
    fields["inspections"], shown = await _follow_ups(conn, principal, row["id"])
    history = []
    for entry in await conn.fetch(queries.HISTORY, row["id"]):
        item = dict(entry)
        if not handler:
            item["answer"] = None
        if item["assignment_id"] is not None and item["assignment_id"] not in shown:
            item["assignment_id"] = None  # an inspection planned under a regime the caller may not see
        history.append(msgspec.convert(item, HistoryEntry))
    fields["history"] = history
    # Whether the reporter heard from us is the handler's business, like the reporter's details.
    emails = fields["feedback_emails"] = await feedback_emails(conn, row["id"]) if handler else []
    fields["reporter_informed"] = reporter_informed(row) if handler else None
    fields["reporter_to_inform"] = handler and await to_inform(conn, row, emails)
    related = await conn.fetch(
        queries.RELATED,
        *_scope(principal),
        row["id"],
        row["object_id"],
        row["postcode"],
        row["house_number"],
        row["house_number_addition"],
    )
    fields["related"] = [msgspec.convert(dict(r), ComplaintRef) for r in related]
    fields["allowed_transitions"] = sorted(TRANSITIONS[fields["state"]] & TRANSITION_TARGETS)
    _deadline_flags(fields)
    _location_fields(fields)
    return msgspec.convert(fields, Complaint)


async def read_complaint(conn: asyncpg.Connection, principal: Principal, complaint_id: UUID) -> Complaint:
    """The complaint without the reporter's details, for other features (nothing personal is read, so nothing
    is audited)."""
    return await view(conn, principal, await visible_row(conn, principal, complaint_id))


def event(type: str, principal: Principal, row: asyncpg.Record, request_id: str | None) -> events.Event:
    """A complaint event: its object when known, the category's regime when it has one (no personal data)."""
    return events.event(
        type,
        actor=principal.user_id,
        subject_type="complaint",
        subject_id=row["id"],
        related={"object": row["object_id"]} if row["object_id"] is not None else {},
        regimes=[row["regime"]] if row["regime"] is not None else [],
        request_id=request_id,
    )


class FeedbackContact(msgspec.Struct, frozen=True):
    """What an e-mail to the reporter needs. Personal data: never logged, never stored elsewhere."""

    email: str
    received_at: datetime
    resolution_due_on: date
    answer: str | None


async def feedback_contact(
    tx: asyncpg.Connection, complaint_id: UUID, *, actor: audit.Actor = audit.SYSTEM
) -> FeedbackContact | None:
    """The reporter's e-mail contact when they left an address and want feedback, else None. Reading the address
    is a read of the reporter's details, audited like any other (complaint.reporter_read); call it in a
    transaction."""
    row = await tx.fetchrow(queries.FEEDBACK_CONTACT, complaint_id)
    if row is None:
        return None
    await audit.record(
        tx, actor=actor, action="complaint.reporter_read", object_type="complaint", object_id=complaint_id
    )
    return msgspec.convert(dict(row), FeedbackContact)


async def wants_email(conn: asyncpg.Connection, complaint_id: UUID, *, with_answer: bool = False) -> bool:
    """Whether the reporter left an e-mail address and wants feedback, and (with_answer) whether the complaint has
    an answer for them now. Reads no detail, so audits nothing."""
    return bool(await conn.fetchval(queries.WANTS_EMAIL, complaint_id, with_answer))


async def visible_row(conn: asyncpg.Connection, principal: Principal, complaint_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(queries.GET, *_scope(principal), complaint_id)
    if row is None:
        raise NotFound("No such complaint.")
    return row


# --- reading ----------------------------------------------------------------------------------------------------


async def get_complaint(
    tx: asyncpg.Connection, principal: Principal, complaint_id: UUID, *, request_id: str | None
) -> Complaint:
    """One complaint; for handlers and admins with the reporter's details (the read is audited)."""
    row = await visible_row(tx, principal, complaint_id)
    return await with_reporter(tx, principal, await view(tx, principal, row), request_id=request_id)


async def list_complaints(
    conn: asyncpg.Connection, principal: Principal, filters: ComplaintFilters, page: PageRequest
) -> ComplaintPage:
    await registry.ensure_known_wijk_filter(conn, filters.wijk)
    if filters.postcode is not None:
        filters = msgspec.structs.replace(filters, postcode=registry.normalise_postcode(filters.postcode))
    items, next_cursor = await queries.COMPLAINT_LIST.page(
        conn, filters, page, scope_args=_scope(principal), item=_summary
    )
    return ComplaintPage(items=items, next_cursor=next_cursor)


async def list_due(
    conn: asyncpg.Connection, principal: Principal, query: DueQuery, filters: WorklistFilters, page: PageRequest
) -> ComplaintPage:
    """Open complaints by due date, the earliest first: overdue (due before today), not yet overdue, or both;
    `due_by` limits to those due on or before that day."""
    after = decode_cursor(page.cursor, tuple[date, UUID])
    await registry.ensure_known_wijk_filter(conn, filters.wijk)
    on = calendar.today()
    deadline, overdue, limit = query.deadline, query.overdue, page.limit
    prepared = {
        **filters.filter_values(),
        "before": on if overdue else None,
        "from": on if overdue is False else None,
        "by": query.due_by,
    }
    due_list = queries.DUE_LISTS[deadline]
    rows = await due_list.fetch(conn, prepared, scope_args=_scope(principal), after=after, limit=limit)
    items = [_summary(row) for row in rows[:limit]]
    last = items[-1] if items and len(rows) > limit else None
    due = (last.resolution_due_on if deadline == "resolution" else last.acknowledgement_due_on) if last else None
    return ComplaintPage(
        items=items, next_cursor=encode_cursor(due.isoformat(), str(last.id)) if last and due else None
    )


async def hotspots(
    conn: asyncpg.Connection, principal: Principal, query: HotSpotQuery, *, default_days: int
) -> HotSpotList:
    """Objects by the number of complaints (that the caller may see) received in the last `days` days (without
    them, `default_days`); only objects the caller may see are listed."""
    await registry.ensure_known_wijk_filter(conn, query.wijk)
    days = query.days or default_days
    since = datetime.now(UTC) - timedelta(days=days)
    rows = await conn.fetch(
        queries.HOTSPOTS, *_scope(principal), since, query.min_count, query.wijk, query.object_id, query.limit
    )
    # The objects in one query; one the caller may not see is left out.
    seen = {found.id: found for found in await registry.get_objects(conn, principal, [r["object_id"] for r in rows])}
    items = [
        HotSpot(
            object_id=found.id,
            name=found.name,
            street=found.street,
            house_number=found.house_number,
            house_number_addition=found.house_number_addition,
            postcode=found.postcode,
            wijk=found.wijk,
            complaints=row["complaints"],
            last_received_at=row["last_received_at"],
        )
        for row in rows
        if (found := seen.get(row["object_id"])) is not None
    ]
    return HotSpotList(since=since, days=days, items=items)


async def suggest_objects(conn: asyncpg.Connection, principal: Principal, match: ObjectMatch) -> EstablishmentPage:
    """Active objects the caller may see matching a name and/or an address (the registry's search)."""
    if (match.q, match.postcode, match.street, match.house_number) == (None, None, None, None):
        problems = FieldProblems("Give a name or an address to match.")
        for name in ("q", "postcode", "street", "house_number"):
            problems.add_parameter(name, "give q, postcode, street or house_number")
        raise problems.error()
    active = ObjectFilters(
        q=match.q, postcode=match.postcode, street=match.street, house_number=match.house_number, status="active"
    )
    return await registry.search_objects(conn, principal, active, PageRequest(limit=match.limit))


# --- the reporter who did not hear from us ------------------------------------------------------------------------


async def reporters_to_inform(
    conn: asyncpg.Connection, principal: Principal, filters: WorklistFilters, page: PageRequest
) -> ReporterToInformPage:
    """The complaints whose reporter did not hear from us since a handler last recorded informing them another way:
    an e-mail to them (acknowledgement or answer) failed for good, in every state, because a closed complaint's
    answer that never arrived is the worst case; or they want feedback, left no e-mail address and the complaint
    was answered (resolved or rejected). The oldest first, by when the reporter became someone to inform (the
    failure, or the answer)."""
    await registry.ensure_known_wijk_filter(conn, filters.wijk)
    failed = await _failed_feedback_reader(conn)
    items, next_cursor = await queries.REPORTERS_TO_INFORM.page(
        conn,
        filters,
        page,
        scope_args=[*_scope(principal), list(failed), list(failed.values())],
        item=lambda row: _listed(row, ReporterToInform),
    )
    return ReporterToInformPage(items=items, next_cursor=next_cursor)
