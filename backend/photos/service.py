"""Evidence photos: uploads from phones, what is kept of them, who sees what, and the purge.

Upload (`upload`): the phone PUTs the raw image to the photo's own UUID under its inspection. Before the
body is read: who may upload (below) and the size the request announces. The body then streams to a spool
file while it is hashed, never held whole in memory, and is refused past `photo_max_bytes` (413). Then,
before anything is stored: the SHA-256 must be the one declared (Repr-Digest/Content-Digest, else the
manifest's), and the image must pass images.inspect_and_derive (type from the magic bytes, restricted
decoder, pixel limit, complete decode), which also makes the derivatives. Only then, in one transaction,
the row is written, the blobs are stored write-once under their SHA-256 and the receipt is audited. A
failure at any step leaves no row, no blob and no spool file.

Idempotent: the same photo id with the same bytes answers the stored photo (nothing is processed again);
other bytes are 409 photo_conflict and the stored photo stays. Concurrent uploads of one photo id take
turns on the inspection's lock; the second finds the first's row and answers as a resend.

Who uploads:
- to an inspection that has arrived: whoever may see it (404 otherwise); the manifest must list the photo
  id (422 photo_not_in_manifest) and the bytes must be the ones it lists (422 photo_mismatch), so an
  uploader can only deliver the exact photo the inspector declared;
- to an inspection id that has not arrived: only inspectors (404 for anyone else, as for an inspection
  they may not see). The photo waits, owned by its uploader (another user's upload of that id is 409
  photo_id_in_use). When the inspection arrives (`on_inspection_stored`) the photo is attached if its uploader
  may see the inspection and its SHA-256 and size are the manifest's; otherwise it is discarded (audited
  photo.discarded) and the phone's next send is judged as a new upload against the manifest. A photo the
  manifest does not list keeps waiting; one whose inspection never comes is removed by `purge` after
  `photo_pending_hours`.

Serving: derivatives (display, thumbnail) to whoever may see the inspection; the original only to
enforcement officers and auditors for inspections of their regimes (sex work only with that scope), and
every such read is audited (photo.original_read: who, when, which photo, its hash) before a byte is sent.

Position rule (`evidence_of`): the GPS position from a photo's EXIF is shown to enforcement officers and
auditors (who build and check cases on it) and hidden (null) for everyone else; capture and receipt
times, type and size are shown to everyone who may see the inspection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import structlog

from backend.core import audit, events
from backend.core.auth import Principal
from backend.core.config import Settings
from backend.core.errors import ApiError, BadRequest, Conflict, NotFound, Unprocessable
from backend.core.storage import Blob, BlobStore, FileSystemStore, Kind, PartStore, Spool, SpoolFile
from backend.inspections import service as inspections
from backend.inspections.models import ExpectedPhoto, GeoPoint, PhotoEvidence
from backend.photos import images, queries
from backend.photos.models import Photo, Variant
from backend.users import service as users

log = structlog.get_logger("toezicht.photos")

ACCEPTED_TYPES = tuple(images.FORMAT_OF)
# Roles that see the original and the EXIF position (see the module docstring).
EVIDENCE_ROLES = ("enforcement_officer", "auditor")
# Bytes gathered before one write to the spool file (in a worker thread, as is the hashing).
FLUSH_BYTES = 1024 * 1024
# How long an upload's blobs are safe from the purge if its transaction never commits (a crash after
# storing them): they are removed after this when no photo references them.
UPLOAD_GRACE = timedelta(hours=1)
PURGE_BATCH = 100


class PayloadTooLarge(ApiError):
    status, code = 413, "photo_too_large"


class UploadInterrupted(BadRequest):
    """The client went away before the body was complete (nobody reads this answer)."""

    code = "upload_interrupted"


@dataclass(frozen=True)
class Upload:
    inspection_id: UUID
    photo_id: UUID
    declared_type: str
    declared_sha256: str | None
    content_length: int | None


@dataclass(frozen=True)
class Download:
    sha256: str
    media_type: str
    open: Callable[[], Awaitable[Blob]]


@dataclass(frozen=True)
class Evidence:
    """What the photos feature works with: the pool, the blob store, the spool and the settings."""

    pool: asyncpg.Pool
    store: BlobStore
    spool: Spool
    parts: PartStore
    settings: Settings
    # Pillow work is CPU-bound: more images at once than cores only adds memory (decoded pixels), not speed.
    processing: asyncio.Semaphore

    def connection(self) -> contextlib.AbstractAsyncContextManager[asyncpg.Connection]:
        # Taken only when needed: an upload streams for seconds without holding a pooled connection.
        acquired: contextlib.AbstractAsyncContextManager[asyncpg.Connection] = self.pool.acquire(
            timeout=self.settings.db_acquire_timeout_s
        )
        return acquired


# --- upload ------------------------------------------------------------------------------------------------


async def upload(
    ev: Evidence, principal: Principal, up: Upload, body: AsyncIterator[bytes], *, request_id: str | None
) -> Photo:
    """One upload, whole: admitted, then received and accepted (see the module docstring)."""
    return await accept(ev, principal, up, await admit(ev, principal, up), body, request_id=request_id)


@dataclass(frozen=True)
class Admission:
    """What an upload is checked against once its bytes are in: the manifest entry (None before the
    inspection arrives), the photo already stored under its id, and the SHA-256 it must have."""

    expected: ExpectedPhoto | None
    existing: queries.StoredPhoto | None
    sha256: str


async def admit(ev: Evidence, principal: Principal, up: Upload) -> Admission:
    """The checks before a byte is read: who may upload, the announced size, a digest to check against."""
    limit = ev.settings.photo_max_bytes
    if up.content_length is not None and up.content_length > limit:
        raise too_large(limit)
    async with ev.connection() as conn:
        expected = await _slot(conn, principal, up)
        existing = _stored(await conn.fetchrow(queries.GET, up.photo_id))
    declared = up.declared_sha256 or (expected.sha256 if expected else None)
    if declared is None:
        raise Unprocessable(
            "Send the photo's SHA-256 in Repr-Digest (sha-256=:<base64>:); its inspection has not "
            "arrived, so there is no manifest to check it against.",
            code="digest_required",
        )
    return Admission(expected, existing, declared)


async def accept(
    ev: Evidence,
    principal: Principal,
    up: Upload,
    admission: Admission,
    body: AsyncIterator[bytes],
    *,
    request_id: str | None,
) -> Photo:
    """Receive the bytes and keep the photo if they pass every check; nothing is kept otherwise."""
    expected, existing = admission.expected, admission.existing
    with ev.spool.file() as original:
        sha256, size = await _receive(body, original, ev.settings.photo_max_bytes)
        if size == 0:
            raise Unprocessable("The body is empty; send the photo's bytes.", code="empty_body")
        if sha256 != admission.sha256:
            raise Unprocessable(
                "The body's SHA-256 is not the one declared; nothing was stored. Send the photo again.",
                code="digest_mismatch",
            )
        if existing is not None:
            async with ev.connection() as conn, conn.transaction():
                return await _resend(conn, principal, up, existing, sha256, request_id)
        _check_manifest(expected, sha256, size)
        with ev.spool.file() as display, ev.spool.file() as thumbnail:
            processed = await _process(ev, original.path, up.declared_type, display.path, thumbnail.path)
            blobs: dict[tuple[Kind, str], Path] = {
                ("original", sha256): original.path,
                ("derivative", processed.display.sha256): display.path,
                ("derivative", processed.thumbnail.sha256): thumbnail.path,
            }
            async with ev.connection() as conn:
                await _release(conn, list(blobs), datetime.now(UTC) + UPLOAD_GRACE)
                async with conn.transaction():
                    return await _store(conn, ev.store, principal, up, sha256, size, processed, blobs, request_id)


async def stored(ev: Evidence, photo_id: UUID, inspection_id: UUID, sha256: str) -> Photo | None:
    """The photo stored under this id for this inspection with these bytes, if any (to answer again an
    upload whose answer was lost)."""
    async with ev.connection() as conn:
        row = _stored(await conn.fetchrow(queries.GET, photo_id))
    if row is None or (row.inspection_id, row.sha256) != (inspection_id, sha256):
        return None
    return _photo(row)


async def _slot(conn: asyncpg.Connection, principal: Principal, up: Upload) -> ExpectedPhoto | None:
    """The manifest entry the upload must match, or None: the inspection has not arrived (inspectors only)."""
    expected = await inspections.photo_slot(conn, principal, up.inspection_id, up.photo_id)
    if expected is None and not principal.has_role("inspector"):
        raise NotFound("No such inspection.")
    return expected


def _check_manifest(expected: ExpectedPhoto | None, sha256: str, size: int) -> None:
    if expected is not None and (expected.sha256, expected.size) != (sha256, size):
        raise Unprocessable(
            "The photo is not the one the inspection's manifest lists (SHA-256 and size).", code="photo_mismatch"
        )


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"A photo may have at most {limit:,} bytes; nothing was stored.")


async def _receive(body: AsyncIterator[bytes], target: SpoolFile, limit: int) -> tuple[str, int]:
    """Stream the body into the spool file while hashing it; its SHA-256 (hex) and size."""
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray()
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        buffer += chunk
        if len(buffer) >= FLUSH_BYTES:
            full, buffer = buffer, bytearray()
            await asyncio.to_thread(_write, target, digest, full)
    if buffer:
        await asyncio.to_thread(_write, target, digest, buffer)
    return digest.hexdigest(), size


def _write(target: SpoolFile, digest: hashlib._Hash, data: bytearray) -> None:
    digest.update(data)
    target.write(data)


async def _process(ev: Evidence, source: Path, declared_type: str, display: Path, thumbnail: Path) -> images.Processed:
    try:
        async with ev.processing:
            return await asyncio.to_thread(
                images.inspect_and_derive,
                source,
                declared_type,
                max_pixels=ev.settings.photo_max_pixels,
                display_path=display,
                thumbnail_path=thumbnail,
            )
    except images.ImageRejected as exc:
        raise Unprocessable(exc.detail + " Nothing was stored.", code=exc.code) from None


async def _store(
    tx: asyncpg.Connection,
    store: BlobStore,
    principal: Principal,
    up: Upload,
    sha256: str,
    size: int,
    processed: images.Processed,
    blobs: dict[tuple[Kind, str], Path],
    request_id: str | None,
) -> Photo:
    await tx.execute(queries.LOCK_INSPECTION, up.inspection_id)
    # Decided again under the lock: the inspection may have arrived while the body streamed.
    expected = await _slot(tx, principal, up)
    _check_manifest(expected, sha256, size)
    new = queries.NewPhoto(
        id=up.photo_id,
        inspection_id=up.inspection_id,
        uploaded_by=principal.user_id,
        sha256=sha256,
        size_bytes=size,
        media_type=processed.media_type,
        width=processed.width,
        height=processed.height,
        captured_at=processed.captured_at,
        latitude=processed.latitude,
        longitude=processed.longitude,
        received_at=datetime.now(UTC),
        display_sha256=processed.display.sha256,
        display_size=processed.display.size,
        thumbnail_sha256=processed.thumbnail.sha256,
        thumbnail_size=processed.thumbnail.size,
    )
    row = _stored(await tx.fetchrow(queries.INSERT, *queries.insert_args(new)))
    if row is None:  # a concurrent upload of this photo id committed first
        stored = _stored(await tx.fetchrow(queries.GET, up.photo_id))
        assert stored is not None  # it conflicted with this row, and photos are removed only under the lock we hold
        return await _resend(tx, principal, up, stored, sha256, request_id)
    for (kind, blob_sha), path in sorted(blobs.items()):
        # Held until commit: the purge cannot remove a blob this photo now references.
        await tx.execute(queries.LOCK_BLOB, kind, blob_sha)
        await store.put(kind, blob_sha, path)
    if expected is not None:
        row = await _attach(tx, principal, row, request_id)
    await audit.record_user_action(
        tx,
        principal,
        "photo",
        up.photo_id,
        "uploaded",
        request_id=request_id,
        after={
            "inspection_id": str(up.inspection_id),
            "sha256": sha256,
            "size": size,
            "media_type": processed.media_type,
            "attached": row.attached_at is not None,
        },
    )
    return _photo(row)


async def _resend(
    tx: asyncpg.Connection,
    principal: Principal,
    up: Upload,
    existing: queries.StoredPhoto,
    sha256: str,
    request_id: str | None,
) -> Photo:
    """The photo id is stored already: the same bytes answer the stored photo, other bytes are refused."""
    if existing.inspection_id != up.inspection_id:
        raise Conflict(
            "This photo id belongs to another inspection; give each photo its own id.", code="photo_id_in_use"
        )
    if existing.sha256 != sha256:
        raise Conflict(
            "This photo was received with other bytes; the stored photo stays. A new photo gets a new id.",
            code="photo_conflict",
        )
    if existing.attached_at is not None:
        return _photo(existing)
    if existing.uploaded_by != principal.user_id:
        raise Conflict("Another user's upload waits under this photo id.", code="photo_id_in_use")
    # Still waiting: a correction may have listed it since the inspection arrived.
    await tx.execute(queries.LOCK_INSPECTION, up.inspection_id)
    expected = await _slot(tx, principal, up)
    if expected is None:
        return _photo(existing)
    _check_manifest(expected, existing.sha256, existing.size_bytes)
    return _photo(await _attach(tx, principal, existing, request_id))


async def _attach(
    tx: asyncpg.Connection, uploader: Principal, row: queries.StoredPhoto, request_id: str | None
) -> queries.StoredPhoto:
    receipt = await inspections.photo_received(
        tx, row.id, row.sha256, row.size_bytes, actor=audit.user_actor(uploader), request_id=request_id
    )
    attached = _stored(await tx.fetchrow(queries.ATTACH, row.id)) or row
    if not receipt.already_received:
        received = events.event(
            "photo.received",
            actor=uploader.user_id,
            subject_type="photo",
            subject_id=row.id,
            related={"inspection": receipt.inspection_id},
            request_id=request_id,
        )
        await events.announce(tx, received, uploader)
    return attached


async def _release(conn: asyncpg.Connection, blobs: list[tuple[Kind, str]], ready_at: datetime) -> None:
    await conn.execute(queries.RELEASE, [kind for kind, _ in blobs], [sha for _, sha in blobs], ready_at)


def _blobs_of(row: queries.StoredPhoto) -> list[tuple[Kind, str]]:
    return [("original", row.sha256), ("derivative", row.display_sha256), ("derivative", row.thumbnail_sha256)]


def _stored(row: asyncpg.Record | None) -> queries.StoredPhoto | None:
    return None if row is None else msgspec.convert(dict(row), queries.StoredPhoto)


def _photo(row: queries.StoredPhoto) -> Photo:
    return Photo(
        id=row.id,
        inspection_id=row.inspection_id,
        sha256=row.sha256,
        size=row.size_bytes,
        media_type=row.media_type,
        width=row.width,
        height=row.height,
        received_at=row.received_at,
        attached=row.attached_at is not None,
    )


# --- the inspection arrives ------------------------------------------------------------------------------------


async def _attach_pending(
    tx: asyncpg.Connection,
    principal: Principal,
    inspection_id: UUID,
    waiting: list[dict[str, Any]],
    request_id: str | None,
) -> None:
    """The inspection arrived (in the transaction that stored it): attach the photos uploaded for it before
    (`waiting`, their rows read after the lock: see the module docstring)."""
    for pending in waiting:
        row = msgspec.convert(pending, queries.StoredPhoto)
        uploader = principal if row.uploaded_by == principal.user_id else await _principal_of(tx, row.uploaded_by)
        try:
            expected = await inspections.photo_slot(tx, uploader, inspection_id, row.id)
        except NotFound:
            await _discard(tx, row, "photo.discarded", "its uploader may not see the inspection", request_id)
            continue
        except Unprocessable:
            continue  # not in the manifest: it waits (a correction may list it) until the purge
        if expected is None:
            continue
        if (expected.sha256, expected.size) != (row.sha256, row.size_bytes):
            await _discard(tx, row, "photo.discarded", "it is not the photo the manifest lists", request_id)
            continue
        await _attach(tx, uploader, row, request_id)


def _waiting(stored: events.Event) -> list[events.Statement]:
    return [events.Statement(queries.PENDING_AFTER_TURN, (stored.subject_id,))]


async def _attach_waiting(
    tx: asyncpg.Connection, stored: events.Event, principal: Principal, rows: events.Rows
) -> None:
    await _attach_pending(tx, principal, stored.subject_id, rows[0], stored.request_id)


# Reaction to inspection.submitted and .corrected: the photos that waited for it and that it lists attach. The
# waiting photos are read with the other statement reactions to the event, in one round trip.
on_inspection_stored = events.StatementReaction(_waiting, then=_attach_waiting)


async def _principal_of(conn: asyncpg.Connection, user_id: UUID) -> Principal:
    user = await users.get_user(conn, user_id)
    return Principal(
        user_id=user.id,
        subject=user.subject,
        issuer=user.issuer,
        roles=frozenset(user.roles),
        regimes=frozenset(user.regimes),
        teams=frozenset(user.teams),
        display_name=user.display_name,
    )


async def _discard(
    tx: asyncpg.Connection, row: queries.StoredPhoto, action: str, reason: str, request_id: str | None
) -> None:
    """Remove a waiting photo; its blobs go once no other photo references them (see purge)."""
    if await tx.fetchrow(queries.DELETE_PENDING, row.id) is None:
        return
    await _release(tx, _blobs_of(row), datetime.now(UTC))
    await audit.record(
        tx,
        actor=audit.SYSTEM,
        action=action,
        object_type="photo",
        object_id=row.id,
        request_id=request_id,
        reason=reason,
        before={
            "inspection_id": str(row.inspection_id),
            "sha256": row.sha256,
            "uploaded_by": str(row.uploaded_by),
        },
    )


# --- reading ---------------------------------------------------------------------------------------------------


async def evidence_of(
    conn: asyncpg.Connection, principal: Principal, photo_ids: list[UUID]
) -> dict[UUID, PhotoEvidence]:
    """The server's facts about received photos for the inspection's detail; the caller must be allowed to
    see the inspection. Position only for EVIDENCE_ROLES (see the module docstring)."""
    show_position = principal.has_role(*EVIDENCE_ROLES)
    rows = await conn.fetch(queries.EVIDENCE, photo_ids)
    return {
        row["id"]: PhotoEvidence(
            media_type=row["media_type"],
            width=row["width"],
            height=row["height"],
            captured_at=row["captured_at"],
            received_at=row["received_at"],
            position=GeoPoint(row["latitude"], row["longitude"])
            if show_position and row["latitude"] is not None
            else None,
        )
        for row in rows
    }


async def derivative(
    ev: Evidence, principal: Principal, inspection_id: UUID, photo_id: UUID, variant: Variant, *, request_id: str | None
) -> Download:
    """A display image or thumbnail, for whoever may see the inspection (404 otherwise); the read of a sex-work
    inspection's photo is audited as a read of that inspection."""
    async with ev.connection() as conn:
        row = await _served(conn, principal, inspection_id, photo_id, whole_regimes=False)
        await inspections.record_evidence_read(conn, principal, inspection_id, request_id=request_id)
    sha256 = row[f"{variant}_sha256"]
    return Download(sha256=sha256, media_type="image/jpeg", open=lambda: ev.store.open("derivative", sha256))


