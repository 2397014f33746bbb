"""The data a letter is made from, and what rendering gives back.

`LetterData` is what a caller (the enforcement procedure, complaint handling) hands to the letters service:
plain facts, money in euro cents, dates as dates. The service derives what a letter states from it (amounts
in words, the last day of each term by the Atw calendar) and fills the template version's named fields.
A part a kind of letter does not need may be left out; a part its template needs and the data lacks is a
422 naming that part, never a letter with a hole in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.core.errors import FieldProblems

Decision = Literal[
    "boete",
    "last_onder_dwangsom",
    "last_onder_bestuursdwang",
    "schorsing",
    "intrekking",
    "ontzegging_19a",
    "sluiting_13b",
]
DECISIONS: tuple[Decision, ...] = get_args(Decision)
LetterKind = Literal[
    "waarschuwing",
    "voornemen_boete",
    "voornemen_last_onder_dwangsom",
    "voornemen_last_onder_bestuursdwang",
    "voornemen_schorsing",
    "voornemen_intrekking",
    "voornemen_ontzegging_19a",
    "voornemen_sluiting_13b",
    "besluit_boete",
    "besluit_last_onder_dwangsom",
    "besluit_last_onder_bestuursdwang",
    "besluit_schorsing",
    "besluit_intrekking",
    "besluit_ontzegging_19a",
    "besluit_sluiting_13b",
    "invorderingsbeschikking",
    "bezwaar_ontvangstbevestiging",
    "beslissing_op_bezwaar",
    "klacht_antwoord",
]
LETTER_KINDS: tuple[LetterKind, ...] = get_args(LetterKind)
DwangsomUnit = Literal["per_violation", "per_day", "per_week", "once"]
BezwaarOutcome = Literal["gegrond", "ongegrond", "niet_ontvankelijk"]

Line = Annotated[str, Meta(min_length=1, max_length=300, pattern="^[^\x00-\x1f]*$")]
Paragraph = Annotated[str, Meta(min_length=1, max_length=20_000, pattern="^[^\x00]*$")]
Cents = Annotated[int, Meta(ge=1, le=100_000_000_000)]


class Addressee(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who receives the letter: the operator of the object, or the addressee named on the step."""

    name: Line
    attention: Line | None = None
    street: Line
    postcode: Line
    city: Line
    email: Line | None = None
    letters_by_email: Annotated[
        bool,
        Meta(
            description="The addressee made known that letters reach them at `email` (Awb 2:14 lid 1): only then a "
            "sent letter goes by e-mail; otherwise it is posted, whatever address is on record"
        ),
    ] = False

    def letters_email(self) -> str | None:
        """The address letters go to by e-mail; None when they go by post (no address, or no wish for e-mail)."""
        return self.email if self.letters_by_email else None

    def problems(self, problems: FieldProblems, at: str = "") -> None:
        """What the schema cannot say: letters go by e-mail only to an address."""
        if self.letters_by_email and not self.email:
            problems.add(f"{at}/letters_by_email", "letters go by e-mail only to an e-mail address: give `email` too")


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One violation found: what was seen, when, and the article it breaks."""

    observed_on: date
    description: Paragraph
    law: Line
    article: Line
    lid: Line | None = None


class Facts(msgspec.Struct, frozen=True, kw_only=True):
    inspection_dates: Annotated[list[date], Meta(min_length=1, max_length=100)]
    findings: Annotated[list[Finding], Meta(min_length=1, max_length=200)]


class Sanction(msgspec.Struct, frozen=True, kw_only=True):
    """The decision and its terms. Which fields a letter needs depends on its kind (see letters.fields)."""

    decision: Decision
    legal_basis: Paragraph
    motivering: Paragraph | None = None
    amount_cents: Cents | None = None
    recidive: bool = False
    order_text: Paragraph | None = None
    begunstiging_days: Annotated[int, Meta(ge=1, le=365)] | None = None
    dwangsom_cents: Cents | None = None
    dwangsom_unit: DwangsomUnit | None = None
    dwangsom_max_cents: Cents | None = None
    weeks: Annotated[int, Meta(ge=1, le=104)] | None = None
    months: Annotated[int, Meta(ge=1, le=60)] | None = None
    zienswijze: Paragraph | None = None


class Terms(msgspec.Struct, frozen=True, kw_only=True):
    """The sending date (the letter's date: it starts the bezwaar term, Awb 6:8) and the terms the letter sets."""

    sent_on: date
    zienswijze_weeks: Annotated[int, Meta(ge=1, le=12)] | None = None


class Signer(msgspec.Struct, frozen=True, kw_only=True):
    """The officer who signs; `on_behalf_of` is the body whose power is used in mandaat (None: own power)."""

    name: Line
    function: Line
    on_behalf_of: Line | None = None


class EarlierDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The besluit an invorderingsbeschikking or a bezwaar letter refers to."""

    kenmerk: Line
    sent_on: date
    title: Line


class Collection(msgspec.Struct, frozen=True, kw_only=True):
    """Invordering: the dwangsom forfeited after a hercontrole found the violation continuing (Awb 5:31d, 5:37).

    `observed_on` is the day of that hercontrole; `forfeited_on` the day of forfeiture, from which the payment term
    (5:33) and the collection limit (5:35) count: for a dwangsom per day, per week or at once the day after the
    begunstigingstermijn, for one per violation (or when not given) the hercontrole's day."""

    observed_on: date
    forfeited_cents: Cents
    units: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    forfeited_on: date | None = None


class Bezwaar(msgspec.Struct, frozen=True, kw_only=True):
    received_on: date
    outcome: BezwaarOutcome | None = None
    reasoning: Paragraph | None = None
    advisory_committee: bool = False


class Complaint(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a reporter: what they reported and what was done (no data about the offender)."""

    reference: Line
    received_on: date
    subject: Paragraph
    outcome: Paragraph


class CaseRef(msgspec.Struct, frozen=True, kw_only=True):
    kenmerk: Annotated[str, Meta(min_length=1, max_length=64, pattern="^[A-Za-z0-9][A-Za-z0-9./_-]*$")]
    object_name: Line | None = None
    address: Line | None = None


class LetterData(msgspec.Struct, frozen=True, kw_only=True):
    addressee: Addressee
    case: CaseRef
    terms: Terms
    signer: Signer
    facts: Facts | None = None
    sanction: Sanction | None = None
    earlier_decision: EarlierDecision | None = None
    collection: Collection | None = None
    bezwaar: Bezwaar | None = None
    complaint: Complaint | None = None


@dataclass(frozen=True)
class Rendered:
    """A rendered letter: the PDF/A bytes, their SHA-256 (hex), and the template version it was made with."""

    pdf: bytes
    sha256: str
    template_version_id: UUID
    template_version: int


class LetterTemplateVersion(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    kind: LetterKind
    version: int
    title: str
    valid_from: date
    content_sha256: str
    content: dict[str, Any]
