"""The legal calendar (backend/core/calendar.py): Atw holidays, art. 1 and 2 extensions, working days.

The calendar is pure date arithmetic that every deadline in enforcement and complaints rests on, so it is
tested directly, rule by rule, with dates a jurist can check in a diary, and with properties over a century.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core import calendar
from backend.core.calendar import (
    CalendarDataError,
    add_working_days,
    easter_sunday,
    holidays,
    is_holiday,
    is_working_day,
    kings_day,
    load_equated_days,
    term_end,
    working_days_between,
)

# Easter Sundays from published tables, including the earliest (22 March) and latest (25 April) possible.
KNOWN_EASTERS = [
    date(1981, 4, 19),
    date(2000, 4, 23),
    date(2008, 3, 23),
    date(2011, 4, 24),
    date(2019, 4, 21),
    date(2024, 3, 31),
    date(2025, 4, 20),
    date(2026, 4, 5),
    date(2027, 3, 28),
    date(2038, 4, 25),
    date(2285, 3, 22),
]


@pytest.mark.parametrize("easter", KNOWN_EASTERS, ids=str)
def test_easter_is_computed(easter: date) -> None:
    assert easter_sunday(easter.year) == easter


def test_the_holidays_of_2026() -> None:
    names = dict(holidays(2026).items())
    assert [(day, name) for day, name in names.items() if "Gelijkgestelde" not in name] == [
        (date(2026, 1, 1), "Nieuwjaarsdag"),
        (date(2026, 4, 3), "Goede Vrijdag"),
        (date(2026, 4, 6), "Tweede Paasdag"),
        (date(2026, 4, 27), "Koningsdag"),
        (date(2026, 5, 5), "Bevrijdingsdag"),
        (date(2026, 5, 14), "Hemelvaartsdag"),
        (date(2026, 5, 25), "Tweede Pinksterdag"),
        (date(2026, 12, 25), "Eerste Kerstdag"),
        (date(2026, 12, 26), "Tweede Kerstdag"),
    ]
    # The royal decree equates 2 January and the Friday after Hemelvaartsdag in 2026.
    assert {day for day, name in names.items() if "Gelijkgestelde" in name} == {date(2026, 1, 2), date(2026, 5, 15)}


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2025, date(2025, 4, 26)),  # 27 April 2025 is a Sunday: Koningsdag moves to Saturday the 26th
        (2026, date(2026, 4, 27)),
        (2014, date(2014, 4, 26)),  # 27 April 2014 was a Sunday too
        (2006, date(2006, 4, 29)),  # Koninginnedag: 30 April 2006 was a Sunday
        (2013, date(2013, 4, 30)),
    ],
)
def test_koningsdag_sunday_rule(year: int, expected: date) -> None:
    assert kings_day(year) == expected
    assert is_holiday(expected)
    assert not is_holiday(date(year, 4, 27)) or expected == date(year, 4, 27)


def test_moving_holidays_follow_easter_in_another_year() -> None:
    # 2027: Easter 28 March -> Goede Vrijdag 26 March, Hemelvaart 6 May, Pinkstermaandag 17 May.
    assert {date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)} <= set(holidays(2027))
    assert not is_holiday(date(2027, 3, 28))  # Easter Sunday itself is a Sunday, not an Atw holiday


def test_5_mei_is_a_holiday_every_year() -> None:
    assert all(is_holiday(date(year, 5, 5)) for year in range(2000, 2040))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 11, 24), True),  # a Tuesday
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 11, 29), False),  # Sunday
        (date(2026, 12, 25), False),  # Eerste Kerstdag
        (date(2026, 4, 3), False),  # Goede Vrijdag
        (date(2026, 5, 15), False),  # equated by royal decree
        (date(2025, 5, 16), True),  # an ordinary Friday
    ],
)
def test_working_days(day: date, working: bool) -> None:
    assert is_working_day(day) is working


class TestTermEnd:
    """Bezwaar is six weeks from the day after sending (Awb 6:7, 6:8): the same weekday six weeks on."""

    def test_six_weeks_end_on_the_same_weekday(self) -> None:
        assert term_end(date(2026, 11, 24), weeks=6) == date(2027, 1, 5)

    def test_without_the_atw_the_plain_end_stands(self) -> None:
        assert term_end(date(2026, 11, 13), weeks=6, atw=False) == date(2026, 12, 25)

    def test_an_end_on_christmas_runs_past_the_weekend(self) -> None:
        # Sent Friday 13 November: six weeks end on Friday 25 December -> Monday 28 December.
        assert term_end(date(2026, 11, 13), weeks=6) == date(2026, 12, 28)

    def test_an_end_on_saturday_moves_to_monday(self) -> None:
        assert term_end(date(2026, 11, 21), weeks=1) == date(2026, 11, 30)

    def test_an_end_on_sunday_moves_to_monday(self) -> None:
        assert term_end(date(2026, 11, 22), weeks=1) == date(2026, 11, 30)

    def test_an_end_on_goede_vrijdag_skips_easter_monday(self) -> None:
        assert term_end(date(2026, 3, 27), weeks=1) == date(2026, 4, 7)

    def test_an_end_on_koningsdag(self) -> None:
        assert term_end(date(2026, 4, 20), weeks=1) == date(2026, 4, 28)

    def test_an_end_on_an_equated_day(self) -> None:
        # Friday 15 May 2026 is equated by royal decree: the term runs to Monday 18 May.
        assert term_end(date(2026, 5, 8), weeks=1) == date(2026, 5, 18)

    def test_a_term_across_the_year_boundary(self) -> None:
        # Ends on Nieuwjaarsdag 2027 (Friday) -> Monday 4 January.
        assert term_end(date(2026, 12, 18), weeks=2) == date(2027, 1, 4)
        # Ends on 1 January 2026 -> 2 January is equated -> the weekend -> Monday 5 January.
        assert term_end(date(2025, 12, 25), weeks=1) == date(2026, 1, 5)

    def test_art_2_needs_two_free_days_in_a_short_term(self) -> None:
        # Three days from a Friday: Sat, Sun, Mon hold one working day; art. 2 adds Tuesday (art. 1 alone: Monday).
        assert term_end(date(2026, 11, 27), days=3) == date(2026, 12, 1)

    def test_art_2_over_easter(self) -> None:
        # Three days from Thursday 2 April 2026: Goede Vrijdag, Saturday, Easter Sunday; Easter Monday is a holiday
        # too, so the two free days are Tuesday 7 and Wednesday 8 April (art. 1 alone would stop at the 7th).
        assert term_end(date(2026, 4, 2), days=3) == date(2026, 4, 8)

    def test_art_2_does_not_apply_to_terms_under_three_days(self) -> None:
        assert term_end(date(2026, 11, 26), days=2) == date(2026, 11, 30)  # Saturday -> Monday (art. 1 only)

    def test_a_term_must_last(self) -> None:
        with pytest.raises(ValueError):
            term_end(date(2026, 11, 24))


class TestWorkingDays:
    def test_add_working_days_skips_weekend_and_holidays(self) -> None:
        assert add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
        assert add_working_days(date(2026, 11, 24), 5) == date(2026, 12, 1)

    def test_add_working_days_across_the_year(self) -> None:
        # 1 January 2027 is a holiday, 2 and 3 January a weekend.
        assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)

    def test_zero_days_is_the_start(self) -> None:
        assert add_working_days(date(2026, 11, 28), 0) == date(2026, 11, 28)

    def test_working_days_between_counts_the_handling_time(self) -> None:
        assert working_days_between(date(2026, 12, 24), date(2026, 12, 31)) == 4  # 28, 29, 30 and 31 December
        assert working_days_between(date(2026, 12, 31), date(2026, 12, 24)) == 0


class TestEquatedDaysFile:
    def test_the_shipped_file_names_a_decree_for_each_day(self) -> None:
        days = load_equated_days(calendar.EQUATED_DAYS_FILE)
        assert date(2024, 12, 27) in days and "Besluit gelijkstelling" in days[date(2024, 12, 27)]

    def test_a_malformed_day_is_an_error(self, tmp_path) -> None:
        path = tmp_path / "days.json"
        path.write_text(json.dumps({"decrees": [{"title": "Besluit", "days": ["2026-13-01"]}]}))
        with pytest.raises(CalendarDataError, match="2026-13-01"):
            load_equated_days(path)

    def test_a_decree_without_title_is_an_error(self, tmp_path) -> None:
        path = tmp_path / "days.json"
        path.write_text(json.dumps({"decrees": [{"days": ["2026-05-15"]}]}))
        with pytest.raises(CalendarDataError, match="title"):
            load_equated_days(path)


days_in_range = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=400, deadline=None)
@given(start=days_in_range, length=st.integers(min_value=1, max_value=120))
def test_a_computed_end_is_a_working_day_never_before_the_plain_end(start: date, length: int) -> None:
    end = term_end(start, days=length)
    plain = start + timedelta(days=length)
    assert is_working_day(end)
    assert end >= plain
    # It is the first day that satisfies both articles: the day before would not.
    if end > plain:
        before = end - timedelta(days=1)
        assert not is_working_day(before) or (length >= 3 and working_days_between(start, before) < 2)
    if length >= 3:
        assert working_days_between(start, end) >= 2


@settings(max_examples=300, deadline=None)
@given(start=days_in_range, count=st.integers(min_value=0, max_value=60))
def test_add_working_days_counts_exactly(start: date, count: int) -> None:
    end = add_working_days(start, count)
    assert working_days_between(start, end) == count
    assert count == 0 or is_working_day(end)
