"""The world the enforcement tests share: the inspection world plus enforcement officers, reviewed inspections
with violations, and short steps through a case."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from backend.core import calendar
from backend.letters import service as letters
from backend.letters import templates
from tests.inspection_helpers import (
    HORECA_OK,
    NIX18_SOLD_NO_ID,
    World,
    accepted,
    add_users,
    build_world,
    if_match,
    submitted,
)
from tests.photo_helpers import entry, listed_jpeg, photos_sent

BASE = "/api/v1/enforcement"
CASES = f"{BASE}/cases"

# alcohol-horeca with one violation each, none needing a photo.
NO_MANAGER = {**{k: v for k, v in HORECA_OK.items() if k not in ("AW-04", "AW-05")}, "AW-03": "no"}
AGE_NOT_ESTABLISHED = {**HORECA_OK, "AW-07a": "yes", "AW-07": "no"}

# The motivering a besluit's letter states (its document_text).
MOTIVERING = "De overtreding is ernstig: het verbod beschermt jongeren tegen de schade van alcohol."
DWANGSOM = {
    "type": "besluit",
    "decision": "last_onder_dwangsom",
    "document_text": MOTIVERING,
    "order_text": "Stel een leidinggevende aan",
    "begunstiging_days": 14,
    "dwangsom_cents": 50_000,
    "dwangsom_unit": "per_violation",
    "dwangsom_max_cents": 150_000,
    "deviation_reason": "Onverschillig gedrag: eerst herstel afdwingen",
}

OFFICERS: dict[str, dict[str, Any]] = {
    "officer_a": dict(roles=["enforcement_officer"], regimes=["alcohol", "nix18"], name="A. de Vries"),
    "officer_b": dict(roles=["enforcement_officer"], regimes=["alcohol", "nix18"], name="B. Bakker"),
    "officer_sw": dict(roles=["enforcement_officer"], regimes=["alcohol", "sexwork"], name="S. Willems"),
}
# Who receives the letters of the world's establishments.
OPERATOR = {
    "name": "Café De Hoek B.V.",
    "attention": "de heer J. Jansen",
    "street": "Oudegracht 1",
    "postcode": "3511 AA",
    "city": "Utrecht",
    "email": "info@dehoek.example",
    "letters_by_email": True,
}


# The inspection world's users these tests act as (fewer users, a faster world).
USERS = ("admin", "coord_a", "coord_b", "insp_a1", "insp_a2", "insp_enforcer_b", "enforcer_coffee")


async def enforcement_world(client, auth, db) -> World:
    """The inspection world, its officers, the shipped letter templates, and an addressee for each establishment."""
    world = await build_world(client, auth, USERS)
    await add_users(client, auth, world, OFFICERS)
    await letters.publish_directory(db, templates.DEFAULT_DIRECTORY)
    for key in ("cafe", "club"):
        response = await client.put(
            f"/api/v1/objects/{world.ids[key]}/addressee", json=OPERATOR, headers=world.h["admin"]
        )
        assert response.status_code == 200, response.text
    return world


# The enforcement tests' name for it: a command on a case or step with the version they read.
with_version = if_match


async def reviewed(
    client,
    world: World,
    answers: dict[str, Any],
    *,
    who: str = "insp_a1",
    reviewer: str = "coord_a",
    object_key: str = "cafe",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An inspection of the object with these alcohol-horeca answers (or this body) as a phone sends it: submitted
    by `who` (with `headers`), then its photos (made by listed_jpeg); and accepted in review by `reviewer`."""
    body = body or world.body(
        who,
        object_id=world.ids[object_key],
        checklists=[{"checklist_version_id": world.ids["alcohol-horeca"], "answers": dict(answers)}],
    )
    stored = await photos_sent(client, world, await submitted(client, world, body, who, headers), who)
    return await accepted(client, world, stored, reviewer)


def nix18_body(world: World, who: str = "insp_a1") -> dict[str, Any]:
    """A NIX18 purchase attempt that sold without asking ID (art. 20 lid 1), with its evidence photo."""
    photo_id = str(uuid.uuid4())
    return world.body(
        who,
        checklists=[{"checklist_version_id": world.ids["nix18-purchase-attempt"], "answers": dict(NIX18_SOLD_NO_ID)}],
        photos=[entry(photo_id, listed_jpeg(photo_id), "NX-04")],
    )


async def only_case(client, world: World, who: str = "officer_a", **params: Any) -> dict[str, Any]:
    response = await client.get(CASES, headers=world.h[who], params=params)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) == 1, items
    return await case(client, world, items[0]["id"], who)


async def case(client, world: World, case_id: str, who: str = "officer_a") -> dict[str, Any]:
    response = await client.get(f"{CASES}/{case_id}", headers=world.h[who])
    assert response.status_code == 200, response.text
    return response.json()


async def proposal(client, world: World, case_id: str, who: str = "officer_a") -> dict[str, Any]:
    response = await client.get(f"{CASES}/{case_id}/proposal", headers=world.h[who])
    assert response.status_code == 200, response.text
    return response.json()


