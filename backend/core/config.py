"""Settings: read once from environment variables into a validated, immutable Struct.

Every setting has a default that suits `make run`; production overrides them through the environment.
The README lists them all; `ENV_VARS` below is the single mapping from variable to field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

PROJECT_ROOT = Path(__file__).resolve().parents[2]

AuthMode = Literal["dev", "oidc"]
LogLevel = Literal["debug", "info", "warning", "error"]
AsymmetricAlgorithm = Literal["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]

AuthorityTerm = Literal["zienswijze", "begunstigingstermijn"]

Port = Annotated[int, Meta(ge=1, le=65535)]
PositiveInt = Annotated[int, Meta(ge=1)]
NonNegativeInt = Annotated[int, Meta(ge=0)]


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # The service's role (owns nothing, may only append to the audit trail) and the schema owner's, for migrations.
    database_url: str | None = None
    migration_database_url: str | None = None
    data_dir: str = str(PROJECT_ROOT / "var")
    migrations_dir: str = str(PROJECT_ROOT / "migrations")
    migrate_on_start: bool = True

    host: str = "127.0.0.1"
    port: Port = 8000
    workers: PositiveInt = 1
    log_level: LogLevel = "info"
    # On SIGTERM/SIGINT: how long requests in flight may take to finish before they are cut off.
    shutdown_timeout_s: Annotated[float, Meta(gt=0)] = 30.0

    db_pool_min: NonNegativeInt = 2
    db_pool_max: PositiveInt = 10
    db_statement_timeout_ms: PositiveInt = 15_000
    db_acquire_timeout_s: Annotated[float, Meta(gt=0)] = 5.0
    # The client side's limit: a server that does not answer at all (frozen, network gone) never reaches its own
    # statement_timeout, so the service stops waiting after this long (503). Above the statement timeout.
    db_query_timeout_s: Annotated[float, Meta(gt=0)] = 20.0
    # PgBouncer in transaction mode cannot keep asyncpg's named prepared statements between transactions.
    db_pgbouncer: bool = False

    auth_mode: AuthMode = "dev"
    jwt_issuer: str = "toezicht-dev"
    jwt_audience: str = "toezicht-api"
    jwt_leeway_s: Annotated[int, Meta(ge=0, le=60)] = 30
    oidc_jwks_url: str | None = None
    oidc_jwks_file: str | None = None
    oidc_algorithms: tuple[AsymmetricAlgorithm, ...] = ("RS256", "ES256")
    user_cache_s: NonNegativeInt = 30
    # The console's sign-in at the identity provider (oidc mode): Authorization Code with PKCE, a public client.
    oidc_client_id: str | None = None
    oidc_authorization_url: str | None = None
    oidc_token_url: str | None = None
    oidc_scope: str = "openid"

    idempotency_ttl_hours: PositiveInt = 7 * 24
    max_request_body_bytes: PositiveInt = 1_048_576
    rate_limit_per_minute: NonNegativeInt = 0
    # Response compression (brotli or gzip, as the client asks) of text responses of at least this many bytes;
    # smaller ones gain little and cost a compressor each. Off when a reverse proxy in front compresses.
    compression: bool = True
    compression_min_bytes: PositiveInt = 1024
    cors_origins: tuple[str, ...] = ()
    # Complaints: the window of the hot-spot list (an object's complaints in the last N days) when none is asked.
    complaint_hotspot_days: Annotated[int, Meta(ge=1, le=3660)] = 90
    # Terms the authority sets itself that follow the Algemene termijnenwet (art. 1 and 2) by policy, as the
    # statutory terms (bezwaar, payment under 5:33) do by law. Leave a type out to count it by the plain date.
    atw_authority_terms: tuple[AuthorityTerm, ...] = ("zienswijze", "begunstigingstermijn")

    # Evidence photos (backend/photos/). One upload at most this many bytes (25 MiB, the manifest's limit too).
    photo_max_bytes: PositiveInt = 26_214_400
    # Images with more pixels are refused before decoding (decompression bombs); phones take at most ~50 MP.
    photo_max_pixels: PositiveInt = 50_000_000
    # A photo uploaded before its inspection waits this long for it, then it is removed.
    photo_pending_hours: PositiveInt = 30 * 24
    # A resumable photo upload not completed within this long of its last append is removed with its bytes.
    photo_upload_expiry_hours: PositiveInt = 24

    # Phone sync (backend/sync/): feed rows older than this are removed; a phone whose cursor is older gets a
    # full sync.
    sync_feed_retention_days: PositiveInt = 30

    # Letters (backend/letters/): the letterhead (sender block, bezwaar address, court; JSON) and the logo (SVG).
    letterhead_file: str = str(PROJECT_ROOT / "schemas" / "letterhead" / "letterhead.json")
    letter_logo_file: str = str(PROJECT_ROOT / "schemas" / "letterhead" / "logo.svg")
    # The function under which an enforcement officer signs in mandaat (users carry a name, not a job title).
    letter_signer_function: str = "toezichthouder Handhaving Bijzondere Wetten"

    # Performance indicators (backend/reports/): one report statement may run this long (a year over a million
    # inspections takes seconds; the default request timeout is shorter).
    report_statement_timeout_ms: PositiveInt = 120_000

    # Webhooks (backend/outbox/): the hosts subscription URLs may name (host names, `*.domain`, `*` for any
    # public host, IP addresses or networks); a private, loopback or link-local address only when named here.
    webhook_allowed_hosts: tuple[str, ...] = ()
    # Plain http to receivers: for development and tests only.
    webhook_allow_http: bool = False
    # After a secret rotation the previous secret signs too (a second signature) for this long.
    webhook_rotation_overlap_hours: PositiveInt = 24
    # The dispatcher: run inside `toezicht serve` (off when `toezicht dispatch` runs apart).
    outbox_dispatcher: bool = True
    # Retries back off exponentially (base * 2^(attempt-1), at most retry_max_s, with jitter) until max_attempts;
    # then the message is a dead letter. The defaults try for about a day and a half.
    outbox_max_attempts: Annotated[int, Meta(ge=1, le=100)] = 16
    outbox_retry_base_s: Annotated[float, Meta(gt=0)] = 30.0
    outbox_retry_max_s: Annotated[float, Meta(gt=0)] = 6 * 3600.0
    # A claimed message is due again after this long (a dispatcher that died mid-delivery); above the timeout.
    outbox_lease_s: Annotated[float, Meta(gt=0)] = 60.0
    outbox_delivery_timeout_s: Annotated[float, Meta(gt=0)] = 10.0
    # How often an idle dispatcher looks for due work (a NOTIFY wakes it at once for new messages).
    outbox_poll_interval_s: Annotated[float, Meta(gt=0)] = 1.0
    # Deliveries in flight at once per dispatcher.
    outbox_concurrency: Annotated[int, Meta(ge=1, le=200)] = 10
    # E-mail to reporters (backend/outbox/email.py), sent by the dispatcher. Without a host, e-mail messages
    # wait in the outbox (pending) until one is configured.
    smtp_host: str | None = None
    smtp_port: Annotated[int, Meta(ge=1, le=65535)] = 587
    smtp_starttls: bool = True
    # SMTPS (port 465): TLS from the first byte, as RFC 8314 prefers; STARTTLS is then moot.
    smtp_implicit_tls: bool = False
    # The certificate authorities that verify the server's certificate (PEM), for a relay with the
    # municipality's own CA; unset, the system's.
    smtp_ca_file: str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "noreply@toezicht-bw.nl"

    def __post_init__(self) -> None:
        if self.db_pool_min > self.db_pool_max:
            raise SettingsError("TOEZICHT_DB_POOL_MIN must not exceed TOEZICHT_DB_POOL_MAX")
        if self.db_query_timeout_s * 1000 <= self.db_statement_timeout_ms:
            raise SettingsError("TOEZICHT_DB_QUERY_TIMEOUT_S must exceed TOEZICHT_DB_STATEMENT_TIMEOUT_MS")
        if self.auth_mode == "oidc":
            if self.jwt_issuer == "toezicht-dev":
                raise SettingsError("TOEZICHT_AUTH_MODE=oidc needs TOEZICHT_JWT_ISSUER (your identity provider)")
            if not (self.oidc_jwks_url or self.oidc_jwks_file):
                raise SettingsError("TOEZICHT_AUTH_MODE=oidc needs TOEZICHT_OIDC_JWKS_URL or TOEZICHT_OIDC_JWKS_FILE")
            if not self.oidc_algorithms:
                raise SettingsError("TOEZICHT_OIDC_ALGORITHMS must name at least one algorithm")
        if self.smtp_ca_file and not Path(self.smtp_ca_file).is_file():
            raise SettingsError("TOEZICHT_SMTP_CA_FILE must name a readable PEM file")
        if self.outbox_lease_s <= self.outbox_delivery_timeout_s:
            raise SettingsError("TOEZICHT_OUTBOX_LEASE_S must exceed TOEZICHT_OUTBOX_DELIVERY_TIMEOUT_S")
        for name in ("oidc_jwks_url", "oidc_authorization_url", "oidc_token_url"):
            url = getattr(self, name)
            if url and not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
                raise SettingsError(f"TOEZICHT_{name.upper()} must use https")

    @property
    def dev_signing_key_path(self) -> Path:
        return Path(self.data_dir) / "dev-signing-key.pem"

    @property
    def owner_database_url(self) -> str | None:
        """Migrations run as the schema's owner; without a separate URL, as the service's own role."""
        return self.migration_database_url or self.database_url

    @property
    def embedded_pgdata(self) -> Path:
        return Path(self.data_dir) / "pgdata"


# Environment variable -> Settings field. Lists are comma-separated.
_URL_FIELDS = ("database_url", "migration_database_url")
ENV_VARS: dict[str, str] = {
    **{field.upper(): field for field in _URL_FIELDS},
    **{f"TOEZICHT_{field.upper()}": field for field in Settings.__struct_fields__ if field not in _URL_FIELDS},
}
_LIST_FIELDS = {"oidc_algorithms", "cors_origins", "atw_authority_terms", "webhook_allowed_hosts"}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build Settings from the environment; raise SettingsError naming the variable on a bad value."""
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for var, field in ENV_VARS.items():
        value = environ.get(var)
        if value is None or value == "":
            continue
        raw[field] = [part.strip() for part in value.split(",") if part.strip()] if field in _LIST_FIELDS else value
    raw.update(overrides)
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_name_the_variable(str(exc))) from None


def _name_the_variable(message: str) -> str:
    # msgspec says e.g. "Expected `int`, got `str` - at `$.port`": name the variable, not the field.
    if " - at `$." in message:
        problem, _, where = message.partition(" - at `$.")
        field = where.split("`")[0].split("[")[0]
        var = next((v for v, f in ENV_VARS.items() if f == field), field)
        return f"{var}: {problem}"
    return message
