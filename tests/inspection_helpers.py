"""The world the inspection tests share: teams, users, published checklists, objects; and submission bodies."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from backend.checklists import templates
from backend.core.calendar import today
from tests.helpers import register
from tests.registry_helpers import ALL_REGIMES, create_object

URL = "/api/v1/inspections"
SCOPED = ["alcohol", "nix18"]

# alcohol-horeca answered without a violation. AW-07a 'no' hides AW-07; AW-02a 'yes' hides AW-02b.
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
# No manager present (AW-03 'no' hides AW-04 and AW-05); AW-06 'no' is a violation that needs a photo.
HORECA_NO_MANAGER = {**{k: v for k, v in HORECA_OK.items() if k not in ("AW-04", "AW-05")}, "AW-03": "no"}
NIX18_NOT_SOLD: dict[str, Any] = {
    "NX-01": "supermarkt",
    "NX-01a": "2025-03-01T21:30:00+01:00",
    "NX-05": "yes",
    "NX-05a": "age_16_17",
    "NX-05b": "yes",
    "NX-02": "no",
    "NX-03": "no",
    "NX-04": "no",
}
NIX18_SOLD_NO_ID = {**NIX18_NOT_SOLD, "NX-04": "yes"}
ONDERMIJNING_NOTHING: dict[str, Any] = {f"OM-0{i}": "no" for i in range(1, 9)}
SEXWORK_OK: dict[str, Any] = {
    "SX-90": "prostitutiebedrijf",
    "SX-01": "yes",
    "SX-02": "yes",
    "SX-02a": "yes",
    "SX-03": "yes",
    "SX-07": "yes",
    "SX-04a": 0,
    "SX-05": "yes",
    "SX-05a": "yes",
    "SX-06": "no",
    "SX-10": "no",
}


def checklist_file(key: str) -> dict:
    return json.loads((templates.DEFAULT_DIRECTORY / f"{key}.json").read_text(encoding="utf-8"))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass
class World:
    h: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> headers
    ids: dict[str, str] = field(default_factory=dict)  # name -> user, object or checklist version id

    def body(self, who: str = "insp_a1", **overrides: Any) -> dict[str, Any]:
        """A valid unplanned inspection of the café by `who`, finished ten minutes ago."""
        finished = datetime.now(UTC) - timedelta(minutes=10)
        body: dict[str, Any] = {
            "object_id": self.ids["cafe"],
            "checklists": [{"checklist_version_id": self.ids["alcohol-horeca"], "answers": dict(HORECA_OK)}],
            "started_at": iso(finished - timedelta(minutes=40)),
            "finished_at": iso(finished),
            "position": {"latitude": 52.0907, "longitude": 5.1214, "accuracy_m": 8.5},
            "inspector_ids": [self.ids[who]],
            "partners": ["politie"],
            "observations": "Rustig, geen bijzonderheden.",
        }
        body.update(overrides)
        return body

    def violating_body(self, who: str = "insp_a1", **overrides: Any) -> dict[str, Any]:
        """No manager present and no age notice (with its photo): two violations, one photo expected."""
        photo_id = str(uuid.uuid4())
        answers = {**HORECA_NO_MANAGER, "AW-06": "no"}
        return self.body(
            who,
            **{
                "checklists": [{"checklist_version_id": self.ids["alcohol-horeca"], "answers": answers}],
                "photos": [
                    {"id": photo_id, "sha256": sha(photo_id), "size": 123_456, "checklist": 0, "question": "AW-06"}
                ],
                **overrides,
            },
        )


USERS: dict[str, dict[str, Any]] = {
    "admin": dict(roles=["admin"], regimes=ALL_REGIMES),
    "coord_a": dict(roles=["coordinator"], regimes=ALL_REGIMES, teams=["team-a"]),
    "coord_b": dict(roles=["coordinator"], regimes=ALL_REGIMES, teams=["team-b"]),
    "insp_a1": dict(roles=["inspector"], regimes=SCOPED, teams=["team-a"]),
    "insp_a2": dict(roles=["inspector"], regimes=SCOPED, teams=["team-a"]),
    "insp_b": dict(roles=["inspector"], regimes=SCOPED, teams=["team-b"]),
    "insp_sw": dict(roles=["inspector"], regimes=ALL_REGIMES, teams=["team-a"]),
    "insp_two_teams": dict(roles=["inspector"], regimes=SCOPED, teams=["team-a", "team-b"]),
    "coord_insp_a": dict(roles=["coordinator", "inspector"], regimes=SCOPED, teams=["team-a"]),
    "insp_enforcer_b": dict(roles=["inspector", "enforcement_officer"], regimes=SCOPED, teams=["team-b"]),
    "coord_enforcer_b": dict(roles=["coordinator", "enforcement_officer"], regimes=ALL_REGIMES, teams=["team-b"]),
    "enforcer": dict(roles=["enforcement_officer"], regimes=SCOPED),
    "enforcer_coffee": dict(roles=["enforcement_officer"], regimes=["coffeeshop"]),
    "complaints": dict(roles=["complaints_officer"], regimes=ALL_REGIMES),
    "auditor": dict(roles=["auditor"], regimes=ALL_REGIMES),
}


async def add_users(client, auth, world: World, claims: dict[str, dict[str, Any]]) -> None:
    """Users with these claims (by name) join the world: their headers and their ids."""
    for name, theirs in claims.items():
        world.h[name] = auth(name, **theirs)
        world.ids[name] = str(await register(client, world.h[name]))


async def build_world(client, auth, users: tuple[str, ...] = tuple(USERS)) -> World:
    w = World()
    await add_users(client, auth, w, {name: USERS[name] for name in users})
    admin = w.h.get("admin") or auth("admin", **USERS["admin"])
    for key in (
        "alcohol-horeca",
        "nix18-purchase-attempt",
        "ondermijning-signals",
        "sexwork-establishment",
        "coffeeshop",
    ):
        response = await client.post("/api/v1/checklists", headers=admin, json=checklist_file(key))
        assert response.status_code == 201, response.text
        w.ids[key] = response.json()["id"]
    w.ids["cafe"] = (await create_object(client, admin))["id"]
    w.ids["club"] = (
        await create_object(
            client, admin, name="Club Rood", kind="seks_club", regimes=["sexwork", "alcohol"], wijk="west"
        )
    )["id"]
    return w


def assignment_body(world: World, opens_in: int = 1, days: int = 5, **overrides: Any) -> dict[str, Any]:
    """An assignment of the café for team-a, insp_a1 and insp_a2, its window opening in `opens_in` days."""
    start = today() + timedelta(days=opens_in)
    body: dict[str, Any] = {
        "object_id": world.ids["cafe"],
        "team_id": "team-a",
        "regimes": ["alcohol"],
        "checklist_version_ids": [world.ids["alcohol-horeca"]],
        "planned_from": start.isoformat(),
        "planned_to": (start + timedelta(days=days)).isoformat(),
        "inspector_ids": [world.ids["insp_a1"], world.ids["insp_a2"]],
        "reason": "regular_cycle",
    }
    body.update(overrides)
    return body


async def plan(client, world: World, **overrides: Any) -> dict[str, Any]:
    """An assignment (assignment_body) planned by coord_a."""
    response = await client.post(
        "/api/v1/assignments", headers=world.h["coord_a"], json=assignment_body(world, **overrides)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def put(
    client,
    world: World,
    body: dict[str, Any],
    who: str = "insp_a1",
    inspection_id: str | None = None,
    headers: dict[str, str] | None = None,
):
    inspection_id = inspection_id or str(uuid.uuid4())
    return await client.put(f"{URL}/{inspection_id}", json=body, headers={**world.h[who], **(headers or {})})


async def submitted(
    client,
    world: World,
    body: dict[str, Any] | None = None,
    who: str = "insp_a1",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await put(client, world, body or world.body(who), who, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def if_match(world: World, who: str, version: int, **extra: str) -> dict[str, str]:
    """The headers of `who` for a command on what they read at `version`."""
    return {**world.h[who], "If-Match": f'"{version}"', **extra}


async def accepted(client, world: World, inspection: dict[str, Any], reviewer: str = "coord_a") -> dict[str, Any]:
    """The inspection (as last read, for its version) accepted in review by `reviewer`."""
    response = await client.post(
        f"{URL}/{inspection['id']}/review", headers=if_match(world, reviewer, inspection["version"])
    )
    assert response.status_code == 200, response.text
    return response.json()


async def stored_counts(db) -> dict[str, int]:
    """Rows of every table a submission writes, and the inspection audit events."""
    counts = {}
    for table in ("inspection", "inspection_revision", "inspection_checklist", "violation", "inspection_photo"):
        counts[table] = await db.fetchval(f"SELECT count(*) FROM {table}")  # constant table names
    counts["audit"] = await db.fetchval("SELECT count(*) FROM audit_event WHERE object_type = 'inspection'")
    return counts


async def return_it(
    client, world: World, inspection: dict, who: str = "coord_a", reason: str = "AW-06: foto onscherp"
) -> dict:
    """The coordinator returns the inspection to its inspector with a reason; the inspection as returned."""
    response = await client.post(
        f"{URL}/{inspection['id']}/return", json={"reason": reason}, headers=if_match(world, who, inspection["version"])
    )
    assert response.status_code == 200, response.text
    return response.json()
