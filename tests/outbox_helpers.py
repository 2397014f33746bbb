"""A webhook receiver and an SMTP server on loopback for the outbox tests, and the steps they share.

The receiver is a plain http.server in a thread of the test: it verifies every delivery with the Standard
Webhooks reference library (`standardwebhooks`, the receiver's code, not ours), answers the statuses a test
scripts, and can hold a request open until the test releases it (to act while a delivery is in flight)."""

from __future__ import annotations

import asyncio
import contextlib
import email
import ipaddress
import json
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import make_settings, wait_until
from tests.inspection_helpers import HORECA_OK, SEXWORK_OK, World, submitted

SUBSCRIPTIONS = "/api/v1/subscriptions"
MESSAGES = "/api/v1/outbox-messages"
HOLD_TIMEOUT_S = 60.0
# Settings for a test app that delivers to the loopback receiver at once, retrying within milliseconds.
FAST = dict(
    webhook_allowed_hosts=("127.0.0.1",),
    webhook_allow_http=True,
    outbox_retry_base_s=0.01,
    outbox_retry_max_s=0.05,
    outbox_poll_interval_s=0.05,
    outbox_delivery_timeout_s=5.0,
    outbox_lease_s=6.0,
)


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str | None = None
    answers: list[int] = field(default_factory=list)  # statuses for the next requests, in order
    default: int = 204  # then this one
    hold_first: bool = False  # keep the first request open until `release`
    deliveries: list[Delivery] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/toezicht"

    def verified(self, delivery: Delivery, secret: str | None = None) -> bool:
        try:
            Webhook(secret or self.secret or "").verify(delivery.body, delivery.headers)
            return True
        except WebhookVerificationError:
            return False

    def ids(self) -> list[str]:
        with self.lock:
            return [d.webhook_id for d in self.deliveries]

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            first = not self.arrived.is_set()
            self.arrived.set()
            status = self.answers.pop(0) if self.answers else self.default
        if first and self.hold_first:
            self.release.wait(HOLD_TIMEOUT_S)
        with self.lock:
            self.deliveries.append(Delivery(headers, body, status))
        return status


@contextlib.contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender went away mid-request (killed): nothing was delivered
                return
            status = receiver._answer({k.lower(): v for k, v in self.headers.items()}, body)
            with contextlib.suppress(OSError):  # the sender may be gone (killed mid-delivery)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


async def subscribe(client, headers, receiver: Receiver, **overrides: Any) -> dict[str, Any]:
    body = {"url": receiver.url, "event_types": ["inspection.submitted"], "regimes": ["alcohol", "nix18"]}
    body.update(overrides)
    response = await client.post(SUBSCRIPTIONS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    receiver.secret = created["secret"]
    return created


async def submit_cafe(client, world: World, who: str = "insp_a1") -> dict[str, Any]:
    return await submitted(client, world, world.body(who))


async def submit_club(client, world: World) -> dict[str, Any]:
    checklists = [
        {"checklist_version_id": world.ids["sexwork-establishment"], "answers": SEXWORK_OK},
        {"checklist_version_id": world.ids["alcohol-horeca"], "answers": HORECA_OK},
    ]
    body = world.body("insp_sw", object_id=world.ids["club"], observations=None, checklists=checklists)
    return await submitted(client, world, body, "insp_sw")


async def messages(db) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch("SELECT * FROM outbox_message ORDER BY created_at, id")]


async def until_all_delivered(db, count: int, timeout_s: float = 30.0) -> None:
    async def delivered() -> bool:
        return await db.fetchval("SELECT count(*) FROM outbox_message WHERE state = 'delivered'") >= count

    await wait_until(delivered, timeout_s=timeout_s)


# --- e-mail: a real SMTP server on loopback ------------------------------------------------------------------

SENDER = "meldingen@toezicht.example.nl"


@dataclass
class Mailbox:
    """What the SMTP server received, and the replies it gives to the next DATA commands (then 250)."""

    replies: list[str] = field(default_factory=list)
    default: str = "250 OK"
    received: list[EmailMessage] = field(default_factory=list)  # accepted
    attempts: list[EmailMessage] = field(default_factory=list)  # every DATA, refused or not
    port: int = 0

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email_policy)
        assert isinstance(parsed, EmailMessage)
        self.attempts.append(parsed)
        reply = self.replies.pop(0) if self.replies else self.default
        if reply.startswith("250"):
            self.received.append(parsed)
        return reply


@contextlib.asynccontextmanager
async def smtp_server(
    tls: ssl.SSLContext | None = None, starttls: ssl.SSLContext | None = None
) -> AsyncIterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback, for as long as the block runs; with `tls`, an SMTPS server (TLS
    from the first byte, as on port 465); with `starttls`, a submission server that takes mail only after STARTTLS
    (as on port 587)."""
    box = Mailbox()
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(box, hostname="mail.test", tls_context=starttls, require_starttls=starttls is not None)

    server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=tls)
    box.port = server.sockets[0].getsockname()[1]
    try:
        yield box
    finally:
        server.close()
        await server.wait_closed()


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1, and the certificate's PEM file
    (which, being its own CA, is the CA file a client verifies it with)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


def mail_settings(database_url, data_dir, mailbox: Mailbox, **overrides: Any):
    values = dict(FAST, smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=False, smtp_from=SENDER)
    return make_settings(database_url, data_dir, **{**values, **overrides})


# The fixtures of a module whose app sends e-mail to a real SMTP server: import both names into the module
# (`from tests.outbox_helpers import running_mailbox, settings_with_mail`) and take `mailbox` where a test reads
# what arrived.
@pytest.fixture(name="mailbox")
async def running_mailbox() -> AsyncIterator[Mailbox]:
    async with smtp_server() as box:
        yield box


@pytest.fixture(name="settings")
def settings_with_mail(database_url, data_dir, mailbox):
    return mail_settings(database_url, data_dir, mailbox)


async def email_messages(db) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM outbox_message WHERE channel = 'email' ORDER BY created_at, id")
    return [dict(row) for row in rows]


async def until(condition, timeout_s: float = 30.0) -> None:
    async def holds() -> bool:
        return bool(await condition()) if asyncio.iscoroutinefunction(condition) else bool(condition())

    await wait_until(holds, timeout_s=timeout_s)


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())
