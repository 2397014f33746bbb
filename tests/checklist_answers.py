"""Valid answer sets for a checklist template, generated from its content: for benchmarks and load tests that
need many different, realistic submissions.

`answer_set` fills every shown question (required ones always, optional ones mostly), answers a share of the
yes/no questions the other way round so that violations occur, and adds the photos the validator asks for.
The validator itself decides what is shown and what needs a photo, so the result always fits the template.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from backend.checklists import validator
from backend.checklists.models import AnswersAccepted

AMSTERDAM_WINTER = timezone(timedelta(hours=1))
MAX_ROUNDS = 10


def _value(item: Mapping[str, Any], rng: random.Random, flip_share: float, when: datetime) -> Any:
    answer = item["answer"]
    kind = answer["type"]
    if kind == "yes_no_na":
        return "no" if rng.random() < flip_share else "yes"
    if kind in ("number", "count"):
        low = answer.get("minimum", 0)
        high = answer.get("maximum", low + 5)
        return rng.randint(int(low), int(min(high, low + 5)))
    if kind == "text":
        return "Geen bijzonderheden."
    if kind == "choice":
        options = [option["value"] for option in answer["options"]]
        return [rng.choice(options)] if answer.get("multiple") else rng.choice(options)
    if kind == "date":
        return when.date().isoformat()
    if kind == "datetime":
        return when.isoformat(timespec="seconds")
    if kind == "photo":
        return [str(uuid.UUID(int=rng.getrandbits(128), version=4))]
    raise ValueError(f"unknown answer type {kind}")


def answer_set(
    content: Mapping[str, Any], rng: random.Random, *, flip_share: float = 0.1, when: datetime | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(answers, evidence): answers keyed by question, evidence = photo ids per question."""
    when = when or datetime.now(AMSTERDAM_WINTER)
    template = validator.questions(content)
    items = template.items
    answers: dict[str, Any] = {}
    evidence: dict[str, list[str]] = {}
    for _ in range(MAX_ROUNDS):
        shown = validator.visible(template, answers)
        for key, item in items.items():
            if not shown[key] or item.get("answer", {}).get("pattern"):
                answers.pop(key, None)
                evidence.pop(key, None)
            elif key not in answers and (item["required"] or rng.random() < 0.7):
                answers[key] = _value(item, rng, flip_share, when)
        result = validator.validate(content, answers, evidence)
        if isinstance(result, AnswersAccepted):
            return answers, evidence
        for problem in result.problems:
            key = problem.pointer.split("/", 2)[2]
            if problem.kind == "photo_required":
                evidence.setdefault(key, []).append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
            elif problem.kind == "hidden":
                answers.pop(key, None)
                evidence.pop(key, None)
    raise AssertionError(f"no valid answers found for {content.get('key')}: {result}")
