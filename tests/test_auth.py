"""Bearer-JWT authentication over HTTP: every way a token is refused, and how verified tokens keep the
user record in step (core.tokens, core.auth, users.service.PrincipalDirectory).

Every refusal is a 401 problem+json with a stable `code`, and a refused caller leaves no trace: no
app_user row and no audit event.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jws, jwt

from backend.core.config import PROJECT_ROOT
from backend.core.tokens import JWKS_REFETCH_INTERVAL_S, MAX_TOKEN_BYTES, JwksKeySource, public_jwk
from tests.conftest import AUDIENCE, ISSUER, app_client, bearer, make_settings, wait_until
from tests.helpers import set_active

ME = "/api/v1/me"
OIDC_ISSUER = "https://idp.example/realms/utrecht"


# --- token building helpers --------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(sub: str, **overrides: Any) -> dict[str, Any]:
    """Valid claims for the test issuer/audience; an override of None drops the claim."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": sub,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "roles": ["inspector"],
        "regimes": ["alcohol"],
        "teams": [],
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def hs256_token(secret: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    """An HMAC-signed JWT built by hand, so no library gets a chance to refuse the odd key on signing."""
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def es256_token(private_pem: bytes, header: dict[str, Any], payload: dict[str, Any]) -> str:
    return jws.sign(msgspec.json.encode(payload), private_pem, headers=header, algorithm="ES256")


def new_ec_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem_of(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- assertions --------------------------------------------------------------------------------------


async def assert_refused(
    client: httpx.AsyncClient, db: Any, headers: dict[str, str], code: str, subject: str, *, users_before: int = 0
) -> None:
    """401 problem+json with `code`, and nothing stored for the refused subject (nor anyone else)."""
    response = await client.get(ME, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == 401
    token = headers.get("Authorization", "").partition(" ")[2]
    if token:
        assert token not in response.text  # a refused token is never echoed back
    assert await db.fetchval("SELECT count(*) FROM app_user WHERE subject = $1", subject) == 0
    assert await db.fetchval("SELECT count(*) FROM app_user") == users_before
    assert await db.fetchval("SELECT count(*) FROM audit_event") == users_before  # one user.registered each


# --- refusals (dev mode, ES256) ----------------------------------------------------------------------


async def test_missing_authorization_header_is_refused(client, db):
    await assert_refused(client, db, {}, "token_missing", "nobody")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer garbage",
        "Bearer aGVhZGVy.cGF5bG9hZA",  # two parts: not a JWS
        "Bearer !!!.###.$$$",  # three parts, but the header is not base64url JSON
        "Bearer ",
        "Basic dXNlcjpwYXNz",
    ],
    ids=["garbage", "two-parts", "bad-header", "empty", "basic-scheme"],
)
async def test_malformed_token_is_refused(client, db, authorization):
    await assert_refused(client, db, {"Authorization": authorization}, "token_malformed", "user-1")


async def test_basic_scheme_carrying_a_valid_jwt_is_refused(client, db, make_token):
    # Only the Bearer scheme is accepted, even when the credentials happen to be a good token.
    headers = {"Authorization": f"Basic {make_token('basic-user')}"}
    await assert_refused(client, db, headers, "token_malformed", "basic-user")


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_unsigned_alg_none_token_is_refused(client, db, dev_key, alg):
    kid = public_jwk(dev_key)["kid"]
    token = f"{b64url_json({'alg': alg, 'kid': kid, 'typ': 'JWT'})}.{b64url_json(claims('alg-none'))}."
    await assert_refused(client, db, bearer(token), "token_algorithm", "alg-none")


@pytest.mark.parametrize("key_form", ["pem", "jwk-json"])
async def test_hs256_signed_with_our_public_key_is_refused(client, db, dev_key, key_form):
    """CVE-2024-33663 class: HMAC 'signed' with the public key, which an attacker can read."""
    public = public_jwk(dev_key)
    secret = public_pem_of(dev_key) if key_form == "pem" else json.dumps(public).encode()
    token = hs256_token(
        secret, {"alg": "HS256", "kid": public["kid"], "typ": "JWT"}, claims("hmac-forger", roles=["admin"])
    )
    await assert_refused(client, db, bearer(token), "token_algorithm", "hmac-forger")


async def test_rs256_token_naming_our_ec_kid_is_refused(client, db, dev_key):
    # Algorithm pinned per key: our EC key may only verify ES256, whatever the token's header says.
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    token = jwt.encode(claims("rs-forger"), rsa_pem, algorithm="RS256", headers={"kid": public_jwk(dev_key)["kid"]})
    await assert_refused(client, db, bearer(token), "token_algorithm", "rs-forger")


async def test_expired_token_is_refused(client, db, make_token):
    # Expired 120 s ago: well beyond the 30 s leeway.
    now = int(time.time())
    token = make_token("expired", iat=now - 900, nbf=now - 900, exp=now - 120)
    await assert_refused(client, db, bearer(token), "token_expired", "expired")


async def test_token_expired_within_leeway_is_accepted(client, make_token):
    # The counterpart of the test above: a 10 s clock skew is tolerated (leeway 30 s).
    now = int(time.time())
    response = await client.get(ME, headers=bearer(make_token("skewed", iat=now - 600, nbf=now - 600, exp=now - 10)))
    assert response.status_code == 200, response.text


async def test_token_not_yet_valid_is_refused(client, db, make_token):
    token = make_token("early", nbf=int(time.time()) + 300)
    await assert_refused(client, db, bearer(token), "token_not_yet_valid", "early")


async def test_token_issued_in_the_future_is_refused(client, db, make_token):
    now = int(time.time())
    token = make_token("future-iat", iat=now + 300, nbf=now)
    await assert_refused(client, db, bearer(token), "token_not_yet_valid", "future-iat")


@pytest.mark.parametrize("aud", ["other-api", ["other-api", "yet-another"]], ids=["string", "list"])
async def test_token_for_another_audience_is_refused(client, db, make_token, aud):
    await assert_refused(client, db, bearer(make_token("wrong-aud", aud=aud)), "token_audience", "wrong-aud")


async def test_token_without_audience_is_refused(client, db, make_token):
    await assert_refused(client, db, bearer(make_token("no-aud", aud=None)), "token_audience", "no-aud")


async def test_token_from_another_issuer_is_refused(client, db, make_token):
    token = make_token("wrong-iss", iss="https://evil.example")
    await assert_refused(client, db, bearer(token), "token_issuer", "wrong-iss")


async def test_token_without_issuer_is_refused(client, db, make_token):
    await assert_refused(client, db, bearer(make_token("no-iss", iss=None)), "token_issuer", "no-iss")


@pytest.mark.parametrize("kid", ["not-a-known-kid", None], ids=["unknown-kid", "no-kid"])
async def test_token_signed_by_unknown_key_is_refused(client, db, kid):
    header = {"typ": "JWT"} | ({"kid": kid} if kid else {})
    token = es256_token(new_ec_pem(), header, claims("stranger"))
    await assert_refused(client, db, bearer(token), "token_unknown_key", "stranger")


async def test_oversized_token_is_refused(client, db, make_token):
    token = make_token("big", padding="x" * MAX_TOKEN_BYTES)
    assert len(token) > MAX_TOKEN_BYTES
    await assert_refused(client, db, bearer(token), "token_too_large", "big")


async def test_payload_tampered_after_signing_is_refused(client, db, make_token):
    header, _, signature = make_token("tamperer", roles=["inspector"]).split(".")
    forged_payload = b64url_json(claims("tamperer", roles=["admin"], regimes=["sexwork", "alcohol"]))
    await assert_refused(client, db, bearer(f"{header}.{forged_payload}.{signature}"), "token_signature", "tamperer")


async def test_token_without_expiry_is_refused(client, db, make_token):
    await assert_refused(client, db, bearer(make_token("no-exp", exp=None)), "token_claims", "no-exp")


async def test_token_with_crit_header_is_refused(client, db, dev_key):
    # Properly signed by our key: only the unsupported critical header parameter is wrong.
    header = {"kid": public_jwk(dev_key)["kid"], "typ": "JWT", "crit": ["exp"]}
    token = es256_token(dev_key, header, claims("crit-user"))
    await assert_refused(client, db, bearer(token), "token_malformed", "crit-user")


async def test_token_signed_by_other_key_with_our_kid_is_refused(client, db, dev_key):
    header = {"kid": public_jwk(dev_key)["kid"], "typ": "JWT"}
    token = es256_token(new_ec_pem(), header, claims("impostor"))
    await assert_refused(client, db, bearer(token), "token_signature", "impostor")


# --- valid tokens and the user record ----------------------------------------------------------------


async def user_row(db: Any, subject: str) -> Any:
    return await db.fetchrow("SELECT * FROM app_user WHERE issuer = $1 AND subject = $2", ISSUER, subject)


async def test_valid_token_creates_user_and_drops_unknown_roles_and_regimes(client, db, auth):
    headers = auth(
        "insp-anna",
        roles=["inspector", "superuser"],
        regimes=["nix18", "alcohol", "mars"],
        teams=["team-b", "team-a"],
        name="Anna de Vries",
    )
    response = await client.get(ME, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["roles"] == ["inspector"]
    assert body["regimes"] == ["alcohol", "nix18"]
    assert body["teams"] == ["team-a", "team-b"]
    assert body["display_name"] == "Anna de Vries"
    row = await user_row(db, "insp-anna")
    assert str(row["id"]) == body["id"]
    assert (row["roles"], row["regimes"], row["teams"]) == (["inspector"], ["alcohol", "nix18"], ["team-a", "team-b"])
    assert row["display_name"] == "Anna de Vries" and row["active"] and row["last_seen_at"] is not None
    actions = await db.fetch("SELECT action, object_id FROM audit_event ORDER BY seq")
    assert [(a["action"], a["object_id"]) for a in actions] == [("user.registered", body["id"])]


async def test_new_token_refreshes_user_row(client, db, auth):
    first = await client.get(ME, headers=auth("insp-bas", teams=["team-a"], name="Bas"))
    assert first.status_code == 200
    second = await client.get(ME, headers=auth("insp-bas", teams=["team-c"], name="Bas Jansen"))
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    row = await user_row(db, "insp-bas")
    assert (row["display_name"], row["teams"], row["version"]) == ("Bas Jansen", ["team-c"], 2)
    assert await db.fetchval("SELECT count(*) FROM app_user") == 1


async def test_token_without_name_keeps_known_display_name(client, db, auth):
    assert (await client.get(ME, headers=auth("insp-cor", name="Cor"))).status_code == 200
    response = await client.get(ME, headers=auth("insp-cor", teams=["team-x"]))
    assert response.json()["display_name"] == "Cor"
    assert (await user_row(db, "insp-cor"))["display_name"] == "Cor"


async def test_changed_roles_update_user_and_are_audited(client, db, auth):
    first = await client.get(ME, headers=auth("dirk", roles=["inspector"], regimes=["alcohol"]))
    assert first.status_code == 200
    second = await client.get(ME, headers=auth("dirk", roles=["coordinator", "inspector"], regimes=["alcohol"]))
    assert second.status_code == 200
    assert second.json()["roles"] == ["coordinator", "inspector"]
    row = await user_row(db, "dirk")
    assert row["roles"] == ["coordinator", "inspector"]
    event = await db.fetchrow("SELECT * FROM audit_event WHERE action = 'user.claims_changed'")
    assert event is not None
    assert event["object_id"] == str(row["id"]) and event["actor_id"] == row["id"]
    assert event["before"]["roles"] == ["inspector"]
    assert event["after"]["roles"] == ["coordinator", "inspector"]


async def test_same_claims_again_write_no_audit_event(client, db, auth):
    for _ in range(2):  # two different tokens (fresh iat/exp aside, the same claims)
        assert (await client.get(ME, headers=auth("steady", roles=["auditor"]))).status_code == 200
    actions = await db.fetch("SELECT action FROM audit_event")
    assert [a["action"] for a in actions] == ["user.registered"]


# --- deactivation ------------------------------------------------------------------------------------


async def test_deactivated_user_is_refused_until_reactivated(client, db, auth):
    admin = auth("admin-1", roles=["admin"])
    user = auth("leaver", roles=["inspector"])  # one token, valid throughout the test
    me = await client.get(ME, headers=user)
    assert me.status_code == 200
    user_id = me.json()["id"]

    deactivated = await set_active(client, admin, user_id, "deactivate")
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False

    refused = await client.get(ME, headers=user)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "user_deactivated"
    assert await db.fetchval("SELECT count(*) FROM app_user WHERE subject = 'leaver'") == 1
    assert (await user_row(db, "leaver"))["active"] is False
    event = await db.fetchrow("SELECT * FROM audit_event WHERE action = 'user.deactivated'")
    assert event["object_id"] == user_id and event["reason"] == "test: deactivate"

    reactivated = await set_active(client, admin, user_id, "activate")
    assert reactivated.status_code == 200, reactivated.text
    again = await client.get(ME, headers=user)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == user_id


async def test_deactivated_user_is_refused_with_a_new_token_too(client, db, auth):
    admin = auth("admin-1", roles=["admin"])
    user_id = (await client.get(ME, headers=auth("leaver-2"))).json()["id"]
    assert (await set_active(client, admin, user_id, "deactivate")).status_code == 200
    # New claims take the refresh path in PrincipalDirectory; it must still see the deactivation.
    refused = await client.get(ME, headers=auth("leaver-2", roles=["coordinator"]))
    assert refused.status_code == 401
    assert refused.json()["code"] == "user_deactivated"


async def test_deactivation_by_another_process_evicts_the_cached_user(client, db, auth):
    user = auth("cached-user")
    user_id = (await client.get(ME, headers=user)).json()["id"]
    # Another process (e.g. a second worker) deactivates the user and notifies; our cache (30 s) must not
    # keep letting the same token in.
    await db.execute("UPDATE app_user SET active = false, version = version + 1 WHERE id = $1::uuid", user_id)
    await db.execute("SELECT pg_notify('app_user_changed', $1::text)", user_id)

    async def refused() -> bool:
        response = await client.get(ME, headers=user)
        return response.status_code == 401 and response.json()["code"] == "user_deactivated"

    await wait_until(refused)


async def test_only_admins_may_deactivate(client, db, auth):
    coordinator = auth("coord-1", roles=["coordinator"])
    user_id = (await client.get(ME, headers=auth("target"))).json()["id"]
    response = await set_active(client, coordinator, user_id, "deactivate")
    assert response.status_code == 403
    assert (await user_row(db, "target"))["active"] is True
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'user.deactivated'") == 0


# --- OIDC mode (RS256 from the identity provider's JWKS) ---------------------------------------------


class RsaKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwk(self) -> dict[str, Any]:
        numbers = self.private.public_key().public_numbers()
        as_b64 = lambda n: b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))  # noqa: E731
        return {
            "kid": self.kid,
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "n": as_b64(numbers.n),
            "e": as_b64(numbers.e),
        }

    def token(self, sub: str, **overrides: Any) -> str:
        return jwt.encode(
            claims(sub, **{"iss": OIDC_ISSUER, **overrides}), self.pem, algorithm="RS256", headers={"kid": self.kid}
        )


