"""Users over HTTP: the caller's identity, listing for planners, one user with its ETag, (de)activation."""

from __future__ import annotations

import uuid

import pytest

from backend.core.pagination import encode_cursor
from tests.helpers import assert_problem, register

REASON = {"reason": "left the municipality"}


async def snapshot(db, user_id: uuid.UUID) -> dict:
    """Everything a (de)activation could change, to show that a refused one changed nothing."""
    row = await db.fetchrow("SELECT * FROM app_user WHERE id = $1", user_id)
    events = await db.fetchval("SELECT count(*) FROM audit_event WHERE object_id = $1", str(user_id))
    keys = await db.fetchval("SELECT count(*) FROM idempotency_key")
    return {"row": dict(row), "events": events, "keys": keys}


async def subjects(client, headers, query: str = "") -> list[str]:
    response = await client.get(f"/api/v1/users?limit=200&{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [user["subject"] for user in response.json()["items"]]


@pytest.fixture
def admin(auth):
    return auth("admin-1", roles=["admin"])


@pytest.fixture
def coordinator(auth):
    return auth("coord-1", roles=["coordinator"])


@pytest.fixture
async def target(client, auth, admin) -> uuid.UUID:
    """An inspector to (de)activate, with the admin already registered (so snapshots stay still)."""
    await register(client, admin)
    return await register(client, auth("insp-1", roles=["inspector"]))


def deactivate(client, headers, user_id, *, if_match: str | None = '"1"', **kwargs):
    if if_match is not None:
        headers = {**headers, "If-Match": if_match}
    kwargs.setdefault("json", REASON)
    return client.post(f"/api/v1/users/{user_id}/deactivate", headers=headers, **kwargs)


# --- GET /api/v1/me -------------------------------------------------------------------------------


async def test_me_describes_the_caller_as_stored(client, auth, db):
    headers = auth(
        "insp-me",
        roles=["inspector", "auditor", "no-such-role"],
        regimes=["nix18", "alcohol"],
        teams=["team-b", "team-a"],
        name="Ina Spector",
    )
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "subject", "display_name", "roles", "regimes", "teams"}
    row = await db.fetchrow("SELECT * FROM app_user WHERE subject = 'insp-me'")
    assert body == {
        "id": str(row["id"]),
        "subject": "insp-me",
        "display_name": "Ina Spector",
        "roles": sorted(row["roles"]),
        "regimes": sorted(row["regimes"]),
        "teams": sorted(row["teams"]),
    }
    # Unknown roles in a token are dropped, not trusted.
    assert body["roles"] == ["auditor", "inspector"]
    assert body["regimes"] == ["alcohol", "nix18"] and body["teams"] == ["team-a", "team-b"]


# --- GET /api/v1/users ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["coordinator", "admin"])
async def test_planners_may_list_users(client, auth, role):
    assert await subjects(client, auth("planner", roles=[role])) == ["planner"]


async def test_inspector_may_not_read_users(client, auth):
    inspector = auth("insp-1", roles=["inspector"])
    me = await register(client, inspector)
    for path in ["/api/v1/users", f"/api/v1/users/{me}"]:
        assert_problem(await client.get(path, headers=inspector), 403, "forbidden")


async def test_list_filters_by_team_role_and_active(client, auth, db, admin, coordinator):
    await register(client, coordinator)
    for sub, roles, teams in [
        ("u-1", ["inspector"], ["team-a"]),
        ("u-2", ["inspector"], ["team-b"]),
        ("u-3", ["coordinator"], ["team-a"]),
        ("u-4", ["enforcement_officer"], ["team-a", "team-b"]),
    ]:
        await register(client, auth(sub, roles=roles, teams=teams))
    u2 = await db.fetchval("SELECT id FROM app_user WHERE subject = 'u-2'")
    assert (await deactivate(client, admin, u2)).status_code == 200

    assert await subjects(client, coordinator, "team=team-a") == ["u-1", "u-3", "u-4"]
    assert await subjects(client, coordinator, "role=inspector") == ["u-1", "u-2"]
    assert await subjects(client, coordinator, "active=false") == ["u-2"]
    assert await subjects(client, coordinator, "role=inspector&active=true") == ["u-1"]
    assert await subjects(client, coordinator, "team=team-b&role=enforcement_officer") == ["u-4"]
    assert await subjects(client, coordinator, "team=nobody") == []


