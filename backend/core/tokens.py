"""Bearer JWT verification (python-jose) and the keys it trusts.

python-jose is permissive by default (no `algorithms` means the token's own `alg` is believed; a missing
`exp`, `aud` or `iss` passes; a JWK Set is tried key by key; `crit` is ignored). So we use it for the
signature only (`jws.verify` with one key and one pinned algorithm) and check every claim ourselves.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Literal, TypeGuard, get_args

import httpx
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jws
from jose.backends.base import Key
from jose.exceptions import JOSEError
from jose.utils import base64url_encode

from backend.core.config import Settings
from backend.core.errors import Unauthorized

MAX_TOKEN_BYTES = 8 * 1024
MAX_JWKS_BYTES = 512 * 1024
JWKS_REFETCH_INTERVAL_S = 60.0
DEV_ALGORITHM = "ES256"
_VERIFIED_CACHE_SIZE = 4096

# The roles and regimes a token's claims may name; other values are dropped.
Role = Literal["inspector", "coordinator", "enforcement_officer", "complaints_officer", "admin", "auditor"]
Regime = Literal["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]
ROLES: tuple[Role, ...] = get_args(Role)
REGIMES: tuple[Regime, ...] = get_args(Regime)


class Claims(msgspec.Struct, frozen=True):
    """The verified claims we act on. Unknown roles and regimes are dropped, not trusted."""

    iss: str
    sub: str
    exp: int
    name: str | None = None
    roles: tuple[str, ...] = ()
    regimes: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()


def _reject(code: str, detail: str) -> Unauthorized:
    return Unauthorized(detail, code=code)


class KeySet:
    """Trusted verification keys by `kid`, each pinned to the algorithms it may be used with."""

    def __init__(self, jwks: dict[str, Any], allowed_algorithms: tuple[str, ...]) -> None:
        self.allowed = allowed_algorithms
        self._jwks: dict[str, dict[str, Any]] = {}
        for entry in jwks.get("keys", []):
            if isinstance(entry, dict) and isinstance(entry.get("kid"), str) and entry.get("use", "sig") == "sig":
                self._jwks[entry["kid"]] = entry
        self._constructed: dict[tuple[str, str], Key] = {}

    def __contains__(self, kid: str) -> bool:
        return kid in self._jwks

    def key_for(self, kid: str, alg: str) -> Key:
        entry = self._jwks[kid]
        if alg not in self.allowed or entry.get("alg", alg) != alg or not _kty_fits(entry.get("kty"), alg):
            raise _reject("token_algorithm", "The token's algorithm is not allowed for its key.")
        cache_key = (kid, alg)
        if cache_key not in self._constructed:
            self._constructed[cache_key] = jwk.construct(entry, alg)
        return self._constructed[cache_key]


def _kty_fits(kty: Any, alg: str) -> bool:
    return (kty == "RSA" and alg[:2] in {"RS", "PS"}) or (kty == "EC" and alg.startswith("ES"))


class KeySource:
    """Where a KeySet comes from. `refresh` may be called on an unknown kid; it decides how often to look."""

    async def current(self) -> KeySet:
        raise NotImplementedError

    async def refresh(self) -> KeySet:
        return await self.current()


class StaticKeySource(KeySource):
    def __init__(self, keys: KeySet) -> None:
        self.keys = keys

    async def current(self) -> KeySet:
        return self.keys


class JwksKeySource(KeySource):
    """An identity provider's JWKS from a URL or a file, cached; refetched on an unknown kid at most once
    per JWKS_REFETCH_INTERVAL_S, so forged kids cannot make us hammer the provider."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.oidc_jwks_url
        self.file = settings.oidc_jwks_file
        self.algorithms = tuple(settings.oidc_algorithms)
        self._keys: KeySet | None = None
        self._fetched_at = -JWKS_REFETCH_INTERVAL_S
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def current(self) -> KeySet:
        if self._keys is None:
            return await self.refresh()
        return self._keys

    async def refresh(self) -> KeySet:
        async with self._lock:
            if self._keys is not None and time.monotonic() - self._fetched_at < JWKS_REFETCH_INTERVAL_S:
                return self._keys
            self._fetched_at = time.monotonic()
            self.fetch_count += 1
            try:
                self._keys = KeySet(await self._load(), self.algorithms)
            except (OSError, ValueError, httpx.HTTPError) as exc:
                if self._keys is None:
                    raise _reject("token_key_unavailable", "The identity provider's keys are not available.") from exc
            return self._keys

    async def _load(self) -> dict[str, Any]:
        if self.file:
            raw = await asyncio.to_thread(Path(self.file).read_bytes)
        else:
            assert self.url
            async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                raw = response.content
        if len(raw) > MAX_JWKS_BYTES:
            raise ValueError("JWKS too large")
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("JWKS is not an object")
        return data


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str, audience: str, leeway_s: int) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_s
        # Verified tokens are re-used until they expire: a phone sends the same token many times, and a
        # signature check costs far more than the rest of a small request. Time claims are re-checked.
        self._verified: dict[str, Claims] = {}

    def known(self, token: str) -> Claims | None:
        """The claims of a token verified before (its time claims checked again), or None for a token not seen:
        a phone's next request costs a dictionary lookup, not even an await (tests/bench/bench_http.py)."""
        cached = self._verified.get(token)
        if cached is not None and cached.exp + self.leeway < time.time():
            raise _reject("token_expired", "The token has expired.")
        return cached

    async def verify(self, token: str) -> Claims:
        known = self.known(token)
        if known is not None:
            return known
        claims = await self._verify_uncached(token, time.time())
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    async def _verify_uncached(self, token: str, now: float) -> Claims:
        if len(token) > MAX_TOKEN_BYTES:
            raise _reject("token_too_large", "The token is larger than 8 KB.")
        if token.count(".") != 2:
            raise _reject("token_malformed", "The token is not a signed JWT (JWS compact form).")
        try:
            header = jws.get_unverified_header(token)
        except JOSEError:
            raise _reject("token_malformed", "The token header cannot be read.") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg.lower() == "none" or alg.upper().startswith("HS"):
            raise _reject("token_algorithm", "The token's algorithm is not allowed.")
        if "crit" in header:
            raise _reject("token_malformed", "The token has critical header parameters we do not support.")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise _reject("token_unknown_key", "The token names no known signing key.")
        keys = await self.keys.current()
        if kid not in keys:
            keys = await self.keys.refresh()
            if kid not in keys:
                raise _reject("token_unknown_key", "The token names no known signing key.")
        try:
            payload = jws.verify(token, keys.key_for(kid, alg), algorithms=[alg])
        except JOSEError:
            raise _reject("token_signature", "The token signature is not valid.") from None
        return self._check_claims(payload, now)

    def _check_claims(self, payload: bytes, now: float) -> Claims:
        try:
            raw = msgspec.json.decode(payload)
        except msgspec.DecodeError:
            raise _reject("token_malformed", "The token payload is not JSON.") from None
        if not isinstance(raw, dict):
            raise _reject("token_malformed", "The token payload is not an object.")
        exp, nbf, iat = raw.get("exp"), raw.get("nbf"), raw.get("iat")
        if not _is_number(exp):
            raise _reject("token_claims", "The token has no expiry (exp).")
        if exp + self.leeway < now:
            raise _reject("token_expired", "The token has expired.")
        if nbf is not None and (not _is_number(nbf) or nbf - self.leeway > now):
            raise _reject("token_not_yet_valid", "The token is not valid yet (nbf).")
        if iat is not None and (not _is_number(iat) or iat - self.leeway > now):
            raise _reject("token_not_yet_valid", "The token was issued in the future (iat).")
        if raw.get("iss") != self.issuer:
            raise _reject("token_issuer", "The token was not issued by our identity provider.")
        aud = raw.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if self.audience not in audiences:
            raise _reject("token_audience", "The token is not meant for this API (aud).")
        sub = raw.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 255:
            raise _reject("token_claims", "The token has no subject (sub).")
        return Claims(
            iss=self.issuer,
            sub=sub,
            exp=int(exp),
            name=_short_text(raw.get("name")),
            roles=_known(raw.get("roles"), ROLES),
            regimes=_known(raw.get("regimes"), REGIMES),
            teams=_team_ids(raw.get("teams")),
        )


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _short_text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


