"""The named fields a letter template may use, per kind of letter, and how each is made from the data.

A field is a text the service derives from `LetterData` (and the letterhead): `sanction.amount_words` is the
boete in Dutch words, `terms.bezwaar_last_day` the last day of the bezwaar term by the Atw calendar. Each field
names the data it comes from, so a template that uses a field whose data is missing is refused with that data's
JSON pointer (422), and publishing refuses a template that uses a field its kind does not offer.

Terms (Awb and Atw):
- bezwaar: six weeks from the day after sending (6:7, 6:8), a statutory term, so the Atw applies;
- beroep after a beslissing op bezwaar: likewise six weeks (6:7);
- zienswijze and begunstigingstermijn: set by the authority; the Atw applies when the setting
  `atw_authority_terms` names them (default);
- payment of a forfeited dwangsom: six weeks after forfeiture (5:33), statutory;
- decision on bezwaar: six weeks after the bezwaar term ends, twelve with an advisory committee (7:10).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from backend.core import calendar
from backend.letters import dutch
from backend.letters.models import DECISIONS, LETTER_KINDS, LetterData

BEZWAAR_WEEKS = 6
PAYMENT_WEEKS = 6
BEZWAAR_DECISION_WEEKS = 6
BEZWAAR_DECISION_WEEKS_COMMITTEE = 12
STATUTORY_TERMS = frozenset({"bezwaar", "beroep"})  # the payment term (5:33) is _payment_due

_UNIT_TEXT = {"per_violation": "per overtreding", "per_day": "per dag", "per_week": "per week", "once": "ineens"}
_OUTCOME_TEXT = {"gegrond": "gegrond", "ongegrond": "ongegrond", "niet_ontvankelijk": "niet-ontvankelijk"}
_LID_WORDS = ("eerste", "tweede", "derde", "vierde", "vijfde", "zesde", "zevende", "achtste", "negende", "tiende")


@dataclass(frozen=True)
class Context:
    """What fields are made from: the data, the letterhead, and which authority terms follow the Atw."""

    data: LetterData
    letterhead: Mapping[str, Any]
    atw_terms: Collection[str]


@dataclass(frozen=True)
class Field:
    """A field's sources (dotted paths in LetterData, or 'letterhead.x') and how its text is made from them."""

    sources: tuple[str, ...]
    make: Callable[..., str]


def _text(value: Any) -> str:
    return str(value)


def _field(source: str, make: Callable[..., str] = _text) -> Field:
    return Field((source,), make)


# The makers that also take the Context (after the source values).
_WANT_CONTEXT: set[Callable[..., str]] = set()


def _with_context(make: Callable[..., str]) -> Callable[..., str]:
    """Mark a maker that also takes the Context (after the source values)."""
    _WANT_CONTEXT.add(make)
    return make


def _term(kind: str, weeks: int = 0, days: int = 0) -> Callable[..., str]:
    """The last day of a term of the given length counted from a date source (the sending date)."""

    @_with_context
    def make(start: date, context: Context) -> str:
        # Statutory terms (bezwaar, beroep) always follow the Atw; terms the authority sets itself
        # follow it when the setting names them.
        atw = kind in STATUTORY_TERMS or kind in context.atw_terms
        return dutch.long_date(calendar.term_end(start, weeks=weeks, days=days, atw=atw))

    return make


def lid_text(lid: str | None) -> str:
    """'eerste lid' for '1'; a lid that is not a small number stays as it is ('lid 4a')."""
    if lid is None:
        return ""
    return f"{_LID_WORDS[int(lid) - 1]} lid" if lid.isdigit() and 1 <= int(lid) <= len(_LID_WORDS) else f"lid {lid}"


def article_text(finding: Any) -> str:
    """'artikel 20, eerste lid, van de Alcoholwet'; a provision without a number as it is named: 'gedoogcriterium G
    van de Aanwijzing Opiumwet'."""
    if not finding.article[:1].isdigit() and finding.article != "?":
        return f"{finding.article} van de {finding.law}"
    lid = f", {lid_text(finding.lid)}," if finding.lid else ""
    return f"artikel {finding.article}{lid} van de {finding.law}"


# Periods in words with the noun in the right number: a letter never reads "1 weken".
def _weeks(number: int) -> str:
    return dutch.count(number, "week", "weken")


def _months(number: int) -> str:
    return dutch.count(number, "maand", "maanden")


def _days(number: int) -> str:
    return dutch.count(number, "dag", "dagen")


def _dates(days: list[date]) -> str:
    texts = [dutch.long_date(day) for day in sorted(set(days))]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " en " + texts[-1]


