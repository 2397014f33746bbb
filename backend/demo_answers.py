"""Checklist answers the demo's inspections give, each fitting its shipped template (schemas/checklists/): the
sets named _OK establish no violation, a comment names the violations of the others."""

from __future__ import annotations

from typing import Any

HORECA_OK: dict[str, Any] = {
    "AW-01": "yes",
    "AW-02": "yes",
    "AW-02a": "yes",
    "AW-16": "yes",
    "AW-03": "yes",
    "AW-04": "yes",
    "AW-05": "yes",
    "AW-06": "yes",
    "AW-07a": "no",
    "AW-08": "no",
    "AW-09": "no",
    "AW-10": "no",
    "AW-11": "no",
}
# No leidinggevende present (Alcoholwet art. 24): AW-03 'no' hides AW-04 and AW-05.
HORECA_NO_MANAGER = {**{k: v for k, v in HORECA_OK.items() if k not in ("AW-04", "AW-05")}, "AW-03": "no"}
# ... and no visible age notice (art. 20 lid 4), which needs a photo.
HORECA_NO_MANAGER_NO_NOTICE = {**HORECA_NO_MANAGER, "AW-06": "no"}
SHOP_OK: dict[str, Any] = {
    "AW-90": "slijterij",
    "AW-01": "yes",
    "AW-03": "yes",
    "AW-05": "yes",
    "AW-06": "yes",
    "AW-07a": "yes",
    "AW-07": "yes",
    "AW-08": "no",
    "AW-91": "no",
}
# Sold without establishing the buyer's age (art. 20 lid 1).
SHOP_AGE_NOT_ESTABLISHED = {**SHOP_OK, "AW-07": "no"}
SUPERMARKT_OK = {k: v for k, v in SHOP_OK.items() if k not in ("AW-01", "AW-03", "AW-05")} | {"AW-90": "supermarkt"}
PARACOMMERCIE_OK: dict[str, Any] = {
    "AW-01": "yes",
    "AW-12a": "yes",
    "AW-12b": "yes",
    "AW-12c": "yes",
    "AW-13a": "yes",
    "AW-13b": "no",
    "AW-15a": "no",
    "AW-06": "yes",
    "AW-07a": "yes",
    "AW-07": "yes",
    "AW-08": "no",
    "AW-09": "no",
    "AW-10": "no",
}
COFFEESHOP_OK: dict[str, Any] = {
    "CS-01": "yes",
    "CS-01a": "yes",
    "CS-10": "yes",
    "CS-02": "no",
    "CS-03": "no",
    "CS-04": "no",
    "CS-05": "no",
    "CS-05a": "yes",
    "CS-06": "no",
    "CS-08": "yes",
    "CS-07": 420,
    "CS-07a": "yes",
    "CS-09": "no",
}
ARCADE_OK: dict[str, Any] = {
    "KS-01": "yes",
    "KS-01b": "yes",
    "KS-02": 24,
    "KS-02a": "yes",
    "KS-04": "yes",
    "KS-05": "no",
    "KS-06": "yes",
    "KS-07": "yes",
    "KS-08": "yes",
    "KS-08a": "yes",
}
# Answers that are a moment of the visit itself: filled in with the time the inspection finished.
AT_VISIT = "@visit"
NIX18_NOT_SOLD: dict[str, Any] = {
    "NX-01": "supermarkt",
    "NX-01a": AT_VISIT,
    "NX-05": "yes",
    "NX-05a": "age_16_17",
    "NX-05b": "yes",
    "NX-02": "no",
    "NX-03": "no",
    "NX-04": "no",
}
# The testkoper bought alcohol without being asked for ID (art. 20 lid 1); the receipt is the evidence.
NIX18_SOLD_NO_ID = {**NIX18_NOT_SOLD, "NX-04": "yes"}
# Sex business without a manager present during opening hours (APV art. 3:11); no identity data of anyone is
# recorded.
SEXWORK_NO_MANAGER: dict[str, Any] = {
    "SX-90": "prostitutiebedrijf",
    "SX-01": "yes",
    "SX-02": "no",
    "SX-03": "yes",
    "SX-07": "yes",
    "SX-04a": 0,
    "SX-05": "yes",
    "SX-05a": "yes",
    "SX-06": "no",
    "SX-10": "no",
}
