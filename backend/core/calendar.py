"""Dutch legal calendar: the holidays of the Algemene termijnenwet (Atw) and the deadlines computed with them.

- Atw art. 3: Nieuwjaarsdag, Tweede Paasdag, Hemelvaartsdag, Tweede Pinksterdag, both Kerstdagen, Koningsdag
  and 5 mei are algemeen erkende feestdagen; Goede Vrijdag is equated by law (lid 2), further days by royal
  decree (lid 3, schemas/calendar/atw-equated-days.json). Easter is computed (Gregorian computus).
- Atw art. 1: a term that ends on a Saturday, Sunday or holiday runs on to the next day that is none of these.
- Atw art. 2: a term of at least three days is extended, where needed, until it contains two days that are
  not a Saturday, Sunday or holiday.
- Complaint handling counts working days: Monday to Friday without these holidays.

Legal deadlines are dates (Europe/Amsterdam), never times.
"""

from __future__ import annotations

import functools
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from backend.core.config import PROJECT_ROOT
from backend.core.errors import BadRequest

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
EQUATED_DAYS_FILE = PROJECT_ROOT / "schemas" / "calendar" / "atw-equated-days.json"
ATW_ART2_MIN_TERM_DAYS = 3
ATW_ART2_FREE_DAYS = 2


def today() -> date:
    """Today in the Netherlands: legal terms, permits and due dates count calendar days in Europe/Amsterdam."""
    return datetime.now(AMSTERDAM).date()


def ensure_in_order(from_: date | None, to: date | None) -> None:
    """400 `invalid_date_range` for a period that ends before it starts; either end may be open."""
    if from_ is not None and to is not None and to < from_:
        raise BadRequest("`to` is before `from`.", code="invalid_date_range")


class CalendarDataError(ValueError):
    """The equated-days data file is malformed; the message says where."""


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_offset = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_offset) // 451
    month, day = divmod(h + weekday_offset - 7 * m + 114, 31)
    return date(year, month, day + 1)


def kings_day(year: int) -> date:
    """Koningsdag: 27 April, or 26 April when the 27th is a Sunday (Koninginnedag 30/29 April before 2014).

    Before 1980 the Queen's day was another date; deadlines that old are never computed, so the rule of
    1980-2013 stands in for them rather than failing.
    """
    day = date(year, 4, 27) if year >= 2014 else date(year, 4, 30)
    return day - timedelta(days=1) if day.weekday() == 6 else day


@functools.cache
def holidays(year: int) -> dict[date, str]:
    """Every day of `year` that the Atw treats as an algemeen erkende feestdag, with its name."""
    easter = easter_sunday(year)
    days = {
        date(year, 1, 1): "Nieuwjaarsdag",
        easter - timedelta(days=2): "Goede Vrijdag",
        easter + timedelta(days=1): "Tweede Paasdag",
        kings_day(year): "Koningsdag",
        date(year, 5, 5): "Bevrijdingsdag",
        easter + timedelta(days=39): "Hemelvaartsdag",
        easter + timedelta(days=50): "Tweede Pinksterdag",
        date(year, 12, 25): "Eerste Kerstdag",
        date(year, 12, 26): "Tweede Kerstdag",
    }
    for day, title in _equated_days().items():
        if day.year == year:
            days.setdefault(day, f"Gelijkgestelde dag ({title})")
    return dict(sorted(days.items()))


def is_holiday(day: date) -> bool:
    return day in holidays(day.year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an Atw holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days after `start` (start itself does not count)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    for _ in range(days):
        day = next_working_day(day + timedelta(days=1))
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start): a handling time."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count


def years_after(day: date, years: int) -> date:
    """The same date `years` later: a term of years that starts the day after `day` ends on it (Awb 5:35: one year
    after the day of forfeiture). From 29 February that date does not exist; the term ends on the 28th, the last
    day of the year that began on 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def term_end(start_event: date, *, weeks: int = 0, days: int = 0, atw: bool = True) -> date:
    """The last day of a term that starts the day after `start_event` (e.g. the sending of a decision).

    Without the Atw the last day is simply `start_event` plus the term: six weeks after a Tuesday ends on the
    Tuesday six weeks later (Awb 6:8). With the Atw, art. 2 first extends a term of three days or more until
    it holds two days that are not a Saturday, Sunday or holiday, then art. 1 moves an end that falls on such
    a day to the next day that is none of them.
    """
    length = weeks * 7 + days
    if length < 1:
        raise ValueError("a term lasts at least one day")
    end = start_event + timedelta(days=length)
    if not atw:
        return end
    if length >= ATW_ART2_MIN_TERM_DAYS:
        while working_days_between(start_event, end) < ATW_ART2_FREE_DAYS:
            end += timedelta(days=1)
    return next_working_day(end)


@functools.cache
def _equated_days() -> dict[date, str]:
    return load_equated_days(EQUATED_DAYS_FILE)


def load_equated_days(path: Path) -> dict[date, str]:
    """Day -> decree title from the data file; a malformed file is an error, never silently skipped."""
    try:
        decrees = json.loads(path.read_text(encoding="utf-8"))["decrees"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CalendarDataError(f"{path.name}: cannot read the decrees ({exc})") from None
    days: dict[date, str] = {}
    for index, decree in enumerate(decrees):
        title = decree.get("title") if isinstance(decree, dict) else None
        if not isinstance(title, str) or not title.strip() or not isinstance(decree.get("days"), list):
            raise CalendarDataError(f"{path.name}: decree {index} needs a title and a list of days")
        for raw in decree["days"]:
            try:
                days[date.fromisoformat(raw)] = title
            except (TypeError, ValueError):
                raise CalendarDataError(
                    f"{path.name}: decree {index} has a day that is not YYYY-MM-DD: {raw!r}"
                ) from None
    return days