def write_jwks(path: Path, *keys: RsaKey) -> None:
    path.write_text(json.dumps({"keys": [key.jwk() for key in keys]}))


@pytest.fixture(scope="module")
def idp_keys() -> tuple[RsaKey, RsaKey, RsaKey]:
    # RSA key generation is the slow part; the keys carry no state, so the module shares them.
    return RsaKey("idp-key-1"), RsaKey("idp-key-2"), RsaKey("idp-key-3")


class Oidc(msgspec.Struct):
    http: httpx.AsyncClient
    source: JwksKeySource
    jwks_path: Path


@pytest.fixture
async def oidc(database_url, data_dir, tmp_path, idp_keys) -> AsyncIterator[Oidc]:
    jwks_path = tmp_path / "jwks.json"
    write_jwks(jwks_path, idp_keys[0])
    settings = make_settings(
        database_url, data_dir, auth_mode="oidc", jwt_issuer=OIDC_ISSUER, oidc_jwks_file=str(jwks_path)
    )
    running = app_client(settings)
    async with running as http:
        source = running.app.state.token_verifier.keys
        assert isinstance(source, JwksKeySource)
        yield Oidc(http, source, jwks_path)


async def test_oidc_accepts_rs256_token_from_the_jwks(oidc, db, idp_keys):
    response = await oidc.http.get(ME, headers=bearer(idp_keys[0].token("oidc-user", name="Olga")))
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Olga"
    row = await db.fetchrow("SELECT issuer, subject FROM app_user")
    assert (row["issuer"], row["subject"]) == (OIDC_ISSUER, "oidc-user")
    assert oidc.source.fetch_count == 1


