"""The phone's clock: whether to trust the device times of a submission, and the time deadlines count from.

The server keeps the device times as sent and its own receipt time. The phone may send its HTTP Date header:
the skew is Date - receipt. The device times are suspect when the skew exceeds CLOCK_TOLERANCE, a device time
lies more than that after receipt, or the start lies more than MAX_AGE before it. `inspected_at` (the
violation date) is the finish time corrected by a known skew; the finish time when the clock is not suspect;
otherwise the receipt time.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from backend.core import calendar
from backend.core.errors import FieldError
from backend.inspections.models import InspectionSubmission

# Phones set their clocks from the network; more than an hour off means a clock set by hand or reset.
CLOCK_TOLERANCE = timedelta(hours=1)
# No inspection is finished a month after we receive it: such a time is a wrong date (e.g. year 2099),
# refused so the phone's user fixes it rather than it landing in deadlines.
FAR_FUTURE = timedelta(days=30)
# Phones may stay offline for weeks, but an inspection started more than a quarter before it arrives
# most likely carries a reset clock (e.g. 1970) and is flagged.
MAX_AGE = timedelta(days=90)
# One visit; a longer span means the start or finish time is wrong.
MAX_DURATION = timedelta(hours=24)


@dataclass(frozen=True)
class Clock:
    skew_seconds: int | None
    suspect: bool
    inspected_at: datetime
    problems: list[FieldError]


def clock_skew(date_header: str | None, received_at: datetime) -> int | None:
    """The phone's clock minus ours, from its HTTP Date header (when it sent); None without a usable one."""
    if not date_header:
        return None
    try:
        sent = email.utils.parsedate_to_datetime(date_header)
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        return round(sent.timestamp() - received_at.timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # RFC 9110: a recipient ignores an invalid Date


def _shifted(moment: datetime, seconds: float) -> datetime | None:
    try:
        return (moment + timedelta(seconds=seconds)).astimezone(UTC)
    except OverflowError:
        return None


def assess_clock(started: datetime, finished: datetime, reference: datetime, skew: int | None) -> Clock:
    """Whether to trust the device times, and the time deadlines count from (see the constants above).
    `reference` is when the inspection was first received."""
    known = skew or 0
    ref = reference.timestamp()
    problems = [
        FieldError(detail="in the far future: check the phone's date and time", pointer=f"/{name}")
        for name, moment in (("started_at", started), ("finished_at", finished))
        if moment.timestamp() - known > ref + FAR_FUTURE.total_seconds()
    ]
    suspect = (
        (skew is not None and abs(skew) > CLOCK_TOLERANCE.total_seconds())
        or finished.timestamp() > ref + CLOCK_TOLERANCE.total_seconds()
        or started.timestamp() - known < ref - MAX_AGE.total_seconds()
    )
    if skew is not None:
        inspected_at = _shifted(finished, -skew) or reference
    else:
        inspected_at = reference if suspect else (_shifted(finished, 0) or reference)
    if not problems and day_of(inspected_at) > day_of(reference):
        # The inspection date is the violation date: a fact cannot lie after the day we received it.
        problems.append(
            FieldError(
                pointer="/finished_at",
                detail=f"with the phone's clock correction the "
                f"inspection ends on {day_of(inspected_at)}, after the day it was received",
            )
        )
    return Clock(skew, suspect, inspected_at, problems)


def day_of(moment: datetime) -> date:
    """The day in Europe/Amsterdam: the date of an inspection and of its violations."""
    return moment.astimezone(calendar.AMSTERDAM).date()


def time_problems(data: InspectionSubmission) -> list[FieldError]:
    """The device times' own problems: out of range, finished before started, or more than one visit long."""
    problems = []
    for name in ("started_at", "finished_at"):
        if _shifted(getattr(data, name), 0) is None:
            problems.append(FieldError(detail="is out of range", pointer=f"/{name}"))
    if problems:
        return problems
    if data.finished_at < data.started_at:
        problems.append(FieldError(detail="is before started_at", pointer="/finished_at"))
    elif data.finished_at - data.started_at > MAX_DURATION:
        problems.append(FieldError(detail="is more than 24 hours after started_at", pointer="/finished_at"))
    return problems
