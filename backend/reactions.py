"""Which feature reacts to which domain event (see backend/core/events.py): the one place that knows both
sides, so the announcing feature imports none of the features that react to it. create_app runs `wire()`."""

from __future__ import annotations

from backend.complaints import service as complaints
from backend.core import events
from backend.enforcement import cases as enforcement_cases
from backend.enforcement import reading as enforcement_reading
from backend.inspections import service as inspections
from backend.outbox import email as outbox_email
from backend.outbox import letter_mail as outbox_letter_mail
from backend.outbox import service as outbox
from backend.outbox.models import EVENT_TYPES as OUTGOING
from backend.photos import service as photos
from backend.planning import service as planning
from backend.reports import facts as reports


def wire() -> None:
    """Register every reaction (again is harmless: a reaction is registered once)."""
    # In this order: the assignment is done before waiting photos attach (as the submission always did it).
    events.react("inspection.submitted", planning.on_inspection_stored)
    events.react("inspection.submitted", photos.on_inspection_stored)
    events.react("inspection.corrected", planning.on_inspection_stored)
    # A correction may list a photo the phone sent before the first submission, which left it out.
    events.react("inspection.corrected", photos.on_inspection_stored)
    events.react("inspection.reviewed", enforcement_cases.on_inspection_reviewed)
    # The reports' read model last: it reads what the reactions above wrote (cases opened, hercontroles settled).
    events.react("inspection.submitted", reports.on_inspection_submitted)
    for changed in ("corrected", "reviewed", "returned"):
        events.react(f"inspection.{changed}", reports.on_inspection_changed)
    events.react("step.sent", reports.on_step_sent)
    events.react("step.withdrawn", reports.on_step_withdrawn)
    for changed in ("received", "answered", "reopened"):
        events.react(f"complaint.{changed}", reports.on_complaint_changed)
    # Every event that leaves the service goes to the outbox in the announcing transaction (after the reactions
    # above, so a message is only written for a change that got this far).
    for kind in OUTGOING:
        events.react(kind, outbox.on_event)
    # The reporter who wants feedback hears by e-mail that their complaint arrived, and its answer.
    for kind in outbox_email.SUBJECTS:
        events.react(kind, outbox_email.on_complaint_event)
    # A sent letter goes to its addressee by e-mail when it has an address on record (else it is marked for post).
    events.react("step.sent", outbox_letter_mail.on_step_sent)
    # Not an event but the same inversion: the inspection detail shows what the photos feature knows.
    inspections.read_evidence_with(photos.evidence_of)
    complaints.read_feedback_mail_with(outbox_email.feedback_emails, outbox_email.failed_feedback)
    enforcement_reading.read_mail_with(outbox_letter_mail.deliveries, outbox_letter_mail.failed)
    # The reports read a case to classify it, for nobody: `view`, not `get_case`, which logs a person's read.
    reports.read_cases_with(
        reports.CaseReads(get_case=enforcement_reading.view, open_cases_at=enforcement_reading.open_cases_at)
    )
