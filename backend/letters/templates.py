"""Checking a letter template before it is published: its JSON Schema, then its fields.

Every `{{name}}` in the subject and the body must be a field the template's kind offers (backend/letters/
fields.py); inside a list repeated for each finding, an item field (`{{article}}`). A kind's mandatory parts
(a besluit's rechtsmiddelenclausule, a boete in figures and words, a voornemen's zienswijze term) must be
used somewhere. A problem names the body line (1-based) and its JSON pointer, so a jurist finds it in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from backend.core import publishing
from backend.core.config import PROJECT_ROOT
from backend.core.publishing import TemplateInvalid, TemplateProblem, content_sha256
from backend.letters import fields

SCHEMA_PATH = PROJECT_ROOT / "schemas" / "letter.schema.json"
DEFAULT_DIRECTORY = PROJECT_ROOT / "schemas" / "letters"
FIELD = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAME = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")

__all__ = ["TemplateInvalid", "check_template", "content_sha256", "placeholders"]


def check_template(document: Any) -> dict[str, Any]:
    """The content to publish (without its `$schema` hint); raises TemplateInvalid."""
    problems = schema_problems(document) or field_problems(document)
    if problems:
        raise TemplateInvalid(problems)
    return {name: value for name, value in document.items() if name != "$schema"}


def schema_problems(document: Any) -> list[TemplateProblem]:
    return publishing.schema_problems(SCHEMA_PATH, document)


def placeholders(text: str) -> list[str]:
    """The field names a text uses, in order."""
    return [match.group(1) for match in FIELD.finditer(text)]


def texts(content: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str | None]]:
    """(pointer, where for a reader, text, list name or None) for every text that may hold fields."""
    yield "/subject", "subject", content["subject"], None
    for n, block in enumerate(content["body"]):
        at, line = f"/body/{n}", f"line {n + 1}"
        if isinstance(block, str):
            yield at, line, block, None
        elif "heading" in block:
            yield f"{at}/heading", line, block["heading"], None
        elif "each" in block:
            yield f"{at}/item", line, block["item"], block["each"]
        else:
            yield f"{at}/text", line, block["text"], None


def field_problems(content: Mapping[str, Any]) -> list[TemplateProblem]:
    kind = content["kind"]
    offered = fields.FIELDS[kind]
    problems: list[TemplateProblem] = []
    used: set[str] = set()
    for n, block in enumerate(content["body"]):
        if isinstance(block, dict) and "if" in block and block["if"] not in offered:
            problems.append(
                TemplateProblem(
                    f"/body/{n}/if", f"line {n + 1}: unknown field {block['if']} (a {kind} letter does not offer it)"
                )
            )
    for at, where, text, list_name in texts(content):
        if list_name is not None and list_name not in fields.LIST_FIELDS[kind]:
            problems.append(TemplateProblem(at, f"{where}: a {kind} letter has no list {list_name}"))
            continue
        problems += _brace_problems(at, where, text)
        for name in placeholders(text):
            allowed = fields.FINDING_FIELDS if list_name else offered
            if name not in allowed:
                problems.append(
                    TemplateProblem(at, f"{where}: unknown field {{{{{name}}}}} ({_offer(kind, list_name)})")
                )
            elif list_name is None:
                used.add(name)
    if not problems:
        missing = [name for name in fields.REQUIRED[kind] if name not in used]
        if missing:
            problems.append(
                TemplateProblem(
                    "/body", f"a {kind} letter must state " + ", ".join(f"{{{{{name}}}}}" for name in missing)
                )
            )
    return problems


def _brace_problems(at: str, where: str, text: str) -> list[TemplateProblem]:
    """A brace that is not part of a well-formed {{name}} is a typo that would print literally."""
    problems = [
        TemplateProblem(at, f"{where}: {{{{{name}}}}} is not a field name (letters, digits, _ and .)")
        for name in placeholders(text)
        if not _NAME.match(name)
    ]
    if "{" in FIELD.sub("", text) or "}" in FIELD.sub("", text):
        problems.append(TemplateProblem(at, f"{where}: a brace outside a {{{{field}}}}"))
    return problems


def _offer(kind: str, list_name: str | None) -> str:
    names = sorted(fields.FINDING_FIELDS) if list_name else sorted(fields.FIELDS[kind])
    where = f"an item of {list_name}" if list_name else f"a {kind} letter"
    return f"{where} offers: {', '.join(names)}"
