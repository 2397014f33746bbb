"""Sending a step (bekendmaking, Awb 3:41): on the day the officer records, a decision only once approved with
its letter as approved. The letter dated that day is stored write-once; a sent step never changes (a database
trigger holds this too). Every term the step starts counts from the day of sending: the zienswijze term of a
voornemen, the bezwaar term of a decision (a besluit or an invorderingsbeschikking: 6:7, 6:8), the
begunstigingstermijn of a last onder dwangsom (whose hercontrole is planned then) or bestuursdwang; an invordering
is sent only under a last onder dwangsom that still stands and within the collection limit (5:35). Announced as
`step.sent`. A letter marked for post is printed and posted by the back office, which records the day
(`record_posted`).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg
import msgspec

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict, invalid
from backend.enforcement import bezwaar, hercontrole, letter, queries, reading, records, steps
from backend.enforcement.models import Case, Dispatch, StepPosted, StepSend
from backend.enforcement.records import CaseRecord, StepRecord
from backend.letters import service as letters_service
from backend.letters.service import Letters


def _sending_day(data: StepSend, step: StepRecord) -> date:
    """The day of sending as given (default today): not after today, not before the approval of a decision or
    the drafting of another step."""
    ready = step.approved_at or step.created_at
    what = "approved" if step.approved_at else "drafted"
    return _recorded_day(data.sent_on, "/sent_on", ready.astimezone(calendar.AMSTERDAM).date(), f"the step was {what}")


def _recorded_day(given: date | None, pointer: str, earliest: date, earliest_is: str) -> date:
    """A day an officer records something happened (default today): not after today, not before `earliest`."""
    day = given or calendar.today()
    if day > calendar.today():
        raise invalid(pointer, "is in the future")
    if day < earliest:
        raise invalid(pointer, f"is before {earliest_is} ({earliest})")
    return day


async def send_step(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: StepSend,
    *,
    version: int,
    atw_terms: tuple[str, ...],
    letters: Letters,
    request_id: str | None,
) -> Case:
    """Send a step to the offender; a decision only once approved, with the letter approved. Its letter, dated
    the day of sending, is stored write-once and its SHA-256 recorded. Sent, it never changes. Its terms count
    from the day of sending."""
    case, step = await reading.changing(tx, principal, case_id, step_id, version)
    steps.allows(step.type, step.status, "send")
    sent_on = _sending_day(data, step)
    if step.type == "invordering":
        await _still_collectable(tx, case, step, sent_on)
    dispatch = await _send_letter(tx, principal, letters, case, step, sent_on)
    await tx.execute(queries.SEND, step_id, principal.user_id, sent_on, step.status, dispatch)
    new_status = await _terms_start(tx, principal, case, step, sent_on, atw_terms, request_id)
    await tx.execute(queries.SET_STATUS, case_id, new_status)
    await records.history(tx, case_id, new_status, principal, reason=f"step {step.seq} ({step.type}) sent")
    await records.audit(
        tx,
        principal,
        case_id,
        "step_sent",
        request_id,
        after={"step_id": str(step_id), "type": step.type, "decision": step.decision, "sent_on": sent_on.isoformat()},
    )
    await records.announce_step(tx, principal, "sent", case, step_id, request_id)
    return await reading.view(tx, principal, case_id)


async def _terms_start(
    tx: asyncpg.Connection,
    principal: Principal,
    case: CaseRecord,
    step: StepRecord,
    sent_on: date,
    atw_terms: tuple[str, ...],
    request_id: str | None,
) -> str:
    """Start the terms the sent step sets running; the case's status that follows."""
    new_status = steps.KINDS[step.type].case_status
    assert new_status is not None  # every kind that is sent moves the case
    if step.type in steps.DECISIONS:
        # Bezwaar lies against every decision: a besluit and an invorderingsbeschikking (Awb 5:37, 6:7, 6:8).
        await tx.execute(queries.INSERT_DEADLINE, case.id, step.id, "bezwaar_term", bezwaar.bezwaar_term_end(sent_on))
    if step.type == "voornemen":
        assert step.zienswijze_weeks is not None  # set when drafted
        end = calendar.term_end(sent_on, weeks=step.zienswijze_weeks, atw="zienswijze" in atw_terms)
        await tx.execute(queries.INSERT_DEADLINE, case.id, step.id, "zienswijze", end)
    elif step.type == "besluit":
        if step.related_step_id is not None:
            await tx.execute(queries.RESOLVE_DEADLINE, step.related_step_id, "zienswijze")
        if step.decision == "last_onder_dwangsom":
            await hercontrole.plan(tx, principal, case, step, sent_on, atw_terms, request_id)
            new_status = "hercontrole"
        elif step.decision == "last_onder_bestuursdwang":
            # Counted as a dwangsom's (hercontrole.plan), but no hercontrole is planned: after the term the
            # authority itself ends the violation at the offender's cost, a separate decision to act, not a sum
            # forfeited by law that a follow-up inspection establishes.
            assert step.begunstiging_days is not None  # its letter states the term's last day (letters.fields)
            end = calendar.term_end(sent_on, days=step.begunstiging_days, atw="begunstigingstermijn" in atw_terms)
            await tx.execute(queries.INSERT_DEADLINE, case.id, step.id, "begunstigingstermijn", end)
    elif step.type == "invordering":
        # The authority acted on the forfeited sum: neither its payment term nor the collection limit is open.
        for kind in ("payment", "invordering_limit"):
            await tx.execute(queries.RESOLVE_DEADLINE, step.related_step_id, kind)
    return new_status