async def original(
    ev: Evidence, principal: Principal, inspection_id: UUID, photo_id: UUID, *, request_id: str | None
) -> Download:
    """The original bytes, for enforcement officers and auditors within their regimes (the route checks
    the role); the read is audited and committed before anything is sent."""
    async with ev.connection() as conn, conn.transaction():
        row = await _served(conn, principal, inspection_id, photo_id, whole_regimes=True)
        await audit.record_user_action(
            conn,
            principal,
            "photo",
            photo_id,
            "original_read",
            request_id=request_id,
            after={"inspection_id": str(inspection_id), "sha256": row["sha256"]},
        )
    sha256 = row["sha256"]
    return Download(sha256=sha256, media_type=row["media_type"], open=lambda: ev.store.open("original", sha256))


async def _served(
    conn: asyncpg.Connection, principal: Principal, inspection_id: UUID, photo_id: UUID, *, whole_regimes: bool
) -> asyncpg.Record:
    if not await inspections.visible_to(conn, principal, inspection_id, whole_regimes=whole_regimes):
        raise NotFound("No such photo.")
    row = await conn.fetchrow(queries.ATTACHED, photo_id, inspection_id)
    if row is None:
        raise NotFound("No such photo.")
    return row


# --- housekeeping -----------------------------------------------------------------------------------------------


