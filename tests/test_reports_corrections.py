"""Two performance indicators the council reads, no longer overstated: a fine the authority withdrew leaves the
fines (count and euros), and only a control in which a permit question of its own checklist was answered is a
vergunningcontrole. Each through the API (as the reactions keep the read model), after `reports rebuild`, and as
migration 0081 corrects facts counted under the old rules."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from backend.core.calendar import today
from backend.core.config import PROJECT_ROOT
from backend.reports import definitions as defs
from backend.reports import facts as read_model
from tests.enforcement_helpers import done, enforcement_world, fined, last_step
from tests.inspection_helpers import World, accepted, add_users, checklist_file, submitted
from tests.registry_helpers import create_object
from tests.report_helpers import REPORTS, fig

MIGRATION = PROJECT_ROOT / "migrations" / "0081_reports_permit_and_withdrawn.sql"
WITHDRAWN = {"reason": "Overtreding niet bewezen: getuige trok verklaring in"}
# gambling-machines: no machines in the café (KS-01 asks only that; its permit question KS-01a is then hidden).
NO_MACHINES = {"KS-01": "no"}
# gambling-machines: two machines and their aanwezigheidsvergunning (KS-01a) checked.
MACHINES_PERMITTED = {
    "KS-01": "yes",
    "KS-01a": "yes",
    "KS-02": 2,
    "KS-02a": "yes",
    "KS-03": "yes",
    "KS-04": "yes",
    "KS-05": "no",
}
# alcohol-shop at a supermarket (no permit needed): the hidden permit question AW-01 sent as an explicit null.
SUPERMARKET = {"AW-90": "supermarkt", "AW-01": None, "AW-06": "yes", "AW-07a": "no", "AW-08": "no", "AW-91": "no"}


@pytest.fixture
async def world(client, auth, db) -> World:
    world = await enforcement_world(client, auth, db)
    inspector = dict(roles=["inspector"], regimes=["alcohol", "nix18", "gambling"], teams=["team-a"])
    await add_users(client, auth, world, {"insp_g": inspector})
    for key in ("gambling-machines", "alcohol-shop"):
        response = await client.post("/api/v1/checklists", headers=world.h["admin"], json=checklist_file(key))
        assert response.status_code == 201, response.text
        world.ids[key] = response.json()["id"]
    admin = world.h["admin"]
    gambling = dict(name="Café Fortuna", house_number=7, regimes=["alcohol", "nix18", "gambling"])
    world.ids["fortuna"] = (await create_object(client, admin, **gambling))["id"]
    shop = dict(name="Super Oost", kind="supermarkt", house_number=20, wijk="oost", postcode="3572BJ")
    world.ids["shop"] = (await create_object(client, admin, street="Biltstraat", **shop))["id"]
    return world


async def _indicators(client, world: World) -> dict[str, Any]:
    """This period's indicators as the admin reads them (yesterday too: an inspection finished minutes ago)."""
    period = {"from": (today() - timedelta(days=1)).isoformat(), "to": today().isoformat()}
    response = await client.get(f"{REPORTS}/indicators", params=period, headers=world.h["admin"])
    assert response.status_code == 200, response.text
    return response.json()


def _money(numerator: int, denominator: int, cents: int) -> dict[str, Any]:
    return {**fig(numerator, denominator), "amount_cents": cents}


async def _control(client, world: World, object_key: str, template: str, answers: dict[str, Any]) -> str:
    """A control of the object with one checklist, submitted by insp_g and accepted in review."""
    body = world.body(
        "insp_g",
        object_id=world.ids[object_key],
        checklists=[{"checklist_version_id": world.ids[template], "answers": answers}],
    )
    stored = await submitted(client, world, body, "insp_g")
    assert stored["checklists"][0]["answers"] == answers  # the explicit null is stored as sent
    return (await accepted(client, world, stored))["id"]


async def _three_controls(client, world: World) -> dict[str, str]:
    return {
        "no_machines": await _control(client, world, "fortuna", "gambling-machines", NO_MACHINES),
        "supermarket": await _control(client, world, "shop", "alcohol-shop", SUPERMARKET),
        "permitted": await _control(client, world, "fortuna", "gambling-machines", MACHINES_PERMITTED),
    }


