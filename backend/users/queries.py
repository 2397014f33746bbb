"""SQL for users. One constant per statement; every value is a bind parameter."""

USER_COLUMNS = """id, issuer, subject, display_name, roles, regimes, teams, active, version, created_at, last_seen_at"""

BY_IDENTITY = f"SELECT {USER_COLUMNS} FROM app_user WHERE issuer = $1 AND subject = $2"
LOCK_BY_IDENTITY = f"{BY_IDENTITY} FOR UPDATE"

INSERT_FROM_TOKEN = f"""
INSERT INTO app_user (id, issuer, subject, display_name, roles, regimes, teams, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now())
ON CONFLICT (issuer, subject) DO NOTHING
RETURNING {USER_COLUMNS}
"""

REFRESH_FROM_TOKEN = f"""
UPDATE app_user
SET display_name = $2, roles = $3, regimes = $4, teams = $5, last_seen_at = now(), version = version + 1
WHERE id = $1
RETURNING {USER_COLUMNS}
"""

TOUCH = "UPDATE app_user SET last_seen_at = now() WHERE id = $1"

GET = f"SELECT {USER_COLUMNS} FROM app_user WHERE id = $1"

DISPLAY_NAMES = "SELECT id, display_name FROM app_user WHERE id = ANY ($1::uuid[])"
# Users' names (the subject when a user has none), ordered by name.
NAMES = """
SELECT id, coalesce(display_name, subject) AS name FROM app_user WHERE id = ANY ($1::uuid[])
ORDER BY coalesce(display_name, subject)
"""

# Keyset page ordered by (subject, id); filters are optional (NULL means no filter).
LIST = f"""
SELECT {USER_COLUMNS} FROM app_user
WHERE ($1::text IS NULL OR $1 = ANY (teams))
  AND ($2::text IS NULL OR $2 = ANY (roles))
  AND ($3::boolean IS NULL OR active = $3)
  AND ($4::text IS NULL OR (subject, id) > ($4, $5::uuid))
ORDER BY subject, id
LIMIT $6
"""

SET_ACTIVE = f"""
UPDATE app_user SET active = $3, version = version + 1
WHERE id = $1 AND version = $2
RETURNING {USER_COLUMNS}
"""

NOTIFY_CHANGED = "SELECT pg_notify('app_user_changed', $1::text)"
