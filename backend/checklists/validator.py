"""Answers against a published template version: the violations they establish, or their problems.

Pure functions over the template content (no database), so the inspections feature can call them
while it stores an inspection. The rules:

- `answers` maps question keys to values; a value of null counts as no answer. `evidence` maps question
  keys to the ids (UUID strings) of the photos taken for that answer.
- A question is shown when it has no `shown_when` or its condition holds. Conditions read only the
  answers of shown questions, so hiding a question also hides the questions that depend on it.
- Problems: an unknown key; a shown required question without an answer; an answer to a hidden
  question; a value that does not fit the answer type (or is not one of the options, or out of range);
  photo ids that are not a list of distinct UUID strings; a violating answer whose question requires a
  photo when it is a violation, without that photo.
- Only answers without problems establish violations: a result has problems or violations, never both.

Results list template order first, then unknown keys sorted, so the same input always gives the same
result.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import msgspec

from backend.checklists.models import (
    AnswerProblem,
    AnswersAccepted,
    AnswersRejected,
    LegalRef,
    ProblemKind,
    Violation,
)

YES_NO = ("yes", "no")
YES_NO_NA = ("yes", "no", "na")
DEFAULT_TEXT_MAX_LENGTH = 2000
DEFAULT_MAX_PHOTOS = 20

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

Item = Mapping[str, Any]
ValueProblem = tuple[ProblemKind, str]


# --- the template's questions and their dependencies -------------------------------------------------


def iter_items(content: Mapping[str, Any]) -> Iterator[tuple[str, Item]]:
    """Every question with its JSON pointer in the template document, in template order."""
    for s, section in enumerate(content.get("sections", ())):
        for i, item in enumerate(section.get("items", ())):
            yield f"/sections/{s}/items/{i}", item


def items_by_key(content: Mapping[str, Any]) -> dict[str, Item]:
    return {item["key"]: item for _, item in iter_items(content)}


class Questions(NamedTuple):
    """A template version's questions by key (template order), and the order their visibility is decided in."""

    items: dict[str, Item]
    order: list[str]


# Published versions never change and the checklists service keeps each one's content as one object, so what
# validation derives from a content is kept per object. The entry holds the content, so its id is not reused
# while cached; the bound keeps contents validated only once (template checks) from piling up.
_QUESTIONS: dict[int, tuple[Mapping[str, Any], Questions]] = {}
_QUESTIONS_CACHE_SIZE = 256


def questions(content: Mapping[str, Any]) -> Questions:
    """The questions of a template content, derived once per content object."""
    cached = _QUESTIONS.get(id(content))
    if cached is not None and cached[0] is content:
        return cached[1]
    items = items_by_key(content)
    derived = Questions(items, evaluation_order(dependencies(items)))
    if len(_QUESTIONS) >= _QUESTIONS_CACHE_SIZE:
        _QUESTIONS.clear()
    _QUESTIONS[id(content)] = (content, derived)
    return derived


def condition_keys(condition: Mapping[str, Any] | None) -> list[str]:
    """The question keys a condition reads, in the order written."""
    if condition is None:
        return []
    if "not" in condition:
        return condition_keys(condition["not"])
    if "all" in condition or "any" in condition:
        return [key for part in condition.get("all", condition.get("any", ())) for key in condition_keys(part)]
    return [condition["key"]]


def dependencies(items: Mapping[str, Item]) -> dict[str, list[str]]:
    """For each question, the existing questions its shown_when reads (its visibility depends on them)."""
    return {
        key: [k for k in dict.fromkeys(condition_keys(item.get("shown_when"))) if k in items]
        for key, item in items.items()
    }