async def test_keyset_pages_see_every_user_once_despite_inserts(client, auth, db, coordinator):
    await register(client, coordinator)
    for n in range(1, 8):
        await register(client, auth(f"p-{n}"))
    # Two more users with subject p-4 from other identity providers: a page boundary falls inside this
    # tie, so the cursor must carry the id as well as the subject.
    for issuer in ("other-idp-1", "other-idp-2"):
        await db.execute("INSERT INTO app_user (id, issuer, subject) VALUES ($1, $2, 'p-4')", uuid.uuid4(), issuer)

    pages = [await _page(client, coordinator, None)]
    # New users arrive while the client pages: one sorting before its position, one after.
    await register(client, auth("a-early"))
    await register(client, auth("z-late"))
    while pages[-1]["next_cursor"]:
        pages.append(await _page(client, coordinator, pages[-1]["next_cursor"]))

    assert all(len(page["items"]) == 2 for page in pages[:-1]) and 1 <= len(pages[-1]["items"]) <= 2
    seen = [(user["subject"], user["id"]) for page in pages for user in page["items"]]
    rows = await db.fetch("SELECT subject, id FROM app_user ORDER BY subject, id")
    in_order = [(r["subject"], str(r["id"])) for r in rows]
    # Everyone once, in (subject, id) order; a-early sorts before the first cursor, so keyset skips it.
    assert seen == [entry for entry in in_order if entry[0] != "a-early"]
    assert [s for s, _ in seen].count("p-4") == 3 and seen[-1][0] == "z-late"


