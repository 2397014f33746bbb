"""Webhooks out: the NL GOV CloudEvents payload, Standard Webhooks signatures, and one delivery attempt.

A delivery is a POST of the event in structured JSON mode (`application/cloudevents+json`) with the Standard
Webhooks headers: `webhook-id` (the outbox message id, the same on every attempt, so receivers can drop
duplicates), `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`: `v1,<base64 HMAC-SHA256
of "id.timestamp.body">` with the subscription's secret (`whsec_<base64 key>`); during a secret rotation one
signature per secret, space-separated. Redirects are not followed; the connection goes to an address
destinations.resolve checked, never to whatever the name resolves to a moment later.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import time
from typing import Any, NamedTuple

import httpx

from backend.core.events import Event, cloudevent
from backend.outbox.destinations import Allowlist, Refused, checked_url, resolve
from backend.outbox.models import Claimed

CONTENT_TYPE = "application/cloudevents+json"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# Where the API shows each kind of resource an event names; receivers fetch what they need there, with a token.
RESOURCE_PATHS = {
    "inspection": "/api/v1/inspections/{}",
    "case": "/api/v1/enforcement/cases/{}",
    "complaint": "/api/v1/complaints/{}",
    "object": "/api/v1/objects/{}",
    "location": "/api/v1/locations/{}",
    "assignment": "/api/v1/assignments/{}",
}


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def payload(happened: Event) -> dict[str, Any]:
    """The CloudEvent a receiver gets: ids, regimes and links only. The actor's user id stays inside (it points
    at an employee); `dataref` (NL GOV profile) links the subject, `data.links` every resource it concerns."""
    envelope = cloudevent(happened)
    data = {key: value for key, value in envelope["data"].items() if key != "actor"}
    named = {**happened.related, happened.subject_type: happened.subject_id}
    data["links"] = {
        role: RESOURCE_PATHS[role].format(value) for role, value in named.items() if role in RESOURCE_PATHS
    }
    if happened.subject_type in RESOURCE_PATHS:
        envelope["dataref"] = RESOURCE_PATHS[happened.subject_type].format(happened.subject_id)
    return {**envelope, "data": data}


class Outcome(NamedTuple):
    status: int | None  # the receiver's HTTP status, when it answered
    error: str | None  # a stable code when the attempt failed: timeout, connection_failed, http_503, ...
    final: bool = False  # failed for good, without retries: the message is cancelled (a withdrawn decision)

    @property
    def delivered(self) -> bool:
        return self.error is None


def client(timeout_s: float) -> httpx.AsyncClient:
    # No proxies from the environment: a proxy would connect wherever the name resolves, past our address check.
    return httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=timeout_s)


async def deliver(
    http: httpx.AsyncClient, message: Claimed, allowlist: Allowlist, *, allow_http: bool, timeout_s: float
) -> Outcome:
    """One attempt: check the destination again, sign, POST; never raises for what the receiver does."""
    try:
        async with asyncio.timeout(timeout_s):
            return await _attempt(http, message, allowlist, allow_http)
    except Refused:
        return Outcome(None, "address_refused")
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(None, "timeout")
    except httpx.HTTPError:
        return Outcome(None, "connection_failed")
    except Exception:  # anything else one receiver causes (a URL httpx cannot use) must not stop the dispatcher
        return Outcome(None, "delivery_error")


async def _attempt(http: httpx.AsyncClient, message: Claimed, allowlist: Allowlist, allow_http: bool) -> Outcome:
    parts = checked_url(message.url, allowlist, allow_http=allow_http)
    addresses = await resolve(parts, allowlist)
    body = message.payload.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": CONTENT_TYPE,
        "Host": parts.netloc,
        "webhook-id": str(message.id),
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, str(message.id), timestamp, body) for s in message.secrets),
    }
    url = httpx.URL(message.url).copy_with(host=addresses[0])
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    async with http.stream("POST", url, content=body, headers=headers, extensions=extensions) as response:
        status = response.status_code
    if 200 <= status < 300:
        return Outcome(status, None)
    if 300 <= status < 400:
        return Outcome(status, "redirect_not_followed")
    return Outcome(status, f"http_{status}")