@_with_context
def _zienswijze_last_day(sent_on: date, weeks: int, context: Context) -> str:
    return _term("zienswijze", weeks=weeks)(sent_on, context)


@_with_context
def _begunstiging_last_day(sent_on: date, days: int, context: Context) -> str:
    return _term("begunstigingstermijn", days=days)(sent_on, context)


def _forfeiture_day(collection: Any) -> date:
    """The day the dwangsom was forfeited, from which payment (5:33) and the collection limit (5:35) count: not the
    hercontrole's day, which may be weeks later, unless the data gives no other (a dwangsom per violation)."""
    return cast(date, collection.forfeited_on or collection.observed_on)


def _payment_due(forfeited_on: date) -> date:
    """The last day to pay a sum forfeited on that day: six weeks later (5:33), statutory, so the Atw applies."""
    return calendar.term_end(forfeited_on, weeks=PAYMENT_WEEKS, atw=True)


def _payment_instruction(collection: Any, sent_on: date) -> str:
    """What the addressee must do about the forfeited sum. It is due six weeks after forfeiture by law (5:33), not
    after this letter, and an authority usually sends the invorderingsbeschikking only once that term has passed:
    the letter then states the sum was due, instead of a last day to pay that already lies in the past."""
    due = _payment_due(_forfeiture_day(collection))
    if due >= sent_on:
        return f"U moet het bedrag uiterlijk op {dutch.long_date(due)} betalen"
    return (
        f"Het bedrag had uiterlijk op {dutch.long_date(due)} betaald moeten zijn (artikel 5:33 Algemene wet "
        "bestuursrecht). Betaal het daarom direct"
    )


def _bezwaar_decision_due(decision_sent_on: date, committee: bool) -> str:
    term_end = calendar.term_end(decision_sent_on, weeks=BEZWAAR_WEEKS)
    weeks = BEZWAAR_DECISION_WEEKS_COMMITTEE if committee else BEZWAAR_DECISION_WEEKS
    return dutch.long_date(calendar.term_end(term_end, weeks=weeks))