async def _still_collectable(tx: asyncpg.Connection, case: CaseRecord, invordering: StepRecord, sent_on: date) -> None:
    """An invordering approved earlier goes out only while its sum may still be collected: under a last onder
    dwangsom that stands (hercontrole.last_not_in_force, the rule drafting applies too) and within the collection
    limit on the day of sending (Awb 5:35). Checked before its letter is stored, so a refusal leaves nothing."""
    assert invordering.related_step_id is not None  # an invordering names the hercontrole whose sum it collects
    forfeited_at = await records.step(tx, case.id, invordering.related_step_id)
    if refused := await hercontrole.last_not_in_force(tx, forfeited_at):
        raise refused
    limit = await tx.fetchrow(queries.DEADLINE_OF, forfeited_at.id, "invordering_limit")
    if limit is not None and sent_on > limit["due_on"]:
        raise Conflict(
            f"The power to collect lapsed on {limit['due_on']} (Awb 5:35); the invordering is not sent.",
            code="collection_time_barred",
        )


async def _send_letter(
    tx: asyncpg.Connection,
    principal: Principal,
    letters: Letters,
    case: CaseRecord,
    step: StepRecord,
    sent_on: date,
) -> Dispatch | None:
    """A decision's letter must read as approved (rendered again on the day of approval: only the date may differ
    from it). Then the letter dated `sent_on` is stored write-once and its hash recorded on the step. Answers how
    it goes out: by e-mail when its addressee has an address on record and a mail server is configured (the
    outbox sends it, mailing.py), otherwise by post; None for a step without a letter. A sending recorded for an
    earlier day went out that day, on paper: e-mailing it now would make it known a second time, on another day,
    so it stays marked as posted."""
    violations = await records.violations(tx, case.id)
    if step.approved_sha256 is not None:
        assert step.approved_letter_on is not None  # recorded with the approval
        again = await letter.render(tx, principal, letters, case, step, violations, step.approved_letter_on)
        if again is None or again.sha256 != step.approved_sha256:
            raise Conflict(
                "The letter changed since it was approved (its data or template); a second officer "
                "approves it again before it is sent.",
                code="letter_changed",
            )
    rendered = await letter.render(tx, principal, letters, case, step, violations, sent_on)
    if rendered is None:
        return None
    await letters_service.store_document(letters, rendered)
    await tx.execute(queries.SET_LETTER, step.id, rendered.sha256, rendered.template_version_id)
    addressee = await letter.addressee_of(tx, case, step)
    mailed_now = sent_on == calendar.today() and letters.settings.smtp_host
    # Awb 2:14: by e-mail only to an addressee who made known that letters reach them there.
    return "email" if addressee.letters_email() and mailed_now else "post"


async def record_posted(
    tx: asyncpg.Connection,
    principal: Principal,
    case_id: UUID,
    step_id: UUID,
    data: StepPosted,
    *,
    version: int,
    request_id: str | None,
) -> Case:
    """The back office posted a sent letter marked for post, or whose e-mail failed for good, on the day given
    (default today): recorded once. Not for a letter the e-mail delivers, nor for a decision withdrawn before it
    was posted."""
    case, step = await reading.changing(tx, principal, case_id, step_id, version)
    by_post = step.dispatch == "post" or (step.dispatch == "email" and await reading.delivery_failed(tx, step_id))
    if not by_post:
        raise Conflict("Only a sent letter marked for post, or whose e-mail failed, is posted.", code="not_for_post")
    if step.letter_posted_on is not None:
        raise Conflict(f"The letter was recorded as posted on {step.letter_posted_on}.", code="already_posted")
    if step.withdrawn_on is not None:
        raise Conflict("The decision was withdrawn before it was posted; it is not posted.", code="step_withdrawn")
    posted_on = _posting_day(data, step)
    await tx.execute(queries.RECORD_POSTED, step_id, posted_on, principal.user_id)
    made_known_on = msgspec.structs.replace(step, letter_posted_on=posted_on).made_known_on()
    assert made_known_on is not None  # a posted letter was sent
    # Posted after the day of sending: made known that day (Awb 3:41), so the bezwaar term counts from it.
    await bezwaar.made_known_later(tx, step, made_known_on)
    await records.audit(
        tx,
        principal,
        case.id,
        "letter_posted",
        request_id,
        after={"step_id": str(step_id), "posted_on": posted_on.isoformat()},
    )
    return await reading.view(tx, principal, case_id)


def _posting_day(data: StepPosted, step: StepRecord) -> date:
    """The day given (default today): not after today, not before the day of sending."""
    assert step.sent_on is not None  # a step with a dispatch was sent
    return _recorded_day(data.posted_on, "/posted_on", step.sent_on, "the letter was sent")
