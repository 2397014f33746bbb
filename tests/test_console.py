"""The console at /console/: its files come from the service under a strict policy, the vendored CSS is the pinned
one, and the demo sign-in exists only in dev mode. (tests/test_console_browser.py drives it in Chromium.)"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from backend.console.routes import VENDOR_DIR
from backend.core.config import SettingsError, load_settings
from backend.demo import DEMO_USERS
from tests.conftest import app_client, bearer, make_settings

TESTS_VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
VENDORED = [
    VENDOR_DIR / "utrecht-component-library-css" / "9.0.4",
    VENDOR_DIR / "utrecht-design-tokens" / "5.0.1",
    TESTS_VENDOR_DIR / "axe-core" / "4.14.1",
]
OIDC = {
    "auth_mode": "oidc",
    "jwt_issuer": "https://idp.example",
    "oidc_jwks_url": "https://idp.example/jwks",
    "oidc_client_id": "toezicht-console",
    "oidc_authorization_url": "https://idp.example/authorize",
    "oidc_token_url": "https://idp.example/token",
    "oidc_scope": "openid profile",
}


async def test_the_console_page_names_no_other_host_runs_no_inline_script_and_has_a_strict_policy(client):
    page = await client.get("/console/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "unsafe" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    assert not re.search(r"https?:|//", page.text.replace("<!DOCTYPE html>", ""))
    assert "<script>" not in page.text and "<style" not in page.text and " style=" not in page.text
    assert '<html lang="nl"' in page.text
    references = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert len(references) == 4, references
    for reference in references:
        asset = await client.get(reference)
        assert asset.status_code == 200, reference


async def test_every_console_module_is_served_as_javascript_and_calls_only_this_service(client):
    modules = sorted((VENDOR_DIR.parent / "console" / "js").glob("*.js"))
    assert len(modules) >= 5
    for module in modules:
        served = await client.get(f"/console/js/{module.name}")
        assert served.status_code == 200 and served.headers["content-type"].startswith("text/javascript"), module
        text = served.text
        assert "localStorage" not in text and "innerHTML" not in text and "eval(" not in text, module
        assert not re.search(r"fetch\(\s*[\"'`]https?:", text), module


def test_the_vendored_files_are_the_pinned_ones():
    for directory in VENDORED:
        listed = dict(reversed(line.split("  ", 1)) for line in (directory / "SHA256SUMS").read_text().splitlines())
        present = {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()} - {"SHA256SUMS"}
        assert listed.keys() == present, directory
        assert any(name.startswith("LICENSE") for name in listed), directory
        for name, expected in listed.items():
            assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == expected, name


async def test_dev_mode_lists_the_demo_users_and_signs_one_in(client):
    config = await client.get("/console/config.json")
    assert config.json() == {"auth_mode": "dev"}
    users = (await client.get("/console/dev/users")).json()["items"]
    assert [user["subject"] for user in users] == [user[1] for user in DEMO_USERS]
    issued = await client.post("/console/dev/token", json={"subject": "klacht-gerda"})
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    me = (await client.get("/api/v1/me", headers=bearer(issued.json()["access_token"]))).json()
    assert me["subject"] == "klacht-gerda" and me["roles"] == ["complaints_officer"]


async def test_dev_sign_in_refuses_who_is_not_a_demo_user(client):
    refused = await client.post("/console/dev/token", json={"subject": "someone-else"})
    assert refused.status_code == 404 and refused.json()["code"] == "demo_user_not_found"
    assert (await client.post("/console/dev/token", json={"subject": "x", "roles": ["admin"]})).status_code == 422


async def test_outside_dev_mode_there_is_no_demo_sign_in_and_the_console_gets_the_identity_provider(
    database_url, data_dir
):
    async with app_client(make_settings(database_url, data_dir, **OIDC)) as http:
        for method, path in (("GET", "/console/dev/users"), ("POST", "/console/dev/token")):
            refused = await http.request(method, path, json={"subject": "coord-dirk"} if method == "POST" else None)
            assert refused.status_code == 404, path
            assert "access_token" not in refused.text and "Dirk" not in refused.text
        config = (await http.get("/console/config.json")).json()
        policy = (await http.get("/console/")).headers["content-security-policy"]
    # The browser posts the code to the provider's token endpoint: that origin, and no other, joins connect-src.
    assert "connect-src 'self' https://idp.example;" in policy
    assert config == {
        "auth_mode": "oidc",
        "client_id": "toezicht-console",
        "scope": "openid profile",
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "https://idp.example/token",
    }


@pytest.mark.parametrize("path", ["/schema", "/console/"])
async def test_each_page_keeps_its_own_policy(client, path):
    policy = (await client.get(path)).headers["content-security-policy"]
    assert ("blob:" in policy) == (path == "/console/")


def test_the_identity_provider_endpoints_must_use_https():
    with pytest.raises(SettingsError, match="TOEZICHT_OIDC_TOKEN_URL"):
        load_settings({"TOEZICHT_OIDC_TOKEN_URL": "http://idp.example/token"})
