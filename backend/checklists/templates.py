"""Checking a checklist template before it is published: its JSON Schema, then the rules a schema
cannot express. Pure functions; the CLI and the API both publish through service.publish, which calls
`check_template`, so a file and a request body get exactly the same checks and messages.

Rules beyond the schema:
- question keys are unique in the template, and so are section keys and the options of a choice;
- every key a `shown_when` or `only_if` condition names exists, and the values it compares with are
  valid answers of that question;
- `shown_when` conditions form no cycle (a question cannot, through others, decide its own visibility);
- violation tests fit the answer type: equals/in give valid answers, thresholds only on numbers and
  counts; text, date, time and photo questions carry no violations;
- a photo required "on_violation" needs violation rules to apply to;
- number ranges are not empty; text patterns compile;
- sex-work templates have no free-form text: a text question there must have a `pattern`, so the
  checklist cannot collect names or other identity details (DOMAIN.md, sensitive data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backend.checklists import validator
from backend.core import publishing
from backend.core.config import PROJECT_ROOT
from backend.core.publishing import FileUnreadable, TemplateInvalid, TemplateProblem, read_json

SCHEMA_PATH = PROJECT_ROOT / "schemas" / "checklist.schema.json"
DEFAULT_DIRECTORY = PROJECT_ROOT / "schemas" / "checklists"
_NO_VIOLATIONS = ("text", "date", "datetime", "photo")


def check_template(document: Any) -> dict[str, Any]:
    """The content to publish (the document without its `$schema` hint); raises TemplateInvalid."""
    problems = schema_problems(document)
    if not problems:
        problems = semantic_problems(document)
    if problems:
        raise TemplateInvalid(problems)
    return {name: value for name, value in document.items() if name != "$schema"}


def load_file(path: Path) -> Any:
    """A template file's JSON; a file that is not JSON is refused like any other bad template."""
    try:
        return read_json(path)
    except FileUnreadable as exc:
        raise TemplateInvalid([TemplateProblem("", str(exc))]) from None


def question_types(content: Mapping[str, Any]) -> dict[str, str]:
    """Each question's answer type as versions must keep it ('choice' and 'choice[]' differ: the answer's
    shape differs)."""
    types = {}
    for _, item in validator.iter_items(content):
        answer = item["answer"]
        multiple = answer["type"] == "choice" and answer.get("multiple", False)
        types[item["key"]] = "choice[]" if multiple else answer["type"]
    return types


# --- JSON Schema -----------------------------------------------------------------------------------------


# What a shape is, for the schema errors that only say "not valid under any of the schemas".
_SHAPE_HINTS = {
    "condition": "a condition is one of {key, equals}, {key, in}, {key, answered}, {all: [...]}, {any: [...]}, "
    "{not: ...}",
    "violationTest": "a violation test has exactly one of equals, in, greater_than, greater_or_equal, less_than, "
    "less_or_equal",
}


def schema_problems(document: Any) -> list[TemplateProblem]:
    return publishing.schema_problems(SCHEMA_PATH, document, _shape_hint)


def _shape_hint(path: list[Any]) -> str | None:
    return _SHAPE_HINTS.get(str(path[-2])) if len(path) >= 2 and path[0] == "$defs" else None


# --- rules beyond the schema --------------------------------------------------------------------------


def semantic_problems(content: Mapping[str, Any]) -> list[TemplateProblem]:
    problems = _unique_keys(content)
    items = validator.items_by_key(content)
    for at, item in validator.iter_items(content):
        problems += _answer_spec_problems(at, item, content["regime"])
        if "shown_when" in item:
            problems += _condition_problems(f"{at}/shown_when", item["shown_when"], item["key"], items)
        for v, rule in enumerate(item.get("violations", ())):
            problems += _violation_problems(f"{at}/violations/{v}", rule, item, items)
        if item.get("evidence", {}).get("photo") == "on_violation" and not item.get("violations"):
            problems.append(
                TemplateProblem(
                    f"{at}/evidence", f"question {item['key']} requires a photo on violation but has no violation rules"
                )
            )
    problems += _cycle_problems(content, items)
    return problems


def _unique_keys(content: Mapping[str, Any]) -> list[TemplateProblem]:
    problems = []
    sections: dict[str, int] = {}
    for s, section in enumerate(content["sections"]):
        if section["key"] in sections:
            problems.append(
                TemplateProblem(
                    f"/sections/{s}/key",
                    f"section key {section['key']} is also used by section {sections[section['key']]}",
                )
            )
        sections.setdefault(section["key"], s)
    first_at: dict[str, str] = {}
    for at, item in validator.iter_items(content):
        key = item["key"]
        if key in first_at:
            problems.append(TemplateProblem(f"{at}/key", f"question key {key} is also used at {first_at[key]}"))
        first_at.setdefault(key, at)
    return problems


