"""Dutch words and figures in letters: euro amounts in figures and in words, and dates.

A besluit states a boete in figures and in words, so a misprinted figure cannot change the amount. Numbers are
written as the Taalunie spells them: one word up to a thousand (driehonderdzestig, tweeëntwintig), a space after
duizend, miljoen and miljard (duizend driehonderdzestig, twee miljoen vijfhonderdduizend).
"""

from __future__ import annotations

from datetime import date

_UNITS = (
    "nul",
    "een",
    "twee",
    "drie",
    "vier",
    "vijf",
    "zes",
    "zeven",
    "acht",
    "negen",
    "tien",
    "elf",
    "twaalf",
    "dertien",
    "veertien",
    "vijftien",
    "zestien",
    "zeventien",
    "achttien",
    "negentien",
)
_TENS = ("", "", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig")
_LARGE = ((1_000_000_000, "miljard"), (1_000_000, "miljoen"))
_MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
MAX_NUMBER = 999_999_999_999


def number_words(number: int) -> str:
    """A whole number from 0 to MAX_NUMBER in Dutch words; a lone 1 is 'één' (stressed, so it cannot be read
    as the article)."""
    if not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"number_words takes 0 to {MAX_NUMBER}")
    if number == 0:
        return "nul"
    words = _words(number)
    return "één" if words == "een" else words


def _words(number: int) -> str:
    parts = []
    for size, name in _LARGE:
        count, number = divmod(number, size)
        if count:
            parts.append(f"{'één' if count == 1 else _below_thousand(count)} {name}")
    thousands, number = divmod(number, 1000)
    if thousands:
        parts.append(("" if thousands == 1 else _below_thousand(thousands)) + "duizend")
    if number:
        parts.append(_below_thousand(number))
    return " ".join(parts)


def _below_thousand(number: int) -> str:
    hundreds, rest = divmod(number, 100)
    head = "" if not hundreds else ("honderd" if hundreds == 1 else _UNITS[hundreds] + "honderd")
    return head + (_below_hundred(rest) if rest else "")


def _below_hundred(number: int) -> str:
    if number < 20:
        return _UNITS[number]
    tens, unit = divmod(number, 10)
    if not unit:
        return _TENS[tens]
    joint = "ën" if _UNITS[unit].endswith("e") else "en"  # tweeëntwintig, drieëntwintig: the trema splits 'ee'
    return _UNITS[unit] + joint + _TENS[tens]


def euro_words(cents: int) -> str:
    """An amount in euro cents in words: 'duizend driehonderdzestig euro', '... euro en vijftig cent'."""
    if cents < 0:
        raise ValueError("an amount is not negative")
    euros, rest = divmod(cents, 100)
    if not rest:
        return f"{number_words(euros)} euro"
    if not euros:
        return f"{number_words(rest)} cent"
    return f"{number_words(euros)} euro en {number_words(rest)} cent"


def euro_figures(cents: int) -> str:
    """An amount in euro cents as Dutch figures: '€ 1.360,00'."""
    if cents < 0:
        raise ValueError("an amount is not negative")
    euros, rest = divmod(cents, 100)
    return f"€ {euros:,}".replace(",", ".") + f",{rest:02d}"


def long_date(day: date) -> str:
    """A date as Dutch letters write it: '4 december 2026'."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


_SENTENCE_ENDS = (".", "!", "?", ".)", '."', ".”")


def sentence(text: str) -> str:
    """A text the letter follows with another sentence, ending as a sentence does: checklists describe a
    violation as a heading ("Geen leidinggevende aanwezig"), which would otherwise run into the next sentence."""
    text = text.strip()
    return text if not text or text.endswith(_SENTENCE_ENDS) else f"{text}."


def count(number: int, singular: str, plural: str) -> str:
    """A number of units as a letter writes it: up to twenty in words, larger in figures, and the noun singular for
    one: 'één week', 'twee weken', 'veertien dagen', '104 weken'."""
    amount = number_words(number) if 0 <= number <= 20 else str(number)
    return f"{amount} {singular if number == 1 else plural}"
