"""API shapes for evidence photos."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

MediaType = Literal["image/jpeg", "image/png", "image/webp"]


class Photo(msgspec.Struct, frozen=True, kw_only=True):
    """A received photo, as the upload answers it (the same answer for every resend of the same bytes)."""

    id: UUID
    inspection_id: UUID
    sha256: Annotated[str, Meta(description="SHA-256 of the original bytes, lowercase hex")]
    size: Annotated[int, Meta(description="Bytes of the original")]
    media_type: Annotated[MediaType, Meta(description="What the bytes are (read from them, not from the request)")]
    width: int
    height: int
    received_at: datetime
    attached: Annotated[bool, Meta(
        description="false while the inspection has not arrived: the photo waits for it (and is removed when it "
        "never comes)"
    )]


class GeoPoint(msgspec.Struct, frozen=True):
    latitude: float
    longitude: float


class PhotoEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """What the server knows of a received photo, for the inspection's detail. `position` is shown only to
    enforcement officers and auditors (null for everyone else); see photos.service.evidence_of."""

    media_type: MediaType
    width: int
    height: int
    captured_at: Annotated[datetime | None, Meta(description="From the photo's EXIF (the phone's claim)")]
    received_at: datetime
    position: Annotated[GeoPoint | None, Meta(description="GPS from the photo's EXIF; enforcement officers and auditors only")]


Variant = Literal["display", "thumbnail"]
