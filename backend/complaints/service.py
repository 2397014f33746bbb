"""Complaints' rules: intake, who sees what, the lifecycle, deadlines, planning an inspection, hot spots.

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

Privacy. The reporter's details live in their own table (complaint_reporter) that only `get_complaint` reads,
and only for handlers and admins, and `feedback_contact`, for the e-mail to the reporter the outbox sends; each
such read writes a `complaint.reporter_read` audit event. Lists, the
responses of commands (which the Idempotency-Key store keeps), audit events, sync and planning never carry them.

Lifecycle. TRANSITIONS below is the one table of allowed state changes; each change checks the version
(If-Match) and the state it leaves in one UPDATE, is kept in the complaint's history (who, when, why) and
audited. Leaving 'received' acknowledges the complaint. Reopening starts a new handling term from that day.
An answer to the reporter is required on resolving when they want feedback, and refused when they do not.

Deadlines. Acknowledgement and resolution dates are the category's working days (Mon-Fri without the Atw
holidays, backend/core/calendar.py) after the day of receipt in Europe/Amsterdam.

Location. An address and/or coordinates, or the object (whose address is then used). The wijk is the
handler's explicit override, else the object's, else the one of the address's four-digit postcode area
(schemas/complaints/wijk-pc4.json). No match and no override: 422 location_outside_wijken.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec
import structlog

from backend.complaints import queries, reference
from backend.complaints.models import (
    AssignHandler,
    CategoryList,
    CategoryView,
    Complaint,
    ComplaintCreate,
    ComplaintPage,
    ComplaintRef,
    ComplaintSummary,
    FeedbackEmail,
    HistoryEntry,
    HotSpot,
    HotSpotList,
    InformReporter,
    InspectionFollowUp,
    PlanInspection,
    PlannedInspection,
    Reject,
    Reopen,
    Reporter,
    ReporterContact,
    ReporterInformed,
    ReporterToInform,
    ReporterToInformPage,
    Resolve,
    Transition,
)
from backend.core import audit, calendar, events
from backend.core.auth import Principal
from backend.core.concurrency import stale
from backend.core.errors import Conflict, FieldProblems, NotFound, invalid
from backend.core.ids import new_id
from backend.core.pagination import decode_cursor, encode_cursor, keyset_page
from backend.core.visibility import COMPLAINT_HANDLERS, Visibility
from backend.inspections import service as inspections
from backend.planning import service as planning
from backend.planning.models import AssignmentCreate
from backend.registry import service as registry
from backend.registry.models import Establishment, EstablishmentPage, LocationCreate
from backend.users import service as users
from backend.users.models import Regime

log = structlog.get_logger("toezicht.complaints")

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

# A clock a little ahead of ours is not a complaint from the future.
CLOCK_TOLERANCE = timedelta(minutes=5)
Listed = TypeVar("Listed", bound=ComplaintSummary)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
# Dutch: 0 and nine digits; international: + (or 00) and 8-15 digits (E.164).
_PHONE = re.compile(r"^(?:0[1-9][0-9]{8}|\+[1-9][0-9]{7,14}|00[1-9][0-9]{7,13})$")


def is_handler(principal: Principal) -> bool:
    return principal.has_role(*HANDLERS)


def _scope(principal: Principal) -> tuple[list[str], bool]:
    """The bind values of queries.VISIBLE for this caller."""
    return queries.visible_args(Visibility.of(principal))


def _sees(principal: Principal, regime: str | None) -> bool:
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


async def _follow_ups(conn: asyncpg.Connection, complaint_id: UUID) -> list[InspectionFollowUp]:
    assignments = await planning.assignments_of_complaint(conn, complaint_id)
    outcomes = await inspections.outcomes_of_assignments(conn, [a.id for a in assignments])
    items = []
    for assignment in assignments:
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
    return items


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


def _reporter_informed(row: asyncpg.Record) -> ReporterInformed | None:
    if row["reporter_informed_at"] is None:
        return None
    return ReporterInformed(
        at=row["reporter_informed_at"], by=row["reporter_informed_by"], how=row["reporter_informed_how"]
    )


def _to_inform(emails: list[FeedbackEmail], informed: ReporterInformed | None) -> bool:
    """Whether an e-mail to the reporter failed for good after they were last informed another way."""
    return any(e.failed_at is not None and (informed is None or e.failed_at > informed.at) for e in emails)


async def _view(conn: asyncpg.Connection, principal: Principal, row: asyncpg.Record) -> Complaint:
    """The complaint as this caller may see it, without the reporter's details (see with_reporter)."""
    fields = dict(row)
    handler = is_handler(principal)
    fields["anonymous"] = not fields.pop("has_contact")
    fields["reporter"] = None
    if not handler:
        fields["answer"] = None
    history = []
    for entry in await conn.fetch(queries.HISTORY, row["id"]):
        item = dict(entry)
        if not handler:
            item["answer"] = None
        history.append(msgspec.convert(item, HistoryEntry))
    fields["history"] = history
    # Whether the reporter heard from us is the handler's business, like the reporter's details.
    emails = fields["feedback_emails"] = await _feedback_mail_reader(conn, row["id"]) if handler else []
    informed = fields["reporter_informed"] = _reporter_informed(row) if handler else None
    fields["reporter_to_inform"] = _to_inform(emails, informed)
    fields["inspections"] = await _follow_ups(conn, row["id"])
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
    return await _view(conn, principal, await _visible_row(conn, principal, complaint_id))


