"""The letter of an enforcement step: which kind it is, the data it is made from, and rendering it.

A warning, voornemen, besluit or invordering is made known by its letter. The data comes from the case (its
establishment, or the location with the addressee named on the step), the violations the step rests on (with
their law, article and lid and the checklist's Dutch description), the step's decision and terms, the drafting
officer (name; function from the setting `letter_signer_function`, signing in mandaat for the authority of the
letterhead) and the step's `document_text` as the motivering. What a letter needs and the data lacks is a 422
naming it (letters.service), never a letter with a hole in it. Reading a step's letter (step_document) answers
the stored document of a sent step, checked against its hash, or a preview; every read is audited.
"""

from __future__ import annotations

import re
from datetime import date
from typing import cast
from uuid import UUID

import asyncpg
import msgspec

from backend.core import calendar
from backend.core.auth import Principal
from backend.core.errors import Conflict, FieldError, NotFound, Unprocessable
from backend.enforcement import reading, records, steps
from backend.enforcement.records import CaseRecord, StepRecord, ViolationRecord
from backend.letters import service as letters
from backend.letters.models import (
    Addressee,
    CaseRef,
    Collection,
    DwangsomUnit,
    EarlierDecision,
    Facts,
    Finding,
    LetterData,
    LetterKind,
    Rendered,
    Sanction,
    Signer,
    Terms,
)
from backend.registry import service as registry
from backend.reports.service import UNKNOWN_ARTICLE, ViolationText, violation_texts
from backend.users import service as users

# The power each decision uses (the letter's legal basis). A boete is an Alcoholwet power only.
LEGAL_BASIS = {
    "boete": "artikel 44a, eerste lid, van de Alcoholwet",
    "last_onder_dwangsom": "artikel 125 van de Gemeentewet en artikel 5:32 van de Algemene wet bestuursrecht",
    "last_onder_bestuursdwang": "artikel 125 van de Gemeentewet en artikel 5:21 van de Algemene wet bestuursrecht",
    "schorsing": "artikel 32 van de Alcoholwet",
    "intrekking": "artikel 31 van de Alcoholwet",
    "ontzegging_19a": "artikel 19a van de Alcoholwet",
    "sluiting_13b": "artikel 13b van de Opiumwet",
}
_DECISION_TITLES = {"last_onder_dwangsom": "Besluit last onder dwangsom"}
_ARTICLE = re.compile(r"^(?P<law>.+?) art\. (?P<article>\d\S*)(?: lid (?P<lid>\S+))?")
# A provision without a number, as the checklists write it ("Aanwijzing Opiumwet art. gedoogcriterium G").
_PROVISION = re.compile(r"^(?P<law>.+?) art\. (?P<article>\D.*)$")
_UNITS = {"ineens": "once"}
# What the officer gives on the step, named as the step names it (the rest is named as the letter data has it).
_STEP_POINTERS = {
    "/sanction/motivering": "/document_text",
    **{
        f"/sanction/{name}": f"/{name}"
        for name in (
            "amount_cents",
            "order_text",
            "begunstiging_days",
            "dwangsom_cents",
            "dwangsom_unit",
            "dwangsom_max_cents",
            "weeks",
            "months",
        )
    },
}


def kind_of(step: StepRecord) -> LetterKind | None:
    """The kind of letter a step is made known by (steps.KINDS); None for a step without a letter."""
    return cast(LetterKind | None, steps.letter_kind(step.type, step.decision))


def kenmerk(case: CaseRecord) -> str:
    """The case's reference on its letters, given by the database when the case was opened (migrations/0083)."""
    return case.kenmerk


def _missing(pointer: str, detail: str) -> Unprocessable:
    return Unprocessable(
        "The letter lacks data it must state; nothing was stored.",
        code="letter_data_missing",
        errors=[FieldError(detail=detail, pointer=pointer)],
    )


async def addressee_of(conn: asyncpg.Connection, case: CaseRecord, step: StepRecord) -> Addressee:
    """Who the step's letter is addressed to: the addressee named on the step, else the establishment's."""
    if step.addressee:
        return msgspec.convert(step.addressee, Addressee)
    if case.object_id is not None and (found := await registry.current_addressee(conn, case.object_id)):
        return found
    where = (
        "the establishment has no addressee: record it in the registry"
        if case.object_id is not None
        else "a location without an establishment: name the addressee on the step"
    )
    raise _missing("/addressee", where)