async def test_oidc_refuses_dev_es256_token(oidc, db, make_token):
    await assert_refused(
        oidc.http, db, bearer(make_token("dev-user", iss=OIDC_ISSUER)), "token_unknown_key", "dev-user"
    )


async def test_oidc_refuses_es256_token_naming_the_rsa_kid(oidc, db, idp_keys):
    token = es256_token(new_ec_pem(), {"kid": idp_keys[0].kid}, claims("ec-forger", iss=OIDC_ISSUER))
    await assert_refused(oidc.http, db, bearer(token), "token_algorithm", "ec-forger")


@pytest.mark.parametrize("key_form", ["pem", "jwk-json"])
async def test_oidc_refuses_hs256_signed_with_the_idp_public_key(oidc, db, idp_keys, key_form):
    key = idp_keys[0]
    secret = key.public_pem if key_form == "pem" else json.dumps(key.jwk()).encode()
    token = hs256_token(secret, {"alg": "HS256", "kid": key.kid, "typ": "JWT"}, claims("hmac-oidc", iss=OIDC_ISSUER))
    await assert_refused(oidc.http, db, bearer(token), "token_algorithm", "hmac-oidc")


async def test_oidc_refuses_token_from_another_issuer(oidc, db, idp_keys):
    token = idp_keys[0].token("other-realm", iss="https://idp.example/realms/other")
    await assert_refused(oidc.http, db, bearer(token), "token_issuer", "other-realm")


