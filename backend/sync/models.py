"""API shapes for phone sync."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.checklists.models import ChecklistVersion
from backend.inspections.models import ReturnedInspection
from backend.planning.models import Assignment
from backend.registry.models import Location, ObjectWithPermits

SyncEntity = Literal["assignment", "object", "location", "checklist_version", "inspection"]
RemovedReason = Annotated[
    Literal["cancelled", "done", "reassigned", "unassigned", "not_visible", "corrected"],
    Meta(
        description="cancelled, done: the assignment closed; reassigned: you are no longer one of its inspectors; "
        "unassigned: no planned assignment of yours targets this object or location any more; "
        "not_visible: your regimes no longer let you see it; corrected: the returned inspection is "
        "returned no more (corrected, by you or another inspector present)"
    ),
]


class Removed(msgspec.Struct, frozen=True):
    """A tombstone: delete this from the phone (it may already be gone there)."""

    entity: SyncEntity
    id: UUID
    reason: RemovedReason


class SyncPage(msgspec.Struct, frozen=True, kw_only=True):
    reset: Annotated[
        bool,
        Meta(
            description="true on the first page of a full sync (no cursor, or a cursor issued for another user or "
            "other regimes): drop everything synced before and apply this page to an empty store"
        ),
    ]
    assignments: Annotated[
        list[Assignment], Meta(description="Upserts: your planned assignments, as planning shows them")
    ]
    objects: Annotated[
        list[ObjectWithPermits],
        Meta(description="Upserts: objects your planned assignments target, each with all its permits"),
    ]
    locations: Annotated[list[Location], Meta(description="Upserts: locations your planned assignments target")]
    checklist_versions: Annotated[
        list[ChecklistVersion], Meta(description="Upserts: checklist versions your assignments use (immutable)")
    ]
    returned_inspections: Annotated[
        list[ReturnedInspection],
        Meta(
            description="Upserts: inspections of yours a coordinator returned, with the reason and the revision to "
            "correct; a tombstone (`inspection`, `corrected`) removes one once it is corrected"
        ),
    ]
    removed: list[Removed]
    cursor: Annotated[str, Meta(description="Opaque; send it with the next sync (also when has_more is false)")]
    has_more: Annotated[bool, Meta(description="More is waiting now: sync again with `cursor` at once")]
