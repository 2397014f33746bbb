"""Checklist answers the demo's inspections give, each fitting its shipped template (schemas/checklists/): the
sets named _OK establish no violation, a comment names the violations of the others."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _answered(answer: str, *questions: str) -> dict[str, str]:
    return dict.fromkeys(questions, answer)


def _without(answers: Mapping[str, Any], *questions: str) -> dict[str, Any]:
    return {question: answer for question, answer in answers.items() if question not in questions}


HORECA_OK: dict[str, Any] = {
    **_answered("yes", "AW-01", "AW-02", "AW-02a", "AW-16", "AW-03", "AW-04", "AW-05", "AW-06"),
    **_answered("no", "AW-07a", "AW-08", "AW-09", "AW-10", "AW-11"),
}
# No leidinggevende present (Alcoholwet art. 24): AW-03 'no' hides AW-04 and AW-05.
HORECA_NO_MANAGER = _without(HORECA_OK, "AW-04", "AW-05") | {"AW-03": "no"}
# ... and no visible age notice (art. 20 lid 4), which needs a photo.
HORECA_NO_MANAGER_NO_NOTICE = {**HORECA_NO_MANAGER, "AW-06": "no"}
SHOP_OK: dict[str, Any] = {
    "AW-90": "slijterij",
    **_answered("yes", "AW-01", "AW-03", "AW-05", "AW-06", "AW-07a", "AW-07"),
    **_answered("no", "AW-08", "AW-91"),
}
# Sold without establishing the buyer's age (art. 20 lid 1).
SHOP_AGE_NOT_ESTABLISHED = {**SHOP_OK, "AW-07": "no"}
SUPERMARKT_OK = _without(SHOP_OK, "AW-01", "AW-03", "AW-05") | {"AW-90": "supermarkt"}
PARACOMMERCIE_OK: dict[str, Any] = {
    **_answered("yes", "AW-01", "AW-12a", "AW-12b", "AW-12c", "AW-13a", "AW-06", "AW-07a", "AW-07"),
    **_answered("no", "AW-13b", "AW-15a", "AW-08", "AW-09", "AW-10"),
}
COFFEESHOP_OK: dict[str, Any] = {
    **_answered("yes", "CS-01", "CS-01a", "CS-10", "CS-05a", "CS-08", "CS-07a"),
    **_answered("no", "CS-02", "CS-03", "CS-04", "CS-05", "CS-06", "CS-09"),
    "CS-07": 420,
}
ARCADE_OK: dict[str, Any] = {
    **_answered("yes", "KS-01", "KS-01b", "KS-02a", "KS-04", "KS-06", "KS-07", "KS-08", "KS-08a"),
    **_answered("no", "KS-05"),
    "KS-02": 24,
}
# Answers that are a moment of the visit itself: filled in with the time the inspection finished.
AT_VISIT = "@visit"
NIX18_NOT_SOLD: dict[str, Any] = {
    "NX-01": "supermarkt",
    "NX-01a": AT_VISIT,
    "NX-05a": "age_16_17",
    **_answered("yes", "NX-05", "NX-05b"),
    **_answered("no", "NX-02", "NX-03", "NX-04"),
}
# The testkoper bought alcohol without being asked for ID (art. 20 lid 1); the receipt is the evidence.
NIX18_SOLD_NO_ID = {**NIX18_NOT_SOLD, "NX-04": "yes"}
# Sex business without a manager present during opening hours (APV art. 3:11); no identity data of anyone is
# recorded.
SEXWORK_NO_MANAGER: dict[str, Any] = {
    "SX-90": "prostitutiebedrijf",
    "SX-04a": 0,
    **_answered("yes", "SX-01", "SX-03", "SX-07", "SX-05", "SX-05a"),
    **_answered("no", "SX-02", "SX-06", "SX-10"),
}
