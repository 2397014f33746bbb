"""The ids the server gives what it creates: time-ordered UUIDs (RFC 9562 version 7).

A random (version 4) key lands on a random leaf page of its index, so once an index outgrows memory nearly
every insert reads and dirties a page of its own; a time-ordered key lands on the rightmost leaf, which stays
in memory however large the table grows. Ids a phone generates for what it creates offline (inspections,
photos) are kept exactly as sent: they are the phone's idempotency keys.

SQL that makes ids itself (one row per subscription, say) calls the database function uuid7() (migration
0080), built the same way but without the counter below.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COUNTER_MAX = 0xFFF  # the 12 bits after the version (RFC 9562's rand_a) count ids within one millisecond

_lock = threading.Lock()  # handlers may run in threads
_last_ms = 0
_last_counter = 0


def new_id() -> UUID:
    """A new id: 48 bits of Unix milliseconds, a counter within the millisecond, then random bits.

    Each id this process makes sorts after the one before, even within a millisecond or when the clock steps
    back (the counter then carries on from the last millisecond used)."""
    global _last_ms, _last_counter
    now_ms = time.time_ns() // 1_000_000
    with _lock:
        if now_ms > _last_ms:
            # Start low in the millisecond with room to count: a random start keeps ids of processes apart.
            unix_ms, counter = now_ms, int.from_bytes(os.urandom(2), "big") >> 6
        elif _last_counter < _COUNTER_MAX:
            unix_ms, counter = _last_ms, _last_counter + 1
        else:
            unix_ms, counter = _last_ms + 1, 0
        _last_ms, _last_counter = unix_ms, counter
    random_bits = int.from_bytes(os.urandom(8), "big") >> 2  # 62 bits
    return UUID(int=unix_ms << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | random_bits)


def moment_of(id: UUID) -> datetime:
    """When a version 7 id was made, to the millisecond."""
    return EPOCH + timedelta(milliseconds=id.int >> 80)
