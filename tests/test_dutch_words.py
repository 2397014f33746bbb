"""Amounts in Dutch words and figures, and dates, as letters print them."""

from __future__ import annotations

from datetime import date

import pytest

from backend.letters.dutch import MAX_NUMBER, count, euro_figures, euro_words, long_date, number_words, sentence


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "nul"),
        (1, "één"),
        (7, "zeven"),
        (13, "dertien"),
        (20, "twintig"),
        (21, "eenentwintig"),
        (22, "tweeëntwintig"),
        (23, "drieëntwintig"),
        (38, "achtendertig"),
        (99, "negenennegentig"),
        (100, "honderd"),
        (101, "honderdeen"),
        (122, "honderdtweeëntwintig"),
        (340, "driehonderdveertig"),
        (680, "zeshonderdtachtig"),
        (1000, "duizend"),
        (1020, "duizend twintig"),
        (1360, "duizend driehonderdzestig"),
        (2040, "tweeduizend veertig"),
        (2720, "tweeduizend zevenhonderdtwintig"),
        (21_000, "eenentwintigduizend"),
        (100_000, "honderdduizend"),
        (1_000_000, "één miljoen"),
        (2_500_000, "twee miljoen vijfhonderdduizend"),
        (101_000_000, "honderdeen miljoen"),
        (1_000_000_001, "één miljard een"),
        (
            MAX_NUMBER,
            "negenhonderdnegenennegentig miljard negenhonderdnegenennegentig miljoen "
            "negenhonderdnegenennegentigduizend negenhonderdnegenennegentig",
        ),
    ],
)
def test_numbers_in_words_as_the_taalunie_spells_them(number, words):
    assert number_words(number) == words


@pytest.mark.parametrize(
    ("cents", "words", "figures"),
    [
        (136_000, "duizend driehonderdzestig euro", "€ 1.360,00"),
        (102_000, "duizend twintig euro", "€ 1.020,00"),
        (100, "één euro", "€ 1,00"),
        (50, "vijftig cent", "€ 0,50"),
        (1, "één cent", "€ 0,01"),
        (250_075, "tweeduizend vijfhonderd euro en vijfenzeventig cent", "€ 2.500,75"),
        (
            123_456_789,
            "één miljoen tweehonderdvierendertigduizend vijfhonderdzevenenzestig euro en negenentachtig cent",
            "€ 1.234.567,89",
        ),
    ],
)
def test_euro_amounts_in_words_and_figures(cents, words, figures):
    assert (euro_words(cents), euro_figures(cents)) == (words, figures)


@pytest.mark.parametrize("bad", [-1, MAX_NUMBER + 1])
def test_numbers_outside_the_range_are_refused(bad):
    with pytest.raises(ValueError):
        number_words(bad)
    with pytest.raises(ValueError):
        euro_words(-100)


def test_dates_in_dutch():
    assert long_date(date(2026, 3, 3)) == "3 maart 2026"
    assert long_date(date(2026, 12, 31)) == "31 december 2026"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Geen leidinggevende aanwezig", "Geen leidinggevende aanwezig."),
        ("  Verkoop van meer dan 5 gram per dag ", "Verkoop van meer dan 5 gram per dag."),
        ("Al een zin.", "Al een zin."),
        ("Waarom geen vergunning?", "Waarom geen vergunning?"),
        ("(Zie bijlage.)", "(Zie bijlage.)"),
        ("", ""),
    ],
)
def test_a_finding_ends_as_a_sentence(text, expected):
    assert sentence(text) == expected


def test_periods_are_counted_in_words_up_to_twenty_with_the_noun_in_the_right_number():
    assert count(1, "week", "weken") == "één week"
    assert count(2, "week", "weken") == "twee weken"
    assert count(14, "dag", "dagen") == "veertien dagen"
    assert count(20, "maand", "maanden") == "twintig maanden"
    assert count(104, "week", "weken") == "104 weken"
