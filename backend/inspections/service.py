"""Inspections' service: what other features and the routes call. The rules live in the modules beside it:

- `checking`: a submission checked whole before anything is written (every problem in one 422), and what the
  server derives from it; `clock`: whether to trust the phone's clock;
- `submission`: the idempotent PUT of a new inspection (and a resend of a stored revision);
- `corrections`: a returned inspection sent again with `base_revision`;
- `review`: a coordinator accepts (vier-ogen) or returns an inspection;
- `reads`: one inspection, its revisions, the lists, and who sees which (visibility);
- `photo_receipts`: the photos of a manifest arriving (called by the photos feature);
- `trail`: the domain and audit events a change leaves behind.

The submission, correction, review and return are announced as domain events (inspection.submitted,
.corrected, .reviewed, .returned) in their transaction; planning, photos and enforcement react to them
(backend/reactions.py), so this feature imports none of the features that follow it.
"""

from __future__ import annotations

from backend.inspections.photo_receipts import photo_received, photo_slot
from backend.inspections.reads import (
    get_inspection,
    list_inspections,
    list_revisions,
    list_violations,
    outcomes_of_assignments,
    read_evidence_with,
    record_evidence_read,
    returned_to,
    visible_to,
)
from backend.inspections.review import REVIEWERS, return_, review
from backend.inspections.submission import StaleRevision, submit

__all__ = [
    "REVIEWERS",
    "StaleRevision",
    "get_inspection",
    "list_inspections",
    "list_revisions",
    "list_violations",
    "outcomes_of_assignments",
    "photo_received",
    "photo_slot",
    "read_evidence_with",
    "record_evidence_read",
    "return_",
    "returned_to",
    "review",
    "submit",
    "visible_to",
]