async def _withdrawn_fine(client, world: World) -> dict[str, Any]:
    """A warning and a fine sent in a case of the café (after two reviewed controls), then the fine withdrawn;
    returns the fine as sent."""
    current = await fined(client, world)
    boete = last_step(current)
    assert (boete["decision"], boete["status"], boete["amount_cents"] > 0) == ("boete", "sent", True)
    sent = await _indicators(client, world)
    assert sent["sanctions"]["fines"] == _money(1, 2, boete["amount_cents"])
    assert sent["sanctions"]["warnings"] == fig(1, 2)
    current = await done(client, world, current, boete["id"], "withdraw", body=WITHDRAWN)
    assert last_step(current)["withdrawn_on"] == today().isoformat()
    return boete


async def test_a_withdrawn_fine_leaves_the_fines_count_and_euros(client, db, world):
    await _withdrawn_fine(client, world)
    sanctions = (await _indicators(client, world))["sanctions"]
    # Neither a fine nor its euros, nor among the decisions sent: the warning is all that was sent.
    assert (sanctions["fines"], sanctions["warnings"]) == (_money(0, 1, 0), fig(1, 1))
    await read_model.rebuild(db)  # `toezicht reports rebuild` leaves it out too
    sanctions = (await _indicators(client, world))["sanctions"]
    assert (sanctions["fines"], sanctions["warnings"]) == (_money(0, 1, 0), fig(1, 1))


async def test_only_a_control_that_answered_a_permit_question_is_a_vergunningcontrole(client, db, world):
    await _three_controls(client, world)
    # Three controls done; only the one that checked the aanwezigheidsvergunning (KS-01a) checked a permit: not
    # the café without machines (KS-01 'no'), not the supermarket (AW-01 null).
    expected = {"done": fig(3, 3), "vergunningcontroles": fig(1, 3)}
    controls = (await _indicators(client, world))["controls"]
    assert {key: controls[key] for key in expected} == expected
    await read_model.rebuild(db)
    controls = (await _indicators(client, world))["controls"]
    assert {key: controls[key] for key in expected} == expected


def _correction_sql() -> str:
    """What migration 0081 runs on the facts already there (after its functions)."""
    text = MIGRATION.read_text(encoding="utf-8")
    marker = "-- --- the facts already there"
    assert marker in text
    return text[text.index(marker) :]


async def test_the_migration_corrects_facts_counted_under_the_old_rules(client, db, world):
    ids = await _three_controls(client, world)
    boete = await _withdrawn_fine(client, world)
    # As the read model stood before 0081: the two controls counted as vergunningcontroles (the fact deleted and
    # inserted again, so the counting triggers count it), the withdrawn fine still a sanction.
    await db.execute(
        """
WITH old AS (DELETE FROM report_inspection WHERE id = ANY ($1::uuid[]) RETURNING *)
INSERT INTO report_inspection (id, object_id, day, regimes, wijk, object_kind, team_id, reviewed, permit, reason,
                               violation_regimes)
SELECT id, object_id, day, regimes, wijk, object_kind, team_id, reviewed, true, reason, violation_regimes FROM old""",
        [ids["no_machines"], ids["supermarket"]],
    )
    await db.execute(
        """
INSERT INTO report_sanction (id, case_id, type, decision, amount_cents, day, forfeited, forfeited_cents)
SELECT id, case_id, type, decision, amount_cents, sent_on, false, forfeited_cents FROM enforcement_step WHERE id = $1
ON CONFLICT (id) DO NOTHING""",
        boete["id"],
    )
    # Five controls: the three above and the café's two (alcoholvergunning answered) that led to the fine.
    before = await _indicators(client, world)
    assert before["controls"]["vergunningcontroles"] == fig(5, 5)
    assert before["sanctions"]["fines"] == _money(1, 2, boete["amount_cents"])
    await db.execute(_correction_sql())
    after = await _indicators(client, world)
    assert after["controls"]["vergunningcontroles"] == fig(3, 5)
    assert after["sanctions"]["fines"] == _money(0, 1, 0)
    await read_model.rebuild(db)  # the corrected facts are what a rebuild computes
    assert await _indicators(client, world) == after


def test_every_permit_question_asks_about_a_permit():
    """What reports.definitions counts as a permit question asks in its own template whether there is a permit
    (a vergunning or gedoogverklaring), not something else such as whether there are machines (KS-01 in horeca)."""
    for template, keys in defs.PERMIT_QUESTIONS.items():
        content = checklist_file(template)
        questions = {item["key"]: item["question"] for section in content["sections"] for item in section["items"]}
        for key in keys:
            assert re.search(r"vergunning|gedoogverklaring", questions[key], re.IGNORECASE), (template, key)