async def test_oidc_unknown_kid_is_refetched_at_most_once_per_interval(oidc, db, idp_keys):
    known, rotated, stranger = idp_keys
    assert (await oidc.http.get(ME, headers=bearer(known.token("first")))).status_code == 200
    assert oidc.source.fetch_count == 1

    token = rotated.token("rotated-user")
    await assert_refused(oidc.http, db, bearer(token), "token_unknown_key", "rotated-user", users_before=1)
    # The provider now publishes the new key, but within the interval we do not look again, however many
    # tokens with unknown kids arrive: forged kids must not make us hammer the provider.
    write_jwks(oidc.jwks_path, known, rotated)
    for _ in range(3):
        response = await oidc.http.get(ME, headers=bearer(rotated.token("rotated-user")))
        assert response.status_code == 401 and response.json()["code"] == "token_unknown_key"
    assert oidc.source.fetch_count == 1

    # Pretend the interval has passed instead of sleeping a minute: move the last fetch back in time.
    oidc.source._fetched_at -= JWKS_REFETCH_INTERVAL_S + 1
    response = await oidc.http.get(ME, headers=bearer(rotated.token("rotated-user")))
    assert response.status_code == 200, response.text
    assert oidc.source.fetch_count == 2

    # And straight after that refetch, another unknown kid is refused without a fetch.
    response = await oidc.http.get(ME, headers=bearer(stranger.token("stranger")))
    assert response.status_code == 401 and response.json()["code"] == "token_unknown_key"
    assert oidc.source.fetch_count == 2
    assert await db.fetchval("SELECT count(*) FROM app_user WHERE subject = 'stranger'") == 0


