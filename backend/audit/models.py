from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class AuditEvent(msgspec.Struct, frozen=True):
    seq: int
    id: UUID
    occurred_at: datetime
    actor_id: UUID | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    request_id: str | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    row_hash: str


class AuditEventPage(msgspec.Struct, frozen=True):
    items: list[AuditEvent]
    next_cursor: str | None
