"""API shapes for evidence photos."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.inspections.models import MediaType


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
    attached: Annotated[
        bool,
        Meta(
            description="false while the inspection has not arrived: the photo waits for it (and is removed when it "
            "never comes)"
        ),
    ]


Variant = Literal["display", "thumbnail"]
