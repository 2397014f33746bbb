"""Two database roles: the schema's owner runs migrations, the service runs as a role that owns nothing.

The service's role may read and write the tables it works with, but only INSERT and SELECT the audit trail,
and it can neither TRUNCATE nor ALTER anything (so it cannot disable the audit trail's triggers either). The
link of an audit event at commit is done by a SECURITY DEFINER function owned by the owner (migration 0017).
Grants are given again after every migration run, so tables added later are covered too.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg


class RoleError(RuntimeError):
    pass


def user_of(url: str) -> str | None:
    """The role name in a connection URL (None when the URL leaves it to the environment)."""
    username = urlsplit(url).username
    return unquote(username) if username else None


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The same server and database as `url`, as another role."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "") + "@" + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


# One statement per privilege, all on the owner's current schema; the role name is passed as a parameter and
# quoted by format('%I'). Tables: the DML the service uses; audit_event: only INSERT and SELECT;
# schema_migration: read (the service checks at start that its schema is current).
_GRANT = """
DO $$
DECLARE
    role_name text := current_setting('toezicht.runtime_role');
    schema_name text := current_schema();
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, role_name);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM %I', schema_name, role_name);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', schema_name, role_name);
    EXECUTE format('REVOKE UPDATE, DELETE ON %I.audit_event FROM %I', schema_name, role_name);
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I.schema_migration FROM %I', schema_name, role_name);
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', schema_name, role_name);
END;
$$
"""


async def grant_runtime_role(conn: asyncpg.Connection, role: str) -> None:
    """Give `role` exactly the privileges the service needs (idempotent; run as the owner)."""
    row = await conn.fetchrow(
        "SELECT rolsuper, rolname = current_user OR coalesce(pg_has_role($1, (SELECT relowner FROM pg_class"
        " WHERE oid = to_regclass('audit_event')), 'MEMBER'), false) AS is_owner FROM pg_roles WHERE rolname = $1",
        role,
    )
    if row is None:
        raise RoleError(f"the service's database role {role} does not exist; create it (LOGIN, nothing more)")
    if row["rolsuper"] or row["is_owner"]:
        raise RoleError(f"the service's database role {role} must be neither a superuser nor the schema owner")
    async with conn.transaction():
        await conn.execute("SELECT set_config('toezicht.runtime_role', $1, true)", role)
        await conn.execute(_GRANT)


async def ensure_login_role(conn: asyncpg.Connection, role: str, password: str | None = None) -> None:
    """Create `role` as a plain login role when missing (needs CREATEROLE); set its password when given."""
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    quoted = await conn.fetchval("SELECT quote_ident($1)", role)
    if not exists:
        await conn.execute(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT")
    if password is not None:
        literal = await conn.fetchval("SELECT quote_literal($1)", password)
        await conn.execute(f"ALTER ROLE {quoted} PASSWORD {literal}")


async def is_privileged(conn: asyncpg.Connection) -> bool:
    """Whether the connected role could rewrite the audit trail (superuser, or owner of audit_event)."""
    return bool(
        await conn.fetchval(
            "SELECT rolsuper OR coalesce(pg_has_role(current_user, (SELECT relowner FROM pg_class"
            " WHERE oid = to_regclass('audit_event')), 'USAGE'), false) FROM pg_roles WHERE rolname = current_user"
        )
    )
