"""Letter data for tests: one complete set per kind of letter, and reading a rendered PDF back."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import msgspec
import pypdf

from backend.core.publishing import read_json
from backend.letters import templates
from backend.letters.models import (
    Addressee,
    Bezwaar,
    CaseRef,
    Collection,
    Complaint,
    EarlierDecision,
    Facts,
    Finding,
    LetterData,
    LetterTemplateVersion,
    Sanction,
    Signer,
    Terms,
)

# Tuesday 3 March 2026: the bezwaar term ends six weeks later on Tuesday 14 April 2026 (no holiday in between).
SENT_ON = date(2026, 3, 3)
ADDRESSEE = Addressee(
    name="Café De Hoek B.V.",
    attention="de heer J. Jansen",
    street="Oudegracht 1",
    postcode="3511 AA",
    city="Utrecht",
    email="info@dehoek.example",
)
CASE = CaseRef(kenmerk="HH-2026-0042", object_name="Café De Hoek", address="Oudegracht 1, 3511 AA Utrecht")
SIGNER = Signer(
    name="mr. A. de Vries",
    function="teamleider Handhaving Bijzondere Wetten",
    on_behalf_of="de burgemeester van Utrecht",
)
FACTS = Facts(
    inspection_dates=[date(2026, 2, 10), date(2026, 2, 17)],
    findings=[
        Finding(
            observed_on=date(2026, 2, 10),
            description="Er was geen leidinggevende aanwezig.",
            law="Alcoholwet",
            article="24",
            lid="1",
        ),
        Finding(
            observed_on=date(2026, 2, 17),
            description="Aan een persoon van 16 jaar is bier verkocht.",
            law="Alcoholwet",
            article="20",
            lid="1",
        ),
    ],
)
LEGAL_BASIS = "artikel 44a, eerste lid, van de Alcoholwet"
MOTIVERING = "De overtreding is ernstig: het verbod beschermt jongeren tegen de schade van alcohol."

SANCTIONS: dict[str, Sanction] = {
    "boete": Sanction(decision="boete", legal_basis=LEGAL_BASIS, motivering=MOTIVERING, amount_cents=136_000),
    "last_onder_dwangsom": Sanction(
        decision="last_onder_dwangsom",
        legal_basis="artikel 125 Gemeentewet en artikel 5:32 Algemene wet bestuursrecht",
        motivering=MOTIVERING,
        order_text="Zorg dat tijdens openingstijden steeds een leidinggevende aanwezig is.",
        begunstiging_days=14,
        dwangsom_cents=250_000,
        dwangsom_unit="per_violation",
        dwangsom_max_cents=1_000_000,
    ),
    "last_onder_bestuursdwang": Sanction(
        decision="last_onder_bestuursdwang",
        legal_basis="artikel 125 Gemeentewet",
        motivering=MOTIVERING,
        order_text="Verwijder de kansspelautomaat.",
        begunstiging_days=7,
    ),
    "schorsing": Sanction(
        decision="schorsing", legal_basis="artikel 32 van de Alcoholwet", motivering=MOTIVERING, weeks=4
    ),
    "intrekking": Sanction(decision="intrekking", legal_basis="artikel 31 van de Alcoholwet", motivering=MOTIVERING),
    "ontzegging_19a": Sanction(
        decision="ontzegging_19a", legal_basis="artikel 19a van de Alcoholwet", motivering=MOTIVERING, weeks=6
    ),
    "sluiting_13b": Sanction(
        decision="sluiting_13b", legal_basis="artikel 13b van de Opiumwet", motivering=MOTIVERING, months=3
    ),
}
EARLIER = EarlierDecision(kenmerk="HH-2025-0911", sent_on=date(2026, 1, 6), title="Besluit last onder dwangsom")


def data_for(kind: str, **changes: Any) -> LetterData:
    """Complete data for a letter of `kind`; `changes` replace top-level parts (e.g. sanction=None)."""
    parts: dict[str, Any] = {
        "addressee": ADDRESSEE,
        "case": CASE,
        "signer": SIGNER,
        "terms": Terms(sent_on=SENT_ON, zienswijze_weeks=2),
    }
    if kind == "waarschuwing" or kind.startswith(("voornemen_", "besluit_")):
        parts["facts"] = FACTS
        decision = kind.partition("_")[2] or "boete"
        parts["sanction"] = SANCTIONS.get(decision, SANCTIONS["boete"])
    if kind == "invorderingsbeschikking":
        parts["earlier_decision"] = EARLIER
        parts["collection"] = Collection(observed_on=date(2026, 1, 27), forfeited_cents=500_000, units=2)
    if kind in ("bezwaar_ontvangstbevestiging", "beslissing_op_bezwaar"):
        parts["earlier_decision"] = EARLIER
        parts["bezwaar"] = Bezwaar(
            received_on=date(2026, 2, 2),
            outcome="ongegrond",
            reasoning="De overtreding staat vast; het bezwaar brengt geen nieuwe feiten.",
        )
    if kind == "klacht_antwoord":
        parts["complaint"] = Complaint(
            reference="M-2026-00017",
            received_on=date(2026, 2, 20),
            subject="geluidsoverlast van een café.",
            outcome="Toezichthouders hebben het café op 24 februari 2026 gecontroleerd.",
        )
    parts.update(changes)
    return LetterData(**parts)


def as_json(data: LetterData) -> dict[str, Any]:
    return msgspec.to_builtins(data)


FOOTER = re.compile(r" ?Ons kenmerk \S+ Pagina (\d+) van (\d+)$")


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text, with line breaks and runs of spaces made single spaces (a phrase may wrap)."""
    return [" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def pdf_text(pdf: bytes) -> str:
    """The letter's text without the page footers, so a sentence that runs over a page reads whole."""
    return " ".join(FOOTER.sub("", text) for text in page_texts(pdf))


def pdf_reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def shipped(kind: str) -> dict[str, Any]:
    """The shipped template file of a kind of letter, as JSON."""
    return read_json(templates.DEFAULT_DIRECTORY / f"{kind.replace('_', '-')}.json")


def shipped_version(kind: str) -> LetterTemplateVersion:
    """A template version straight from the shipped file (rendering needs no database)."""
    content = templates.check_template(shipped(kind))
    return LetterTemplateVersion(
        id=uuid5(NAMESPACE_URL, kind),
        kind=kind,
        version=1,
        title=content["title"],
        valid_from=date.fromisoformat(content["valid_from"]),
        content_sha256=templates.content_sha256(content),
        content=content,
    )