async def _case_ref(conn: asyncpg.Connection, principal: Principal, case: CaseRecord) -> CaseRef:
    if case.object_id is None:
        return CaseRef(kenmerk=kenmerk(case))
    try:
        found = await registry.get_object(conn, principal, case.object_id)
    except NotFound:
        return CaseRef(kenmerk=kenmerk(case))
    return CaseRef(kenmerk=kenmerk(case), object_name=found.name, address=registry.address_line(found))


async def _signer(conn: asyncpg.Connection, step: StepRecord, function: str, authority: str) -> Signer:
    try:
        name = (await users.get_user(conn, step.drafted_by)).display_name
    except NotFound:
        name = None
    if not name:
        raise _missing(
            "/signer/name", "the drafting officer has no name on record (the identity provider's name claim)"
        )
    return Signer(name=name, function=function, on_behalf_of=authority)


def _article(written: str | None, form: re.Pattern[str] = _ARTICLE) -> re.Match[str] | None:
    """The law, numbered article and lid of an article as written ("Alcoholwet art. 20 lid 1"), or with
    `_PROVISION` the law and a provision without a number; None for none, or one the checklist marks as still to
    be looked up."""
    if written is None or UNKNOWN_ARTICLE in written:
        return None
    return form.match(written)


def _finding(violation: ViolationRecord, texts: dict[str, ViolationText]) -> Finding:
    """A violation as the letter states it: what was found, and the article it breaks. An article the case does
    not state as a numbered one is taken as the current checklists state it: numbered, or a named provision
    ("gedoogcriterium G" of the Aanwijzing Opiumwet). While they mark it as still to be looked up ("artikel
    onbekend"), no letter is made: a sanction that cites no article would not stand."""
    text = texts.get(violation.code)
    current = text.article if text else None
    article = _article(violation.article_key) or _article(current) or _article(current, _PROVISION)
    if article is None and (UNKNOWN_ARTICLE in violation.article_key or (current and UNKNOWN_ARTICLE in current)):
        raise Unprocessable(
            "A violation's article is not known yet; no letter cites it. Nothing was stored.",
            code="article_unknown",
            errors=[
                FieldError(
                    pointer="/violation_ids",
                    detail=f"the checklists do not state the article {violation.code} breaks yet "
                    f"({current or violation.article_key}); publish the checklist with its article first",
                )
            ],
        )
    return Finding(
        observed_on=violation.observed_on,
        description=text.finding if text else violation.code,
        law=article["law"] if article else violation.article_key,
        article=article["article"] if article else "?",
        lid=article.groupdict().get("lid") if article else None,
    )


async def _facts(
    conn: asyncpg.Connection, principal: Principal, step: StepRecord, violations: list[ViolationRecord]
) -> Facts | None:
    ids = set(step.violation_ids)
    rests_on = [v for v in violations if v.violation_id in ids]
    if not rests_on:
        return None
    texts = await violation_texts(conn, principal)
    return Facts(
        inspection_dates=sorted({v.observed_on for v in rests_on}), findings=[_finding(v, texts) for v in rests_on]
    )


def _sanction(case: CaseRecord, step: StepRecord, heard: str | None) -> Sanction | None:
    decision = step.decision
    if decision is None:
        return None
    if not steps.decision_fits(case.regime, decision):
        raise _missing("/decision", f"a boete has no legal basis under {case.regime} in these letters")
    unit = step.dwangsom_unit
    return Sanction(
        decision=decision,
        legal_basis=LEGAL_BASIS[decision],
        motivering=step.document_text,
        amount_cents=step.amount_cents,
        order_text=step.order_text,
        begunstiging_days=step.begunstiging_days,
        dwangsom_cents=step.dwangsom_cents,
        dwangsom_unit=cast(DwangsomUnit | None, _UNITS.get(unit, unit) if unit else None),
        dwangsom_max_cents=step.dwangsom_max_cents,
        weeks=step.weeks,
        months=step.months,
        zienswijze=heard,
    )


async def _related(conn: asyncpg.Connection, case: CaseRecord, step: StepRecord) -> StepRecord | None:
    if step.related_step_id is None:
        return None
    return await records.related_step(conn, case.id, step.related_step_id)


