"""The garbage collector tuned for a server process that runs for days.

Python's cyclic collector runs a young collection every 700 net allocations of container objects, and now and
then a full one over every object alive. In a server those are mostly the objects made at start (modules, the
app and its routes, the OpenAPI models, templates), which live as long as the process: a full collection walked
all of them again, stopping every request in flight for about 50 ms, and young collections cost about 4% of the
CPU of an inspection submission (measured with gc.callbacks under tests/bench/bench_inspections.py's load).

So, once the app is built: collect what start-up left, move the survivors out of the collector's sight
(gc.freeze: they are never freed anyway), and let more allocations pass between young collections. Requests
make few cycles (asyncio tasks and exceptions); reference counting frees the rest as before.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 5_000  # net container allocations between young collections (Python's default: 700)


def settle_after_start() -> None:
    """Freeze what exists now and widen the young generation; call once per server process, after start-up."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
