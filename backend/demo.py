"""Demo data for `make run`: a few Utrecht-like establishments and one user per role.

Idempotent: rows have fixed ids and are inserted only when absent, so a second load changes nothing
(and never overwrites what someone edited in the demo).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

DEMO_USERS = [
    # id, subject, display name, roles, regimes, teams
    ("00000000-0000-4000-8000-000000000001", "insp-anna", "Anna de Vries", ["inspector"], ["alcohol", "nix18", "gambling"], ["team-centrum"]),
    ("00000000-0000-4000-8000-000000000002", "insp-bram", "Bram Jansen", ["inspector"], ["alcohol", "coffeeshop", "sexwork"], ["team-centrum"]),
    ("00000000-0000-4000-8000-000000000003", "insp-chantal", "Chantal Bakker", ["inspector"], ["alcohol", "nix18"], ["team-west"]),
    ("00000000-0000-4000-8000-000000000004", "coord-dirk", "Dirk Visser", ["coordinator"], ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"], ["team-centrum", "team-west"]),
    ("00000000-0000-4000-8000-000000000005", "jur-eva", "Eva Smit", ["enforcement_officer"], ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"], []),
    ("00000000-0000-4000-8000-000000000006", "jur-frank", "Frank Meijer", ["enforcement_officer"], ["alcohol", "nix18", "coffeeshop", "gambling"], []),
    ("00000000-0000-4000-8000-000000000007", "klacht-gerda", "Gerda Mulder", ["complaints_officer"], ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"], []),
    ("00000000-0000-4000-8000-000000000008", "admin-hans", "Hans de Boer", ["admin"], ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"], []),
    ("00000000-0000-4000-8000-000000000009", "audit-ilse", "Ilse Dekker", ["auditor"], ["alcohol", "nix18", "coffeeshop", "sexwork", "gambling"], []),
]

DEMO_ESTABLISHMENTS = [
    # id, name, trade name, street, number, postcode, wijk, kind, regimes, lat, lon
    ("10000000-0000-4000-8000-000000000001", "Café De Domtoren", "De Domtoren", "Domplein", 12, "3512JC", "binnenstad", "horeca_laagdrempelig", ["alcohol", "nix18", "gambling"], 52.0907, 5.1214),
    ("10000000-0000-4000-8000-000000000002", "Club Oudegracht", "Oudegracht Club", "Oudegracht", 245, "3511NK", "binnenstad", "horeca_hoogdrempelig", ["alcohol", "nix18"], 52.0888, 5.1202),
    ("10000000-0000-4000-8000-000000000003", "Slijterij Lombok", None, "Kanaalstraat", 88, "3531CL", "west", "slijterij", ["alcohol", "nix18"], 52.0930, 5.1015),
    ("10000000-0000-4000-8000-000000000004", "Supermarkt Overvecht", None, "Zamenhofdreef", 30, "3562JT", "overvecht", "supermarkt", ["alcohol", "nix18"], 52.1163, 5.1106),
    ("10000000-0000-4000-8000-000000000005", "Coffeeshop De Kade", "De Kade", "Bemuurde Weerd Oostzijde", 5, "3514AN", "binnenstad", "coffeeshop", ["coffeeshop"], 52.0972, 5.1173),
    ("10000000-0000-4000-8000-000000000006", "Sportkantine VV Leidsche Rijn", None, "Vleutenseweg", 400, "3532HN", "west", "paracommercie", ["alcohol", "nix18"], 52.0940, 5.0880),
    ("10000000-0000-4000-8000-000000000007", "Speelhal Amsterdamsestraatweg", None, "Amsterdamsestraatweg", 150, "3513AE", "noordwest", "speelautomatenhal", ["gambling"], 52.1010, 5.1090),
    ("10000000-0000-4000-8000-000000000008", "Privéhuis Zandpad", None, "Zandpad", 7, "3601NA", "noordwest", "seks_prive_huis", ["sexwork"], 52.1120, 5.0980),
]

_INSERT_USER = """
INSERT INTO app_user (id, issuer, subject, display_name, roles, regimes, teams)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT DO NOTHING
"""
_INSERT_ESTABLISHMENT = """
INSERT INTO establishment (id, name, trade_name, street, house_number, postcode, wijk, kind, regimes, latitude, longitude)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT DO NOTHING
"""


async def load_demo_data(conn: asyncpg.Connection, issuer: str) -> int:
    """Insert what is missing; return how many rows were added."""
    added = 0
    async with conn.transaction():
        for user_id, *rest in DEMO_USERS:
            added += _count(await conn.execute(_INSERT_USER, UUID(user_id), issuer, *rest))
        for establishment_id, *rest in DEMO_ESTABLISHMENTS:
            added += _count(await conn.execute(_INSERT_ESTABLISHMENT, UUID(establishment_id), *rest))
    return added


def _count(status: str) -> int:
    return int(status.split()[-1])