async def purge(ev: Evidence) -> tuple[int, int]:
    """Remove photos whose inspection did not arrive within `photo_pending_hours`, then the blobs no photo
    references any more; (photos, blobs) removed."""
    cutoff = datetime.now(UTC) - timedelta(hours=ev.settings.photo_pending_hours)
    photos = blobs = 0
    while True:
        async with ev.connection() as conn, conn.transaction():
            expired = await conn.fetch(queries.EXPIRED, cutoff, PURGE_BATCH)
            for item in expired:
                row = _stored(await conn.fetchrow(queries.GET, item["id"]))
                assert row is not None  # locked by EXPIRED
                await _discard(conn, row, "photo.expired", "its inspection did not arrive in time", None)
        photos += len(expired)
        if len(expired) < PURGE_BATCH:
            break
    while True:
        async with ev.connection() as conn, conn.transaction():
            ready = sorted(await conn.fetch(queries.READY_BLOBS, PURGE_BATCH), key=lambda r: (r["kind"], r["sha256"]))
            for item in ready:
                blobs += await _remove_if_unreferenced(conn, ev.store, item["kind"], item["sha256"])
        if len(ready) < PURGE_BATCH:
            break
    return photos, blobs


async def _remove_if_unreferenced(conn: asyncpg.Connection, store: BlobStore, kind: Kind, sha256: str) -> int:
    # Under the blob's lock (in sorted order, as uploads take them): an upload storing it now waits for us.
    await conn.execute(queries.LOCK_BLOB, kind, sha256)
    removed = 0
    if not await conn.fetchval(queries.BLOB_REFERENCED, sha256, kind):
        await store.delete(kind, sha256)
        removed = 1
    await conn.execute(queries.FORGET_BLOB, kind, sha256)
    return removed


async def purge_forever(ev: Evidence, interval_s: float, purge_uploads: Callable[[Evidence], Awaitable[int]]) -> None:
    """The app's background loop: purge now, then every `interval_s`; also the expired resumable uploads
    (`purge_uploads`, photos.resumable.purge)."""
    while True:
        try:
            uploads = await purge_uploads(ev)
            removed = await purge(ev)
            if any(removed) or uploads:
                log.info("photos_purged", photos=removed[0], blobs=removed[1], uploads=uploads)
        except Exception as exc:
            log.warning("photo_purge_failed", error=type(exc).__name__)
        await asyncio.sleep(interval_s)


def evidence_for(pool: asyncpg.Pool, settings: Settings) -> Evidence:
    """The default wiring: blobs under <data_dir>/evidence, uploads spooled in <data_dir>/tmp/uploads, the
    parts of resumable uploads in <data_dir>/resumable."""
    data = Path(settings.data_dir)
    return Evidence(
        pool=pool,
        store=FileSystemStore(data / "evidence"),
        spool=Spool(data / "tmp" / "uploads"),
        parts=PartStore(data / "resumable"),
        settings=settings,
        processing=asyncio.Semaphore(os.cpu_count() or 1),
    )
