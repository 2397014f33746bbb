"""Photos of an inspection's manifest arriving, for the photos feature (which calls these in its transactions):
where an uploaded photo goes, and marking it received (a submitted inspection is complete once none is missing)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from backend.core import audit
from backend.core.auth import Principal
from backend.core.errors import Conflict, NotFound, Unprocessable
from backend.core.visibility import Visibility
from backend.inspections import queries
from backend.inspections.models import ExpectedPhoto, PhotoReceipt


async def photo_received(
    tx: asyncpg.Connection,
    photo_id: UUID,
    sha256: str,
    size: int,
    *,
    actor: audit.Actor = audit.SYSTEM,
    request_id: str | None = None,
) -> PhotoReceipt:
    """A photo of a manifest arrived (the photos feature calls this in its transaction): mark it received,
    give the inspection a new version (its ETag: the photo list changed) and move a submitted inspection to
    complete when no photo is missing; audited as inspection.photo_received. Receiving it again changes
    nothing."""
    photo = await tx.fetchrow(queries.PHOTO, photo_id)
    if photo is None:
        raise NotFound("No inspection expects this photo.")
    if (photo["sha256"], photo["size_bytes"]) != (sha256, size):
        raise Unprocessable("The photo does not match its manifest entry (SHA-256 and size).", code="photo_mismatch")
    inspection_id = photo["inspection_id"]
    # The inspection first, then the photo (as corrections do): concurrent uploads of one inspection's
    # photos take turns, so the last of them sees that none is missing.
    state = await tx.fetchval(queries.LOCK_INSPECTION, inspection_id)
    if await tx.fetchval(queries.MARK_PHOTO_RECEIVED, photo_id) is None:
        if await tx.fetchrow(queries.PHOTO, photo_id) is None:  # a correction dropped it meanwhile
            raise NotFound("No inspection expects this photo.")
        return PhotoReceipt(inspection_id=inspection_id, state=state, already_received=True)
    after = await tx.fetchval(queries.PHOTO_ARRIVED, inspection_id)
    await audit.record(
        tx,
        actor=actor,
        action="inspection.photo_received",
        object_type="inspection",
        object_id=inspection_id,
        request_id=request_id,
        before={"state": state},
        after={"state": after, "photo_id": str(photo_id), "sha256": sha256},
    )
    return PhotoReceipt(inspection_id=inspection_id, state=after, already_received=False)


async def photo_slot(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, photo_id: UUID
) -> ExpectedPhoto | None:
    """Where an uploaded photo goes: its manifest entry in the inspection, or None when no inspection with
    this id has arrived yet (the photo waits for it). NotFound when the caller may not see the inspection;
    422 photo_not_in_manifest when its manifest does not list the photo; 409 photo_id_in_use when the
    inspection has not arrived but another one lists this photo id."""
    row = await conn.fetchrow(
        queries.PHOTO_SLOT, *queries.visible_args(Visibility.of(principal)), inspection_id, photo_id
    )
    if row is None:
        if await conn.fetchrow(queries.PHOTO, photo_id) is not None:
            raise Conflict(
                "Another inspection lists this photo id; give each photo its own id.", code="photo_id_in_use"
            )
        return None
    if not row["visible"]:
        raise NotFound("No such inspection.")
    if row["sha256"] is None:
        raise Unprocessable("The inspection's photo list does not contain this photo.", code="photo_not_in_manifest")
    return ExpectedPhoto(sha256=row["sha256"], size=row["size_bytes"])
