"""What a last onder dwangsom forfeits (Awb 5:32b, 5:33, 5:35), as plain arithmetic.

The sum is forfeited by law per unit that passes while the violation continues after the begunstigingstermijn:
per day (each day after the term's last day up to the day the continuation was observed), per week (each week
begun after the term), per violation observed, or at once (ineens: the whole sum when the term ends without
compliance). Together with what was forfeited before under the same decision it never exceeds the maximum.
The day of forfeiture is the first day a sum was forfeited: the day after the term for the units that run
with time and for ineens, the day the violation was observed for a dwangsom per violation. The payment term
(5:33) and the power to collect (5:35) count from it, not from the hercontrole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Forfeiture:
    units: int
    cents: int
    forfeited_on: date
    capped: bool


def forfeiture(
    *,
    unit: str,
    sum_cents: int,
    max_cents: int,
    so_far_cents: int,
    term_last_day: date,
    observed_on: date,
    violations_observed: int = 1,
) -> Forfeiture:
    """The sum forfeited when the continuation is observed on `observed_on` (after `term_last_day`)."""
    if observed_on <= term_last_day:
        raise ValueError("nothing is forfeited within the begunstigingstermijn")
    days = (observed_on - term_last_day).days
    units = {"per_day": days, "per_week": -(-days // 7), "per_violation": violations_observed, "ineens": 1}[unit]
    room = max(max_cents - so_far_cents, 0)
    cents = min(units * sum_cents, room)
    first_day = observed_on if unit == "per_violation" else term_last_day + timedelta(days=1)
    return Forfeiture(units=units, cents=cents, forfeited_on=first_day, capped=cents < units * sum_cents)
