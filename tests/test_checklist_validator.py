"""The answer validator (backend/checklists/validator.py): a set of answers against a template version
gives either the violations they establish or the problems they have, each problem at a JSON pointer.

Unit tests use a small template that has every answer type; property tests (hypothesis) generate
answer sets for every shipped template and compare with an independent oracle in this file.
"""

from __future__ import annotations

import copy
import uuid
from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from backend.checklists import templates
from backend.checklists.models import AnswerProblem, AnswersAccepted, AnswersRejected, LegalRef, Violation
from backend.checklists.validator import items_by_key, validate, value_problem

SHIPPED = {
    path.stem: templates.check_template(templates.load_file(path))
    for path in sorted(templates.DEFAULT_DIRECTORY.glob("*.json"))
}
PHOTO = str(uuid.UUID(int=1))
PHOTO_2 = str(uuid.UUID(int=2))


def item(key: str, answer: dict, *, required: bool = True, **extra: Any) -> dict:
    return {
        "key": key,
        "question": f"Vraag {key}?",
        "legal_basis": [{"law": "Testwet", "article": "1"}],
        "answer": answer,
        "required": required,
        **extra,
    }


def rule(when: dict, code: str, **extra: Any) -> dict:
    return {
        "when": when,
        "code": code,
        "article": {"law": "Testwet", "article": "2", "lid": "1"},
        "severity": "serious",
        "description": "Overtreding",
        **extra,
    }


