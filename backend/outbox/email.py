"""E-mail to the reporter of a complaint: the outbox's second channel, next to webhooks.

A reaction to `complaint.received` writes an acknowledgement message, one to `complaint.answered` the answer
message (the answer the handler recorded on resolving or on rejecting, which forwards the complaint), each only
when the reporter left an e-mail address and wants feedback. The message holds the complaint
id, never the address or the text: those are personal data, read through the complaints service when the
dispatcher sends the message (and that read is audited there). Retries, dead letters and replay are the
outbox's; every attempt carries the same Message-ID, `<outbox message id@sender's domain>`, so a retry is
recognisable as the same e-mail.

Without TOEZICHT_SMTP_HOST the dispatcher does not claim e-mail messages: they wait, pending, until a server is
configured (nothing is lost, and /health/ready's backlog shows them). Logs carry ids and error codes only.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal
from uuid import UUID

import aiosmtplib
import asyncpg
import msgspec
import structlog

from backend.complaints import service as complaints
from backend.complaints.models import FeedbackEmail
from backend.core import calendar
from backend.core.auth import Principal
from backend.core.calendar import AMSTERDAM
from backend.core.config import Settings
from backend.core.events import Event
from backend.letters import dutch
from backend.outbox import queries, webhooks
from backend.outbox.models import Claimed

log = structlog.get_logger("toezicht.outbox")

SUBJECTS = {
    "complaint.received": "Ontvangstbevestiging van uw melding",
    "complaint.answered": "Reactie op uw melding",
}
GREETING = "Geachte heer/mevrouw,"
CLOSING = "Met vriendelijke groet,\n\nTeam Toezicht en Handhaving BW\nGemeente Utrecht"
NO_REPLY = "Dit bericht is automatisch verstuurd; u kunt er niet op antwoorden."


async def on_complaint_event(tx: asyncpg.Connection, happened: Event, _principal: Principal) -> None:
    """An e-mail message for the reporter, in the announcing transaction, when they are to hear by e-mail."""
    if happened.subject_type != "complaint" or happened.type not in SUBJECTS:
        return
    answered = happened.type == "complaint.answered"
    if not await complaints.wants_email(tx, happened.subject_id, with_answer=answered):
        return
    await tx.execute(
        queries.ENQUEUE_EMAIL, happened.id, happened.type, happened.subject_id, webhooks.payload(happened), None
    )


# How an e-mail message's state reads where its e-mail is shown: a sent letter's dispatch, a complaint's feedback.
_MAIL_STATES = {"pending": "pending", "delivered": "sent", "dead": "failed", "cancelled": "cancelled"}
# Which e-mail to a reporter a message is.
_KINDS: dict[str, Literal["acknowledgement", "answer"]] = {
    "complaint.received": "acknowledgement",
    "complaint.answered": "answer",
}


def delivery(row: asyncpg.Record) -> dict[str, Any]:
    """An e-mail message's delivery as the API shows it: state, attempts, last error, when sent, the message."""
    return {
        "state": _MAIL_STATES[row["state"]],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "sent_at": row["delivered_at"],
        "outbox_message_id": row["id"],
    }


async def feedback_emails(conn: asyncpg.Connection, complaint_id: UUID) -> list[FeedbackEmail]:
    """The e-mails to this complaint's reporter and how each went, for the handler's view of the complaint."""
    rows = await conn.fetch(queries.COMPLAINT_EMAILS, complaint_id)
    return [
        msgspec.convert(
            {
                "kind": _KINDS[row["event_type"]],
                **delivery(row),
                "failed_at": row["last_at"] if row["state"] == "dead" else None,
            },
            FeedbackEmail,
        )
        for row in rows
    ]


async def failed_feedback(conn: asyncpg.Connection) -> dict[UUID, datetime]:
    """The complaints with an e-mail to the reporter that failed for good, with when the last of those failed."""
    return {row["complaint_id"]: row["failed_at"] for row in await conn.fetch(queries.FAILED_COMPLAINT_EMAILS)}


