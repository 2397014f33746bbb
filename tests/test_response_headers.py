"""The headers every response carries: who may keep a copy (Cache-Control) and what a browser may do with it."""

from __future__ import annotations

import re
import uuid

from backend.core.docs import SWAGGER_UI_PATH
from tests.conftest import bearer
from tests.registry_helpers import object_body

ALL_ROLES = ["inspector", "coordinator", "enforcement_officer", "complaints_officer", "admin", "auditor"]
ALL_REGIMES = ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]
REVALIDATE, NO_STORE = "private, no-cache", "no-store"


def assert_personal_cache_policy(response, method: str) -> None:
    """Nothing personal in a shared cache: revalidated copies for reads with an ETag, nothing kept otherwise
    (unless the handler chose its own private policy, e.g. an immutable checklist version)."""
    cache_control = response.headers.get("cache-control")
    assert response.headers.get("x-content-type-options") == "nosniff", (method, response.url)
    revalidatable = method == "GET" and response.status_code in (200, 304) and "etag" in response.headers
    if revalidatable:
        assert cache_control is not None and cache_control.startswith("private"), (method, response.url, cache_control)
    else:
        assert cache_control == NO_STORE or cache_control.startswith("private"), (method, response.url, cache_control)


async def test_every_operation_answers_with_nosniff_and_no_shared_caching(client, make_token):
    """Every operation of the OpenAPI document, with a token of every role (most answers are 404 or 422 for the
    made-up ids and empty bodies: errors must not be kept either)."""
    headers = bearer(make_token("headers-all", roles=ALL_ROLES, regimes=ALL_REGIMES, teams=["team-x"]))
    document = (await client.get("/schema/openapi.json")).json()
    assert len(document["paths"]) > 40
    for path, item in document["paths"].items():
        url = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
        for method in item:
            body = {"json": {}} if method in ("post", "put", "patch") else {}
            response = await client.request(method.upper(), url, headers=headers, **body)
            assert response.status_code < 500, (method, path, response.text)
            if path.startswith("/api/"):
                assert_personal_cache_policy(response, method.upper())
            else:  # health: nothing personal, but always fresh
                assert response.headers["cache-control"] == "no-cache", path
                assert response.headers["x-content-type-options"] == "nosniff", path


async def test_personal_reads_with_an_etag_are_revalidated_and_everything_else_is_not_stored(client, auth):
    headers = auth("coord-headers", roles=["coordinator"], regimes=["alcohol", "nix18"])
    created = await client.post("/api/v1/objects", json=object_body(name="Café Kopstuk"), headers=headers)
    assert created.status_code == 201 and "etag" in created.headers
    assert created.headers["cache-control"] == NO_STORE  # a write's answer is not a copy to keep

    one = await client.get(f"/api/v1/objects/{created.json()['id']}", headers=headers)
    assert one.status_code == 200 and one.headers["etag"]
    assert one.headers["cache-control"] == REVALIDATE

    for response in (
        await client.get("/api/v1/me", headers=headers),  # no ETag: nothing to revalidate with
        await client.get("/api/v1/objects", headers=headers),
        await client.get("/api/v1/me"),  # 401
        await client.get(f"/api/v1/objects/{uuid.uuid4()}", headers=headers),  # 404
    ):
        assert response.headers["cache-control"] == NO_STORE, (response.url, response.status_code)
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_policy_the_handler_chose_is_kept(client, auth):
    headers = auth("insp-headers", roles=["inspector"], regimes=["alcohol"], teams=["team-x"])
    response = await client.get("/api/v1/sync", headers=headers)
    assert response.status_code == 200 and response.headers["cache-control"] == NO_STORE
    assert response.headers.get_list("cache-control") == [NO_STORE]


async def test_public_responses_are_revalidated_and_vendored_assets_kept(client):
    for path in ("/health/live", "/schema", "/schema/openapi.json", "/schema/swagger-init.js"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-cache", path
        assert response.headers["x-content-type-options"] == "nosniff", path
    asset = await client.get(f"{SWAGGER_UI_PATH}/swagger-ui.css")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert "public" in asset.headers["cache-control"] and asset.headers["x-content-type-options"] == "nosniff"


async def test_html_may_not_be_framed_and_runs_only_the_services_own_scripts(client):
    page = await client.get("/schema")
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    policy = dict(
        [*directive.split(" ", 1), ""][:2] for directive in page.headers["content-security-policy"].split("; ")
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert not re.search(r"https?:|\*|unsafe", page.headers["content-security-policy"])
    json_response = await client.get("/schema/openapi.json")
    assert "x-frame-options" not in json_response.headers  # not a page: nothing to frame