def _event(type: str, principal: Principal, row: asyncpg.Record, request_id: str | None) -> events.Event:
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


async def _visible_row(conn: asyncpg.Connection, principal: Principal, complaint_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(queries.GET, *_scope(principal), complaint_id)
    if row is None:
        raise NotFound("No such complaint.")
    return row


# --- intake -------------------------------------------------------------------------------------------------------


def _utc(moment: datetime | None, pointer: str, problems: FieldProblems, now: datetime) -> datetime | None:
    if moment is None:
        return None
    try:
        value = moment.astimezone(UTC)
    except OverflowError:
        problems.add(pointer, "is out of range")
        return None
    if value > now + CLOCK_TOLERANCE:
        problems.add(pointer, "is in the future")
        return None
    return value


def _reporter(
    data: ReporterContact | None, wants_feedback: bool, problems: FieldProblems
) -> tuple[str | None, ...] | None:
    """The reporter's (name, email, phone) to store, None for an anonymous complaint."""
    name = data.name.strip() if data and data.name else None
    email = data.email.strip() if data and data.email and data.email.strip() else None
    phone = data.phone.strip() if data and data.phone and data.phone.strip() else None
    if email is not None and not _EMAIL.match(email):
        problems.add("/reporter/email", "is not a valid e-mail address (name@example.nl)", "invalid_contact_details")
    if phone is not None and not _PHONE.match(_PHONE_SEPARATORS.sub("", phone)):
        problems.add(
            "/reporter/phone",
            "is not a valid phone number (e.g. 06 12345678 or +31 6 12345678)",
            "invalid_contact_details",
        )
    if wants_feedback and email is None and phone is None:
        problems.add(
            "/wants_feedback",
            "feedback needs the reporter's e-mail address or phone number",
            "contact_needed_for_feedback",
        )
    return (name, email, phone) if (name or email or phone) else None


async def _object(
    conn: asyncpg.Connection, principal: Principal, object_id: UUID | None, problems: FieldProblems
) -> Establishment | None:
    if object_id is None:
        return None
    try:
        return await registry.get_object(conn, principal, object_id)
    except NotFound:
        problems.add("/object_id", "no such object")
        return None


async def _place(
    conn: asyncpg.Connection, data: ComplaintCreate, found: Establishment | None, problems: FieldProblems
) -> dict[str, Any]:
    """The complaint's location columns and its wijk with where the wijk came from."""
    place: dict[str, Any] = dict.fromkeys(
        ("street", "house_number", "house_number_addition", "postcode", "city", "latitude", "longitude")
    )
    if data.address is not None:
        address = data.address
        place.update(
            street=address.street.strip(),
            house_number=address.house_number,
            house_number_addition=registry.normalise_addition(address.house_number_addition),
            postcode=registry.normalise_postcode(address.postcode),
            city=address.city.strip(),
        )
    elif found is not None:
        place.update(
            street=found.street,
            house_number=found.house_number,
            house_number_addition=found.house_number_addition,
            postcode=found.postcode,
            city=found.city,
        )
    if data.coordinates is not None:
        place.update(latitude=data.coordinates.latitude, longitude=data.coordinates.longitude)
    elif data.address is None and found is not None:
        place.update(latitude=found.latitude, longitude=found.longitude)
    if data.address is None and data.coordinates is None and data.object_id is None:
        problems.add("/address", "give the address, the coordinates or the object of the complaint")
        return place
    wijken = await registry.wijk_codes(conn)
    if data.wijk is not None:
        if data.wijk not in wijken:
            problems.add("/wijk", f"unknown wijk; one of: {', '.join(sorted(wijken))}")
        place.update(wijk=data.wijk, wijk_source="override")
    elif found is not None:
        place.update(wijk=found.wijk, wijk_source="object")
    else:
        wijk = reference.wijk_of_postcode(place["postcode"]) if place["postcode"] else None
        if wijk is not None and wijk not in wijken:
            log.warning("wijk_pc4_unknown_wijk", wijk=wijk)  # the data file names a wijk the database lacks
            wijk = None
        if wijk is None:
            pointer = "/address/postcode" if place["postcode"] else "/wijk"
            problems.add(
                pointer,
                "the location lies in none of the municipality's wijken; give the wijk if it does",
                "location_outside_wijken",
            )
        place.update(wijk=wijk, wijk_source="postcode")
    return place


async def create_complaint(
    tx: asyncpg.Connection, principal: Principal, data: ComplaintCreate, *, request_id: str | None
) -> Complaint:
    """Register a complaint; every problem is reported in one 422 and nothing is stored. The answer holds no
    reporter details: it may be kept as an idempotent response (the route adds them with with_reporter)."""
    problems = FieldProblems()
    now = datetime.now(UTC)
    category = reference.categories().get(data.category)
    if category is None:
        problems.add("/category", f"unknown category; one of: {', '.join(reference.categories())}", "unknown_category")
    incident_at = _utc(data.incident_at, "/incident_at", problems, now)
    received_at = _utc(data.received_at, "/received_at", problems, now) or now
    contact = _reporter(data.reporter, data.wants_feedback, problems)
    found = await _object(tx, principal, data.object_id, problems)
    place = await _place(tx, data, found, problems)
    regime = None
    if category is not None:
        regime = "sexwork" if found is not None and "sexwork" in found.regimes else category.regime
        if not _sees(principal, regime):
            problems.add("/category", f"a complaint of regime {regime}; you are not scoped for it")
    problems.raise_if_any()
    assert category is not None
    received_on = received_at.astimezone(calendar.AMSTERDAM).date()
    try:
        row = await tx.fetchrow(
            queries.INSERT,
            new_id(),
            category.key,
            regime,
            data.channel,
            data.external_reference,
            data.description,
            incident_at,
            place["street"],
            place["house_number"],
            place["house_number_addition"],
            place["postcode"],
            place["city"],
            place["latitude"],
            place["longitude"],
            place["wijk"],
            place["wijk_source"],
            found.id if found else None,
            data.wants_feedback,
            contact is not None,
            received_at,
            calendar.add_working_days(received_on, category.acknowledgement_working_days),
            calendar.add_working_days(received_on, category.handling_working_days),
            principal.user_id,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict(
            "A complaint with this channel and external reference is registered already.",
            code="duplicate_external_reference",
        ) from None
    if contact is not None:
        await tx.execute(queries.INSERT_REPORTER, row["id"], *contact)
    await tx.execute(
        queries.INSERT_TRANSITION, row["id"], None, "received", principal.user_id, None, None, None, None, None
    )
    # No description or contact details in the audit trail: auditors read it, and it keeps events forever.
    await audit.record_user_action(
        tx,
        principal,
        "complaint",
        row["id"],
        "created",
        request_id=request_id,
        after={
            "category": category.key,
            "regime": regime,
            "channel": data.channel,
            "wijk": place["wijk"],
            "object_id": str(found.id) if found else None,
            "wants_feedback": data.wants_feedback,
            "anonymous": contact is None,
        },
    )
    await events.announce(tx, _event("complaint.received", principal, row, request_id), principal)
    return await _view(tx, principal, row)


# --- reading ----------------------------------------------------------------------------------------------------


async def get_complaint(
    tx: asyncpg.Connection, principal: Principal, complaint_id: UUID, *, request_id: str | None
) -> Complaint:
    """One complaint; for handlers and admins with the reporter's details (the read is audited)."""
    row = await _visible_row(tx, principal, complaint_id)
    return await with_reporter(tx, principal, await _view(tx, principal, row), request_id=request_id)


async def list_complaints(
    conn: asyncpg.Connection, principal: Principal, *, filters: dict[str, Any], cursor: str | None, limit: int
) -> ComplaintPage:
    after = decode_cursor(cursor, tuple[datetime, UUID])
    await registry.ensure_known_wijk_filter(conn, filters.get("wijk"))
    prepared = dict(filters)
    if prepared.get("postcode") is not None:
        prepared["postcode"] = registry.normalise_postcode(prepared["postcode"])
    rows = await queries.COMPLAINT_LIST.fetch(conn, prepared, scope_args=_scope(principal), after=after, limit=limit)
    items, next_cursor = keyset_page(rows, limit, _summary, lambda last: (last.received_at.isoformat(), str(last.id)))
    return ComplaintPage(items=items, next_cursor=next_cursor)


async def list_due(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    deadline: str,
    overdue: bool | None,
    due_by: date | None,
    filters: dict[str, Any],
    cursor: str | None,
    limit: int,
) -> ComplaintPage:
    """Open complaints by due date, the earliest first: overdue (due before today), not yet overdue, or both;
    `due_by` limits to those due on or before that day."""
    after = decode_cursor(cursor, tuple[date, UUID])
    await registry.ensure_known_wijk_filter(conn, filters.get("wijk"))
    on = calendar.today()
    prepared = {**filters, "before": on if overdue else None, "from": on if overdue is False else None, "by": due_by}
    due_list = queries.DUE_LISTS[deadline]
    rows = await due_list.fetch(conn, prepared, scope_args=_scope(principal), after=after, limit=limit)
    items = [_summary(row) for row in rows[:limit]]
    last = items[-1] if items and len(rows) > limit else None
    due = (last.resolution_due_on if deadline == "resolution" else last.acknowledgement_due_on) if last else None
    return ComplaintPage(
        items=items, next_cursor=encode_cursor(due.isoformat(), str(last.id)) if last and due else None
    )


async def hotspots(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    days: int,
    wijk: str | None,
    object_id: UUID | None,
    min_count: int,
    limit: int,
) -> HotSpotList:
    """Objects by the number of complaints (that the caller may see) received in the last `days` days; only
    objects the caller may see are listed."""
    await registry.ensure_known_wijk_filter(conn, wijk)
    since = datetime.now(UTC) - timedelta(days=days)
    rows = await conn.fetch(queries.HOTSPOTS, *_scope(principal), since, min_count, wijk, object_id, limit)
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


async def suggest_objects(
    conn: asyncpg.Connection, principal: Principal, *, filters: dict[str, Any], limit: int
) -> EstablishmentPage:
    """Active objects the caller may see matching a name and/or an address (the registry's search)."""
    if all(value is None for value in filters.values()):
        problems = FieldProblems("Give a name or an address to match.")
        for name in ("q", "postcode", "street", "house_number"):
            problems.add_parameter(name, "give q, postcode, street or house_number")
        raise problems.error()
    return await registry.search_objects(
        conn, principal, filters={**filters, "status": "active"}, cursor=None, limit=limit
    )


# --- changes ------------------------------------------------------------------------------------------------------


def _check_transition(current: str, target: str) -> None:
    allowed = TRANSITIONS[current]
    if target not in allowed:
        raise Conflict(
            f"A {current} complaint cannot become {target}; it can become: {', '.join(sorted(allowed))}.",
            code="transition_not_allowed",
        )


async def _changeable(tx: asyncpg.Connection, principal: Principal, complaint_id: UUID, version: int) -> asyncpg.Record:
    row = await _visible_row(tx, principal, complaint_id)
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
        await events.announce(tx, _event("complaint.answered", principal, updated, request_id), principal)
    elif target == "reopened":
        await events.announce(tx, _event("complaint.reopened", principal, updated, request_id), principal)
    return updated


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
        problems = FieldProblems()
        if data.answer is not None and not row["wants_feedback"]:
            problems.add(
                "/answer",
                "the reporter asked for no feedback; record the outcome without an answer",
                "no_feedback_wanted",
            )
        if data.answer is None and row["wants_feedback"]:
            problems.add("/answer", "the reporter wants feedback: give the answer sent to them", "answer_required")
        problems.raise_if_any()
        changes = {"outcome": data.outcome, "answer": data.answer}
    elif isinstance(data, Reject):
        changes = {"forwarded_to": data.forwarded_to.strip()}
    elif isinstance(data, Reopen):
        category = reference.categories().get(row["category"])
        if category is not None:  # a category dropped from the data keeps its last date
            changes = {"resolution_due_on": calendar.add_working_days(calendar.today(), category.handling_working_days)}
    updated = await _move(tx, principal, row, target, reason=reason, request_id=request_id, **changes)
    return await _view(tx, principal, updated)


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
    return await _view(tx, principal, updated)


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
    return PlannedInspection(complaint=await _view(tx, principal, updated), assignment=assignment)


# --- the reporter who did not hear from us ------------------------------------------------------------------------


async def reporters_to_inform(
    conn: asyncpg.Connection, principal: Principal, *, filters: dict[str, Any], cursor: str | None, limit: int
) -> ReporterToInformPage:
    """Complaints whose e-mail to the reporter (acknowledgement or answer) failed for good after the reporter was
    last informed another way, the oldest failure first: in every state, because a closed complaint's answer that
    never arrived is the worst case."""
    after = decode_cursor(cursor, tuple[datetime, UUID])
    await registry.ensure_known_wijk_filter(conn, filters.get("wijk"))
    failed = await _failed_feedback_reader(conn)
    scope_args = [*_scope(principal), list(failed), list(failed.values())]
    rows = await queries.REPORTERS_TO_INFORM.fetch(conn, filters, scope_args=scope_args, after=after, limit=limit)
    items, next_cursor = keyset_page(
        rows,
        limit,
        lambda row: _listed(row, ReporterToInform),
        lambda last: (last.email_failed_at.isoformat(), str(last.id)),
    )
    return ReporterToInformPage(items=items, next_cursor=next_cursor)


async def inform_reporter(
    tx: asyncpg.Connection,
    principal: Principal,
    complaint_id: UUID,
    data: InformReporter,
    *,
    version: int,
    request_id: str | None,
) -> Complaint:
    """Records that the handler informed the reporter another way after an e-mail to them failed for good (409
    `no_failed_email` when none failed since the last record). The complaint leaves the worklist until another
    e-mail to the reporter fails."""
    row = await _changeable(tx, principal, complaint_id, version)
    if not _to_inform(await _feedback_mail_reader(tx, complaint_id), _reporter_informed(row)):
        raise Conflict(
            "No e-mail to the reporter failed since they were last informed; there is nothing to record.",
            code="no_failed_email",
        )
    updated = await tx.fetchrow(queries.SET_REPORTER_INFORMED, complaint_id, version, data.how, principal.user_id)
    if updated is None:
        raise stale(row["version"])
    await audit.record_user_action(
        tx, principal, "complaint", complaint_id, "reporter_informed", request_id=request_id, after={"how": data.how}
    )
    return await _view(tx, principal, updated)
