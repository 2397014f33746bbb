"""The report definitions against the checklist templates they refer to (schemas/checklists)."""

from __future__ import annotations

import json

from backend.checklists import templates
from backend.reports import definitions as defs


def _questions(key: str) -> dict[str, dict]:
    content = json.loads((templates.DEFAULT_DIRECTORY / f"{key}.json").read_text(encoding="utf-8"))
    return {item["key"]: item for section in content["sections"] for item in section["items"]}


def test_permit_questions_exist_and_cannot_be_answered_not_applicable():
    for template, keys in defs.PERMIT_QUESTIONS.items():
        questions = _questions(template)
        for key in keys:
            assert key in questions, f"{template} has no question {key}"
            assert questions[key]["answer"] == {"type": "yes_no_na", "allow_na": False}


def test_nix18_questions_the_compliance_rule_reads_exist():
    questions = _questions(defs.NIX18_TEMPLATE)
    for key in ("NX-01", "NX-03", "NX-04", "NX-05a", "NX-06"):
        assert key in questions
    assert {o["value"] for o in questions["NX-05a"]["answer"]["options"]} == {"age_16_17", "age_18_plus"}


def test_every_cycle_rule_names_registry_kinds():
    from backend.registry.models import KINDS

    for rule in defs.CYCLE_RULES:
        assert set(rule.kinds or ()) <= KINDS
        assert rule.supervision_level in (None, "regular", "verscherpt")
