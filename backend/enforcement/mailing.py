"""A sent letter by e-mail, as far as enforcement knows it: which steps go by e-mail, what an e-mail of a letter
holds, and how its delivery shows on the step.

When a step is sent its dispatch is recorded (sending.py): 'email' when it is sent today, the letter's addressee
has an address on record and a mail server is configured, else 'post' (the back office prints and posts it; a
sending recorded for an earlier day was posted that day). The outbox writes an
e-mail message for an 'email' step in the sending transaction (`by_email`) and reads the letter when it sends
(`letter_mail`), so no address is stored with the message: the addressee the letter names (the step's own, or
the establishment's as recorded when the step was sent), and the stored PDF, checked against its hash. That read
of the address is audited. A decision withdrawn before its e-mail went is not e-mailed any more. The step's view
shows the e-mail's delivery through the reader the outbox gives at start (reading.read_mail_with).
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import asyncpg
import msgspec

from backend.core import audit, calendar
from backend.core.errors import NotFound
from backend.enforcement import bezwaar, letter, queries, records
from backend.letters import service as letters
from backend.letters.models import Addressee
from backend.registry import service as registry

# The subject's first words, per kind of step (its letter's kind of document).
TITLES = {
    "warning": "Waarschuwing",
    "voornemen": "Voornemen tot handhaving",
    "besluit": "Besluit",
    "invordering": "Invorderingsbeschikking",
}


class LetterMail(msgspec.Struct, frozen=True, kw_only=True):
    """What an e-mail of a sent letter holds: the address it goes to, and the stored letter as sent."""

    to: str
    kenmerk: str
    title: str
    sent_on: date
    filename: str
    pdf: bytes


class NotMailed(Exception):
    """The letter cannot be e-mailed (now): `reason` is a stable code; `final` when trying again is pointless."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final


async def emailed(conn: asyncpg.Connection, step_id: UUID, taken_at: datetime) -> None:
    """The mail server took the e-mail of this sent step's letter at `taken_at`: it was made known that day (Awb
    2:17 lid 1). Retries can carry it past midnight; a decision's listed bezwaar term then counts from that day,
    as for a letter posted later."""
    row = await conn.fetchrow(queries.STEP_BY_ID, step_id)
    if row is None:
        return
    step = records.step_record(row)
    made_known_on = step.made_known_on(taken_at.astimezone(calendar.AMSTERDAM).date())
    assert made_known_on is not None  # an e-mailed letter was sent
    await bezwaar.made_known_later(conn, step, made_known_on)


async def by_email(conn: asyncpg.Connection, step_id: UUID) -> bool:
    """Whether the sent step's letter goes by e-mail. Reads no address, so audits nothing."""
    return bool(await conn.fetchval(queries.STEP_DISPATCH, step_id) == "email")


async def letter_posted(conn: asyncpg.Connection, step_id: UUID) -> bool:
    """Whether the back office recorded the step's letter as posted: its e-mail must not go as well (a decision
    is made known once, on the day it went out)."""
    return bool(await conn.fetchval(queries.STEP_POSTED, step_id))


async def letter_mail(tx: asyncpg.Connection, ctx: letters.Letters, step_id: UUID, *, sent_at: datetime) -> LetterMail:
    """The e-mail of the step's letter, sent at `sent_at` (the addressee recorded after it is not the one the
    letter names). NotMailed when the decision was withdrawn or its letter posted, the addressee has no address
    (any more), or the stored letter is missing or changed. Reading the address is audited
    (enforcement_case.addressee_read): call it in a transaction."""
    row = await tx.fetchrow(queries.CASE_OF_STEP, step_id)
    if row is None:
        raise NotMailed("no_letter", final=True)
    case = records.case_record(row)
    step = await records.step(tx, case.id, step_id)
    if step.withdrawn_on is not None:
        raise NotMailed("step_withdrawn", final=True)
    if step.letter_posted_on is not None:  # its e-mail failed and it went by post: a replay must not mail it
        raise NotMailed("letter_posted", final=True)
    if step.sent_on is None or step.letter_sha256 is None:
        raise NotMailed("no_letter", final=True)
    to = await _address(tx, case, step, sent_at)
    if to is None:
        raise NotMailed("no_recipient")
    await audit.record(
        tx,
        actor=audit.SYSTEM,
        action="enforcement_case.addressee_read",
        object_type=records.OBJECT_TYPE,
        object_id=case.id,
        after={"step_id": str(step_id), "purpose": "letter_email"},
    )
    pdf = await _stored(ctx, step.letter_sha256)
    kenmerk = letter.kenmerk(case)
    return LetterMail(
        to=to,
        kenmerk=kenmerk,
        title=TITLES.get(step.type, "Brief"),
        sent_on=step.sent_on,
        filename=f"{kenmerk}-{step.seq}.pdf",
        pdf=pdf,
    )


async def _address(
    conn: asyncpg.Connection, case: records.CaseRecord, step: records.StepRecord, sent_at: datetime
) -> str | None:
    if step.addressee:
        addressee: Addressee | None = msgspec.convert(step.addressee, Addressee)
    elif case.object_id is None:
        return None
    else:
        addressee = await registry.addressee_as_of(conn, case.object_id, sent_at)
    return addressee.letters_email() if addressee is not None else None


async def _stored(ctx: letters.Letters, sha256: str) -> bytes:
    try:
        return await letters.read_document(ctx, sha256)
    except letters.DocumentTampered:
        raise NotMailed("document_tampered") from None
    except NotFound:
        raise NotMailed("document_missing") from None
