"""Corrections: a returned inspection sent again whole, with `base_revision` = the current revision, by the
inspector who submitted it or one who was present.

The correction is checked like a submission (inspections.checking), its device times against the first receipt.
It becomes a new revision (every revision is kept), replaces the checklists and the photos not yet received,
keeps every photo already received (and a photo id keeps its hash and size), and withdraws the violations it no
longer establishes (withdrawn_at; never deleted). Announced as inspection.corrected and audited.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from backend.core import audit
from backend.core.auth import Principal
from backend.core.errors import Conflict, FieldProblems, Forbidden
from backend.inspections import queries
from backend.inspections.checking import Prepared, prepare
from backend.inspections.models import Inspection, PhotoManifestEntry, Received
from backend.inspections.reads import stored_view
from backend.inspections.trail import announce_stored, audit_event


def photo_in_use() -> Conflict:
    return Conflict(
        "A photo id in the manifest belongs to another inspection; give each photo its own id.", code="photo_id_in_use"
    )


async def correct(
    tx: asyncpg.Connection, principal: Principal, existing: queries.Existing, put: Received
) -> Inspection | None:
    """Apply the correction of a returned inspection; None when another correction changed it first."""
    if principal.user_id != existing.submitted_by and principal.user_id not in existing.inspector_ids:
        raise Forbidden(
            "Only the inspector who submitted it or one who was present corrects an inspection.",
            code="not_your_inspection",
        )
    inspection_id, data = put.inspection_id, put.data
    assert data.base_revision is not None
    # The visit's times are judged against its first receipt; without a Date header the known skew stays.
    skew = put.skew if put.skew is not None else existing.clock_skew_seconds
    prepared = await prepare(tx, principal, data, reference=existing.received_at, skew=skew, request_id=put.request_id)
    await _check_photo_changes(tx, inspection_id, data.photos)
    row = await tx.fetchrow(
        queries.CORRECT, *queries.correct_args(inspection_id, data.base_revision, prepared.fields(data))
    )
    if row is None:
        return None
    revision = row["revision"]
    await tx.execute(
        queries.INSERT_REVISION,
        inspection_id,
        revision,
        data.base_revision,
        put.body,
        put.digest,
        principal.user_id,
        put.received_at,
    )
    await tx.execute(queries.DELETE_CHECKLISTS, inspection_id)
    await tx.execute(queries.INSERT_CHECKLISTS, inspection_id, prepared.checklists)
    await tx.execute(queries.REPLACE_PHOTOS, inspection_id, prepared.photos)
    await _replace_violations(tx, inspection_id, revision, prepared)
    view = await stored_view(tx, inspection_id)
    # Photos that waited for the inspection and that this revision lists attach now (photos react).
    view = await announce_stored(tx, "inspection.corrected", principal, view, prepared, put.request_id)
    await audit.write(
        tx, audit_event(principal, inspection_id, prepared, "corrected", revision, put.digest, put.request_id)
    )
    return view


async def _check_photo_changes(tx: asyncpg.Connection, inspection_id: UUID, photos: list[PhotoManifestEntry]) -> None:
    """A correction keeps every photo already received, and a photo id keeps its hash and size."""
    rows = await tx.fetch(queries.PHOTOS_BY_ID, [photo.id for photo in photos]) if photos else []
    stored = {row["id"]: row for row in rows}
    if any(row["inspection_id"] != inspection_id for row in rows):
        raise photo_in_use()
    problems = FieldProblems()
    for index, photo in enumerate(photos):
        row = stored.get(photo.id)
        if row is not None and (row["sha256"], row["size_bytes"]) != (photo.sha256, photo.size):
            problems.add(
                f"/photos/{index}/sha256",
                "this photo id was listed with another hash or size; a new photo gets a new id",
            )
    listed = {photo.id for photo in photos}
    for row in await tx.fetch(queries.RECEIVED_PHOTOS, inspection_id):
        if row["id"] not in listed:
            problems.add("/photos", f"photo {row['id']} has been received; it stays in the manifest")
    problems.raise_if_any()


async def _replace_violations(tx: asyncpg.Connection, inspection_id: UUID, revision: int, prepared: Prepared) -> None:
    """Violations the correction establishes again stay (with the new date and evidence); those it no
    longer establishes are withdrawn, not deleted; new ones are added with this revision."""
    current = {
        (row["checklist_version_id"], row["checklist_position"], row["question_key"], row["code"]): row["id"]
        for row in await tx.fetch(queries.CURRENT_VIOLATIONS, inspection_id)
    }
    kept, added = [], []
    for violation in prepared.violations:
        identity = (
            violation.checklist_version_id,
            violation.checklist_position,
            violation.question_key,
            violation.code,
        )
        if identity in current:
            kept.append({"id": str(current.pop(identity)), "evidence_photo_ids": violation.evidence_photo_ids})
        else:
            added.append(violation)
    target = prepared.target
    if current:
        await tx.execute(queries.WITHDRAW_VIOLATIONS, list(current.values()))
    if kept:
        await tx.execute(queries.REFRESH_VIOLATIONS, kept, target.object_id, target.location_id, prepared.observed_on)
    if added:
        await tx.execute(
            queries.INSERT_VIOLATIONS,
            inspection_id,
            revision,
            target.object_id,
            target.location_id,
            prepared.observed_on,
            added,
        )
