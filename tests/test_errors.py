"""Every error is RFC 9457 problem+json with a stable code, a request id, and no internals."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from litestar import get
from litestar.params import FromQuery

from backend.core.db import Db
from tests.conftest import app_client, make_settings
from tests.helpers import PROBLEM, assert_problem


async def test_404_unknown_route(client, auth):
    body = assert_problem(await client.get("/api/v1/nothing-here", headers=auth("someone")), 404, "not_found")
    assert body["instance"] == "/api/v1/nothing-here"


async def test_404_unknown_user(client, auth):
    response = await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=auth("coord", roles=["coordinator"]))
    assert_problem(response, 404, "not_found")


async def test_405_wrong_method(client):
    response = await client.delete("/health/live")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers.get("allow", "")


async def test_401_is_problem_with_bearer_challenge(client):
    response = await client.get("/api/v1/me")
    assert_problem(response, 401, "token_missing")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_403_role_not_allowed(client, auth):
    assert_problem(await client.get("/api/v1/users", headers=auth("insp", roles=["inspector"])), 403, "forbidden")


async def test_413_body_too_large(database_url, data_dir, auth, db):
    settings = make_settings(database_url, data_dir, max_request_body_bytes=256)
    async with app_client(settings) as http:
        admin = auth("admin", roles=["admin"])
        me = (await http.get("/api/v1/me", headers=admin)).json()
        response = await http.post(
            f"/api/v1/users/{me['id']}/deactivate",
            headers={**admin, "If-Match": '"1"'},
            json={"reason": "x" * 1000},
        )
        assert_problem(response, 413, "payload_too_large")
    assert await db.fetchval("SELECT active FROM app_user WHERE id = $1", uuid.UUID(me["id"]))


async def test_422_lists_each_bad_field_with_a_pointer(client, auth, db):
    admin = auth("admin", roles=["admin"])
    me = (await client.get("/api/v1/me", headers=admin)).json()
    response = await client.post(
        f"/api/v1/users/{me['id']}/deactivate", headers={**admin, "If-Match": '"1"'}, json={"reason": "no"}
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["pointer"] == "/reason"
    assert "length" in body["errors"][0]["detail"]
    assert await db.fetchval("SELECT active FROM app_user WHERE id = $1", uuid.UUID(me["id"]))


async def test_422_bad_query_parameter_names_the_parameter(client, auth):
    response = await client.get("/api/v1/users?limit=0", headers=auth("coord", roles=["coordinator"]))
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["parameter"] == "limit"


async def test_400_body_that_is_not_json(client, auth):
    admin = auth("admin", roles=["admin"])
    me = (await client.get("/api/v1/me", headers=admin)).json()
    response = await client.post(
        f"/api/v1/users/{me['id']}/deactivate",
        headers={**admin, "If-Match": '"1"', "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert_problem(response, 400, "malformed_body")


async def test_429_when_rate_limited(database_url, data_dir):
    settings = make_settings(database_url, data_dir, rate_limit_per_minute=2)
    async with app_client(settings) as http:
        statuses = [(await http.get("/api/v1/me")).status_code for _ in range(3)]
        response = await http.get("/api/v1/me")
    assert statuses[:2] == [401, 401]
    assert_problem(response, 429, "too_many_requests")
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_500_has_correlation_id_and_no_internals(settings):
    @get("/boom", operation_id="Boom", opt={"exclude_from_auth": True})
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2 SELECT * FROM app_user")

    client = app_client(settings)
    client.app.register(boom)
    async with client as http:
        response = await http.get("/boom", headers={"X-Request-ID": "trace-0123456789"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-0123456789"
    assert "hunter2" not in response.text and "SELECT" not in response.text and "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/health/ready", "/api/v1/me"])
async def test_503_when_database_is_down(data_dir, make_token, path):
    # Nothing listens on port 1: every connection attempt is refused at once.
    settings = make_settings("postgresql://nobody@127.0.0.1:1/none", data_dir, db_pool_min=0, db_acquire_timeout_s=2)
    async with app_client(settings) as http:
        response = await http.get(path, headers={"Authorization": f"Bearer {make_token('down-user')}"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] in {"not_ready", "database_unavailable"}
    assert "127.0.0.1" not in response.text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", b'{"reason": "closing time"}'), ("application/x-www-form-urlencoded", b"reason=closing+time")],
)
async def test_415_json_endpoint_refuses_other_media_types(client, auth, db, content_type, body):
    admin = auth("admin", roles=["admin"])
    target = (await client.get("/api/v1/me", headers=auth("insp", roles=["inspector"]))).json()
    await client.get("/api/v1/me", headers=admin)
    response = await client.post(
        f"/api/v1/users/{target['id']}/deactivate",
        headers={**admin, "If-Match": '"1"', "Content-Type": content_type},
        content=body,
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert await db.fetchval("SELECT active FROM app_user WHERE id = $1", uuid.UUID(target["id"]))


async def test_422_missing_query_parameter_is_named(client, auth):
    response = await client.get("/api/v1/audit-events?object_id=x", headers=auth("auditor", roles=["auditor"]))
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"detail": "Missing required query parameter.", "parameter": "object_type"}]


async def test_422_value_the_database_cannot_store(client, auth, db):
    admin = auth("admin", roles=["admin"])
    target = (await client.get("/api/v1/me", headers=auth("insp", roles=["inspector"]))).json()
    await client.get("/api/v1/me", headers=admin)
    response = await client.post(
        f"/api/v1/users/{target['id']}/deactivate",
        headers={**admin, "If-Match": '"1"'},
        json={"reason": "text with a \u0000 NUL"},
    )
    assert_problem(response, 422, "invalid_value")
    assert await db.fetchval("SELECT active FROM app_user WHERE id = $1", uuid.UUID(target["id"]))


async def test_unknown_api_path_without_token_is_401_not_a_route_map(client):
    assert_problem(await client.get("/api/v1/nothing-here"), 401, "token_missing")


async def test_503_when_a_query_exceeds_the_statement_timeout(database_url, data_dir):
    @get("/slow", operation_id="Slow", opt={"exclude_from_auth": True})
    async def slow(db: Db) -> None:
        await db.execute("SELECT pg_sleep(5)")

    client = app_client(make_settings(database_url, data_dir, db_statement_timeout_ms=50))
    client.app.register(slow)
    async with client as http:
        response = await http.get("/slow")
    body = assert_problem(response, 503, "database_timeout")
    assert response.headers["retry-after"]
    assert "pg_sleep" not in body["detail"]


async def test_a_connection_asyncpg_finds_mid_operation_is_an_outage_and_is_not_reused(database_url, data_dir):
    # After a server restart a pooled connection can be left mid-operation; asyncpg then refuses it with
    # InternalClientError. That is the database being unavailable (503), and the session must not be handed out again.
    sessions: list[int] = []

    @get("/session", operation_id="Session", opt={"exclude_from_auth": True})
    async def session(db: Db, fail: FromQuery[bool] = False) -> None:
        sessions.append(await db.fetchval("SELECT pg_backend_pid()"))
        if fail:
            raise asyncpg.InternalClientError("cannot perform operation: another operation is in progress")

    client = app_client(make_settings(database_url, data_dir, db_pool_min=1, db_pool_max=1))
    client.app.register(session)
    async with client as http:
        body = assert_problem(await http.get("/session?fail=true"), 503, "database_unavailable")
        assert (await http.get("/session")).status_code == 200
    assert "another operation" not in body["detail"]
    assert sessions[0] != sessions[1]
