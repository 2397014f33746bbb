"""SQL for evidence photos. Every value is a bind parameter; a photo is written from a NewPhoto record (its fields
in INSERT's column order, checked by tests/test_photo_queries.py) and read back as a StoredPhoto."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from backend.inspections.models import MediaType

# Uploads for one inspection id, and that inspection's arrival, take turns: a photo is either seen by the
# arriving inspection or sees it (held until commit). photo_pending_after_turn (migration 0015) takes the
# same lock for the arriving inspection.
LOCK_INSPECTION = "SELECT pg_advisory_xact_lock(hashtextextended('photos:inspection:' || $1::uuid::text, 0))"

# Storing a blob and removing it (when no photo references it) take turns per blob.
LOCK_BLOB = "SELECT pg_advisory_xact_lock(hashtextextended('photos:blob:' || $1 || ':' || $2, 0))"

COLUMNS = """id, inspection_id, uploaded_by, sha256, size_bytes, media_type, width, height, captured_at, latitude,
longitude, received_at, attached_at, display_sha256, display_size, thumbnail_sha256, thumbnail_size"""


class NewPhoto(msgspec.Struct, frozen=True, kw_only=True):
    """A received photo as INSERT stores it: who uploaded it, its original's facts and its derivatives'."""

    id: UUID
    inspection_id: UUID
    uploaded_by: UUID
    sha256: str
    size_bytes: int
    media_type: str
    width: int
    height: int
    captured_at: datetime | None
    latitude: float | None
    longitude: float | None
    received_at: datetime
    display_sha256: str
    display_size: int
    thumbnail_sha256: str
    thumbnail_size: int


class StoredPhoto(NewPhoto, frozen=True, kw_only=True):
    """A photo row (COLUMNS): attached once its inspection's manifest took it."""

    media_type: MediaType  # as read back: one of the types the upload accepted
    attached_at: datetime | None


def insert_args(new: NewPhoto) -> tuple[Any, ...]:
    """The bind values of INSERT, in its order."""
    return msgspec.structs.astuple(new)


GET = f"SELECT {COLUMNS} FROM photo WHERE id = $1"

INSERT = f"""
INSERT INTO photo (id, inspection_id, uploaded_by, sha256, size_bytes, media_type, width, height, captured_at,
                   latitude, longitude, received_at, display_sha256, display_size, thumbnail_sha256, thumbnail_size)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (id) DO NOTHING
RETURNING {COLUMNS}
"""

ATTACH = f"UPDATE photo SET attached_at = now() WHERE id = $1 AND attached_at IS NULL RETURNING {COLUMNS}"

# The arriving inspection's turn, then the photos uploaded for it that wait (locked), oldest id first.
PENDING_AFTER_TURN = f"SELECT {COLUMNS} FROM photo_pending_after_turn($1)"

# A photo as served: attached to this inspection.
ATTACHED = f"SELECT {COLUMNS} FROM photo WHERE id = $1 AND inspection_id = $2 AND attached_at IS NOT NULL"

EVIDENCE = """
SELECT id, media_type, width, height, captured_at, received_at, latitude, longitude
FROM photo WHERE id = ANY ($1::uuid[]) AND attached_at IS NOT NULL
"""

# Blobs to look at later (see migrations/0008_photos.sql): a later ready_at wins.
RELEASE = """
INSERT INTO photo_blob_release (kind, sha256, ready_at)
SELECT * FROM unnest($1::text[], $2::text[]) AS b(kind, sha256), (SELECT $3::timestamptz) AS t(ready_at)
ON CONFLICT (kind, sha256) DO UPDATE SET ready_at = GREATEST(photo_blob_release.ready_at, EXCLUDED.ready_at)
"""

DELETE_PENDING = f"DELETE FROM photo WHERE id = $1 AND attached_at IS NULL RETURNING {COLUMNS}"

EXPIRED = """
SELECT id FROM photo WHERE attached_at IS NULL AND received_at < $1 ORDER BY received_at LIMIT $2
FOR UPDATE SKIP LOCKED
"""

READY_BLOBS = """
SELECT kind, sha256 FROM photo_blob_release WHERE ready_at <= now() ORDER BY ready_at LIMIT $1
FOR UPDATE SKIP LOCKED
"""

BLOB_REFERENCED = """
SELECT EXISTS (SELECT 1 FROM photo WHERE sha256 = $1 AND $2 = 'original')
    OR EXISTS (SELECT 1 FROM photo WHERE display_sha256 = $1 AND $2 = 'derivative')
    OR EXISTS (SELECT 1 FROM photo WHERE thumbnail_sha256 = $1 AND $2 = 'derivative')
"""

FORGET_BLOB = "DELETE FROM photo_blob_release WHERE kind = $1 AND sha256 = $2"


# --- resumable uploads (migrations/0040_photo_uploads.sql) -------------------------------------------------------

UPLOAD_COLUMNS = """id, inspection_id, photo_id, created_by, media_type, sha256, upload_length, upload_offset, parts,
completed_at, expires_at"""


class NewUpload(msgspec.Struct, frozen=True, kw_only=True):
    """A resumable upload as INSERT_UPLOAD creates it (with no bytes yet)."""

    id: UUID
    inspection_id: UUID
    photo_id: UUID
    created_by: UUID
    media_type: str
    sha256: str
    upload_length: int | None
    expires_at: datetime


def insert_upload_args(new: NewUpload, open_at_most: int) -> tuple[Any, ...]:
    """The bind values of INSERT_UPLOAD, in its order."""
    return (*msgspec.structs.astuple(new), open_at_most)


# A new upload ($1-$8: the fields of NewUpload in order), unless its creator has $9 open (not completed, not
# expired) already.
INSERT_UPLOAD = f"""
INSERT INTO photo_upload (id, inspection_id, photo_id, created_by, media_type, sha256, upload_length, expires_at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8
WHERE (SELECT count(*) FROM photo_upload
       WHERE created_by = $4 AND completed_at IS NULL AND expires_at > now()) < $9
RETURNING {UPLOAD_COLUMNS}
"""

# An upload as its creator sees it; an expired one is gone, whether or not the purge has run yet.
GET_UPLOAD = f"SELECT {UPLOAD_COLUMNS} FROM photo_upload WHERE id = $1 AND created_by = $2 AND expires_at > now()"

# Compare and set: the append counts only if the upload is still where it started ($2).
APPEND_UPLOAD = f"""
UPDATE photo_upload
SET upload_offset = upload_offset + $3, parts = CASE WHEN $4::text IS NULL THEN parts ELSE parts || $4::text END,
    upload_length = coalesce(upload_length, $5), expires_at = greatest(expires_at, $6)
WHERE id = $1 AND upload_offset = $2 AND completed_at IS NULL
RETURNING {UPLOAD_COLUMNS}
"""

UPLOAD_OFFSET = "SELECT upload_offset FROM photo_upload WHERE id = $1"

COMPLETE_UPLOAD = "UPDATE photo_upload SET completed_at = now(), parts = '{}' WHERE id = $1 AND completed_at IS NULL"

DELETE_UPLOAD = "DELETE FROM photo_upload WHERE id = $1 RETURNING id"

EXPIRED_UPLOADS = """
DELETE FROM photo_upload WHERE id IN (
    SELECT id FROM photo_upload WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
) RETURNING id
"""

KNOWN_UPLOADS = "SELECT id FROM photo_upload WHERE id = ANY ($1::uuid[])"