# Q1 yes/no gates Q2 (count, violation above 2, photo on violation), which gates Q3 (choice). Q4 is a
# multiple choice, Q5 a number with a range, Q6-Q9 text, date, datetime, photo; Q10 shows when Q1 is not yes.
TEMPLATE = templates.check_template(
    {
        "key": "test-template",
        "regime": "alcohol",
        "kind": "inspection",
        "title": "Test",
        "valid_from": "2025-01-01",
        "sources": [{"title": "test"}],
        "sections": [
            {
                "key": "main",
                "title": "Main",
                "items": [
                    item("Q1", {"type": "yes_no_na", "allow_na": False}, violations=[rule({"equals": "no"}, "T-Q1")]),
                    item(
                        "Q2",
                        {"type": "count", "maximum": 50},
                        shown_when={"key": "Q1", "equals": "yes"},
                        evidence={"photo": "on_violation"},
                        violations=[rule({"greater_than": 2}, "T-Q2")],
                    ),
                    item(
                        "Q3",
                        {"type": "choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]},
                        shown_when={"key": "Q2", "in": [3, 4]},
                    ),
                    item(
                        "Q4",
                        {
                            "type": "choice",
                            "multiple": True,
                            "options": [
                                {"value": "x", "label": "X"},
                                {"value": "y", "label": "Y"},
                                {"value": "z", "label": "Z"},
                            ],
                        },
                        required=False,
                        violations=[rule({"equals": "z"}, "T-Q4", only_if={"key": "Q1", "equals": "yes"})],
                    ),
                    item(
                        "Q5",
                        {"type": "number", "minimum": 0, "maximum": 1000},
                        required=False,
                        evidence={"photo": "always", "min_photos": 2},
                    ),
                    item("Q6", {"type": "text", "max_length": 10}, required=False),
                    item("Q7", {"type": "date"}, required=False),
                    item("Q8", {"type": "datetime"}, required=False),
                    item("Q9", {"type": "photo", "max_photos": 2}, required=False),
                    item("Q10", {"type": "yes_no_na"}, shown_when={"not": {"key": "Q1", "equals": "yes"}}),
                ],
            }
        ],
    }
)


def problems_of(result) -> list[tuple[str, str]]:
    assert isinstance(result, AnswersRejected), result
    return [(p.pointer, p.kind) for p in result.problems]


def violations_of(result) -> list[tuple[str, str]]:
    assert isinstance(result, AnswersAccepted), result
    return [(v.key, v.code) for v in result.violations]


# --- unit tests -----------------------------------------------------------------------------------------


def test_compliant_answers_give_no_violations():
    assert violations_of(validate(TEMPLATE, {"Q1": "yes", "Q2": 1})) == []


def test_violations_carry_key_code_article_and_severity():
    result = validate(TEMPLATE, {"Q1": "yes", "Q2": 3, "Q3": "a", "Q4": ["x", "z"]}, {"Q2": [PHOTO]})
    assert result == AnswersAccepted(
        (
            Violation("Q2", "T-Q2", LegalRef(law="Testwet", article="2", lid="1"), "serious"),
            Violation("Q4", "T-Q4", LegalRef(law="Testwet", article="2", lid="1"), "serious"),
        )
    )


def test_only_if_limits_a_violation_to_its_condition():
    # Q4 = z is a violation only when Q1 is yes.
    assert violations_of(validate(TEMPLATE, {"Q1": "no", "Q4": ["z"], "Q10": "na"})) == [("Q1", "T-Q1")]


def test_missing_required_only_when_shown():
    assert problems_of(validate(TEMPLATE, {"Q1": "yes"})) == [("/answers/Q2", "missing")]
    # With Q1 = no, Q2 and Q3 are hidden and not required; Q10 is shown instead.
    assert problems_of(validate(TEMPLATE, {"Q1": "no"})) == [("/answers/Q10", "missing")]


def test_answer_to_hidden_question_is_a_problem_also_down_a_chain():
    # Q2 = 1 hides Q3; Q1 = no hides Q2 and with it Q3.
    assert problems_of(validate(TEMPLATE, {"Q1": "yes", "Q2": 1, "Q3": "a"})) == [("/answers/Q3", "hidden")]
    assert problems_of(validate(TEMPLATE, {"Q1": "no", "Q2": 3, "Q3": "a", "Q10": "no"})) == [
        ("/answers/Q2", "hidden"),
        ("/answers/Q3", "hidden"),
    ]


def test_null_counts_as_no_answer():
    assert violations_of(validate(TEMPLATE, {"Q1": "yes", "Q2": 0, "Q3": None, "Q6": None, "Q10": None})) == []


def test_unknown_keys_sorted_with_escaped_pointers():
    result = validate(TEMPLATE, {"Q1": "yes", "Q2": 0, "zz": 1, "a/b~c": 1}, {"nope": [PHOTO]})
    assert problems_of(result) == [
        ("/answers/a~1b~0c", "unknown_key"),
        ("/answers/zz", "unknown_key"),
        ("/evidence/nope", "unknown_key"),
    ]


@pytest.mark.parametrize(
    ("key", "value", "kind"),
    [
        ("Q1", "na", "wrong_type"),  # allow_na is false
        ("Q1", True, "wrong_type"),
        ("Q1", "Yes", "wrong_type"),
        ("Q5", True, "wrong_type"),  # a boolean is not a number
        ("Q5", "12", "wrong_type"),
        ("Q5", 1000.5, "wrong_type"),  # above the maximum
        ("Q5", -1, "wrong_type"),
        ("Q6", "", "wrong_type"),
        ("Q6", "x" * 11, "wrong_type"),  # max_length 10
        ("Q6", "a\x00b", "wrong_type"),
        ("Q7", "2024-02-30", "wrong_type"),
        ("Q7", "01-02-2024", "wrong_type"),
        ("Q8", "2025-03-01T21:30:00", "wrong_type"),  # no offset
        ("Q8", "2025-03-01 21:30:00+01:00", "wrong_type"),
        ("Q4", "x", "wrong_type"),  # a multiple choice takes a list
        ("Q4", [], "wrong_type"),
        ("Q4", ["x", "x"], "wrong_type"),
        ("Q4", ["x", "q"], "not_an_option"),
        ("Q9", PHOTO, "photo_ids"),  # a list is required
        ("Q9", ["not-a-uuid"], "photo_ids"),
        ("Q9", [PHOTO, PHOTO.upper()], "photo_ids"),
        ("Q9", [PHOTO, PHOTO_2, str(uuid.UUID(int=3))], "photo_ids"),  # max_photos 2
    ],
)
def test_wrong_values_are_refused_at_their_pointer(key, value, kind):
    # A wrong Q1 is not "yes": Q2 hides and Q10 shows.
    answers = {"Q10": "no", key: value} if key == "Q1" else {"Q1": "yes", "Q2": 0, key: value}
    evidence = {"Q5": [PHOTO, PHOTO_2]} if key == "Q5" else None
    assert problems_of(validate(TEMPLATE, answers, evidence)) == [(f"/answers/{key}", kind)]


def test_choice_not_in_options():
    assert problems_of(validate(TEMPLATE, {"Q1": "yes", "Q2": 3, "Q3": "c"}, {"Q2": [PHOTO]})) == [
        ("/answers/Q3", "not_an_option")
    ]


def test_valid_values_of_every_type_are_accepted():
    answers = {
        "Q1": "yes",
        "Q2": 0,
        "Q4": ["x", "y"],
        "Q5": 12.5,
        "Q6": "kort",
        "Q7": "2024-02-29",
        "Q8": "2025-03-01T21:30:00.123+01:00",
        "Q9": [PHOTO, PHOTO_2],
    }
    assert violations_of(validate(TEMPLATE, answers, {"Q5": [PHOTO, PHOTO_2]})) == []
    assert value_problem({"type": "datetime"}, "2025-03-01T20:30:00Z") is None


def test_violation_without_required_photo_is_a_problem_and_with_it_a_violation():
    answers = {"Q1": "yes", "Q2": 4, "Q3": "b"}
    assert problems_of(validate(TEMPLATE, answers)) == [("/evidence/Q2", "photo_required")]
    assert problems_of(validate(TEMPLATE, answers, {"Q2": []})) == [("/evidence/Q2", "photo_ids")]
    assert violations_of(validate(TEMPLATE, answers, {"Q2": [PHOTO]})) == [("Q2", "T-Q2")]
    # No violation, no photo needed.
    assert violations_of(validate(TEMPLATE, {"Q1": "yes", "Q2": 2})) == []


def test_photo_always_with_minimum_count():
    assert problems_of(validate(TEMPLATE, {"Q1": "yes", "Q2": 0, "Q5": 1}, {"Q5": [PHOTO]})) == [
        ("/evidence/Q5", "photo_required")
    ]
    assert violations_of(validate(TEMPLATE, {"Q1": "yes", "Q2": 0, "Q5": 1}, {"Q5": [PHOTO, PHOTO_2]})) == []


def test_photos_for_a_hidden_question_are_a_problem():
    assert problems_of(validate(TEMPLATE, {"Q1": "no", "Q10": "yes"}, {"Q2": [PHOTO]})) == [("/evidence/Q2", "hidden")]


def test_nix18_sale_is_a_violation_depending_on_id_check_and_tester_age():
    nix18 = SHIPPED["nix18-purchase-attempt"]
    base = {
        "NX-01": "supermarkt",
        "NX-01a": "2025-05-01T16:05:00+02:00",
        "NX-05": "yes",
        "NX-05b": "yes",
        "NX-02": "no",
        "NX-04": "yes",
    }
    photo = {"NX-04": [PHOTO]}
    no_id = validate(nix18, {**base, "NX-05a": "age_18_plus", "NX-03": "no"}, photo)
    assert violations_of(no_id) == [("NX-04", "AW-20-1-AGE-NOT-ESTABLISHED")]
    assert no_id.violations[0].article == LegalRef(law="Alcoholwet", article="20", lid="1")
    adult_with_id = validate(nix18, {**base, "NX-05a": "age_18_plus", "NX-03": "yes"}, photo)
    assert violations_of(adult_with_id) == []
    minor_with_id = validate(nix18, {**base, "NX-05a": "age_16_17", "NX-03": "yes"}, photo)
    assert violations_of(minor_with_id) == [("NX-04", "AW-20-1-SOLD-TO-MINOR")]
    # The purchase photo is evidence only when the sale is a violation.
    assert problems_of(validate(nix18, {**base, "NX-05a": "age_18_plus", "NX-03": "no"})) == [
        ("/evidence/NX-04", "photo_required")
    ]
    assert violations_of(validate(nix18, {**base, "NX-05a": "age_18_plus", "NX-03": "yes"})) == []


def test_coffeeshop_stock_threshold():
    shop = SHIPPED["coffeeshop"]
    answers = dict.fromkeys(("CS-02", "CS-03", "CS-04", "CS-05", "CS-06", "CS-07a", "CS-08", "CS-09"), "no")
    answers |= {"CS-01": "yes", "CS-01a": "yes", "CS-10": "yes", "CS-05a": "yes", "CS-08": "yes"}
    assert violations_of(validate(shop, {**answers, "CS-07": 500})) == []
    assert problems_of(validate(shop, {**answers, "CS-07": 500.5})) == [("/evidence/CS-07", "photo_required")]
    assert violations_of(validate(shop, {**answers, "CS-07": 500.5}, {"CS-07": [PHOTO]})) == [
        ("CS-07", "CS-STOCK-ABOVE-MAXIMUM")
    ]


def test_illegal_prostitution_home_trial_suspends_the_violation():
    ip = SHIPPED["illegal-prostitution"]
    base = {
        "SX-11": "melding_buurt",
        "SX-90": "woning",
        "SX-08": "yes",
        "SX-04a": 1,
        "SX-08a": "no",
        "SX-05": "no",
        "SX-06": "no",
        "SX-10": "no",
    }
    assert violations_of(validate(ip, {**base, "SX-09": "yes"})) == []
    outside = validate(ip, {**base, "SX-09": "no", "SX-09a": ["bemiddeling"]}, {"SX-08a": [PHOTO]})
    assert violations_of(outside) == [("SX-08a", "SX-UNLICENSED-SEXWORK")]


# --- property tests over generated answer sets ----------------------------------------------------------
# The oracle below evaluates visibility by fixpoint iteration and violations rule by rule, independently
# of the validator's evaluation order.


def oracle_holds(condition: dict, value_of) -> bool:
    if "all" in condition:
        return all(oracle_holds(c, value_of) for c in condition["all"])
    if "any" in condition:
        return any(oracle_holds(c, value_of) for c in condition["any"])
    if "not" in condition:
        return not oracle_holds(condition["not"], value_of)
    value = value_of(condition["key"])
    if "answered" in condition:
        return (value is not None) == condition["answered"]
    if value is None:
        return False
    wanted = [condition["equals"]] if "equals" in condition else condition["in"]
    return any(
        not isinstance(v, bool) and v == w for v in (value if isinstance(value, list) else [value]) for w in wanted
    )


def answers_if_shown(answers: dict, shown: dict[str, bool]):
    """The value_of for oracle_holds: an item's answer, or None while the item is hidden."""
    return lambda key: answers.get(key) if shown[key] else None


def oracle_shown(content: dict, answers: dict) -> dict[str, bool]:
    items = items_by_key(content)
    shown = dict.fromkeys(items, True)
    for _ in range(len(items) + 1):
        before = dict(shown)
        for key, it in items.items():
            condition = it.get("shown_when")
            shown[key] = condition is None or oracle_holds(condition, answers_if_shown(answers, before))
        if shown == before:
            return shown
    raise AssertionError("visibility did not settle")


def oracle_violations(content: dict, answers: dict) -> set[tuple[str, str]]:
    shown = oracle_shown(content, answers)
    value_of = answers_if_shown(answers, shown)
    found = set()
    for key, it in items_by_key(content).items():
        value = value_of(key)
        if value is None:
            continue
        for r in it.get("violations", ()):
            ((op, operand),) = r["when"].items()
            if oracle_test(op, operand, value) and ("only_if" not in r or oracle_holds(r["only_if"], value_of)):
                found.add((key, r["code"]))
    return found


def oracle_test(op: str, operand, value) -> bool:
    """Whether an answer meets a violation test (`when`)."""
    values = value if isinstance(value, list) else [value]
    match op:
        case "equals":
            return operand in values
        case "in":
            return bool(set(values) & set(operand))
        case "greater_than":
            return value > operand
        case "greater_or_equal":
            return value >= operand
        case "less_than":
            return value < operand
        case "less_or_equal":
            return value <= operand
    raise KeyError(op)


def value_strategy(answer: dict) -> st.SearchStrategy:
    kind = answer["type"]
    if kind == "yes_no_na":
        return st.sampled_from(["yes", "no", "na"] if answer.get("allow_na", True) else ["yes", "no"])
    if kind == "number":
        low, high = answer.get("minimum", -1e9), answer.get("maximum", 1e9)
        return st.one_of(st.integers(int(low), int(high)), st.floats(low, high, allow_nan=False))
    if kind == "count":
        return st.integers(0, answer.get("maximum", 10_000))
    if kind == "text":
        if "pattern" in answer:
            text = st.from_regex(answer["pattern"], fullmatch=True)
        else:
            text = st.text(min_size=1, max_size=min(answer.get("max_length", 2000), 40))
        return text.filter(lambda s: s.strip() and "\x00" not in s and len(s) <= answer.get("max_length", 2000))
    if kind == "choice":
        values = [o["value"] for o in answer["options"]]
        if answer.get("multiple"):
            return st.lists(st.sampled_from(values), min_size=1, unique=True)
        return st.sampled_from(values)
    if kind == "date":
        return st.dates().map(lambda d: d.isoformat())
    if kind == "datetime":
        offsets = st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
        return st.builds(lambda dt, tz: dt.replace(tzinfo=tz).isoformat(), st.datetimes(), offsets)
    return st.lists(st.uuids().map(str), min_size=1, max_size=min(answer.get("max_photos", 20), 3), unique=True)


@st.composite
def valid_sets(draw, content: dict) -> tuple[dict, dict]:
    """A fully valid answer set: a value for every question, kept for shown questions (optional ones
    sometimes left out), with photos for every shown answered question that has an evidence rule."""
    items = items_by_key(content)
    raw = {key: draw(value_strategy(it["answer"])) for key, it in items.items()}
    skip = {key for key, it in items.items() if not it["required"] and draw(st.booleans())}
    answers = {key: value for key, value in raw.items() if key not in skip}
    for _ in range(len(items) + 1):  # dropping hidden answers can hide more questions
        shown = oracle_shown(content, answers)
        kept = {key: value for key, value in answers.items() if shown[key]}
        if kept == answers:
            break
        answers = kept
    evidence = {}
    for key, it in items.items():
        if key in answers and "evidence" in it:
            count = it["evidence"].get("min_photos", 1)
            evidence[key] = [str(uuid.UUID(int=draw(st.integers(1, 2**64)) + n)) for n in range(count)]
    return answers, evidence


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
template_names = st.sampled_from(sorted(SHIPPED))


@PROPERTY
@given(data=st.data(), name=template_names)
def test_a_fully_valid_set_gives_exactly_the_oracles_violations(data, name):
    content = SHIPPED[name]
    answers, evidence = data.draw(valid_sets(content))
    result = validate(content, answers, evidence)
    assert isinstance(result, AnswersAccepted), result
    assert {(v.key, v.code) for v in result.violations} == oracle_violations(content, answers)
    assert len(result.violations) == len({(v.key, v.code) for v in result.violations})


@PROPERTY
@given(data=st.data(), name=template_names)
def test_removing_a_required_shown_answer_gives_exactly_a_missing_problem(data, name):
    content = SHIPPED[name]
    items = items_by_key(content)
    answers, evidence = data.draw(valid_sets(content))
    shown = oracle_shown(content, answers)
    candidates = [key for key in answers if items[key]["required"] and shown[key]]
    assume(candidates)
    removed = data.draw(st.sampled_from(candidates))
    rest = {k: v for k, v in answers.items() if k != removed}
    after = oracle_shown(content, rest)
    # Questions that depended on the removed answer are hidden now: their answers go too. (A question that
    # would newly appear and be required makes "exactly one problem" untrue; such draws are skipped.)
    assume(not any(after[k] and not shown[k] and items[k]["required"] for k in items))
    rest = {k: v for k, v in rest.items() if after[k]}
    photos = {k: v for k, v in evidence.items() if k in rest}
    result = validate(content, rest, photos)
    assert result == AnswersRejected((AnswerProblem(f"/answers/{removed}", "missing", "is required"),))


@PROPERTY
@given(data=st.data(), name=template_names, extra=st.text(min_size=1, max_size=8))
def test_an_unknown_key_gives_exactly_one_problem_at_its_escaped_pointer(data, name, extra):
    content = SHIPPED[name]
    assume(extra not in items_by_key(content))
    answers, evidence = data.draw(valid_sets(content))
    result = validate(content, {**answers, extra: data.draw(json_values)}, evidence)
    escaped = extra.replace("~", "~0").replace("/", "~1")
    assert result == AnswersRejected(
        (AnswerProblem(f"/answers/{escaped}", "unknown_key", "is not a question of this checklist"),)
    )


@PROPERTY
@given(data=st.data(), name=template_names)
def test_any_answer_set_is_judged_consistently_and_deterministically(data, name):
    """Arbitrary keys and values: accepted only when every answer is known, shown and valid; rejected
    problems point at given or required keys; the same input (in any key order) gives the same result."""
    content = SHIPPED[name]
    items = items_by_key(content)
    keys = st.sampled_from(sorted(items)) | st.text(max_size=6)
    values = json_values | st.sampled_from(sorted(items)).flatmap(lambda k: value_strategy(items[k]["answer"]))
    answers = data.draw(st.dictionaries(keys, values, max_size=len(items) + 3))
    evidence = data.draw(st.dictionaries(keys, st.lists(st.uuids().map(str), max_size=2) | json_values, max_size=3))
    result = validate(content, answers, evidence)
    assert result == validate(content, dict(reversed(list(answers.items()))), dict(reversed(list(evidence.items()))))
    assert result == validate(content, copy.deepcopy(answers), copy.deepcopy(evidence))
    shown = oracle_shown(content, answers)
    if isinstance(result, AnswersAccepted):
        assert set(answers) <= set(items) and set(evidence) <= set(items)
        for key, value in answers.items():
            assert value is None or (shown[key] and value_problem(items[key]["answer"], value) is None)
        assert {(v.key, v.code) for v in result.violations} == oracle_violations(content, answers)
    else:
        assert result.problems
        assert len(set(result.problems)) == len(result.problems)
        for problem in result.problems:
            member, _, key = problem.pointer[1:].partition("/")
            key = key.replace("~1", "/").replace("~0", "~")
            given_keys = answers if member == "answers" else evidence
            assert member in ("answers", "evidence")
            assert key in given_keys or (problem.kind in ("missing", "photo_required") and key in items)
