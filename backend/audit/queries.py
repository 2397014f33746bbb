"""SQL for reading the audit trail."""

LIST_FOR_OBJECT = """
SELECT seq, id, occurred_at, actor_id, actor_label, action, object_type, object_id, request_id, reason,
       before, after, row_hash
FROM audit_event
WHERE object_type = $1 AND object_id = $2 AND seq > $3
ORDER BY seq
LIMIT $4
"""
