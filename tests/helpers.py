"""Assertions and small steps that many tests share."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from backend.core.config import PROJECT_ROOT

TOEZICHT = PROJECT_ROOT / ".venv" / "bin" / "toezicht"
CLI_TIMEOUT_S = 60

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


async def set_active(
    client, headers, user_id: str, verb: str, reason: str | None = None, request_id: str | None = None
):
    """`verb` (activate or deactivate) the user through the API the way the back office does: with the ETag
    just read. The response, whatever it is."""
    current = await client.get(f"/api/v1/users/{user_id}", headers=headers)
    assert current.status_code == 200, current.text
    sent = {**headers, "If-Match": current.headers["etag"], **({"X-Request-ID": request_id} if request_id else {})}
    return await client.post(
        f"/api/v1/users/{user_id}/{verb}", json={"reason": reason or f"test: {verb}"}, headers=sent
    )


async def run_toezicht(database_url: str, data_dir: Path, *args: str) -> tuple[int, str]:
    """Run the `toezicht` command against a test database; its exit code and output (stdout and stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=database_url, TOEZICHT_DATA_DIR=str(data_dir))
    return await run_cli(*args, env=env, cwd=PROJECT_ROOT)


async def run_cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> tuple[int, str]:
    """Run `toezicht ARGS`; return its exit code and its combined output. A hang fails the test."""
    proc = await asyncio.create_subprocess_exec(
        str(TOEZICHT), *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=CLI_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"toezicht {' '.join(args)} did not finish in {CLI_TIMEOUT_S} s") from None
    return proc.returncode, out.decode()
