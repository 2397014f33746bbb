"""E-mail of a sent letter to its addressee: the outbox's e-mail channel, with the letter as a PDF attachment.

A reaction to `step.sent` writes an e-mail message for a step whose letter goes by e-mail (the step recorded that
when it was sent: its addressee has an address on record and a mail server is configured; otherwise it is marked
for post). The message holds the step id, never the address: the dispatcher reads the address and the stored
letter through enforcement when it sends (enforcement/mailing.py, which audits the read). The attachment is the
stored PDF as it is, so its SHA-256 is the one the step records. Retries, dead letters and replay are the outbox's,
every attempt with the same Message-ID; a decision withdrawn before its e-mail went is cancelled, not sent.
The step's view shows the e-mail's state (`deliveries`, given to enforcement at start).
"""

from __future__ import annotations

from email.message import EmailMessage
from uuid import UUID

import asyncpg
import msgspec

from backend.core.auth import Principal
from backend.core.config import Settings
from backend.core.events import Event
from backend.enforcement import mailing
from backend.enforcement.models import LetterDispatch
from backend.letters import dutch
from backend.letters.service import Letters
from backend.outbox import email, queries, webhooks
from backend.outbox.models import Claimed


# The outbox's states as the step shows them.
async def on_step_sent(tx: asyncpg.Connection, happened: Event, _principal: Principal) -> None:
    """An e-mail message of the letter, in the sending transaction, when it goes by e-mail."""
    if happened.subject_type != "step" or not await mailing.by_email(tx, happened.subject_id):
        return
    await tx.execute(
        queries.ENQUEUE_EMAIL, happened.id, happened.type, None, webhooks.payload(happened), happened.subject_id
    )


def body(letter: mailing.LetterMail) -> str:
    return (
        f"{email.GREETING}\n\n"
        f"Hierbij ontvangt u onze brief van {dutch.long_date(letter.sent_on)} met ons kenmerk {letter.kenmerk}. "
        "De brief vindt u in de bijlage van dit bericht (PDF). Leest u de brief zorgvuldig: daarin staat wat u kunt "
        "doen en binnen welke termijn. Vermeld bij een reactie altijd ons kenmerk.\n\n"
        f"{email.CLOSING}\n\n{email.NO_REPLY}\n"
    )


def compose(message: Claimed, letter: mailing.LetterMail, settings: Settings) -> EmailMessage:
    subject = f"{letter.title}, ons kenmerk {letter.kenmerk}"
    mail = email.headed(message, letter.to, subject, settings)
    mail.set_content(body(letter), charset="utf-8")
    mail.add_attachment(letter.pdf, maintype="application", subtype="pdf", filename=letter.filename)
    return mail


async def deliver(pool: asyncpg.Pool, message: Claimed, letters: Letters) -> webhooks.Outcome:
    """One attempt: read the letter and its addressee's address, compose, send. A withdrawn decision ends the
    message (cancelled); an address gone or a stored letter missing or changed is retried, then a dead letter
    (the back office posts it). Database trouble raises, as for every e-mail."""
    assert message.step_id is not None and message.created_at is not None  # a letter's e-mail (0062)
    try:
        async with pool.acquire() as conn, conn.transaction():
            letter = await mailing.letter_mail(conn, letters, message.step_id, sent_at=message.created_at)
    except mailing.NotMailed as not_mailed:
        return webhooks.Outcome(None, not_mailed.reason, final=not_mailed.final)
    return await email.send(compose(message, letter, letters.settings), letters.settings)


async def deliveries(conn: asyncpg.Connection, step_ids: list[UUID]) -> dict[UUID, LetterDispatch]:
    """The e-mail of each of these sent steps' letters, as the step shows it."""
    rows = await conn.fetch(queries.LETTER_EMAILS, step_ids)
    return {row["step_id"]: msgspec.convert({"by": "email", **email.delivery(row)}, LetterDispatch) for row in rows}


async def failed(conn: asyncpg.Connection) -> list[UUID]:
    """The sent steps whose letter's e-mail failed for good (dead letters): to be posted instead."""
    return [row["step_id"] for row in await conn.fetch(queries.FAILED_LETTER_STEPS)]