def _known(value: Any, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(sorted({v for v in value if isinstance(v, str) and v in allowed}))


def _team_ids(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(sorted({v for v in value if isinstance(v, str) and 0 < len(v) <= 64}))[:50]


# --- development keys -------------------------------------------------------------------------------


def load_or_create_dev_key(path: Path) -> bytes:
    """The development signing key (PEM, EC P-256), created on first use. Concurrent workers race
    safely: the file is created exclusively, and the loser reads the winner's key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    return path.read_bytes()


def public_jwk(private_pem: bytes) -> dict[str, Any]:
    """The public JWK for a private key, with a kid that is the RFC 7638 thumbprint."""
    public = jwk.construct(private_pem, DEV_ALGORITHM).public_key().to_dict()
    thumb_input = json.dumps({k: public[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    kid = base64url_encode(hashlib.sha256(thumb_input.encode()).digest()).decode()
    return {**public, "kid": kid, "use": "sig", "alg": DEV_ALGORITHM}


def mint_dev_token(private_pem: bytes, claims: dict[str, Any]) -> str:
    kid = public_jwk(private_pem)["kid"]
    token: str = jws.sign(
        msgspec.json.encode(claims), private_pem, headers={"kid": kid, "typ": "JWT"}, algorithm=DEV_ALGORITHM
    )
    return token


def build_verifier(settings: Settings) -> TokenVerifier:
    if settings.auth_mode == "oidc":
        source: KeySource = JwksKeySource(settings)
    else:
        pem = load_or_create_dev_key(settings.dev_signing_key_path)
        source = StaticKeySource(KeySet({"keys": [public_jwk(pem)]}, (DEV_ALGORITHM,)))
    return TokenVerifier(
        source, issuer=settings.jwt_issuer, audience=settings.jwt_audience, leeway_s=settings.jwt_leeway_s
    )
