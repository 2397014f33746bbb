"""Checklist shapes: API responses, and the values the template check and the answer validator return.

A template's content is kept as the JSON document the jurist wrote (schemas/checklist.schema.json
describes it); the API passes it on as an object rather than re-declaring that schema as Structs, so
the JSON Schema stays the single definition that both the CLI and the API check against.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from backend.core.tokens import Regime

TemplateRegime = Literal[Regime, "any"]
TemplateKind = Literal["inspection", "addon"]
Severity = Literal["minor", "serious", "very_serious"]


class ChecklistSummary(msgspec.Struct, frozen=True):
    """The current (latest) version of one template, as phones list them."""

    id: UUID
    key: str
    regime: TemplateRegime
    kind: TemplateKind
    version: int
    title: str
    valid_from: date
    published_at: datetime
    content_sha256: str


class ChecklistList(msgspec.Struct, frozen=True):
    items: list[ChecklistSummary]


class ChecklistVersion(ChecklistSummary, frozen=True):
    """One published version: immutable; inspections refer to it by `id`."""

    published_by: UUID | None
    content: dict[str, Any]


# --- template checks ------------------------------------------------------------------------------------


# --- answer validation (validator.py) --------------------------------------------------------------------

ProblemKind = Literal["unknown_key", "missing", "hidden", "wrong_type", "not_an_option", "photo_ids", "photo_required"]


class AnswerProblem(msgspec.Struct, frozen=True):
    """One problem with a set of answers: `pointer` is /answers/<key> or /evidence/<key>."""

    pointer: str
    kind: ProblemKind
    detail: str


class LegalRef(msgspec.Struct, frozen=True, omit_defaults=True):
    law: str
    article: str
    lid: str | None = None
    sub: str | None = None
    note: str | None = None


class Violation(msgspec.Struct, frozen=True):
    """A violation derived from an answer: which question, which code, which article, how serious."""

    key: str
    code: str
    article: LegalRef
    severity: Severity


class AnswersAccepted(msgspec.Struct, frozen=True):
    """The answers fit the template; `violations` lists what they establish (empty when compliant)."""

    violations: tuple[Violation, ...]


class AnswersRejected(msgspec.Struct, frozen=True):
    """The answers do not fit the template; no violations are derived from them."""

    problems: tuple[AnswerProblem, ...]


class Publication(msgspec.Struct, frozen=True):
    """What publishing a template did: a new version, or nothing because the latest has this content."""

    outcome: Literal["published", "unchanged"]
    version: ChecklistVersion