async def _page(client, headers, cursor: str | None) -> dict:
    params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
    response = await client.get("/api/v1/users", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


BAD_CURSORS = {
    "garbage": "not*a*cursor",
    "wrong-arity": encode_cursor("coord-1"),
    "wrong-types": encode_cursor(1, 2),
    "bad-uuid": encode_cursor("coord-1", "not-a-uuid"),
    "nul-in-subject": encode_cursor("nul\x00", str(uuid.uuid4())),
}


async def test_bad_cursor_is_400(client, coordinator):
    # Read-only cases share one database: each is a separate request with nothing to clean up.
    for name, cursor in BAD_CURSORS.items():
        response = await client.get("/api/v1/users", headers=coordinator, params={"cursor": cursor})
        assert response.status_code == 400, name
        assert_problem(response, 400, "invalid_cursor")


async def test_bad_limit_is_422_naming_the_parameter(client, coordinator):
    for limit in ["0", "500", "two"]:
        response = await client.get("/api/v1/users", headers=coordinator, params={"limit": limit})
        assert response.status_code == 422, limit
        body = assert_problem(response, 422, "validation_failed")
        assert [error.get("parameter") for error in body["errors"]] == ["limit"]


# --- GET /api/v1/users/{id} -------------------------------------------------------------------------


async def test_get_user_carries_its_version_as_etag(client, db, admin, target):
    response = await client.get(f"/api/v1/users/{target}", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["id"] == str(target) and response.json()["version"] == 1
    assert response.headers["etag"] == '"1"'

    assert (await deactivate(client, admin, target)).status_code == 200
    response = await client.get(f"/api/v1/users/{target}", headers=admin)
    version = await db.fetchval("SELECT version FROM app_user WHERE id = $1", target)
    assert version == 2 and response.json()["version"] == version
    assert response.headers["etag"] == f'"{version}"'


async def test_get_unknown_user_is_404(client, admin):
    body = assert_problem(await client.get(f"/api/v1/users/{uuid.uuid4()}", headers=admin), 404, "not_found")
    assert "request_id" in body


async def test_get_user_with_non_uuid_id_is_404(client, admin):
    # The path only matches a UUID, so any other id is an unknown resource (not a validation error).
    body = assert_problem(await client.get("/api/v1/users/not-a-uuid", headers=admin), 404, "not_found")
    assert body["instance"] == "/api/v1/users/not-a-uuid"


# --- POST /api/v1/users/{id}/deactivate ------------------------------------------------------------


async def test_deactivate_without_if_match_is_428(client, db, admin, target):
    before = await snapshot(db, target)
    assert_problem(await deactivate(client, admin, target, if_match=None), 428, "precondition_required")
    assert await snapshot(db, target) == before


@pytest.mark.parametrize(
    ("if_match", "code"), [('"7"', "stale_version"), ("garbage", "precondition_failed"), ("1", "precondition_failed")]
)
async def test_deactivate_with_wrong_if_match_is_412(client, db, admin, target, if_match, code):
    before = await snapshot(db, target)
    assert_problem(await deactivate(client, admin, target, if_match=if_match), 412, code)
    assert await snapshot(db, target) == before


async def test_deactivate_with_current_etag(client, db, auth, admin, target):
    response = await deactivate(client, admin, target)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(target) and body["active"] is False and body["version"] == 2
    assert response.headers["etag"] == '"2"'

    row = await db.fetchrow("SELECT active, version FROM app_user WHERE id = $1", target)
    assert (row["active"], row["version"]) == (False, 2)
    event = await db.fetchrow(
        "SELECT * FROM audit_event WHERE action = 'user.deactivated' AND object_id = $1", str(target)
    )
    admin_id = await db.fetchval("SELECT id FROM app_user WHERE subject = 'admin-1'")
    assert event["actor_id"] == admin_id and event["reason"] == REASON["reason"]
    assert (event["before"], event["after"]) == ({"active": True}, {"active": False})
    # The point of deactivating: the user's tokens are refused from now on.
    refused = await client.get("/api/v1/me", headers=auth("insp-1", roles=["inspector"]))
    assert_problem(refused, 401, "user_deactivated")


async def test_deactivate_unknown_user_is_404(client, db, admin):
    await register(client, admin)
    assert_problem(await deactivate(client, admin, uuid.uuid4()), 404, "not_found")
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'user.deactivated'") == 0


@pytest.mark.parametrize("role", ["inspector", "coordinator"])
async def test_only_admins_deactivate(client, db, auth, target, role):
    headers = auth("not-admin", roles=[role])
    await register(client, headers)
    before = await snapshot(db, target)
    assert_problem(await deactivate(client, headers, target), 403, "forbidden")
    assert await snapshot(db, target) == before


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/reason"),
        ({"reason": "no"}, "/reason"),
        ({"reason": "x" * 1001}, "/reason"),
        ({"reason": 42}, "/reason"),
        ({"reason": "valid reason", "force": True}, "/force"),
    ],
    ids=["missing", "too-short", "too-long", "not-a-string", "unknown-field"],
)
async def test_deactivate_with_bad_body_is_422_with_pointer(client, db, admin, target, body, pointer):
    before = await snapshot(db, target)
    problem = assert_problem(await deactivate(client, admin, target, json=body), 422, "validation_failed")
    assert [error["pointer"] for error in problem["errors"]] == [pointer]
    assert await snapshot(db, target) == before


async def test_deactivate_with_body_that_is_not_json_is_400(client, db, admin, target):
    before = await snapshot(db, target)
    response = await deactivate(
        client, {**admin, "Content-Type": "application/json"}, target, json=None, content=b'{"reason": "unterminated'
    )
    assert_problem(response, 400, "malformed_body")
    assert await snapshot(db, target) == before


async def test_overlong_if_match_is_412_not_a_validation_error(client, auth):
    admin = auth("admin-long", roles=["admin"])
    await register(client, admin)
    target = await register(client, auth("target-long", roles=["inspector"]))
    response = await client.post(
        f"/api/v1/users/{target}/deactivate", headers={**admin, "If-Match": '"' + "9" * 100 + '"'}, json=REASON
    )
    assert_problem(response, 412, "precondition_failed")