COMMON: dict[str, Field] = {
    "case.kenmerk": _field("case.kenmerk"),
    "case.object_name": _field("case.object_name"),
    "case.address": _field("case.address"),
    "addressee.name": _field("addressee.name"),
    "letter.date": _field("terms.sent_on", dutch.long_date),
    "signer.name": _field("signer.name"),
    "signer.function": _field("signer.function"),
    "signer.on_behalf_of": _field("signer.on_behalf_of"),
    "authority.name": _field("letterhead.authority"),
    "authority.municipality": _field("letterhead.municipality"),
}
FACTS: dict[str, Field] = {
    "facts.inspection_dates": _field("facts.inspection_dates", _dates),
    # "Ik verzoek u de overtredingen te beëindigen" when the letter lists more than one finding.
    "facts.violations": _field(
        "facts.findings", lambda findings: "de overtreding" if len(findings) == 1 else "de overtredingen"
    ),
}
SANCTION: dict[str, Field] = {
    "sanction.legal_basis": _field("sanction.legal_basis"),
    "sanction.motivering": _field("sanction.motivering"),
}
SANCTION_BASIS_ONLY: dict[str, Field] = {"sanction.legal_basis": SANCTION["sanction.legal_basis"]}
RECHTSMIDDELEN: dict[str, Field] = {
    "terms.bezwaar_last_day": Field(("terms.sent_on",), _term("bezwaar", weeks=BEZWAAR_WEEKS)),
    "authority.bezwaar_address": _field("letterhead.bezwaar_address"),
    "authority.bezwaar_digital": _field("letterhead.bezwaar_digital"),
    "authority.court": _field("letterhead.court"),
}
ZIENSWIJZE: dict[str, Field] = {
    "terms.zienswijze_weeks": _field("terms.zienswijze_weeks"),
    "terms.zienswijze_term": _field("terms.zienswijze_weeks", _weeks),
    "terms.zienswijze_last_day": Field(("terms.sent_on", "terms.zienswijze_weeks"), _zienswijze_last_day),
}
EARLIER_DECISION: dict[str, Field] = {
    "earlier_decision.kenmerk": _field("earlier_decision.kenmerk"),
    "earlier_decision.date": _field("earlier_decision.sent_on", dutch.long_date),
    "earlier_decision.title": _field("earlier_decision.title"),
}
ORDER: dict[str, Field] = {
    "sanction.order": _field("sanction.order_text"),
    "sanction.begunstiging_days": _field("sanction.begunstiging_days"),
    "sanction.begunstiging_term": _field("sanction.begunstiging_days", _days),
    "terms.begunstiging_last_day": Field(("terms.sent_on", "sanction.begunstiging_days"), _begunstiging_last_day),
}
BY_DECISION: dict[str, dict[str, Field]] = {
    "boete": {
        "sanction.amount": _field("sanction.amount_cents", dutch.euro_figures),
        "sanction.amount_words": _field("sanction.amount_cents", dutch.euro_words),
    },
    "last_onder_dwangsom": {
        **ORDER,
        "sanction.dwangsom_amount": _field("sanction.dwangsom_cents", dutch.euro_figures),
        "sanction.dwangsom_amount_words": _field("sanction.dwangsom_cents", dutch.euro_words),
        "sanction.dwangsom_unit": _field("sanction.dwangsom_unit", _UNIT_TEXT.__getitem__),
        "sanction.dwangsom_max": _field("sanction.dwangsom_max_cents", dutch.euro_figures),
        "sanction.dwangsom_max_words": _field("sanction.dwangsom_max_cents", dutch.euro_words),
    },
    "last_onder_bestuursdwang": ORDER,
    "schorsing": {"sanction.weeks": _field("sanction.weeks"), "sanction.duration": _field("sanction.weeks", _weeks)},
    "intrekking": {},
    "ontzegging_19a": {
        "sanction.weeks": _field("sanction.weeks"),
        "sanction.duration": _field("sanction.weeks", _weeks),
    },
    "sluiting_13b": {
        "sanction.months": _field("sanction.months"),
        "sanction.duration": _field("sanction.months", _months),
    },
}
BESLUIT_EXTRA: dict[str, Field] = {"sanction.zienswijze": _field("sanction.zienswijze")}
COLLECTION: dict[str, Field] = {
    # The day of the hercontrole that found the last not complied with.
    "collection.observed_on": _field("collection.observed_on", dutch.long_date),
    "collection.forfeited_on": _field("collection", lambda found: dutch.long_date(_forfeiture_day(found))),
    "collection.amount": _field("collection.forfeited_cents", dutch.euro_figures),
    "collection.amount_words": _field("collection.forfeited_cents", dutch.euro_words),
    "collection.units": _field("collection.units"),
    "collection.payment_due": _field("collection", lambda found: dutch.long_date(_payment_due(_forfeiture_day(found)))),
    "collection.payment": Field(("collection", "terms.sent_on"), _payment_instruction),
    "collection.limitation_day": _field(
        "collection", lambda found: dutch.long_date(calendar.years_after(_forfeiture_day(found), 1))
    ),
}
BEZWAAR: dict[str, Field] = {
    "bezwaar.received_on": _field("bezwaar.received_on", dutch.long_date),
    "bezwaar.decision_due": Field(("earlier_decision.sent_on", "bezwaar.advisory_committee"), _bezwaar_decision_due),
    "authority.court": _field("letterhead.court"),
}
BEZWAAR_DECISION: dict[str, Field] = {
    "bezwaar.outcome": _field("bezwaar.outcome", _OUTCOME_TEXT.__getitem__),
    "bezwaar.reasoning": _field("bezwaar.reasoning"),
    "terms.beroep_last_day": Field(("terms.sent_on",), _term("beroep", weeks=BEZWAAR_WEEKS)),
    "authority.appeal_court": _field("letterhead.appeal_court"),
}
COMPLAINT: dict[str, Field] = {
    "complaint.reference": _field("complaint.reference"),
    "complaint.received_on": _field("complaint.received_on", dutch.long_date),
    "complaint.subject": _field("complaint.subject"),
    "complaint.outcome": _field("complaint.outcome"),
}

# The item fields of the one list a template may repeat: the findings, each with its article.
FINDING_FIELDS: dict[str, Callable[[Any], str]] = {
    "observed_on": lambda finding: dutch.long_date(finding.observed_on),
    "description": lambda finding: dutch.sentence(finding.description),
    "article": article_text,
    "law": lambda finding: finding.law,
}
LISTS: dict[str, str] = {"facts.findings": "facts.findings"}

# What every letter of a kind must state (DOMAIN.md "Letters"): publishing refuses a template without it.
_MUST_DECISION: dict[str, tuple[str, ...]] = {
    "boete": ("sanction.amount", "sanction.amount_words"),
    "last_onder_dwangsom": (
        "sanction.order",
        "terms.begunstiging_last_day",
        "sanction.dwangsom_amount",
        "sanction.dwangsom_unit",
        "sanction.dwangsom_max",
    ),
    "last_onder_bestuursdwang": ("sanction.order", "terms.begunstiging_last_day"),
    "schorsing": ("sanction.duration",),
    "intrekking": (),
    "ontzegging_19a": ("sanction.duration",),
    "sluiting_13b": ("sanction.duration",),
}
_MUST_CLAUSE = ("terms.bezwaar_last_day", "authority.bezwaar_address", "authority.court")