def _answer_spec_problems(at: str, item: Mapping[str, Any], regime: str) -> list[TemplateProblem]:
    answer, key = item["answer"], item["key"]
    problems = []
    if answer["type"] == "choice":
        values = [option["value"] for option in answer["options"]]
        for duplicate in sorted({v for v in values if values.count(v) > 1}):
            problems.append(
                TemplateProblem(f"{at}/answer/options", f"question {key}: option {duplicate} appears more than once")
            )
    if answer["type"] == "number" and answer.get("minimum", -float("inf")) > answer.get("maximum", float("inf")):
        problems.append(TemplateProblem(f"{at}/answer", f"question {key}: minimum is above maximum"))
    if answer["type"] == "text":
        if "pattern" in answer:
            try:
                re.compile(answer["pattern"])
            except re.error as exc:
                problems.append(
                    TemplateProblem(f"{at}/answer/pattern", f"question {key}: pattern does not compile: {exc}")
                )
        elif regime == "sexwork":
            problems.append(
                TemplateProblem(
                    f"{at}/answer",
                    f"question {key}: sex-work checklists take no free-form "
                    "text (it could record identities); give the answer a pattern or use "
                    "another type",
                )
            )
    return problems


def _condition_problems(
    at: str, condition: Mapping[str, Any], owner: str, items: Mapping[str, Mapping[str, Any]]
) -> list[TemplateProblem]:
    if "not" in condition:
        return _condition_problems(f"{at}/not", condition["not"], owner, items)
    for combinator in ("all", "any"):
        if combinator in condition:
            return [
                p
                for n, part in enumerate(condition[combinator])
                for p in _condition_problems(f"{at}/{combinator}/{n}", part, owner, items)
            ]
    key = condition["key"]
    if key not in items:
        return [
            TemplateProblem(
                f"{at}/key", f"question {owner}: condition refers to {key}, which is not a question of this template"
            )
        ]
    values = [condition["equals"]] if "equals" in condition else condition.get("in", [])
    return [
        TemplateProblem(at, f"question {owner}: condition on {key} compares with {value!r}, which {detail}")
        for value in values
        if (detail := _not_an_answer(items[key]["answer"], value))
    ]


def _not_an_answer(answer: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` can never be an answer (or, for a multiple choice, one selected option) of a question."""
    if answer["type"] == "photo":
        return "a photo question never equals (test it with 'answered')"
    single = {**answer, "multiple": False} if answer["type"] == "choice" else answer
    problem = validator.value_problem(single, value)
    return f"is not a valid answer: it {problem[1]}" if problem else None


def _violation_problems(
    at: str, rule: Mapping[str, Any], item: Mapping[str, Any], items: Mapping[str, Mapping[str, Any]]
) -> list[TemplateProblem]:
    answer, key = item["answer"], item["key"]
    if answer["type"] in _NO_VIOLATIONS:
        return [
            TemplateProblem(
                at,
                f"question {key}: a {answer['type']} answer cannot be a violation; "
                "use a yes/no, number, count or choice question",
            )
        ]
    ((operator, operand),) = rule["when"].items()
    problems = []
    if operator in ("equals", "in"):
        for value in [operand] if operator == "equals" else operand:
            if detail := _not_an_answer(answer, value):
                problems.append(TemplateProblem(f"{at}/when", f"question {key}: violation answer {value!r} {detail}"))
    elif answer["type"] not in ("number", "count"):
        problems.append(TemplateProblem(f"{at}/when", f"question {key}: {operator} needs a number or count question"))
    if "only_if" in rule:
        problems += _condition_problems(f"{at}/only_if", rule["only_if"], key, items)
    return problems


def _cycle_problems(content: Mapping[str, Any], items: Mapping[str, Mapping[str, Any]]) -> list[TemplateProblem]:
    where = {item["key"]: at for at, item in validator.iter_items(content)}
    return [
        TemplateProblem(
            f"{where[cycle[0]]}/shown_when",
            f"shown_when conditions form a cycle: {' -> '.join(cycle)} (no question can decide its own visibility)",
        )
        for cycle in validator.find_cycles(validator.dependencies(items))
    ]
