"""Assertions and small steps that many tests share."""

from __future__ import annotations

import uuid

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str) -> dict:
    """The response is an RFC 9457 problem with this status and stable code, tied to its request id."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def register(client, headers) -> uuid.UUID:
    """Users exist from their first authenticated request."""
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["id"])
