"""The demo's month of work, made through the API: after loading, every list the console shows has items in
each state, a second load adds nothing, and sex-work items stay with the users scoped for sex work."""

from __future__ import annotations

from typing import Any

import pytest

from backend import demo, demo_case, demo_month
from backend.checklists import templates as checklist_templates
from backend.checklists.service import publish_directory as publish_checklists
from backend.letters import templates as letter_templates
from backend.letters.service import publish_directory as publish_letters
from tests.conftest import ISSUER
from tests.test_demo import demo_claims

COUNTED = (
    "inspection",
    "inspection_photo",
    "assignment",
    "complaint",
    "complaint_transition",
    "enforcement_case",
    "enforcement_step",
    "audit_event",
)


@pytest.fixture
async def month_loaded(db, settings) -> int:
    """What `toezicht demo` loads: the demo data, the shipped templates, the demo case, then the month."""
    await demo.load_demo_data(db, ISSUER)
    await publish_checklists(db, checklist_templates.DEFAULT_DIRECTORY)
    await publish_letters(db, letter_templates.DEFAULT_DIRECTORY)
    await demo_case.load_demo_case(db, settings)
    return await demo_month.load_demo_month(settings)


@pytest.fixture
def as_user(auth):
    def headers(subject: str) -> dict[str, str]:
        return auth(**{key: value for key, value in demo_claims(subject).items() if key != "name"})

    return headers


async def items(client, headers: dict[str, str], path: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1{path}", headers=headers, params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_the_month_fills_every_list(client, as_user, month_loaded):
    assert month_loaded == len(demo_month.INSPECTED) + len(demo_month.ASSIGNMENTS) + len(demo_month.COMPLAINTS)
    dirk = as_user("coord-dirk")
    inspections = await items(client, dirk, "/inspections")
    assert {"submitted", "complete", "returned", "corrected", "reviewed"} <= {i["state"] for i in inspections}
    awaiting = await items(client, dirk, "/inspections", awaiting_my_review="true")
    assert {i["state"] for i in awaiting} == {"complete", "corrected"}
    violations = {i["id"] for i in inspections if i["state"] == "reviewed"}
    assert len(violations) >= 2
    assignments = await items(client, dirk, "/assignments", status="planned")
    assert {a["reason"] for a in assignments} >= {"regular_cycle", "verscherpt_toezicht", "project", "complaint"}
    assert "hercontrole" in {a["reason"] for a in assignments}

    eva = as_user("jur-eva")
    cases = await items(client, eva, "/enforcement/cases")
    assert {"warned", "voornemen", "besluit", "hercontrole", "bezwaar"} <= {c["status"] for c in cases}

    gerda = as_user("klacht-gerda")
    complaints = await items(client, gerda, "/complaints")
    states = {c["state"] for c in complaints}
    assert {"received", "in_progress", "inspection_planned", "resolved", "rejected"} <= states
    assert any(c["overdue"] for c in complaints) and any(c["acknowledgement_overdue"] for c in complaints)
