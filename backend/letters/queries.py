"""SQL for letter templates and versions. One constant per statement; every value is a bind parameter."""

INSERT_TEMPLATE = """
INSERT INTO letter_template (kind, title) VALUES ($1, $2)
ON CONFLICT (kind) DO NOTHING
"""

# Serialises publications of one kind.
LOCK_TEMPLATE = "SELECT kind FROM letter_template WHERE kind = $1 FOR UPDATE"

SET_TEMPLATE_TITLE = "UPDATE letter_template SET title = $2, updated_at = now() WHERE kind = $1"

INSERT_VERSION = """
INSERT INTO letter_template_version (id, kind, version, title, valid_from, content, content_sha256, published_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
"""

VERSION_COLUMNS = "id, kind, version, title, valid_from, content_sha256, content"

LATEST_VERSION = f"""
SELECT {VERSION_COLUMNS} FROM letter_template_version
WHERE kind = $1
ORDER BY version DESC
LIMIT 1
"""

GET_VERSION = f"SELECT {VERSION_COLUMNS} FROM letter_template_version WHERE id = $1"
