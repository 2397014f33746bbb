"""Sanction rules as data: the files in schemas/sanctions/, checked against schemas/sanctions.schema.json.

Per violation code a rule names the article it counts under (recidive and three strikes count per article,
not per code), the intervention ladder and, for bestuurlijke boetes, the fine table category. Fine tables
carry amounts in cents per employee class, a source and a valid_from date; a table key may appear with
several valid_from dates, and a violation is fined from the table in force on the day it was observed.

`load_rules` checks every file (JSON Schema, then the references a schema cannot express) and raises
RulesInvalid naming each problem; `rulebook()` loads the shipped files once. The app calls it at startup,
so a broken file stops the server instead of failing the first proposal.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema_rs

from backend.core.config import PROJECT_ROOT

SCHEMA_PATH = PROJECT_ROOT / "schemas" / "sanctions.schema.json"
DEFAULT_DIRECTORY = PROJECT_ROOT / "schemas" / "sanctions"


class RulesInvalid(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid sanction rules: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LadderStep:
    step: str
    weeks: int | None = None
    months: int | None = None
    also: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Rule:
    regime: str
    code: str
    article: str
    ladder: tuple[LadderStep, ...]
    fine_table: str | None
    fine_category: str | None
    verify: str | None
    file_version: int


@dataclass(frozen=True)
class FineTable:
    key: str
    title: str
    valid_from: date
    source: str
    verify: str | None
    surcharge_percent: int
    window_months: int
    amounts: dict[str, dict[str, int]]  # category -> employee class -> cents
    category_verify: dict[str, str]


@dataclass(frozen=True)
class ThreeStrikes:
    article: str
    strikes: int
    window_months: int
    weeks_min: int
    weeks_max: int
    weeks_proposed: int
    source: str
    note: str | None


@dataclass
class RuleBook:
    rules: dict[tuple[str, str], Rule] = field(default_factory=dict)
    tables: dict[str, list[FineTable]] = field(default_factory=dict)
    strikes: dict[str, ThreeStrikes] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    cases_under: dict[str, str] = field(default_factory=dict)  # regime -> the regime whose case holds its violations
    # question key -> answer -> employee class: where an inspection records the offender's size itself
    employee_class_answers: dict[str, dict[str, str]] = field(default_factory=dict)

    def rule(self, regime: str, code: str) -> Rule | None:
        """The regime's rule for a code; a code the regime has no rule for falls back to another regime's."""
        found = self.rules.get((regime, code))
        if found is None:
            found = next((rule for (_, c), rule in sorted(self.rules.items()) if c == code), None)
        return found

    def case_regime(self, regime: str) -> str:
        """The regime of the case a violation found under `regime` goes to: one case per law and target."""
        return self.cases_under.get(regime, regime)

    def table(self, key: str, on: date) -> FineTable:
        """The version of a fine table in force on `on` (the earliest when `on` precedes them all)."""
        versions = self.tables[key]
        in_force = [table for table in versions if table.valid_from <= on]
        return in_force[-1] if in_force else versions[0]

    def ban_weeks(self) -> tuple[int, int]:
        """The art. 19a ban's bounds (1-12 weeks by law) from the three-strikes rule, or the law's."""
        strikes = next(iter(self.strikes.values()), None)
        return (strikes.weeks_min, strikes.weeks_max) if strikes else (1, 12)


@functools.cache
def _schema_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        json.loads(SCHEMA_PATH.read_text(encoding="utf-8")), validate_formats=True
    )


def _source(value: dict[str, Any]) -> str:
    return f"{value['ref']}: {value['title']}" if "ref" in value else value["title"]


def load_rules(directory: Path = DEFAULT_DIRECTORY) -> RuleBook:
    book, problems = RuleBook(), []
    documents = []
    for path in sorted(directory.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{path.name}: not valid JSON ({exc})")
            continue
        errors = [
            f"{path.name}{'/' + '/'.join(map(str, e.instance_path)) if e.instance_path else ''}: {e.message[:200]}"
            for e in _schema_validator().iter_errors(document)
        ]
        if errors:
            problems += errors
            continue
        if document["regime"] in book.versions:
            problems.append(f"{path.name}: a second file for regime {document['regime']}")
            continue
        book.versions[document["regime"]] = document["version"]
        if "cases_under" in document:
            book.cases_under[document["regime"]] = document["cases_under"]
        if "employee_class_answer" in document:
            answer = document["employee_class_answer"]
            book.employee_class_answers[answer["question"]] = dict(answer["answers"])
        documents.append((path.name, document))
        for table in document.get("fine_tables", ()):
            problems += _add_table(book, path.name, table)
        if "three_strikes" in document:
            strikes = document["three_strikes"]
            weeks = strikes["weeks"]
            if not weeks["min"] <= weeks["proposed"] <= weeks["max"]:
                problems.append(f"{path.name}/three_strikes/weeks: proposed must lie between min and max")
            book.strikes[strikes["article"]] = ThreeStrikes(
                strikes["article"],
                strikes["strikes"],
                strikes["window_months"],
                weeks["min"],
                weeks["max"],
                weeks["proposed"],
                _source(strikes["source"]),
                strikes.get("note"),
            )
    for name, document in documents:  # rules after every table is known: a rule may use another file's table
        problems += _add_rules(book, name, document)
    for regime, under in sorted(book.cases_under.items()):
        if under == regime or under not in book.versions or under in book.cases_under:
            problems.append(f"{regime}: cases_under must name another regime with a file of its own cases")
    if not book.rules and not problems:
        problems.append(f"{directory}: no sanction rules found")
    if problems:
        raise RulesInvalid(problems)
    return book


def _add_table(book: RuleBook, name: str, table: dict[str, Any]) -> list[str]:
    valid_from = date.fromisoformat(table["valid_from"])
    versions = book.tables.setdefault(table["key"], [])
    if any(existing.valid_from == valid_from for existing in versions):
        return [f"{name}: fine table {table['key']} has two versions valid from {valid_from}"]
    categories = [category["category"] for category in table["categories"]]
    if len(set(categories)) != len(categories):
        return [f"{name}: fine table {table['key']} lists a category twice"]
    versions.append(
        FineTable(
            table["key"],
            table["title"],
            valid_from,
            _source(table["source"]),
            table.get("verify"),
            table["recidive"]["surcharge_percent"],
            table["recidive"]["window_months"],
            {c["category"]: dict(c["amounts_cents"]) for c in table["categories"]},
            {c["category"]: c["verify"] for c in table["categories"] if "verify" in c},
        )
    )
    versions.sort(key=lambda t: t.valid_from)
    return []


def _add_rules(book: RuleBook, name: str, document: dict[str, Any]) -> list[str]:
    problems = []
    regime = document["regime"]
    for index, rule in enumerate(document["rules"]):
        at = f"{name}/rules/{index}"
        if (regime, rule["code"]) in book.rules:
            problems.append(f"{at}: code {rule['code']} has a rule already")
            continue
        fine = rule.get("fine")
        if fine is not None:
            versions = book.tables.get(fine["table"])
            if not versions:
                problems.append(f"{at}/fine/table: no fine table {fine['table']}")
            elif any(fine["category"] not in table.amounts for table in versions):
                problems.append(f"{at}/fine/category: fine table {fine['table']} has no category {fine['category']}")
        uses_boete = any(step["step"] == "boete" for step in rule["ladder"])
        if uses_boete and fine is None:
            problems.append(f"{at}: the ladder proposes a boete but the rule names no fine table")
        ladder = tuple(
            LadderStep(s["step"], s.get("weeks"), s.get("months"), tuple(s.get("also", ())), s.get("note"))
            for s in rule["ladder"]
        )
        book.rules[(regime, rule["code"])] = Rule(
            regime,
            rule["code"],
            rule["article"],
            ladder,
            fine["table"] if fine else None,
            fine["category"] if fine else None,
            rule.get("verify"),
            document["version"],
        )
    return problems


@functools.cache
def rulebook() -> RuleBook:
    """The shipped rules, loaded and checked once per process."""
    return load_rules(DEFAULT_DIRECTORY)


def article_key(article: dict[str, Any]) -> str:
    """A violation's article as the rules write it ('Alcoholwet art. 20 lid 1'), for codes without a rule."""
    key = f"{article.get('law', '?')} art. {article.get('article', '?')}"
    return key + (f" lid {article['lid']}" if article.get("lid") else "")
