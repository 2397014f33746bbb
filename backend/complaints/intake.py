"""Registering a complaint: the category and its terms, the place and its wijk, the object, the reporter's
details (kept apart, see service.py), and the acknowledgement event."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import structlog

from backend.complaints import queries, reference, service
from backend.complaints.models import (
    Complaint,
    ComplaintCreate,
    ReporterContact,
)
from backend.core import audit, calendar, events
from backend.core.auth import Principal
from backend.core.errors import Conflict, FieldProblems, NotFound
from backend.core.ids import new_id
from backend.registry import service as registry
from backend.registry.models import Establishment

log = structlog.get_logger("toezicht.complaints")

# A clock a little ahead of ours is not a complaint from the future.
CLOCK_TOLERANCE = timedelta(minutes=5)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(?:\.[^@\s.]+)+$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
# Dutch: 0 and nine digits; international: + (or 00) and 8-15 digits (E.164).
_PHONE = re.compile(r"^(?:0[1-9][0-9]{8}|\+[1-9][0-9]{7,14}|00[1-9][0-9]{7,13})$")


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
        if not service.sees(principal, regime):
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
    await events.announce(tx, service.event("complaint.received", principal, row, request_id), principal)
    return await service.view(tx, principal, row)
