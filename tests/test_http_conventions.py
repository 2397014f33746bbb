"""HTTP conventions every operation follows, checked by walking the OpenAPI document: a new endpoint is
covered without a new test. (Deep JSON, unknown query parameters, OPTIONS, HEAD, 405 `Allow`, no 5xx for
any method and role.)"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from backend.core.config import PROJECT_ROOT
from backend.core.request_checks import MAX_JSON_DEPTH
from tests.conftest import app_client, make_settings
from tests.helpers import assert_problem, register
from tests.inspection_helpers import build_world, plan
from tests.registry_helpers import alcohol_permit, create_permit, object_body

DOCUMENT = json.loads((PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
ALL_ROLES = ["inspector", "coordinator", "enforcement_officer", "complaints_officer", "admin", "auditor"]
ALL_REGIMES = ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]
METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]


def operations(*, with_json_body: bool = False) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if not with_json_body or "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def documented_methods(path: str) -> set[str]:
    return {method.upper() for method in DOCUMENT["paths"][path]}


def expected_allow(path: str) -> set[str]:
    methods = documented_methods(path) | {"OPTIONS"}
    return methods | {"HEAD"} if "GET" in methods else methods


def concrete(path: str) -> str:
    """The path with a fresh UUID for each parameter (every path parameter of the API is a UUID)."""
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def allowed(response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


@pytest.fixture
def everyone(auth) -> dict[str, str]:
    """A caller with every role and regime, so guards let each request through to the checks under test."""
    return auth("everyone", roles=ALL_ROLES, regimes=ALL_REGIMES, teams=["team-a"])


def command_headers(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "If-Match": '"1"', "Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}


DEEP_BODIES = {
    "1000 nested arrays": b"[" * 1000 + b"]" * 1000,
    "5000 unterminated nested objects": b'{"a":' * 5000,
    "one level too deep": b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
}


async def test_too_deep_json_body_is_400_on_every_operation(client, everyone, db):
    await register(client, everyone)
    before = await db.fetchval("SELECT count(*) FROM audit_event")
    failures = []
    for method, path in operations(with_json_body=True):
        for name, body in DEEP_BODIES.items():
            response = await client.request(method, concrete(path), headers=command_headers(everyone), content=body)
            if response.status_code != 400 or response.json()["code"] != "body_too_deep":
                failures.append((method, path, name, response.status_code))
    assert failures == []
    assert await db.fetchval("SELECT count(*) FROM audit_event") == before, "a refused body stores nothing"
    problem = assert_problem(
        await client.put(
            concrete("/api/v1/inspections/{id}"),
            headers=command_headers(everyone),
            content=DEEP_BODIES["1000 nested arrays"],
        ),
        400,
        "body_too_deep",
    )
    assert str(MAX_JSON_DEPTH) in problem["detail"]


async def test_json_up_to_the_depth_limit_is_decoded(client, everyone):
    # Nesting up to the limit reaches validation (422 for the wrong shape), and brackets inside strings
    # do not count as nesting.
    at_limit = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    in_strings = json.dumps({"text": "[" * 5000, "escaped": '\\"[[[' * 100}).encode()
    failures = []
    for method, path in operations(with_json_body=True):
        for body in (at_limit, in_strings):
            response = await client.request(method, concrete(path), headers=command_headers(everyone), content=body)
            if response.status_code >= 500 or response.json()["code"] == "body_too_deep":
                failures.append((method, path, response.status_code))
    assert failures == []


async def test_unknown_query_parameter_is_400_naming_it_on_every_operation(client, everyone):
    failures = []
    for method, path in operations():
        response = await client.request(method, concrete(path) + "?no_such_filter=1", headers=command_headers(everyone))
        if response.status_code != 400 or (
            method != "HEAD"
            and response.json().get("errors")
            != [{"detail": "not a parameter of this operation", "parameter": "no_such_filter"}]
        ):  # a HEAD answer has no body to name it in
            failures.append((method, path, response.status_code))
    assert failures == []


async def test_every_documented_query_parameter_is_accepted(client, everyone):
    failures = []
    for method, path in operations():
        parameters = DOCUMENT["paths"][path][method.lower()].get("parameters", [])
        names = [parameter["name"] for parameter in parameters if parameter["in"] == "query"]
        if not names:
            continue
        query = "&".join(f"{name}=x" for name in names)
        response = await client.request(method, f"{concrete(path)}?{query}", headers=command_headers(everyone))
        if response.status_code >= 500 or response.json().get("code") == "unknown_parameter":
            failures.append((method, path, response.status_code))
    assert failures == []


async def test_a_filter_that_does_not_exist_is_not_ignored(client, everyone):
    response = await client.get("/api/v1/enforcement/cases?q=Domtoren", headers=everyone)
    assert assert_problem(response, 400, "unknown_parameter")["errors"] == [
        {"detail": "not a parameter of this operation", "parameter": "q"}
    ]
    assert (await client.get("/api/v1/enforcement/cases?limit=5", headers=everyone)).status_code == 200


async def test_options_answers_204_with_every_method_for_every_role(client, auth):
    callers = {"no token": {}} | {role: auth(f"opt-{role}", roles=[role], regimes=ALL_REGIMES) for role in ALL_ROLES}
    failures = []
    for path in DOCUMENT["paths"]:
        for caller, headers in callers.items():
            response = await client.options(concrete(path), headers=headers)
            if response.status_code != 204 or allowed(response) != expected_allow(path) or response.content:
                failures.append((path, caller, response.status_code, response.headers.get("allow")))
    assert failures == []


async def test_405_allow_lists_every_method_of_the_path(client, everyone):
    failures = []
    for path in DOCUMENT["paths"]:
        missing = next(
            method for method in ("DELETE", "PATCH", "PUT", "POST") if method not in documented_methods(path)
        )
        response = await client.request(missing, concrete(path), headers=command_headers(everyone))
        assert_problem(response, 405, "method_not_allowed")
        if allowed(response) != expected_allow(path):
            failures.append((missing, path, response.headers["allow"]))
    assert failures == []


async def test_head_answers_as_get_without_body_on_every_get(client, everyone):
    failures = []
    for method, path in operations():
        if method != "GET":
            continue
        target = concrete(path)
        got = await client.get(target, headers=everyone)
        head = await client.head(target, headers=everyone)
        if (head.status_code, _comparable(head.headers)) != (got.status_code, _comparable(got.headers)) or head.content:
            failures.append((path, got.status_code, head.status_code))
    assert failures == []


def _comparable(headers: Any) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name not in {"x-request-id", "date"}}


async def test_head_sends_headers_and_no_body_for_answers_and_errors(settings, make_token):
    # Straight through ASGI: an HTTP client drops whatever body a HEAD answer carries, a test must not.
    async with app_client(make_settings(settings.database_url, settings.data_dir, rate_limit_per_minute=2)) as http:
        app = http._transport.app  # type: ignore[attr-defined]
        answers = {
            "found": await _asgi_head(app, "/api/v1/me", {"authorization": f"Bearer {make_token('head-user')}"}),
            "no token": await _asgi_head(app, "/api/v1/me", {}),
            "rate limited": await _asgi_head(app, "/api/v1/me", {}),
        }
    async with app_client(settings) as http:
        app = http._transport.app  # type: ignore[attr-defined]
        answers["no such path"] = await _asgi_head(app, "/health/nothing-here", {})
        answers["no GET"] = await _asgi_head(app, "/api/v1/locations", {"authorization": f"Bearer {make_token('h')}"})
    expected = {"found": 200, "no token": 401, "rate limited": 429, "no such path": 404, "no GET": 405}
    for answer, (status, headers, body) in answers.items():
        assert status == expected[answer], answer
        assert int(headers[b"content-length"]) > 0, answer  # the length the GET would have had
        assert body == b"", answer


async def _asgi_head(app: Any, path: str, headers: dict[str, str]) -> tuple[int, dict[bytes, bytes], bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "HEAD",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "headers": [(b"host", b"testserver")] + [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def test_no_method_on_any_path_gives_a_server_error_for_any_role(client, auth):
    callers = {"no token": {}} | {
        role: auth(f"all-{role}", roles=[role], regimes=ALL_REGIMES, teams=["team-a"]) for role in ALL_ROLES
    }
    failures = []
    for path in DOCUMENT["paths"]:
        target = concrete(path)
        for caller, headers in callers.items():
            for method in METHODS:
                body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
                response = await client.request(method, target, headers=command_headers(headers), content=body)
                if response.status_code >= 500:
                    failures.append((method, path, caller, response.status_code))
    assert failures == []


async def test_if_none_match_gives_304_on_every_single_read_with_an_etag(client, auth):
    world = await build_world(client, auth, users=("admin", "coord_a", "insp_a1", "insp_a2"))
    admin = world.h["admin"]
    permit = await create_permit(client, admin, world.ids["cafe"], alcohol_permit())
    assignment = await plan(client, world)
    reads = {
        f"/api/v1/objects/{world.ids['cafe']}": admin,
        f"/api/v1/permits/{permit['id']}": admin,
        f"/api/v1/users/{world.ids['insp_a1']}": admin,
        f"/api/v1/assignments/{assignment['id']}": world.h["coord_a"],
    }
    for path, headers in reads.items():
        current = await client.get(path, headers=headers)
        etag = current.headers["etag"]
        for method in ("GET", "HEAD"):
            unchanged = await client.request(method, path, headers={**headers, "If-None-Match": f'"0", {etag}'})
            assert unchanged.status_code == 304, (method, path, unchanged.text)
            assert unchanged.content == b"" and unchanged.headers["etag"] == etag
            assert "content-type" not in unchanged.headers
        stale = await client.get(path, headers={**headers, "If-None-Match": '"0"'})
        assert stale.status_code == 200 and stale.json() == current.json()


async def test_a_matching_etag_on_an_error_is_not_304(client, auth):
    admin = auth("admin", roles=["admin"])
    missing = await client.get(f"/api/v1/users/{uuid.uuid4()}", headers={**admin, "If-None-Match": "*"})
    assert_problem(missing, 404, "not_found")


CORS_ORIGIN = "https://backoffice.example"


@pytest.fixture
async def cors_client(database_url, data_dir):
    async with app_client(
        make_settings(database_url, data_dir, cors_origins=[CORS_ORIGIN], rate_limit_per_minute=3)
    ) as http:
        yield http


async def test_cors_lets_a_browser_read_the_headers_it_needs(cors_client, auth):
    admin = auth("admin", roles=["admin"], regimes=ALL_REGIMES)
    created = await cors_client.post("/api/v1/objects", headers={**admin, "Origin": CORS_ORIGIN}, json=object_body())
    assert created.status_code == 201, created.text
    assert created.headers["access-control-allow-origin"] == CORS_ORIGIN
    exposed = {name.strip().lower() for name in created.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "x-request-id", "retry-after", "idempotent-replayed"} <= exposed


async def test_cors_headers_on_401_and_429_for_an_allowed_origin_only(cors_client):
    origin = {"Origin": CORS_ORIGIN}
    unauthorized = await cors_client.get("/api/v1/me", headers=origin)
    assert_problem(unauthorized, 401, "token_missing")
    assert unauthorized.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert "www-authenticate" in unauthorized.headers["access-control-expose-headers"].lower()
    elsewhere = await cors_client.get("/api/v1/me", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in elsewhere.headers
    for _ in range(5):  # the limit is 3 a minute
        limited = await cors_client.get("/api/v1/me", headers=origin)
    assert_problem(limited, 429, "too_many_requests")
    assert limited.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_cors_preflight_needs_no_token(cors_client):
    preflight = await cors_client.options(
        "/api/v1/objects",
        headers={
            "Origin": CORS_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, if-match",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == CORS_ORIGIN
    assert {"authorization", "if-match"} <= {
        h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
    }


async def test_a_refused_preflight_is_a_problem(cors_client):
    refused = await cors_client.options(
        "/api/v1/objects",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "GET",
        },
    )
    assert_problem(refused, 400, "cors_refused")
    assert "access-control-allow-origin" not in refused.headers


async def test_one_answer_names_every_bad_query_parameter_of_filters_and_page_together(client, everyone):
    # A list's filters and its page are query groups (backend/core/query_groups.py) that Litestar validates with
    # the handler's own parameters: one answer names them all, not the first group's alone.
    response = await client.get("/api/v1/inspections?regime=none&from=yesterday&limit=0", headers=everyone)
    problem = assert_problem(response, 422, "validation_failed")
    assert sorted(error["parameter"] for error in problem["errors"]) == ["from", "limit", "regime"]