def evaluation_order(deps: Mapping[str, list[str]]) -> list[str]:
    """Questions ordered so each comes after those its visibility depends on (template order otherwise).
    Questions on a cycle are left out; the template check refuses such templates."""
    waiting = {key: set(needs) for key, needs in deps.items()}
    dependents: dict[str, list[str]] = {key: [] for key in deps}
    for key, needs in deps.items():
        for need in needs:
            dependents[need].append(key)
    position = {key: n for n, key in enumerate(deps)}
    ready = [(position[key], key) for key, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, key = heapq.heappop(ready)
        order.append(key)
        for dependent in dependents[key]:
            waiting[dependent].discard(key)
            if not waiting[dependent]:
                heapq.heappush(ready, (position[dependent], dependent))
    return order


def find_cycles(deps: Mapping[str, list[str]]) -> list[list[str]]:
    """Dependency cycles as paths that end where they start (e.g. [A, B, A]): at least one for every group
    of questions caught in cycles (a cycle through a question already reported is not listed again)."""
    remaining = set(deps) - set(evaluation_order(deps))
    cycles: list[list[str]] = []
    reported: set[str] = set()
    for start in deps:
        if start not in remaining or start in reported:
            continue
        path: list[str] = []
        seen_at: dict[str, int] = {}
        node = start
        # A question left out of the evaluation order waits on another left-out question, so this walk
        # always continues until it meets a question it has seen: that closes a cycle.
        while node not in seen_at and node not in reported:
            seen_at[node] = len(path)
            path.append(node)
            node = next(need for need in deps[node] if need in remaining)
        if node in reported:
            continue
        cycle = path[seen_at[node] :]
        reported.update(cycle)
        cycles.append([*cycle, node])
    return cycles


# --- conditions and values ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _same(a: Any, b: Any) -> bool:
    """Equality within one answer domain: strings with strings, numbers with numbers (never booleans)."""
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return isinstance(a, str) and isinstance(b, str) and a == b


def _matches(value: Any, candidates: Sequence[Any]) -> bool:
    """A (multiple-choice: any selected) value equals one of the candidates."""
    if isinstance(value, str):  # the common case; a string equals only a string, so `in` is _same here
        return value in candidates
    values = value if isinstance(value, list) else [value]
    return any(v in candidates if isinstance(v, str) else any(_same(v, c) for c in candidates) for v in values)


def holds(condition: Mapping[str, Any], value_of: Callable[[str], Any]) -> bool:
    """Evaluate a shown_when / only_if condition; `value_of` gives a shown question's answer or None."""
    if "all" in condition:
        return all(holds(part, value_of) for part in condition["all"])
    if "any" in condition:
        return any(holds(part, value_of) for part in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], value_of)
    value = value_of(condition["key"])
    if "answered" in condition:
        answered: bool = condition["answered"]
        return (value is not None) == answered
    if value is None:
        return False
    return _matches(value, [condition["equals"]] if "equals" in condition else condition["in"])


def violates(test: Mapping[str, Any], value: Any) -> bool:
    """Whether a (valid) answer meets one violation test (`equals`, `in`, or a numeric threshold)."""
    ((operator, operand),) = test.items()
    if operator == "equals":
        return _matches(value, [operand])
    if operator == "in":
        return _matches(value, operand)
    if not _is_number(value):
        return False
    threshold: bool = {  # both numbers (a valid template's operand; the value checked above)
        "greater_than": value > operand,
        "greater_or_equal": value >= operand,
        "less_than": value < operand,
        "less_or_equal": value <= operand,
    }[operator]
    return threshold


