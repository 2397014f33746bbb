"""The world the complaint tests share: handlers, planners, inspectors, objects and checklists; complaint bodies
and steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.inspection_helpers import USERS, World, add_users, build_world, if_match
from tests.registry_helpers import ALL_REGIMES

URL = "/api/v1/complaints"
REPORTER = {"name": "Anna de Vries", "email": "anna.devries@example.nl", "phone": "06 12345678"}
# Strings that must never leave the complaint handlers' view.
CONTACT_STRINGS = ("Anna de Vries", "anna.devries@example.nl", "06 12345678")

COMPLAINT_USERS: dict[str, dict[str, Any]] = {
    **USERS,
    "handler_alcohol": dict(roles=["complaints_officer"], regimes=["alcohol"]),
    "coord_alcohol_a": dict(roles=["coordinator"], regimes=["alcohol", "nix18"], teams=["team-a"]),
    "insp_all_regimes": dict(roles=["inspector"], regimes=ALL_REGIMES, teams=["team-b"]),
}
WORLD_USERS = (
    "admin",
    "coord_a",
    "insp_a1",
    "insp_a2",
    "insp_sw",
    "complaints",
    "handler_alcohol",
    "coord_alcohol_a",
    "insp_all_regimes",
    "enforcer",
)


async def complaint_world(client, auth) -> World:
    """inspection_helpers' world (café in binnenstad, sex club in west, checklists) with complaint users."""
    world = await build_world(client, auth, users=())
    await add_users(client, auth, world, {name: COMPLAINT_USERS[name] for name in WORLD_USERS})
    return world


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def complaint_body(**overrides: Any) -> dict[str, Any]:
    """Noise from a café on the Oudegracht, reported by phone by a resident who wants feedback."""
    body: dict[str, Any] = {
        "category": "geluidsoverlast_horeca",
        "description": "Harde muziek en geschreeuw tot 03:00 uur, deuren staan open.",
        "channel": "phone",
        "incident_at": iso(datetime.now(UTC) - timedelta(hours=20)),
        "address": {"street": "Oudegracht", "house_number": 120, "postcode": "3511 AX"},
        "reporter": dict(REPORTER),
        "wants_feedback": True,
    }
    body.update(overrides)
    return body


async def create_complaint(client, world: World, who: str = "complaints", **overrides: Any) -> dict[str, Any]:
    response = await client.post(URL, json=complaint_body(**overrides), headers=world.h[who])
    assert response.status_code == 201, response.text
    return response.json()


async def move(client, world: World, complaint: dict[str, Any], body: dict[str, Any], who: str = "complaints"):
    return await client.post(
        f"{URL}/{complaint['id']}/transitions", json=body, headers=if_match(world, who, complaint["version"])
    )


async def moved(client, world: World, complaint: dict[str, Any], body: dict[str, Any], who: str = "complaints"):
    response = await move(client, world, complaint, body, who)
    assert response.status_code == 200, response.text
    return response.json()


async def stored(db) -> dict[str, int]:
    """Rows of every table complaints write, and the complaint audit events."""
    counts = {}
    for table in ("complaint", "complaint_reporter", "complaint_transition", "assignment", "location"):
        counts[table] = await db.fetchval(f"SELECT count(*) FROM {table}")  # constant table names
    counts["audit"] = await db.fetchval("SELECT count(*) FROM audit_event WHERE object_type = 'complaint'")
    return counts