async def _collection(
    conn: asyncpg.Connection, case: CaseRecord, step: StepRecord
) -> tuple[EarlierDecision | None, Collection | None]:
    """An invordering: the besluit whose dwangsom was forfeited, the day of the hercontrole that found the last not
    complied with, and the day of forfeiture (from which 5:33 and 5:35 count: for a dwangsom per day, per week or at
    once the day after the begunstigingstermijn, days or weeks before that hercontrole)."""
    hercontrole = await _related(conn, case, step)
    besluit = await _related(conn, case, hercontrole) if hercontrole else None
    if hercontrole is None or besluit is None or besluit.sent_on is None:
        return None, None
    earlier = EarlierDecision(
        kenmerk=kenmerk(case), sent_on=besluit.sent_on, title=_DECISION_TITLES.get(besluit.decision or "", "Besluit")
    )
    assert hercontrole.observed_on is not None and step.amount_cents is not None  # a forfeited sum, collected
    return earlier, Collection(
        observed_on=hercontrole.observed_on,
        forfeited_on=hercontrole.forfeited_on,
        forfeited_cents=step.amount_cents,
        units=hercontrole.forfeited_units or None,
    )


async def render(
    conn: asyncpg.Connection,
    principal: Principal,
    ctx: letters.Letters,
    case: CaseRecord,
    step: StepRecord,
    violations: list[ViolationRecord],
    sent_on: date,
) -> Rendered | None:
    """The step's letter dated `sent_on`; None for a step without a letter."""
    kind = kind_of(step)
    if kind is None:
        return None
    related = await _related(conn, case, step) if step.type == "besluit" else None
    heard = related.zienswijze_summary if related and related.type == "voornemen" else None
    earlier: EarlierDecision | None = None
    collection: Collection | None = None
    if step.type == "invordering":
        earlier, collection = await _collection(conn, case, step)
    data = LetterData(
        addressee=await addressee_of(conn, case, step),
        case=await _case_ref(conn, principal, case),
        terms=Terms(sent_on=sent_on, zienswijze_weeks=step.zienswijze_weeks),
        signer=await _signer(conn, step, ctx.settings.letter_signer_function, ctx.letterhead["authority"]),
        facts=await _facts(conn, principal, step, violations),
        sanction=_sanction(case, step, heard),
        earlier_decision=earlier,
        collection=collection,
    )
    try:
        return await letters.render_letter(conn, ctx, kind, data)
    except Unprocessable as exc:
        exc.errors = [
            FieldError(detail=e.detail, pointer=_STEP_POINTERS.get(e.pointer or "", e.pointer))
            for e in exc.errors or ()
        ]
        raise


async def step_document(
    conn: asyncpg.Connection,
    principal: Principal,
    ctx: letters.Letters,
    case_id: UUID,
    step_id: UUID,
    *,
    request_id: str | None,
) -> tuple[bytes, str]:
    """The step's letter and its SHA-256: a sent step's stored document, checked against the hash the step
    recorded (a changed file is refused, never served); otherwise a preview rendered now, dated today. Every read
    is audited."""
    case = await reading.case(conn, principal, case_id)
    step = await records.step(conn, case_id, step_id)
    if kind_of(step) is None:
        raise NotFound("This step has no letter.", code="no_letter")
    if step.sent_on is not None:
        if step.letter_sha256 is None:  # sent before letters were kept: there is no document to show
            raise NotFound("No letter was stored when this step was sent.", code="no_letter")
        pdf, sha = await _stored_letter(conn, principal, ctx, step, step.letter_sha256, request_id), step.letter_sha256
    else:
        rendered = await render(
            conn, principal, ctx, case, step, await records.violations(conn, case_id), calendar.today()
        )
        assert rendered is not None
        pdf, sha = rendered.pdf, rendered.sha256
    async with conn.transaction():
        await records.audit(
            conn,
            principal,
            case_id,
            "document_read",
            request_id,
            after={"step_id": str(step_id), "sha256": sha, "preview": step.sent_on is None},
        )
    return pdf, sha


async def _stored_letter(
    conn: asyncpg.Connection,
    principal: Principal,
    ctx: letters.Letters,
    step: StepRecord,
    sha256: str,
    request_id: str | None,
) -> bytes:
    try:
        return await letters.read_document(ctx, sha256)
    except letters.DocumentTampered:
        async with conn.transaction():
            await records.audit(
                conn,
                principal,
                step.case_id,
                "document_tampered",
                request_id,
                after={"step_id": str(step.id), "sha256": sha256},
            )
        raise Conflict(
            "The stored letter no longer matches the hash recorded when it was sent; it is not served. "
            "Restore it from the backup.",
            code="document_tampered",
        ) from None
