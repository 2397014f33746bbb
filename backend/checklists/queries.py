"""SQL for checklist templates and versions. One constant per statement; every value is a bind parameter."""

# A new template's row, or nothing when it exists; then LOCK_TEMPLATE serialises publications of one key.
INSERT_TEMPLATE = """
INSERT INTO checklist_template (key, regime, title) VALUES ($1, $2, $3)
ON CONFLICT (key) DO NOTHING
"""

LOCK_TEMPLATE = "SELECT key, regime FROM checklist_template WHERE key = $1 FOR UPDATE"

SET_TEMPLATE_TITLE = "UPDATE checklist_template SET title = $2, updated_at = now() WHERE key = $1"

LATEST_VERSION = """
SELECT version, content_sha256 FROM checklist_version
WHERE template_key = $1
ORDER BY version DESC
LIMIT 1
"""

# Every earlier version's question types, oldest first: a key keeps its type across all of them.
QUESTION_TYPES_HISTORY = """
SELECT version, question_types FROM checklist_version
WHERE template_key = $1
ORDER BY version
"""

INSERT_VERSION = """
INSERT INTO checklist_version (id, template_key, version, kind, title, valid_from, content, content_sha256,
                               question_types, published_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""

VERSION_COLUMNS = """v.id, v.template_key AS key, t.regime, v.kind, v.version, v.title, v.valid_from, v.published_at,
v.published_by, v.content_sha256"""

GET_VERSION = f"""
SELECT {VERSION_COLUMNS}, v.content
FROM checklist_version v JOIN checklist_template t ON t.key = v.template_key
WHERE v.id = $1
"""

# Several versions at once (phone sync).
GET_VERSIONS = f"""
SELECT {VERSION_COLUMNS}, v.content
FROM checklist_version v JOIN checklist_template t ON t.key = v.template_key
WHERE v.id = ANY ($1::uuid[])
"""

GET_VERSION_BY_NUMBER = f"""
SELECT {VERSION_COLUMNS}, v.content
FROM checklist_version v JOIN checklist_template t ON t.key = v.template_key
WHERE v.template_key = $1 AND v.version = $2
"""

# The latest version of each template whose regime the caller sees ('any' is seen by everyone).
LIST_CURRENT = """
SELECT DISTINCT ON (v.template_key)
       v.id, v.template_key AS key, t.regime, v.kind, v.version, v.title, v.valid_from, v.published_at, v.content_sha256
FROM checklist_version v JOIN checklist_template t ON t.key = v.template_key
WHERE t.regime = 'any' OR t.regime = ANY ($1::text[])
ORDER BY v.template_key, v.version DESC
"""
