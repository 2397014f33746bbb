"""Which feature reacts to which domain event (see backend/core/events.py): the one place that knows both
sides, so the announcing feature imports none of the features that react to it. create_app runs `wire()`."""

from __future__ import annotations

from backend.core import events
from backend.enforcement import service as enforcement
from backend.inspections import service as inspections
from backend.photos import service as photos


def wire() -> None:
    """Register every reaction (again is harmless: a reaction is registered once)."""
    events.react("inspection.submitted", photos.on_inspection_submitted)
    events.react("inspection.reviewed", enforcement.on_inspection_reviewed)
    # Not an event but the same inversion: the inspection detail shows what the photos feature knows.
    inspections.read_evidence_with(photos.evidence_of)
