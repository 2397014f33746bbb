"""Without an alcohol permit the horeca checklist does not ask about the permit's annex or its managers: one fact,
exploiting without a permit (art. 3), is not also recorded as a manager missing from an annex (art. 30b) or
failing the permit's requirements (art. 8)."""

from __future__ import annotations

import pytest

from tests.helpers import assert_problem
from tests.inspection_helpers import HORECA_OK, World, build_world, put, submitted

NO_PERMIT = {
    **{key: value for key, value in HORECA_OK.items() if key not in ("AW-02", "AW-02a", "AW-04", "AW-05")},
    "AW-01": "no",
}


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth)


def horeca(world: World, answers: dict) -> list[dict]:
    return [{"checklist_version_id": world.ids["alcohol-horeca"], "answers": answers}]


async def test_without_a_permit_the_annex_and_manager_requirements_are_not_asked(client, world):
    for key in ("AW-04", "AW-05"):
        response = await put(client, world, world.body(checklists=horeca(world, {**NO_PERMIT, key: "no"})))
        problem = assert_problem(response, 422, "validation_failed")
        assert problem["errors"] == [
            {
                "pointer": f"/checklists/0/answers/{key}",
                "detail": "answers a question that is not shown for these answers",
            }
        ]


async def test_without_a_permit_the_only_permit_violation_is_art_3(client, world):
    inspection = await submitted(client, world, world.body(checklists=horeca(world, NO_PERMIT)))
    codes = {violation["code"] for violation in inspection["violations"]}
    assert "AW-3-NO-PERMIT" in codes
    assert not codes & {"AW-30B-MANAGER-NOT-ON-ANNEX", "AW-8-MANAGER-REQUIREMENTS"}


async def test_with_a_permit_a_manager_missing_from_the_annex_is_still_a_violation(client, world):
    inspection = await submitted(client, world, world.body(checklists=horeca(world, {**HORECA_OK, "AW-04": "no"})))
    assert "AW-30B-MANAGER-NOT-ON-ANNEX" in {violation["code"] for violation in inspection["violations"]}