async def test_oidc_burst_of_unknown_kids_causes_one_refetch(oidc, idp_keys):
    assert (await oidc.http.get(ME, headers=bearer(idp_keys[0].token("first")))).status_code == 200
    oidc.source._fetched_at -= JWKS_REFETCH_INTERVAL_S + 1  # the interval has passed (see above)
    forged = [es256_token(new_ec_pem(), {"kid": f"forged-{i}"}, claims("x", iss=OIDC_ISSUER)) for i in range(5)]
    responses = await asyncio.gather(*(oidc.http.get(ME, headers=bearer(t)) for t in forged))
    assert [r.json()["code"] for r in responses] == ["token_unknown_key"] * 5
    assert oidc.source.fetch_count == 2


# --- `toezicht token` --------------------------------------------------------------------------------


async def run_token_cli(env_overrides: dict[str, str], *args: str) -> tuple[int, str, str]:
    # A clean environment: the developer's own TOEZICHT_* settings must not leak into the test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    env.update(env_overrides)
    process = await asyncio.create_subprocess_exec(
        str(PROJECT_ROOT / ".venv" / "bin" / "toezicht"),
        "token",
        *args,
        env=env,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_token_command_refuses_in_oidc_mode(tmp_path, idp_keys):
    jwks_path = tmp_path / "jwks.json"
    write_jwks(jwks_path, idp_keys[0])
    data_dir = tmp_path / "data"
    code, out, err = await run_token_cli(
        {
            "TOEZICHT_AUTH_MODE": "oidc",
            "TOEZICHT_JWT_ISSUER": "https://idp.example",
            "TOEZICHT_OIDC_JWKS_FILE": str(jwks_path),
            "TOEZICHT_DATA_DIR": str(data_dir),
        },
        "--sub",
        "x",
        "--role",
        "inspector",
    )
    assert code != 0
    assert "oidc" in err and "refusing" in err
    assert out == ""
    assert not (data_dir / "dev-signing-key.pem").exists()  # no signing key was created either


async def test_token_command_mints_a_token_the_app_accepts(client, db, data_dir):
    code, out, err = await run_token_cli(
        {
            "TOEZICHT_AUTH_MODE": "dev",
            "TOEZICHT_JWT_ISSUER": ISSUER,
            "TOEZICHT_JWT_AUDIENCE": AUDIENCE,
            "TOEZICHT_DATA_DIR": str(data_dir),
        },
        "--sub",
        "cli-user",
        "--role",
        "coordinator",
        "--regime",
        "nix18",
        "--team",
        "team-centrum",
        "--name",
        "Cli User",
    )
    assert code == 0, err
    response = await client.get(ME, headers=bearer(out.strip()))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["subject"], body["roles"], body["regimes"], body["teams"], body["display_name"]) == (
        "cli-user",
        ["coordinator"],
        ["nix18"],
        ["team-centrum"],
        "Cli User",
    )
    assert await db.fetchval("SELECT count(*) FROM app_user WHERE subject = 'cli-user'") == 1


class _JwksServer:
    """The identity provider's JWKS endpoint on loopback, counting the fetches it serves."""

    def __init__(self, jwks_path: Path) -> None:
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.fetches += 1
                body = jwks_path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.fetches = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/realms/utrecht/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _JwksServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


async def test_oidc_fetches_the_jwks_from_its_url(database_url, data_dir, tmp_path, db, idp_keys):
    jwks_path = tmp_path / "jwks.json"
    write_jwks(jwks_path, idp_keys[0])
    with _JwksServer(jwks_path) as idp:
        settings = make_settings(
            database_url, data_dir, auth_mode="oidc", jwt_issuer=OIDC_ISSUER, oidc_jwks_url=idp.url
        )
        async with app_client(settings) as client:
            response = await client.get(ME, headers=bearer(idp_keys[0].token("url-user")))
            assert response.status_code == 200, response.text
            await assert_refused(
                client, db, bearer(idp_keys[1].token("stranger")), "token_unknown_key", "stranger", users_before=1
            )
    assert idp.fetches == 1  # an unknown kid right after the first fetch does not make us fetch again
