"""What a change of an inspection leaves behind: the domain event other features react to (backend/
reactions.py) and the audit event of a submission or correction. Both carry ids and hashes, never answers or
observations (personal data)."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit, events
from backend.core.auth import Principal
from backend.inspections.checking import Prepared
from backend.inspections.models import Inspection
from backend.inspections.reads import stored_view
from backend.planning.models import Assignment


class InspectionSnapshot(msgspec.Struct, frozen=True):
    """An inspection event's snapshot for its reactions: the stored view, and what the change read of its object
    and assignment: the object's kind in the registry (None when the change read no object: a review, or an
    inspection of a location) and the assignment it carried out (None: none, or the change read none)."""

    view: Inspection
    object_kind: str | None = None
    assignment: Assignment | None = None


def domain_event(
    type: str,
    principal: Principal,
    view: Inspection,
    request_id: str | None,
    *,
    object_kind: str | None = None,
    assignment: Assignment | None = None,
) -> events.Event:
    """inspection.submitted, .corrected, .reviewed or .returned, about the inspection as it is now (`view`, the
    stored view, which its reactions get in the snapshot with `object_kind` and `assignment`)."""
    concerned = {"assignment": view.assignment_id, "object": view.object_id, "location": view.location_id}
    related = {role: value for role, value in concerned.items() if value is not None}
    return events.event(
        type,
        actor=principal.user_id,
        subject_type="inspection",
        subject_id=view.id,
        related=related,
        regimes=list(view.regimes),
        request_id=request_id,
        snapshot=InspectionSnapshot(view, object_kind, assignment),
    )


async def announce_stored(
    tx: asyncpg.Connection,
    type: str,
    principal: Principal,
    view: Inspection,
    prepared: Prepared,
    request_id: str | None,
) -> Inspection:
    """Announce a submission or correction (`type`: inspection.submitted or .corrected; its snapshot with what the
    change read of the object and the assignment) and answer the inspection as it is after the reactions: `view`,
    read again only when a photo that waited for it attached (photo.received among what the announcement set
    off)."""
    happened = domain_event(
        type, principal, view, request_id, object_kind=prepared.target.object_kind, assignment=prepared.assignment
    )
    set_off = await events.announce(tx, happened, principal)
    snapshot = happened.snapshot
    assert isinstance(snapshot, InspectionSnapshot)
    if any(follow_up.type == "photo.received" for follow_up in set_off):
        return await stored_view(tx, snapshot.view.id)
    return snapshot.view


def audit_event(
    principal: Principal,
    inspection_id: UUID,
    prepared: Prepared,
    action: str,
    revision: int,
    digest: str,
    request_id: str | None,
) -> audit.Event:
    """The audit event of a submission (`action` "submitted") or correction ("corrected")."""
    state = "corrected" if action == "corrected" else ("submitted" if prepared.photos else "complete")
    return audit.event(
        actor=audit.user_actor(principal),
        action=f"inspection.{action}",
        object_type="inspection",
        object_id=inspection_id,
        request_id=request_id,
        after={
            "revision": revision,
            "state": state,
            "body_sha256": digest,
            "violation_codes": prepared.codes,
            "clock_suspect": prepared.clock.suspect,
        },
    )
