"""Demo data for `make run`: a few Utrecht-like establishments with permits, and one user per role.

Idempotent: rows have fixed ids and are inserted only when absent, so a second load changes nothing
(and never overwrites what someone edited in the demo).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from backend.registry.service import permit_state


def _user_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012x}"


_EVERY_REGIME = ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"]
_NO_SEXWORK = [regime for regime in _EVERY_REGIME if regime != "sexwork"]

DEMO_USERS = [
    # id, subject, display name, roles, regimes, teams
    (_user_id(1), "insp-anna", "Anna de Vries", ["inspector"], ["alcohol", "nix18", "gambling"], ["team-centrum"]),
    (_user_id(2), "insp-bram", "Bram Jansen", ["inspector"], ["alcohol", "coffeeshop", "sexwork"], ["team-centrum"]),
    (_user_id(3), "insp-chantal", "Chantal Bakker", ["inspector"], ["alcohol", "nix18"], ["team-west"]),
    (_user_id(4), "coord-dirk", "Dirk Visser", ["coordinator"], _EVERY_REGIME, ["team-centrum", "team-west"]),
    (_user_id(5), "jur-eva", "Eva Smit", ["enforcement_officer"], _EVERY_REGIME, []),
    (_user_id(6), "jur-frank", "Frank Meijer", ["enforcement_officer"], _NO_SEXWORK, []),
    (_user_id(7), "klacht-gerda", "Gerda Mulder", ["complaints_officer"], _EVERY_REGIME, []),
    (_user_id(8), "admin-hans", "Hans de Boer", ["admin"], _EVERY_REGIME, []),
    # A complaint handler without the sexwork regime: sex-work complaints are not hers to see.
    (_user_id(10), "klacht-karin", "Karin Pauw", ["complaints_officer"], _NO_SEXWORK, []),
    (_user_id(9), "audit-ilse", "Ilse Dekker", ["auditor"], _EVERY_REGIME, []),
]

# Each postcode lies in its wijk by schemas/complaints/wijk-pc4.json (tests/test_demo.py checks every rule).
DEMO_ESTABLISHMENTS = [
    # id, name, trade name, street, number, postcode, wijk, kind, employee class, supervision, regimes, lat, lon
    (
        "10000000-0000-4000-8000-000000000001",
        "Café De Domtoren",
        "De Domtoren",
        "Domplein",
        12,
        "3512JC",
        "binnenstad",
        "horeca_hoogdrempelig",
        "under_50",
        "regular",
        ["alcohol", "gambling", "nix18"],
        52.0907,
        5.1214,
    ),
    (
        "10000000-0000-4000-8000-000000000002",
        "Club Oudegracht",
        "Oudegracht Club",
        "Oudegracht",
        245,
        "3511NK",
        "binnenstad",
        "horeca_hoogdrempelig",
        "under_50",
        "verscherpt",
        ["alcohol", "nix18"],
        52.0888,
        5.1202,
    ),
    (
        "10000000-0000-4000-8000-000000000003",
        "Slijterij Lombok",
        None,
        "Kanaalstraat",
        88,
        "3531CL",
        "west",
        "slijterij",
        "under_50",
        "regular",
        ["alcohol", "nix18"],
        52.0930,
        5.1015,
    ),
    (
        "10000000-0000-4000-8000-000000000004",
        "Supermarkt Overvecht",
        None,
        "Zamenhofdreef",
        30,
        "3562JT",
        "overvecht",
        "supermarkt",
        "50_or_more",
        "regular",
        ["alcohol", "nix18"],
        52.1163,
        5.1106,
    ),
    (
        "10000000-0000-4000-8000-000000000005",
        "Coffeeshop De Kade",
        "De Kade",
        "Bemuurde Weerd Oostzijde",
        5,
        "3514AN",
        "noordoost",
        "coffeeshop",
        "under_50",
        "regular",
        ["coffeeshop"],
        52.0972,
        5.1173,
    ),
    (
        "10000000-0000-4000-8000-000000000006",
        "Sportkantine VV Leidsche Rijn",
        None,
        "Vleutenseweg",
        400,
        "3532HN",
        "west",
        "paracommercie",
        "under_50",
        "regular",
        ["alcohol", "nix18"],
        52.0940,
        5.0880,
    ),
    (
        "10000000-0000-4000-8000-000000000007",
        "Speelhal Amsterdamsestraatweg",
        None,
        "Amsterdamsestraatweg",
        410,
        "3551CZ",
        "noordwest",
        "speelautomatenhal",
        "under_50",
        "regular",
        ["gambling"],
        52.1010,
        5.1090,
    ),
    (
        "10000000-0000-4000-8000-000000000008",
        "Privéhuis Zandpad",
        None,
        "Zandpad",
        7,
        "3552AB",
        "noordwest",
        "seks_prive_huis",
        "under_50",
        "regular",
        ["sexwork"],
        52.1120,
        5.0980,
    ),
    (
        "10000000-0000-4000-8000-000000000009",
        "Cafetaria Kanaalstraat",
        None,
        "Kanaalstraat",
        12,
        "3531CE",
        "west",
        "horeca_laagdrempelig",
        "under_50",
        "regular",
        ["nix18"],
        52.0925,
        5.1050,
    ),
    # Together with the ones above: every wijk, every kind of object the month's inspections visit.
    (
        "10000000-0000-4000-8000-00000000000a",
        "Café Het Oosten",
        "Het Oosten",
        "Nachtegaalstraat",
        60,
        "3581AM",
        "oost",
        "horeca_hoogdrempelig",
        "under_50",
        "regular",
        ["alcohol", "nix18"],
        52.0905,
        5.1330,
    ),
    (
        "10000000-0000-4000-8000-00000000000b",
        "Supermarkt Leidsche Rijn",
        None,
        "Vasco da Gamalaan",
        30,
        "3543AB",
        "leidsche_rijn",
        "supermarkt",
        "50_or_more",
        "regular",
        ["alcohol", "nix18"],
        52.0960,
        5.0560,
    ),
    (
        "10000000-0000-4000-8000-00000000000c",
        "Biercafé Rivierenwijk",
        "De Rivier",
        "Vechtstraat",
        45,
        "3523XA",
        "zuid",
        "horeca_hoogdrempelig",
        "under_50",
        "regular",
        ["alcohol", "gambling", "nix18"],
        52.0780,
        5.1230,
    ),
    (
        "10000000-0000-4000-8000-00000000000d",
        "Slijterij Kanaleneiland",
        None,
        "Marshalllaan",
        80,
        "3527TH",
        "zuidwest",
        "slijterij",
        "under_50",
        "regular",
        ["alcohol", "nix18"],
        52.0740,
        5.0980,
    ),
    (
        "10000000-0000-4000-8000-00000000000e",
        "Sportkantine SV De Meern",
        None,
        "Meerndijk",
        10,
        "3454HT",
        "vleuten_de_meern",
        "paracommercie",
        "under_50",
        "regular",
        ["alcohol", "nix18"],
        52.0800,
        5.0330,
    ),
    (
        "10000000-0000-4000-8000-00000000000f",
        "Coffeeshop Kanaleneiland",
        "Kanaal",
        "Churchilllaan",
        200,
        "3527GV",
        "zuidwest",
        "coffeeshop",
        "under_50",
        "regular",
        ["coffeeshop"],
        52.0760,
        5.1020,
    ),
]

# Both coffeeshops hold the same standard gedoogverklaring.
_GEDOOGD: dict[str, Any] = {
    "opening_hours": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "opens": "10:00", "closes": "23:00"}],
    "handelsvoorraad_gram": 500,
}
DEMO_PERMITS: list[tuple[str, str, str, str, str, date, date | None, dict[str, Any]]] = [
    # id, establishment id, type, number, holder, valid from, valid to, conditions
    (
        "20000000-0000-4000-8000-000000000001",
        "10000000-0000-4000-8000-000000000001",
        "alcoholvergunning",
        "AW-2022-0153",
        "Domtoren Horeca B.V.",
        date(2022, 3, 1),
        None,
        {"leidinggevenden": ["Johan de Wit", "Meryem Yilmaz"]},
    ),
    (
        "20000000-0000-4000-8000-000000000002",
        "10000000-0000-4000-8000-000000000001",
        "horeca_exploitatievergunning",
        "HE-2022-0088",
        "Domtoren Horeca B.V.",
        date(2022, 3, 1),
        None,
        {
            "opening_hours": [
                {"days": ["sun", "mon", "tue", "wed", "thu"], "opens": "10:00", "closes": "01:00"},
                {"days": ["fri", "sat"], "opens": "10:00", "closes": "03:00"},
            ]
        },
    ),
    (
        "20000000-0000-4000-8000-000000000003",
        "10000000-0000-4000-8000-000000000001",
        "aanwezigheidsvergunning_kansspelautomaten",
        "KSA-2023-0012",
        "Domtoren Horeca B.V.",
        date(2023, 1, 1),
        date(2027, 12, 31),
        {"machines": 2},
    ),
    (
        "20000000-0000-4000-8000-000000000004",
        "10000000-0000-4000-8000-000000000005",
        "coffeeshop_gedoogverklaring",
        "GV-2019-0004",
        "De Kade V.O.F.",
        date(2019, 7, 1),
        None,
        _GEDOOGD,
    ),
    (
        "20000000-0000-4000-8000-000000000005",
        "10000000-0000-4000-8000-000000000008",
        "exploitatievergunning_seksinrichting",
        "SX-2021-0002",
        "Zandpad Exploitatie B.V.",
        date(2021, 9, 1),
        date(2026, 8, 31),
        {"business_type": "seks_prive_huis"},
    ),
    (
        "20000000-0000-4000-8000-000000000006",
        "10000000-0000-4000-8000-00000000000c",
        "alcoholvergunning",
        "AW-2020-0311",
        "Rivierenwijk Horeca V.O.F.",
        date(2020, 5, 1),
        None,
        {"leidinggevenden": ["Sander Koster"]},
    ),
    (
        "20000000-0000-4000-8000-000000000007",
        "10000000-0000-4000-8000-00000000000f",
        "coffeeshop_gedoogverklaring",
        "GV-2018-0011",
        "Kanaal Coffeeshop B.V.",
        date(2018, 1, 1),
        None,
        _GEDOOGD,
    ),
]

# The user the start-up banner and the README's first example mint a token for.
DEMO_TOKEN_USER = "coord-dirk"


def token_arguments(subject: str) -> list[str]:
    """The `toezicht token` arguments minting a token with exactly this demo user's claims. A token's claims are
    what count: they update the stored user, so a token with other roles, regimes or teams changes the user."""
    _, sub, name, roles, regimes, teams = next(user for user in DEMO_USERS if user[1] == subject)
    options = [("--role", role) for role in roles] + [("--regime", regime) for regime in regimes]
    options += [("--team", team) for team in teams] + [("--name", name)]
    return ["token", "--sub", sub, *(part for option in options for part in option)]


_INSERT_USER = """
INSERT INTO app_user (id, issuer, subject, display_name, roles, regimes, teams)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
"""
_INSERT_ESTABLISHMENT = """
INSERT INTO establishment (id, name, trade_name, street, house_number, postcode, city, wijk, kind, employee_class,
                           supervision_level, regimes, latitude, longitude)
