"""Storing a submission from a phone: an idempotent PUT to the phone's own id.

Idempotency: the canonical body (sorted keys) is hashed. Sending a body whose hash equals any stored revision's
answers the current stored inspection and writes nothing. A submission without base_revision is checked
(inspections.checking) and inserted with INSERT ... ON CONFLICT DO NOTHING first (nearly every PUT is new): one
statement stores the inspection, its first revision, checklists, violations, photo manifest and audit event.
When the id exists (a resend, or a concurrent duplicate that committed first) it takes the path of an existing
id. Another body for an existing id is 409, unless it corrects a returned inspection (`base_revision` = the
current revision; inspections.corrections).

The submission is announced as the domain event inspection.submitted in its transaction; planning and photos
react to it (backend/reactions.py), so this feature imports neither.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec

from backend.core.auth import Principal
from backend.core.errors import Conflict, FieldProblems, Forbidden, Unprocessable
from backend.core.visibility import Visibility
from backend.inspections import queries
from backend.inspections.checking import Prepared, prepare
from backend.inspections.clock import clock_skew
from backend.inspections.corrections import correct, photo_in_use
from backend.inspections.models import Inspection, InspectionSubmission, Received
from backend.inspections.reads import inspection_of, stored_view, with_evidence
from backend.inspections.trail import announce_stored, audit_event


class StaleRevision(Conflict):
    """A correction of a revision that is no longer the current one; the problem names the current one."""

    code = "stale_revision"

    def __init__(self, current_revision: int) -> None:
        super().__init__(f"The inspection is at revision {current_revision}; correct that revision.")
        self.current_revision = current_revision


def received(
    inspection_id: UUID, data: InspectionSubmission, *, date_header: str | None, request_id: str | None
) -> Received:
    """The submission as received now, with its canonical hash and the phone's clock skew."""
    body = msgspec.to_builtins(data)
    digest = hashlib.sha256(msgspec.json.encode(body, order="sorted")).hexdigest()
    now = datetime.now(UTC)
    return Received(
        inspection_id=inspection_id,
        data=data,
        body=body,
        digest=digest,
        received_at=now,
        skew=clock_skew(date_header, now),
        request_id=request_id,
    )


async def submit(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    data: InspectionSubmission,
    *,
    date_header: str | None,
    request_id: str | None,
) -> Inspection:
    """Store a submission, answer a resend of a stored revision, or apply a correction (see the module)."""
    put = received(inspection_id, data, date_header=date_header, request_id=request_id)
    if data.base_revision is None:
        stored = await _submit_new(tx, principal, put)
        if stored is not None:
            return stored
    existing = await _existing(tx, principal, inspection_id)
    if existing is None:  # only a correction gets here without a stored inspection
        problems = FieldProblems()
        problems.add("/base_revision", "there is no inspection with this id to correct")
        problems.raise_if_any()
    for _attempt in range(2):
        assert existing is not None
        result = await _on_existing(tx, principal, existing, put)
        if result is not None:
            return await with_evidence(tx, principal, result)
        # A concurrent correction moved the inspection on meanwhile: decide again on what is stored now.
        existing = await _existing(tx, principal, inspection_id)
    raise Conflict("The inspection changed while you corrected it; read it again.", code="inspection_conflict")


async def _existing(tx: asyncpg.Connection, principal: Principal, inspection_id: UUID) -> queries.Existing | None:
    row = await tx.fetchrow(queries.EXISTING, *queries.visible_args(Visibility.of(principal)), inspection_id)
    return None if row is None else msgspec.convert(dict(row), queries.Existing)


async def _submit_new(tx: asyncpg.Connection, principal: Principal, put: Received) -> Inspection | None:
    """Store the first submission under this id; None when the id exists (nothing stored). Nearly every PUT
    is new, so it is checked and inserted before asking whether the id exists; a resend that no longer passes
    the checks (say the object was closed since) still gets the answer stored for it."""
    try:
        prepared = await prepare(
            tx, principal, put.data, reference=put.received_at, skew=put.skew, request_id=put.request_id
        )
    except (Unprocessable, Forbidden):
        if await tx.fetchval(queries.ID_TAKEN, put.inspection_id):
            return None
        raise
    view = await _insert(tx, principal, prepared, put)
    if view is None:
        return None  # a resend, a concurrent duplicate that committed first, or another body under this id
    # Its assignment is done, and photos the phone uploaded before it may attach now (planning and photos react).
    stored = await announce_stored(tx, "inspection.submitted", principal, view, prepared, put.request_id)
    return await with_evidence(tx, principal, stored)


async def _insert(tx: asyncpg.Connection, principal: Principal, prepared: Prepared, put: Received) -> Inspection | None:
    """One statement for every row and the audit event, answering the stored view; None when the id exists
    already (nothing inserted)."""
    new = queries.NewInspection(
        id=put.inspection_id,
        state="submitted" if prepared.photos else "complete",
        submitted_by=principal.user_id,
        received_at=put.received_at,
        fields=prepared.fields(put.data),
        body=put.body,
        body_sha256=put.digest,
        checklists=prepared.checklists,
        violations=prepared.violations,
        observed_on=prepared.observed_on,
        photos=prepared.photos,
        audit_events=[audit_event(principal, put.inspection_id, prepared, "submitted", 1, put.digest, put.request_id)],
    )
    try:
        row = await tx.fetchrow(queries.INSERT, *queries.insert_args(new))
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name == "inspection_photo_pkey":
            raise photo_in_use() from None
        raise
    return None if row is None else inspection_of(row)


async def _on_existing(
    tx: asyncpg.Connection, principal: Principal, existing: queries.Existing, put: Received
) -> Inspection | None:
    """A PUT to an id that exists: a resend, a correction, or a conflict. None: the correction lost a race."""
    if not existing.visible:
        # Do not reveal what it is: the id is simply taken.
        raise Conflict("An inspection with this id exists already.", code="inspection_conflict")
    if put.digest in existing.hashes:
        return await stored_view(tx, put.inspection_id)
    current = existing.revision
    if existing.state == "returned" and put.data.base_revision == current:
        return await correct(tx, principal, existing, put)
    if put.data.base_revision is not None and put.data.base_revision != current:
        raise StaleRevision(current)
    if put.data.base_revision is not None:
        raise Conflict(
            f"The inspection is {existing.state}; it can be corrected only after it was returned.",
            code="inspection_conflict",
        )
    raise Conflict("An inspection with this id exists already with other content.", code="inspection_conflict")
