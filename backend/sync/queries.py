"""SQL for phone sync: the change feed (sync_feed, written by the triggers of migrations/0005_sync.sql).

xid8 values travel as text: asyncpg has no codec for them."""

from __future__ import annotations

# The oldest transaction still running when this statement's snapshot was taken: every transaction below
# it has finished (committed or rolled back), and every transaction not finished has an id at or above it.
HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"

# One page of the caller's ($1) feed after the cursor ($2 xid, $3 seq), only rows of finished transactions,
# with the horizon itself (the LEFT JOIN returns it on one row with NULLs when the page is empty).
FEED_PAGE = """
WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
SELECT h.xmin::text AS horizon, f.xid::text AS xid, f.seq, f.entity, f.entity_id
FROM horizon h
LEFT JOIN LATERAL (
    SELECT xid, seq, entity, entity_id FROM sync_feed
    WHERE user_id = $1 AND (xid, seq) > ($2::text::xid8, $3::bigint) AND xid < h.xmin
    ORDER BY xid, seq
    LIMIT $4
) f ON true
ORDER BY f.xid, f.seq
"""