def message_id(outbox_id: UUID, sender: str) -> str:
    """The same on every attempt of one outbox message."""
    return f"<{outbox_id}@{sender.rpartition('@')[2] or 'localhost'}>"


def body(event_type: str, contact: complaints.FeedbackContact) -> str:
    received = dutch.long_date(contact.received_at.astimezone(AMSTERDAM).date())
    if event_type == "complaint.received":
        # The reporter learns when to expect an answer: the complaint's own resolution date (working days), unless
        # the acknowledgement goes out so late (a mail server configured only now) that the day has passed.
        due = contact.resolution_due_on
        expect = (
            f"Wij streven ernaar uw melding uiterlijk op {dutch.long_date(due)} af te handelen. "
            if due >= calendar.today()
            else ""
        )
        middle = (
            f"Wij hebben uw melding van {received} ontvangen. Een medewerker bekijkt uw melding. {expect}"
            "Zodra wij uw melding hebben afgehandeld, ontvangt u van ons bericht."
        )
    else:
        middle = f"U deed op {received} een melding bij ons. Wij hebben uw melding afgehandeld.\n\n{contact.answer}"
    return f"{GREETING}\n\n{middle}\n\n{CLOSING}\n\n{NO_REPLY}\n"


def headed(message: Claimed, to: str, subject: str, settings: Settings) -> EmailMessage:
    """An e-mail of the outbox message with its headers; the caller sets its content."""
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = to
    mail["Subject"] = subject
    mail["Message-ID"] = message_id(message.id, settings.smtp_from)
    mail["Date"] = format_datetime(datetime.now(AMSTERDAM))
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    return mail


def compose(message: Claimed, contact: complaints.FeedbackContact, settings: Settings) -> EmailMessage:
    mail = headed(message, contact.email, SUBJECTS[message.event_type], settings)
    mail.set_content(body(message.event_type, contact), charset="utf-8")
    return mail


async def deliver(pool: asyncpg.Pool, message: Claimed, settings: Settings) -> webhooks.Outcome:
    """One attempt: read the reporter's contact, compose, send; never raises for what the SMTP server does (the
    Outcome's status is its reply code when it refused). Database trouble raises: the attempt is not recorded,
    and the message comes back after its lease."""
    assert message.complaint_id is not None  # an e-mail message always names its complaint (0061_outbox_email)
    async with pool.acquire() as conn, conn.transaction():
        contact = await complaints.feedback_contact(conn, message.complaint_id)
    if contact is None or (message.event_type == "complaint.answered" and contact.answer is None):
        return webhooks.Outcome(None, "no_recipient")  # feedback withdrawn: retried, then a dead letter
    return await send(compose(message, contact, settings), settings)


async def send(mail: EmailMessage, settings: Settings) -> webhooks.Outcome:
    """Hand the e-mail to the SMTP server; what the server does is the Outcome (its reply code when it refused)."""
    try:
        async with asyncio.timeout(settings.outbox_delivery_timeout_s):
            await _send(mail, settings)
    except aiosmtplib.SMTPRecipientsRefused:
        return webhooks.Outcome(None, "recipient_refused")
    except aiosmtplib.SMTPResponseException as refused:
        return webhooks.Outcome(refused.code, f"smtp_{refused.code}")
    except (TimeoutError, aiosmtplib.SMTPTimeoutError):
        return webhooks.Outcome(None, "timeout")
    except (OSError, aiosmtplib.SMTPException):
        return webhooks.Outcome(None, "connection_failed")
    return webhooks.Outcome(250, None)


async def _send(mail: EmailMessage, settings: Settings) -> None:
    """Over TLS from the start (SMTPS), or upgraded with STARTTLS; the server's certificate is always verified
    (against TOEZICHT_SMTP_CA_FILE when set). A certificate that does not verify fails the attempt."""
    await aiosmtplib.send(
        mail,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_implicit_tls,
        start_tls=settings.smtp_starttls and not settings.smtp_implicit_tls,
        cert_bundle=settings.smtp_ca_file,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout=settings.outbox_delivery_timeout_s,
    )