def value_problem(answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    """Why `value` is not a valid answer for a question with this `answer` spec; None when it is."""
    return _TYPE_CHECKS[answer["type"]](answer, value)


def _check_yes_no_na(answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    allowed = YES_NO_NA if answer.get("allow_na", True) else YES_NO
    if isinstance(value, str) and value in allowed:
        return None
    return "wrong_type", f"must be one of: {', '.join(allowed)}"


def _check_number(answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    if not _is_number(value):
        return "wrong_type", "must be a number"
    return _range_problem(answer, value)


def _check_count(answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return "wrong_type", "must be a whole number, 0 or more"
    return _range_problem(answer, value)


def _range_problem(answer: Mapping[str, Any], value: float) -> ValueProblem | None:
    low, high = answer.get("minimum"), answer.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (
            f"between {low} and {high}"
            if low is not None and high is not None
            else (f"at least {low}" if low is not None else f"at most {high}")
        )
        return "wrong_type", f"must be {bounds}"
    return None


def _check_text(answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    limit = answer.get("max_length", DEFAULT_TEXT_MAX_LENGTH)
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
        return "wrong_type", f"must be text of 1 to {limit} characters"
    pattern = answer.get("pattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        return "wrong_type", "does not have the required form"
    return None


def _check_choice(answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    options = [option["value"] for option in answer["options"]]
    if not answer.get("multiple", False):
        if not isinstance(value, str):
            return "wrong_type", "must be one option value (a string)"
        return None if value in options else ("not_an_option", f"is not one of the options: {', '.join(options)}")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return "wrong_type", "must be a non-empty list of option values"
    if len(set(value)) != len(value):
        return "wrong_type", "lists an option more than once"
    unknown = [v for v in value if v not in options]
    return (
        ("not_an_option", f"{', '.join(unknown)[:200]} not among the options: {', '.join(options)}")
        if unknown
        else None
    )


def _check_date(_answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    if isinstance(value, str) and _DATE.match(value):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "wrong_type", "must be a date (YYYY-MM-DD)"


def _check_datetime(_answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    if isinstance(value, str) and _DATETIME.match(value):
        try:
            datetime.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "wrong_type", "must be a date and time with offset (RFC 3339, e.g. 2025-03-01T21:30:00+01:00)"


def _check_photo(answer: Mapping[str, Any], value: Any) -> ValueProblem | None:
    return photo_ids_problem(value, answer.get("max_photos", DEFAULT_MAX_PHOTOS))


def photo_ids_problem(value: Any, max_photos: int = DEFAULT_MAX_PHOTOS) -> ValueProblem | None:
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= max_photos
        or not all(isinstance(v, str) and _UUID.match(v) for v in value)
    ):
        return "photo_ids", f"must be a list of 1 to {max_photos} photo ids (UUID strings)"
    if len({v.lower() for v in value}) != len(value):
        return "photo_ids", "lists a photo more than once"
    return None


_TYPE_CHECKS: dict[str, Callable[[Mapping[str, Any], Any], ValueProblem | None]] = {
    "yes_no_na": _check_yes_no_na,
    "number": _check_number,
    "count": _check_count,
    "text": _check_text,
    "choice": _check_choice,
    "date": _check_date,
    "datetime": _check_datetime,
    "photo": _check_photo,
}


# --- validation ----------------------------------------------------------------------------------------


def pointer(member: str, key: str) -> str:
    return f"/{member}/" + key.replace("~", "~0").replace("/", "~1")


def _reader(answers: Mapping[str, Any], shown: Mapping[str, bool]) -> Callable[[str], Any]:
    """The answer of a shown question, None for a hidden one: what conditions may read."""
    return lambda key: answers.get(key) if shown.get(key, False) else None


def visible(template: Questions, answers: Mapping[str, Any]) -> dict[str, bool]:
    """Which questions are shown for these answers."""
    items = template.items
    shown: dict[str, bool] = {}
    value_of = _reader(answers, shown)
    for key in template.order:
        condition = items[key].get("shown_when")
        shown[key] = condition is None or holds(condition, value_of)
    return shown


def validate(
    content: Mapping[str, Any], answers: Mapping[str, Any], evidence: Mapping[str, Any] | None = None
) -> AnswersAccepted | AnswersRejected:
    """Check a set of answers (and their photos) against a template version's content."""
    template = questions(content)
    items = template.items
    shown = visible(template, answers)
    evidence = evidence or {}
    value_of = _reader(answers, shown)
    problems: list[AnswerProblem] = []
    may_violate: list[tuple[Item, str, Any]] = []  # shown answers that fit their question and have rules
    for key, item in items.items():
        value = answers.get(key)
        fits = False
        if value is None:
            if shown[key] and item["required"]:
                problems.append(AnswerProblem(pointer("answers", key), "missing", "is required"))
        elif not shown[key]:
            problems.append(
                AnswerProblem(
                    pointer("answers", key), "hidden", "answers a question that is not shown for these answers"
                )
            )
        else:
            problem = value_problem(item["answer"], value)
            if problem:
                problems.append(AnswerProblem(pointer("answers", key), problem[0], problem[1]))
            else:
                fits = True
        photos = evidence.get(key)
        if photos is not None or (fits and "evidence" in item):
            problems += _evidence_problems(key, item, value if fits else None, photos, shown[key], value_of)
        if fits and "violations" in item:
            may_violate.append((item, key, value))
    for member, given in (("answers", answers), ("evidence", evidence)):
        for key in sorted(k for k in given if k not in items):
            problems.append(AnswerProblem(pointer(member, key), "unknown_key", "is not a question of this checklist"))
    if problems:
        return AnswersRejected(tuple(problems))
    return AnswersAccepted(tuple(_violations(may_violate, value_of)))


def _evidence_problems(
    key: str, item: Item, fitting: Any, photos: Any, shown: bool, value_of: Callable[[str], Any]
) -> list[AnswerProblem]:
    """The photos given for a question (`photos`, None: none), and those its answer needs (`fitting`: the answer
    when it is shown and fits the question, else None)."""
    if photos is not None:
        if not shown:
            return [
                AnswerProblem(
                    pointer("evidence", key), "hidden", "photos for a question that is not shown for these answers"
                )
            ]
        problem = photo_ids_problem(photos)
        if problem:
            return [AnswerProblem(pointer("evidence", key), problem[0], problem[1])]
    rule = item.get("evidence")
    if rule is None or fitting is None:
        return []
    needed = rule.get("min_photos", 1)
    if len(photos or ()) >= needed:
        return []
    if rule["photo"] == "always":
        return [
            AnswerProblem(pointer("evidence", key), "photo_required", f"this answer needs at least {needed} photo(s)")
        ]
    if any(_applies(violation, fitting, value_of) for violation in item.get("violations", ())):
        return [
            AnswerProblem(
                pointer("evidence", key), "photo_required", f"a violation needs at least {needed} photo(s) as evidence"
            )
        ]
    return []


def _applies(rule: Mapping[str, Any], value: Any, value_of: Callable[[str], Any]) -> bool:
    """A violation rule applies: the answer meets its test and its `only_if` holds on the other answers."""
    only_if = rule.get("only_if")
    return violates(rule["when"], value) and (only_if is None or holds(only_if, value_of))


def _violations(may_violate: list[tuple[Item, str, Any]], value_of: Callable[[str], Any]) -> Iterator[Violation]:
    """The violations of answers that fit their questions (template order): each code once per question."""
    for item, key, value in may_violate:
        codes: set[str] = set()
        for rule in item["violations"]:
            if rule["code"] not in codes and _applies(rule, value, value_of):
                codes.add(rule["code"])
                yield Violation(key, rule["code"], msgspec.convert(rule["article"], LegalRef), rule["severity"])