VALUES ($1, $2, $3, $4, $5, $6, 'Utrecht', $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT DO NOTHING
"""
_INSERT_PERMIT = """
INSERT INTO permit AS p (id, establishment_id, type, number, holder, valid_from, valid_to, conditions)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
RETURNING p.*
"""
_INSERT_PERMIT_HISTORY = """
INSERT INTO permit_history (permit_id, version, action, reason, state) VALUES ($1, 1, 'granted', 'demo data', $2)
"""


async def load_demo_data(conn: asyncpg.Connection, issuer: str) -> int:
    """Insert what is missing; return how many rows were added."""
    added = 0
    async with conn.transaction():
        for user_id, subject, name, roles, regimes, teams in DEMO_USERS:
            # Sorted, as a token's claims are: a token with the same claims then changes nothing.
            added += _count(
                await conn.execute(
                    _INSERT_USER, UUID(user_id), issuer, subject, name, sorted(roles), sorted(regimes), sorted(teams)
                )
            )
        for establishment_id, *rest in DEMO_ESTABLISHMENTS:
            added += _count(await conn.execute(_INSERT_ESTABLISHMENT, UUID(establishment_id), *rest))
        for permit_id, establishment_id, *permit in DEMO_PERMITS:
            row = await conn.fetchrow(_INSERT_PERMIT, UUID(permit_id), UUID(establishment_id), *permit)
            if row is not None:
                await conn.execute(_INSERT_PERMIT_HISTORY, row["id"], permit_state(row))
                added += 1
    return added


def _count(status: str) -> int:
    return int(status.split()[-1])