async def step(client, world: World, current: dict[str, Any], body: dict[str, Any], who: str = "officer_a"):
    return await client.post(
        f"{CASES}/{current['id']}/steps", json=body, headers=with_version(world, who, current["version"])
    )


async def drafted(
    client, world: World, current: dict[str, Any], body: dict[str, Any], who: str = "officer_a"
) -> dict[str, Any]:
    response = await step(client, world, current, body, who)
    assert response.status_code == 201, response.text
    return response.json()


async def act(
    client,
    world: World,
    current: dict[str, Any],
    step_id: str,
    action: str,
    who: str = "officer_a",
    body: dict[str, Any] | None = None,
):
    return await client.post(
        f"{CASES}/{current['id']}/steps/{step_id}/{action}",
        json=body,
        headers=with_version(world, who, current["version"]),
    )


async def done(
    client,
    world: World,
    current: dict[str, Any],
    step_id: str,
    action: str,
    who: str = "officer_a",
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await act(client, world, current, step_id, action, who, body)
    assert response.status_code == 200, response.text
    return response.json()


def step_in(current: dict[str, Any], step_id: str) -> dict[str, Any]:
    """The step with this id in a case as the API answers it."""
    return next(s for s in current["steps"] if s["id"] == step_id)


def last_step(current: dict[str, Any]) -> dict[str, Any]:
    return current["steps"][-1]


async def warned_once(client, world: World) -> dict:
    """A case whose first no-manager violation got a warning; a second one has been reviewed since."""
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    current = await drafted(client, world, current, {"type": "warning", "document_text": "Waarschuwing art. 24"})
    current = await done(client, world, current, last_step(current)["id"], "send")
    await reviewed(client, world, NO_MANAGER)
    return await case(client, world, current["id"])


async def voornemen_answered(client, world: World, current: dict, decision: str, **fields) -> dict:
    current = await drafted(client, world, current, {"type": "voornemen", "decision": decision, **fields})
    current = await done(client, world, current, last_step(current)["id"], "send")
    return await done(
        client,
        world,
        current,
        last_step(current)["id"],
        "zienswijze",
        body={"received": True, "summary": "Exploitant erkent de overtreding"},
    )


async def fined(client, world: World) -> dict:
    """warned_once, then the full boete procedure: voornemen, zienswijze, besluit, approval, sending."""
    current = await warned_once(client, world)
    amount = (await proposal(client, world, current["id"]))["next"]["amount_cents"]
    current = await voornemen_answered(client, world, current, "boete", amount_cents=amount)
    current = await drafted(
        client,
        world,
        current,
        {"type": "besluit", "decision": "boete", "document_text": MOTIVERING, "amount_cents": amount},
    )
    current = await done(client, world, current, last_step(current)["id"], "approve", who="officer_b")
    return await done(client, world, current, last_step(current)["id"], "send")


async def with_dwangsom(client, world: World, **changes) -> tuple[dict, dict]:
    """An approved (not yet sent) last onder dwangsom after its voornemen; returns the case and the besluit."""
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    terms = {key: value for key, value in DWANGSOM.items() if key not in ("type", "document_text")}
    current = await drafted(
        client, world, current, {**terms, "type": "voornemen", "deviation_reason": "Herstel gaat voor"}
    )
    current = await done(client, world, current, last_step(current)["id"], "send")
    current = await done(client, world, current, last_step(current)["id"], "zienswijze", body={"received": True})
    current = await drafted(client, world, current, {**DWANGSOM, **changes})
    current = await done(client, world, current, last_step(current)["id"], "approve", who="officer_b")
    return current, last_step(current)


async def table_counts(db) -> dict[str, int]:
    counts = {}
    for table in (
        "enforcement_case",
        "enforcement_case_status",
        "enforcement_case_violation",
        "enforcement_step",
        "enforcement_fined_violation",
        "enforcement_deadline",
        "assignment",
    ):
        counts[table] = await db.fetchval(f"SELECT count(*) FROM {table}")  # constant table names
    counts["audit"] = await db.fetchval("SELECT count(*) FROM audit_event WHERE object_type = 'enforcement_case'")
    return counts


async def last_term_ended(client, db, world: World, days_ago: int = 2) -> tuple[dict, dict, dict]:
    """A sent last onder dwangsom whose begunstigingstermijn ended `days_ago` days ago (arranged on the hercontrole,
    which is not a sent step): the case, the besluit and the hercontrole its sending planned."""
    current, besluit = await with_dwangsom(client, world)
    current = await done(client, world, current, besluit["id"], "send")
    hercontrole = last_step(current)
    ended_on = calendar.today() - timedelta(days=days_ago)
    await db.execute("UPDATE enforcement_step SET due_on = $2 WHERE id = $1::uuid", hercontrole["id"], ended_on)
    return current, besluit, hercontrole
