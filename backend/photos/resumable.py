"""Resumable photo uploads, after the IETF HTTP working group's "Resumable Uploads for HTTP"
(draft-ietf-httpbis-resumable-upload-12): an upload resource the phone appends to until it is complete.

Creation: the phone's `PUT .../photos/{photo_id}` with `Upload-Complete: ?0` passes the same admission as a
whole upload (who may upload, the announced size, a digest to check against) and creates the upload
resource (201, `Location`); content sent with it is its first part. The server cannot send the draft's
`104 (Upload Resumption Supported)` interim response (the ASGI servers we run on have no way to send an
informational response other than 100 Continue), so the phone learns the resource from the 201: the
draft's "careful upload creation". A PUT with `Upload-Complete: ?1` is served as a whole upload (the draft
lets a resource decline the upgrade).

Appending (`PATCH`, `application/partial-upload`, `Upload-Offset`, `Upload-Complete`): the content streams
into a new part file while it arrives (memory per request is one flush buffer, whatever the number of
uploads); the part is fsynced, then counted by a compare-and-set of the upload's offset in the database,
so an offset acknowledged to the phone survives a restart or kill -9, and of two appends from one offset
exactly one counts (the other is 409 with the server's offset). An append cut off by the network keeps
what arrived. An offset that is not the server's is 409 before anything is read.

Completion (`Upload-Complete: ?1`): the parts are read in order through exactly the checks and the
idempotency of a whole upload (photos.service.upload, authorization included: it may have changed since
creation). Success answers as a whole upload would; an answer from those checks carries
`Upload-Complete: ?1` and the upload is removed with its bytes: nothing is kept of a refused photo.

Limits: the size limit of a whole upload (`Upload-Limit: max-size`), announced by `Upload-Length` (413 at
creation) or reached while appending (413, and the upload is removed); an append past the announced length
is refused and removes the upload too (the draft's "invalid"). An upload not completed within
`photo_upload_expiry_hours` of its last append expires (`max-age`); `purge` removes it and its bytes. A user
has at most MAX_OPEN_UPLOADS open at once (429 beyond: the draft's advice against clients that hold many
uploads open). Only its creator sees an upload resource (404 for anyone else).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from backend.core.auth import Principal
from backend.core.errors import ApiError, BadRequest, Conflict, NotFound
from backend.core.ids import new_id
from backend.core.storage import SpoolFile, read_parts
from backend.photos import queries, service
from backend.photos.models import Photo
from backend.photos.service import Evidence, Upload, UploadInterrupted

PROBLEM_TYPES = "https://iana.org/assignments/http-problem-types#"
PURGE_BATCH = 100
# Open uploads per user: far more than a phone's photos of a day, far fewer than would fill a disk.
MAX_OPEN_UPLOADS = 100


@dataclass(frozen=True)
class UploadState:
    """What the upload resource tells the phone (the draft's Upload-* fields)."""

    id: UUID
    offset: int
    length: int | None
    complete: bool
    max_size: int
    max_age_s: int


class OffsetMismatch(Conflict):
    code, type_uri = "upload_offset_mismatch", PROBLEM_TYPES + "mismatching-upload-offset"

    def __init__(self, expected: int, provided: int) -> None:
        super().__init__(f"The upload is at offset {expected}, not {provided}; continue from {expected}.")
        self.members = {"expected-offset": expected, "provided-offset": provided}
        self.headers = {"Upload-Offset": str(expected), "Upload-Complete": "?0"}


class TooManyUploads(ApiError):
    status, code = 429, "too_many_uploads"


class InconsistentLength(BadRequest):
    code, type_uri = "upload_length_inconsistent", PROBLEM_TYPES + "inconsistent-upload-length"


class UploadCompleted(BadRequest):
    code, type_uri = "upload_completed", PROBLEM_TYPES + "completed-upload"


@dataclass(frozen=True)
class Append:
    """One PATCH (or the content of the creating PUT): where it starts, whether it ends the upload, the
    lengths it announces (Upload-Length; Content-Length)."""

    offset: int
    complete: bool
    length: int | None
    content_length: int | None


# --- creation, state, cancellation -------------------------------------------------------------------------------


async def create(
    ev: Evidence,
    principal: Principal,
    up: Upload,
    length: int | None,
    body: AsyncIterator[bytes],
    *,
    request_id: str | None,
) -> UploadState:
    """A new upload resource for the photo, with the request's content (possibly none) as its first part."""
    limit = ev.settings.photo_max_bytes
    if length is not None and length > limit:
        raise _too_large(ev)
    admission = await service.admit(ev, principal, up)
    async with ev.connection() as conn:
        new = queries.NewUpload(
            id=new_id(),
            inspection_id=up.inspection_id,
            photo_id=up.photo_id,
            created_by=principal.user_id,
            media_type=up.declared_type,
            sha256=admission.sha256,
            upload_length=length,
            expires_at=_expiry(ev),
        )
        row = await conn.fetchrow(queries.INSERT_UPLOAD, *queries.insert_upload_args(new, MAX_OPEN_UPLOADS))
    if row is None:
        raise TooManyUploads(f"You have {MAX_OPEN_UPLOADS} unfinished uploads; complete or cancel some first.")
    outcome = await _append(ev, principal, row, Append(0, False, None, up.content_length), body, request_id=request_id)
    assert isinstance(outcome, UploadState)
    return outcome


async def state(ev: Evidence, principal: Principal, upload_id: UUID) -> UploadState:
    async with ev.connection() as conn:
        return _state(ev, await _get(conn, principal, upload_id))


async def cancel(ev: Evidence, principal: Principal, upload_id: UUID) -> None:
    """Remove the upload and its bytes (an append still streaming finds it gone and counts for nothing)."""
    async with ev.connection() as conn:
        await _get(conn, principal, upload_id)
        await conn.execute(queries.DELETE_UPLOAD, upload_id)
    await asyncio.to_thread(ev.parts.remove, upload_id)


# --- appending ---------------------------------------------------------------------------------------------------


async def append(
    ev: Evidence,
    principal: Principal,
    upload_id: UUID,
    request: Append,
    body: AsyncIterator[bytes],
    *,
    request_id: str | None,
) -> UploadState | Photo:
    """Append the content; the upload's new state, or the photo when this completed it."""
    async with ev.connection() as conn:
        row = await _get(conn, principal, upload_id)
    return await _append(ev, principal, row, request, body, request_id=request_id)


async def _append(
    ev: Evidence,
    principal: Principal,
    row: asyncpg.Record,
    request: Append,
    body: AsyncIterator[bytes],
    *,
    request_id: str | None,
) -> UploadState | Photo:
    if row["completed_at"] is not None:
        return await _after_completion(ev, row, request)
    if request.offset != row["upload_offset"]:
        raise OffsetMismatch(row["upload_offset"], request.offset)
    length = await _length(ev, row, request)
    counted, interrupted = await _append_part(ev, row, request, length, body)
    if interrupted:
        raise UploadInterrupted("The append was interrupted; ask the upload's offset (HEAD) and continue.")
    if request.complete:
        return await _complete(ev, principal, counted, request_id=request_id)
    return _state(ev, counted)


async def _append_part(
    ev: Evidence, row: asyncpg.Record, request: Append, length: int | None, body: AsyncIterator[bytes]
) -> tuple[asyncpg.Record, bool]:
    """Stream the content into a new part and count it; the upload's new row, and whether the client went
    away (what arrived counts). 409 when another append counted first."""
    room = (length if length is not None else ev.settings.photo_max_bytes) - request.offset
    with ev.parts.new_part(row["id"]) as (token, part):
        try:
            received, interrupted = await _receive(body, part, room)
        except _Overflow:
            await _remove(ev, row["id"])
            if length is not None and length <= ev.settings.photo_max_bytes:
                raise InconsistentLength(
                    "The content goes past the announced Upload-Length; the upload is removed."
                ) from None
            raise _too_large(ev) from None
        counted = await _commit(ev, row, token if received else None, part, received, length)
    if counted is None or not received:
        ev.parts.discard(row["id"], token)
    if counted is None:
        async with ev.connection() as conn:
            current = await conn.fetchval(queries.UPLOAD_OFFSET, row["id"])
        if current is None:
            raise NotFound("No such upload (cancelled, expired or refused).")
        raise OffsetMismatch(current, request.offset)
    return counted, interrupted


class _Overflow(Exception):
    """The content goes past the room the upload has left."""


async def _receive(body: AsyncIterator[bytes], part: SpoolFile, room: int) -> tuple[int, bool]:
    """Stream the content into the part; (bytes received, whether the client went away)."""
    received = 0
    buffer = bytearray()
    interrupted = False
    try:
        async for chunk in body:
            received += len(chunk)
            if received > room:
                raise _Overflow
            buffer += chunk
            if len(buffer) >= service.FLUSH_BYTES:
                full, buffer = buffer, bytearray()
                await asyncio.to_thread(part.write, full)
    except UploadInterrupted:
        interrupted = True  # keep what arrived: the phone resumes after it
    if buffer:
        await asyncio.to_thread(part.write, buffer)
    return received, interrupted


async def _length(ev: Evidence, row: asyncpg.Record, request: Append) -> int | None:
    """The upload's length as known after this request; 400 when the request contradicts it, 413 (and
    the upload is removed) when it is over the limit."""
    announced = {
        value
        for value in (
            row["upload_length"],
            request.length,
            request.offset + request.content_length
            if request.complete and request.content_length is not None
            else None,
        )
        if value is not None
    }
    if len(announced) > 1:
        raise InconsistentLength("The lengths announced for this upload do not match.")
    length = announced.pop() if announced else None
    if length is not None and length < request.offset:
        raise InconsistentLength("The announced length is less than the bytes already received.")
    if length is not None and length > ev.settings.photo_max_bytes:
        await _remove(ev, row["id"])
        raise _too_large(ev)
    return length


async def _commit(
    ev: Evidence, row: asyncpg.Record, token: str | None, part: SpoolFile, received: int, length: int | None
) -> asyncpg.Record | None:
    """Make the part durable, then count it if the upload is still where this append started; the new row,
    or None when another append (or a cancellation) came first."""
    if received:
        await asyncio.to_thread(ev.parts.seal, part)
    async with ev.connection() as conn:
        return await conn.fetchrow(
            queries.APPEND_UPLOAD, row["id"], row["upload_offset"], received, token, length, _expiry(ev)
        )


async def _complete(ev: Evidence, principal: Principal, row: asyncpg.Record, *, request_id: str | None) -> Photo:
    """Pass the whole upload through the checks of a whole upload; the upload ends either way."""
    up = Upload(
        inspection_id=row["inspection_id"],
        photo_id=row["photo_id"],
        declared_type=row["media_type"],
        declared_sha256=row["sha256"],
        content_length=row["upload_offset"],
    )
    try:
        handles = await asyncio.to_thread(ev.parts.open_parts, row["id"], list(row["parts"]))
    except FileNotFoundError:  # a concurrent completion finished first and removed the parts
        return await _replay(ev, row)
    try:
        photo = await service.upload(ev, principal, up, read_parts(handles), request_id=request_id)
    except ApiError as exc:
        await _remove(ev, row["id"])
        exc.headers = {**exc.headers, "Upload-Complete": "?1"}
        raise
    async with ev.connection() as conn:
        await conn.execute(queries.COMPLETE_UPLOAD, row["id"])
    await asyncio.to_thread(ev.parts.remove, row["id"])
    return photo


async def _after_completion(ev: Evidence, row: asyncpg.Record, request: Append) -> Photo:
    """A completed upload takes nothing more; an empty completing append at its offset (the phone lost the
    answer) gets the answer again."""
    if request.content_length or not request.complete or request.offset != row["upload_offset"]:
        raise UploadCompleted("The upload is complete; nothing can be appended to it.")
    return await _replay(ev, row)


async def _replay(ev: Evidence, row: asyncpg.Record) -> Photo:
    photo = await service.stored(ev, row["photo_id"], row["inspection_id"], row["sha256"])
    if photo is None:
        raise UploadCompleted("The upload is complete; nothing can be appended to it.")
    return photo


# --- helpers and housekeeping ----------------------------------------------------------------------------------


async def _get(conn: asyncpg.Connection, principal: Principal, upload_id: UUID) -> asyncpg.Record:
    row = await conn.fetchrow(queries.GET_UPLOAD, upload_id, principal.user_id)
    if row is None:
        raise NotFound("No such upload (cancelled, expired, refused, or not yours).")
    return row


async def _remove(ev: Evidence, upload_id: UUID) -> None:
    async with ev.connection() as conn:
        await conn.execute(queries.DELETE_UPLOAD, upload_id)
    await asyncio.to_thread(ev.parts.remove, upload_id)


def _expiry(ev: Evidence) -> datetime:
    return datetime.now(UTC) + timedelta(hours=ev.settings.photo_upload_expiry_hours)


def _state(ev: Evidence, row: asyncpg.Record) -> UploadState:
    remaining = int((row["expires_at"] - datetime.now(UTC)).total_seconds())
    return UploadState(
        id=row["id"],
        offset=row["upload_offset"],
        length=row["upload_length"],
        complete=row["completed_at"] is not None,
        max_size=ev.settings.photo_max_bytes,
        max_age_s=max(0, remaining),
    )


def _too_large(ev: Evidence) -> ApiError:
    error = service.too_large(ev.settings.photo_max_bytes)
    error.headers = {**error.headers, "Upload-Limit": limit_field(ev.settings.photo_max_bytes, None)}
    return error


def limit_field(max_size: int, max_age_s: int | None) -> str:
    """The Upload-Limit dictionary."""
    return f"max-size={max_size}" + (f", max-age={max_age_s}" if max_age_s is not None else "")


async def purge(ev: Evidence) -> int:
    """Remove expired uploads with their bytes, and part directories no upload owns any more (a removal
    that stopped halfway); how many uploads were removed."""
    removed = 0
    while True:
        async with ev.connection() as conn:
            expired = [row["id"] for row in await conn.fetch(queries.EXPIRED_UPLOADS, PURGE_BATCH)]
        for upload_id in expired:
            await asyncio.to_thread(ev.parts.remove, upload_id)
        removed += len(expired)
        if len(expired) < PURGE_BATCH:
            break
    on_disk = await asyncio.to_thread(ev.parts.upload_ids)
    if on_disk:
        async with ev.connection() as conn:
            known = {row["id"] for row in await conn.fetch(queries.KNOWN_UPLOADS, on_disk)}
        for upload_id in set(on_disk) - known:
            await asyncio.to_thread(ev.parts.remove, upload_id)
    return removed
