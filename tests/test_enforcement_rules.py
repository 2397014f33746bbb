"""Sanction rules as data (schemas/sanctions/): the shipped files load, cover exactly the violation codes the
checklist templates emit, carry the amounts and VERIFY notes of the domain notes, and a broken file is refused
with a message that names it."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from backend.checklists import templates
from backend.core import calendar
from backend.enforcement import rules
from backend.enforcement.proposal import months_before

REGIMES = ("alcohol", "nix18", "coffeeshop", "sexwork", "gambling")


def emitted_codes() -> dict[str, set[str]]:
    """regime -> every violation code the shipped checklist templates of that regime emit."""
    codes: dict[str, set[str]] = {}
    for path in templates.DEFAULT_DIRECTORY.glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        for section in document["sections"]:
            for item in section["items"]:
                for violation in item.get("violations", ()):
                    codes.setdefault(document["regime"], set()).add(violation["code"])
    return codes


def test_every_regime_ships_a_valid_rules_file():
    book = rules.load_rules()
    assert set(book.versions) == set(REGIMES)
    assert all(version >= 1 for version in book.versions.values())


@pytest.mark.parametrize("regime", REGIMES)
def test_rules_cover_exactly_the_codes_the_checklists_emit(regime):
    book = rules.load_rules()
    ruled = {code for (r, code) in book.rules if r == regime}
    emitted = emitted_codes().get(regime, set())
    assert emitted - ruled == set(), f"codes without a sanction rule in {regime}.json"
    assert ruled - emitted == set(), f"rules in {regime}.json for codes no {regime} checklist emits"


def test_alcoholwet_fine_table_holds_the_domain_amounts_in_cents():
    book = rules.load_rules()
    table = book.table("alcoholbesluit", date(2025, 1, 1))
    assert table.amounts == {
        "I": {"under_50": 68_000, "50_or_more": 136_000},
        "II": {"under_50": 102_000, "50_or_more": 204_000},
        "III": {"under_50": 136_000, "50_or_more": 272_000},
    }
    assert (table.surcharge_percent, table.window_months) == (50, 12)
    assert table.valid_from == date(2021, 7, 1) and "R5" in table.source
    assert table.verify and "III" in table.category_verify  # the VERIFY notes travel with the data
    age = book.rule("alcohol", "AW-20-1-AGE-NOT-ESTABLISHED")
    assert (age.article, age.fine_category) == ("Alcoholwet art. 20 lid 1", "III")
    assert [step.step for step in age.ladder] == ["warning", "boete", "ontzegging_19a"]
    assert book.rule("alcohol", "AW-20-4-NO-AGE-NOTICE").fine_category == "I"
    assert book.rule("alcohol", "AW-24-1-NO-MANAGER-PRESENT").fine_category == "II"
    assert book.rule("alcohol", "AW-3-NO-PERMIT").fine_category == "III"
    strikes = book.strikes["Alcoholwet art. 20 lid 1"]
    assert (strikes.strikes, strikes.window_months, strikes.weeks_min, strikes.weeks_max) == (3, 12, 1, 12)


def test_nix18_rules_share_the_alcoholwet_article_and_table():
    book = rules.load_rules()
    nix = book.rule("nix18", "AW-20-1-AGE-NOT-ESTABLISHED")
    assert nix.regime == "nix18" and nix.article == "Alcoholwet art. 20 lid 1" and nix.fine_table == "alcoholbesluit"


def test_files_keep_their_verify_notes():
    for regime in REGIMES:
        text = (rules.DEFAULT_DIRECTORY / f"{regime}.json").read_text(encoding="utf-8")
        assert "VERIFY" in text or '"verify"' in text, regime


def test_a_fine_table_in_force_is_chosen_by_the_violation_date(tmp_path):
    directory = _copy(tmp_path)
    document = json.loads((directory / "alcohol.json").read_text(encoding="utf-8"))
    newer = json.loads(json.dumps(document["fine_tables"][0]))
    newer["valid_from"] = "2030-01-01"
    newer["categories"][0]["amounts_cents"]["under_50"] = 70_000
    document["fine_tables"].append(newer)
    (directory / "alcohol.json").write_text(json.dumps(document), encoding="utf-8")
    book = rules.load_rules(directory)
    assert book.table("alcoholbesluit", date(2029, 12, 31)).amounts["I"]["under_50"] == 68_000
    assert book.table("alcoholbesluit", date(2030, 1, 1)).amounts["I"]["under_50"] == 70_000
    assert book.table("alcoholbesluit", date(2000, 1, 1)).valid_from == date(2021, 7, 1)


def _copy(tmp_path: Path) -> Path:
    directory = tmp_path / "sanctions"
    shutil.copytree(rules.DEFAULT_DIRECTORY, directory)
    return directory


def _edit(directory: Path, name: str, change) -> None:
    path = directory / name
    document = json.loads(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(json.dumps(document), encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        (
            "alcohol.json",
            lambda d: d["fine_tables"][0]["categories"][0]["amounts_cents"].update(under_50=-5),
            "alcohol.json/fine_tables/0/categories/0/amounts_cents/under_50",
        ),
        ("alcohol.json", lambda d: d["rules"][0].update(fine={"table": "nope", "category": "I"}), "no fine table nope"),
        (
            "alcohol.json",
            lambda d: d["rules"][0].update(fine={"table": "alcoholbesluit", "category": "IV"}),
            "has no category IV",
        ),
        ("coffeeshop.json", lambda d: d["rules"].append(dict(d["rules"][0])), "has a rule already"),
        ("coffeeshop.json", lambda d: d["rules"][0]["ladder"].append({"step": "boete"}), "names no fine table"),
        (
            "sexwork.json",
            lambda d: d["rules"][0]["ladder"].append({"step": "execution"}),
            "sexwork.json/rules/0/ladder/",
        ),
        ("gambling.json", lambda d: d.update(regime="alcohol"), "a second file for regime alcohol"),
    ],
)
def test_a_broken_rules_file_is_refused_naming_the_problem(tmp_path, name, change, message):
    directory = _copy(tmp_path)
    _edit(directory, name, change)
    with pytest.raises(rules.RulesInvalid) as refused:
        rules.load_rules(directory)
    assert any(message in problem for problem in refused.value.problems), refused.value.problems


def test_a_file_that_is_not_json_is_refused(tmp_path):
    directory = _copy(tmp_path)
    (directory / "nix18.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(rules.RulesInvalid, match=r"nix18\.json: not valid JSON"):
        rules.load_rules(directory)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 3, 15), 12, date(2024, 3, 15)),
        (date(2025, 3, 31), 1, date(2025, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 2, 29)),
        (date(2025, 1, 10), 12, date(2024, 1, 10)),
        (date(2025, 1, 10), 1, date(2024, 12, 10)),
    ],
)
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


def test_years_after_keeps_the_day_or_takes_the_28th_for_29_february():
    assert calendar.years_after(date(2025, 6, 3), 1) == date(2026, 6, 3)
    assert calendar.years_after(date(2024, 2, 29), 1) == date(2025, 2, 28)
