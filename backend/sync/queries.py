"""SQL for phone sync: the change feed (sync_feed, written by the triggers of migrations/0005_sync.sql).

xid8 values travel as text: asyncpg has no codec for them."""

from __future__ import annotations

# The oldest transaction still running when this statement's snapshot was taken: every transaction below
# it has finished (committed or rolled back), and every transaction not finished has an id at or above it.
HORIZON = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text"

# The highest feed position ever purged (none: nothing was).
PURGED = "SELECT purged_xid::text AS xid, purged_seq AS seq FROM sync_feed_purge"

# Remove a batch of rows written before $1 (at most $2) and remember the highest position removed.
PURGE_FEED = """
WITH gone AS (
    DELETE FROM sync_feed WHERE seq IN (
        SELECT seq FROM sync_feed WHERE written_at < $1 ORDER BY written_at LIMIT $2
    ) RETURNING xid, seq
), highest AS (
    SELECT xid, seq FROM gone ORDER BY xid DESC, seq DESC LIMIT 1
), recorded AS (
    INSERT INTO sync_feed_purge (purged_xid, purged_seq) SELECT xid, seq FROM highest
    ON CONFLICT (only_row) DO UPDATE SET (purged_xid, purged_seq) = (EXCLUDED.purged_xid, EXCLUDED.purged_seq)
    WHERE (sync_feed_purge.purged_xid, sync_feed_purge.purged_seq) < (EXCLUDED.purged_xid, EXCLUDED.purged_seq)
)
SELECT count(*) FROM gone
"""

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
