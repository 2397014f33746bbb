"""The rules the indicators count by, as data: which questions make a control a vergunningcontrole, when a
NIX18 purchase attempt complied, the inspection cycle per kind of object, and the sanction types.

The README section "Performance indicators" states each definition in one sentence; change them here and there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Permit questions per checklist template: a reviewed control is a vergunningcontrole when one of its checklists
# answers a permit question of that checklist's own template (none of them allows 'na'). An explicit null is no
# answer (the validator accepts it for a hidden question, and it is stored: an alcohol-shop's AW-01 at a
# supermarket, which needs no permit). A key is matched only in its own template: KS-01 asks for the
# aanwezigheidsvergunning in an arcade, but in horeca only whether there are machines at all. Not permit checks:
# what a permit says (AW-02, KS-02a, SX-02a), and the Kansspelautoriteit's permits of the machines (KS-04).
PERMIT_QUESTIONS: dict[str, tuple[str, ...]] = {
    "alcohol-horeca": ("AW-01", "AW-16"),  # alcoholvergunning; exploitatievergunning (Horecaverordening)
    "alcohol-paracommercie": ("AW-01",),
    "alcohol-shop": ("AW-01",),  # shown only for a slijterij
    "coffeeshop": ("CS-01", "CS-01a"),  # exploitatievergunning; gedoogverklaring
    "gambling-arcade": ("KS-01", "KS-01b"),  # aanwezigheidsvergunning; exploitatievergunning hal
    "gambling-machines": ("KS-01a",),  # aanwezigheidsvergunning (shown when KS-01 says there are machines)
    "sexwork-establishment": ("SX-01",),  # exploitatievergunning seksbedrijf
    "illegal-prostitution": ("SX-08a",),  # is there a permit for the sex work found
}


def permit_questions() -> tuple[list[str], list[str]]:
    """Every (template, permit question) pair as two parallel lists, for SQL's unnest: a checklist is matched
    only against its own template's questions."""
    pairs = sorted((template, key) for template, keys in PERMIT_QUESTIONS.items() for key in keys)
    return [template for template, _ in pairs], [key for _, key in pairs]


def permit_checked(template_key: str, answers: Mapping[str, Any]) -> bool:
    """Whether a checklist's answers check a permit: a permit question of its template answered (not null)."""
    return any(answers.get(key) is not None for key in PERMIT_QUESTIONS.get(template_key, ()))


NIX18_TEMPLATE = "nix18-purchase-attempt"
NIX18_REGIME = "nix18"

# NIX18: a purchase attempt complied unless alcohol was supplied (NX-04 'yes') without the age being
# established: established means the seller asked for and looked at an ID (NX-03 'yes') of a test buyer of 18 or
# older (NX-05a), and for a distance sale the age was also established at delivery (NX-06 not 'no'). This is the
# template's own note and mirrors its violation rules (AW-20-1-*, AW-20A-*). `c` is the inspection_checklist row.
NIX18_COMPLIED_SQL = """(c.answers ->> 'NX-04' IS DISTINCT FROM 'yes'
   OR (c.answers ->> 'NX-03' = 'yes' AND c.answers ->> 'NX-05a' = 'age_18_plus'
       AND c.answers ->> 'NX-06' IS DISTINCT FROM 'no'))"""


@dataclass(frozen=True)
class CycleRule:
    """How often an active object must be controlled. The first rule that matches an object applies;
    None matches any supervision level or kind."""

    key: str
    label: str  # Dutch, for the CSV and charts
    months: int  # the longest time allowed between two reviewed controls
    supervision_level: str | None = None
    kinds: tuple[str, ...] | None = None


# DOMAIN.md "Places": verscherpt toezicht 4 times a year (whatever the kind), coffeeshops every year, regular
# horeca once every 4 years. Kinds without a rule (shops, sex businesses, arcades, other) have no cycle here.
CYCLE_RULES: tuple[CycleRule, ...] = (
    CycleRule("verscherpt", "Verscherpt toezicht (4x per jaar)", 3, supervision_level="verscherpt"),
    CycleRule("coffeeshop", "Coffeeshop (jaarlijks)", 12, kinds=("coffeeshop",)),
    CycleRule(
        "horeca", "Reguliere horeca (eens per 4 jaar)", 48, kinds=("horeca_hoogdrempelig", "horeca_laagdrempelig")
    ),
)


def cycle_rule_arrays() -> tuple[list[int], list[str], list[int], list[str | None], list[str | None]]:
    """CYCLE_RULES as parallel arrays for SQL's unnest, one row per (rule, kind): priority, key, months,
    supervision level, kind (None = any); the SQL takes the first rule by priority that matches an object."""
    rows = [
        (priority, rule.key, rule.months, rule.supervision_level, kind)
        for priority, rule in enumerate(CYCLE_RULES)
        for kind in (rule.kinds or (None,))
    ]
    return (
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )


# Sanctions: a sent besluit of each decision, and its Dutch label. Warnings are sent warning steps; forfeited
# dwangsommen are hercontroles whose outcome was forfeiture. A decision the authority withdrew later (withdrawn_on)
# does not count, in any period (as a withdrawn fine no longer counts for recidive, DOMAIN.md): neither under its
# kind (a withdrawn boete adds no fine and no euros) nor among the decisions sent.
DECISIONS: dict[str, str] = {
    "boete": "fines",
    "last_onder_dwangsom": "lasten_onder_dwangsom",
    "last_onder_bestuursdwang": "lasten_onder_bestuursdwang",
    "schorsing": "suspensions",
    "intrekking": "withdrawals",
    "ontzegging_19a": "bans_19a",
    "sluiting_13b": "closures_13b",
}

# The assignment reasons that mark a control as following a complaint, or as a hercontrole.
REASON_COMPLAINT = "complaint"
REASON_HERCONTROLE = "hercontrole"

# An object an inspection targets without being a registered establishment (an address from a complaint or an
# advertisement) has this object kind in the reports.
LOCATION_KIND = "location"