def _catalogue() -> tuple[dict[str, dict[str, Field]], dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    fields: dict[str, dict[str, Field]] = {}
    required: dict[str, tuple[str, ...]] = {}
    lists: dict[str, frozenset[str]] = {}
    facts_list = frozenset({"facts.findings"})
    fields["waarschuwing"] = {**COMMON, **FACTS, **SANCTION_BASIS_ONLY}
    required["waarschuwing"] = ("facts.inspection_dates",)
    lists["waarschuwing"] = facts_list
    for decision in DECISIONS:
        specific = BY_DECISION[decision]
        fields[f"voornemen_{decision}"] = {**COMMON, **FACTS, **SANCTION, **specific, **ZIENSWIJZE}
        # A voornemen announces the decision; the begunstigingstermijn's last day follows from the besluit's date.
        announced = tuple(
            "sanction.begunstiging_term" if name == "terms.begunstiging_last_day" else name
            for name in _MUST_DECISION[decision]
        )
        required[f"voornemen_{decision}"] = (
            "facts.inspection_dates",
            "sanction.legal_basis",
            "terms.zienswijze_last_day",
            *announced,
        )
        fields[f"besluit_{decision}"] = {**COMMON, **FACTS, **SANCTION, **specific, **BESLUIT_EXTRA, **RECHTSMIDDELEN}
        # A besluit states its reasons (Awb 3:46), what it decides, and how to object (3:45).
        required[f"besluit_{decision}"] = (
            "facts.inspection_dates",
            "sanction.legal_basis",
            "sanction.motivering",
            *_MUST_DECISION[decision],
            *_MUST_CLAUSE,
        )
        lists[f"voornemen_{decision}"] = lists[f"besluit_{decision}"] = facts_list
    fields["invorderingsbeschikking"] = {**COMMON, **EARLIER_DECISION, **COLLECTION, **RECHTSMIDDELEN}
    required["invorderingsbeschikking"] = (
        "earlier_decision.kenmerk",
        "collection.amount",
        "collection.amount_words",
        "collection.payment",
        *_MUST_CLAUSE,
    )
    fields["bezwaar_ontvangstbevestiging"] = {**COMMON, **EARLIER_DECISION, **BEZWAAR}
    required["bezwaar_ontvangstbevestiging"] = (
        "bezwaar.received_on",
        "earlier_decision.kenmerk",
        "bezwaar.decision_due",
    )
    fields["beslissing_op_bezwaar"] = {**COMMON, **EARLIER_DECISION, **BEZWAAR, **BEZWAAR_DECISION}
    required["beslissing_op_bezwaar"] = (
        "bezwaar.outcome",
        "bezwaar.reasoning",
        "earlier_decision.kenmerk",
        "terms.beroep_last_day",
        "authority.appeal_court",
    )
    fields["klacht_antwoord"] = {**COMMON, **COMPLAINT}
    required["klacht_antwoord"] = ("complaint.reference", "complaint.outcome")
    for kind in LETTER_KINDS:
        lists.setdefault(kind, frozenset())
    assert set(fields) == set(LETTER_KINDS), "every kind of letter has its fields"
    return fields, required, lists


FIELDS, REQUIRED, LIST_FIELDS = _catalogue()


# --- making the values ----------------------------------------------------------------------------------------


class MissingData(Exception):
    """Data a field needs is absent; `pointer` is its JSON pointer in the request data."""

    def __init__(self, pointer: str) -> None:
        super().__init__(pointer)
        self.pointer = pointer


def source_value(context: Context, source: str) -> Any:
    """The value at a dotted source path; MissingData (with its pointer) when it or a part above it is absent."""
    head, _, rest = source.partition(".")
    value: Any = context.letterhead if head == "letterhead" else getattr(context.data, head)
    for name in rest.split(".") if rest else ():
        if value is None:
            break
        value = value.get(name) if isinstance(value, Mapping) else getattr(value, name)
    if value is None:
        raise MissingData("/" + source.replace(".", "/"))
    return value


def value(context: Context, field: Field) -> str:
    values = [source_value(context, source) for source in field.sources]
    if field.make in _WANT_CONTEXT:
        return field.make(*values, context)
    return field.make(*values)


def finding_items(context: Context, item_fields: Collection[str]) -> list[dict[str, str]]:
    """Each finding's item fields (only those the template uses)."""
    findings = source_value(context, "facts.findings")
    return [{name: FINDING_FIELDS[name](finding) for name in item_fields} for finding in findings]
