"""The jurist's worklists: the decisions awaiting my approval (never my own drafts, nor decisions on violations I
found), the steps ready to send, and the names and addresses the case list, the deadlines list and the approvals
list carry so that a screen needs one request per page; sex-work cases only with the sexwork regime."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.core.calendar import today
from tests.enforcement_helpers import (
    BASE,
    CASES,
    DWANGSOM,
    NO_MANAGER,
    OPERATOR,
    act,
    done,
    drafted,
    enforcement_world,
    last_step,
    only_case,
    reviewed,
    with_dwangsom,
)
from tests.helpers import assert_problem, register
from tests.inspection_helpers import World

APPROVALS = f"{BASE}/approvals"
CAFE_ADDRESS = "Oudegracht 100, 3511 AX Utrecht"


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


async def decision_drafted(
    client, world: World, *, inspector: str = "insp_a1", reviewer: str = "coord_a", drafter: str = "officer_a"
) -> dict[str, Any]:
    """A case whose last onder dwangsom is drafted (not approved) after its voornemen and zienswijze."""
    await reviewed(client, world, NO_MANAGER, who=inspector, reviewer=reviewer)
    current = await only_case(client, world, drafter, object_id=world.ids["cafe"], open="true")
    terms = {key: value for key, value in DWANGSOM.items() if key not in ("type", "document_text")}
    current = await drafted(
        client, world, current, {**terms, "type": "voornemen", "deviation_reason": "Herstel gaat voor"}, drafter
    )
    current = await done(client, world, current, last_step(current)["id"], "send", drafter)
    current = await done(client, world, current, last_step(current)["id"], "zienswijze", drafter, {"received": True})
    return await drafted(client, world, current, DWANGSOM, drafter)


async def approvals(client, world: World, who: str, **params: Any) -> dict[str, Any]:
    response = await client.get(APPROVALS, headers=world.h[who], params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_drafted_decision_awaits_the_second_officer_not_its_drafter(client, world):
    current = await decision_drafted(client, world)
    besluit = last_step(current)
    assert (await approvals(client, world, "officer_a"))["items"] == []  # never my own draft

    [item] = (await approvals(client, world, "officer_b"))["items"]
    assert item == {
        "case_id": current["id"],
        "case_version": current["version"],
        "step_id": besluit["id"],
        "type": "besluit",
        "decision": "last_onder_dwangsom",
        "amount_cents": None,
        "regime": "alcohol",
        "wijk": "binnenstad",
        "object_id": world.ids["cafe"],
        "location_id": None,
        "object_name": "Café Het Hoekje",
        "address": CAFE_ADDRESS,
        "drafted_by": world.ids["officer_a"],
        "drafted_by_name": "A. de Vries",
        "drafted_at": besluit["created_at"],
    }
    assert (await approvals(client, world, "officer_b", case_id=current["id"]))["items"] == [item]
    assert (await approvals(client, world, "officer_b", regime="nix18"))["items"] == []

    # The server refuses what the list leaves out; the list's case_version is the If-Match of the approval.
    assert_problem(await act(client, world, current, besluit["id"], "approve"), 403, "four_eyes")
    approved = await client.post(
        f"{CASES}/{item['case_id']}/steps/{item['step_id']}/approve",
        headers={**world.h["officer_b"], "If-Match": f'"{item["case_version"]}"'},
    )
    assert approved.status_code == 200, approved.text
    assert (await approvals(client, world, "officer_b"))["items"] == []  # approved: no longer waiting


async def test_an_officer_who_found_the_violation_is_not_asked_to_approve_the_decision_on_it(client, world):
    current = await decision_drafted(client, world, inspector="insp_enforcer_b", reviewer="coord_b")
    assert (await approvals(client, world, "insp_enforcer_b"))["items"] == []
    assert_problem(
        await act(client, world, current, last_step(current)["id"], "approve", "insp_enforcer_b"), 403, "four_eyes"
    )
    assert len((await approvals(client, world, "officer_b"))["items"]) == 1


async def test_approvals_page_with_the_cursor_oldest_first(client, world):
    closed = await decision_drafted(client, world)
    await client.post(
        f"{CASES}/{closed['id']}/close",
        json={"result": "no_action", "reason": "Exploitant is gestopt"},
        headers={**world.h["officer_a"], "If-Match": f'"{closed["version"]}"'},
    )
    assert (await approvals(client, world, "officer_b"))["items"] == []  # a closed case waits for no one
    first = await decision_drafted(client, world)
    # A second case: another café with its own drafted decision.
    admin = world.h["admin"]
    other = await client.post(
        "/api/v1/objects",
        headers=admin,
        json={
            "name": "Bar Zuid",
            "street": "Amsterdamsestraatweg",
            "house_number": 7,
            "house_number_addition": "A",
            "postcode": "3513 AA",
            "wijk": "noordwest",
            "kind": "horeca_laagdrempelig",
            "employee_class": "under_50",
            "regimes": ["alcohol", "nix18"],
        },
    )
    assert other.status_code == 201, other.text
    world.ids["cafe"] = other.json()["id"]
    addressee = await client.put(f"/api/v1/objects/{world.ids['cafe']}/addressee", json=OPERATOR, headers=admin)
    assert addressee.status_code == 200, addressee.text
    await decision_drafted(client, world)

    page_one = await approvals(client, world, "officer_b", limit=1)
    assert page_one["items"][0]["case_id"] == first["id"] and page_one["next_cursor"]
    page_two = await approvals(client, world, "officer_b", limit=1, cursor=page_one["next_cursor"])
    [second] = page_two["items"]
    assert page_two["next_cursor"] is None
    assert (second["object_name"], second["address"], second["wijk"]) == (
        "Bar Zuid",
        "Amsterdamsestraatweg 7A, 3513 AA Utrecht",
        "noordwest",
    )
    assert_problem(
        await client.get(APPROVALS, headers=world.h["officer_b"], params={"cursor": "bm90LWEtY3Vyc29y"}),
        400,
        "invalid_cursor",
    )


READY = f"{BASE}/ready-to-send"


async def ready(client, world: World, who: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(READY, headers=world.h[who], params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_step_that_may_be_sent_is_listed_until_it_is_sent_a_decision_only_once_approved(client, world, auth):
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world, "officer_a", object_id=world.ids["cafe"], open="true")
    terms = {key: value for key, value in DWANGSOM.items() if key not in ("type", "document_text")}
    current = await drafted(
        client, world, current, {**terms, "type": "voornemen", "deviation_reason": "Herstel gaat voor"}
    )
    voornemen = last_step(current)
    # A drafted voornemen needs no approval: any officer of the regime sees it waiting to be sent.
    [item] = await ready(client, world, "officer_b")
    assert item == {
        "case_id": current["id"],
        "case_version": current["version"],
        "step_id": voornemen["id"],
        "type": "voornemen",
        "decision": "last_onder_dwangsom",
        "status": "draft",
        "amount_cents": None,
        "regime": "alcohol",
        "wijk": "binnenstad",
        "object_id": world.ids["cafe"],
        "location_id": None,
        "object_name": "Café Het Hoekje",
        "address": CAFE_ADDRESS,
        "drafted_by": world.ids["officer_a"],
        "drafted_by_name": "A. de Vries",
        "drafted_at": voornemen["created_at"],
    }
    assert await ready(client, world, "officer_a", case_id=current["id"]) == [item]
    assert await ready(client, world, "officer_a", regime="nix18") == []
    # An officer of another regime never sees it.
    world.h["officer_nix18"] = auth("officer_nix18", roles=["enforcement_officer"], regimes=["nix18"])
    await register(client, world.h["officer_nix18"])
    assert await ready(client, world, "officer_nix18") == []
    # The list's case_version is the If-Match of sending; sent, it leaves the list.
    sent = await client.post(
        f"{CASES}/{item['case_id']}/steps/{item['step_id']}/send",
        headers={**world.h["officer_a"], "If-Match": f'"{item["case_version"]}"'},
    )
    assert sent.status_code == 200, sent.text
    assert await ready(client, world, "officer_a") == []

    current = await done(client, world, sent.json(), voornemen["id"], "zienswijze", body={"received": True})
    current = await drafted(client, world, current, DWANGSOM)
    besluit = last_step(current)
    assert await ready(client, world, "officer_a") == []  # a besluit waits for the second officer first
    current = await done(client, world, current, besluit["id"], "approve", "officer_b")
    [approved] = await ready(client, world, "officer_a")
    assert (approved["step_id"], approved["type"], approved["status"]) == (besluit["id"], "besluit", "approved")
    assert approved["case_version"] == current["version"]


async def test_only_enforcement_officers_have_approvals(client, world, auth):
    admin_only = auth("admin-only", roles=["admin"], regimes=["alcohol"])
    assert_problem(await client.get(APPROVALS, headers=admin_only), 403, "forbidden")


async def test_the_case_list_names_each_case_s_target_and_who_opened_it_and_filters_by_wijk(client, world):
    opened = await client.post(
        CASES,
        json={"object_id": world.ids["cafe"], "regime": "alcohol", "reason": "Klacht buurtbewoners over schenken"},
        headers=world.h["officer_a"],
    )
    assert opened.status_code == 201, opened.text
    [item] = (await client.get(CASES, headers=world.h["officer_b"])).json()["items"]
    assert (item["object_name"], item["address"], item["wijk"], item["opened_by_name"]) == (
        "Café Het Hoekje",
        CAFE_ADDRESS,
        "binnenstad",
        "A. de Vries",
    )
    by_wijk = lambda wijk: client.get(CASES, headers=world.h["officer_b"], params={"wijk": wijk})  # noqa: E731
    assert len((await by_wijk("binnenstad")).json()["items"]) == 1
    assert (await by_wijk("west")).json()["items"] == []
    problem = assert_problem(await by_wijk("atlantis"), 422, "validation_failed")
    assert problem["errors"][0]["parameter"] == "wijk"


async def test_the_deadlines_list_names_each_deadline_s_target_and_wijk(client, world):
    current, besluit = await with_dwangsom(client, world)
    await done(client, world, current, besluit["id"], "send")
    listed = await client.get(f"{BASE}/deadlines", headers=world.h["officer_b"], params={"until": _weeks_ahead(4)})
    [term] = [d for d in listed.json()["expiring"] if d["kind"] == "begunstigingstermijn"]
    assert (term["object_name"], term["address"], term["wijk"]) == (
        "Café Het Hoekje",
        CAFE_ADDRESS,
        "binnenstad",
    )


def _weeks_ahead(weeks: int) -> str:
    return (today() + timedelta(weeks=weeks)).isoformat()


async def test_sex_work_cases_are_in_no_worklist_without_the_sexwork_regime(client, world, auth, db):
    current = await decision_drafted(client, world)
    await db.execute("UPDATE enforcement_case SET regime = 'sexwork' WHERE id = $1::uuid", current["id"])
    world.h["officer_sw2"] = auth("officer_sw2", roles=["enforcement_officer"], regimes=["sexwork"], name="T. Tol")
    await register(client, world.h["officer_sw2"])

    # officer_b has alcohol and nix18 only.
    assert (await approvals(client, world, "officer_b"))["items"] == []
    assert (await client.get(CASES, headers=world.h["officer_b"])).json()["items"] == []
    [waiting] = (await approvals(client, world, "officer_sw2"))["items"]
    assert waiting["case_id"] == current["id"] and waiting["regime"] == "sexwork"


async def test_showing_a_sex_work_location_s_address_in_a_list_is_an_audited_read(client, world, db):
    location = await client.post(
        "/api/v1/locations",
        json={
            "street": "Vleutenseweg",
            "house_number": 301,
            "postcode": "3532 HN",
            "wijk": "west",
            "regimes": ["sexwork"],
        },
        headers=world.h["coord_a"],
    )
    assert location.status_code == 201, location.text
    location_id = location.json()["id"]
    opened = await client.post(
        CASES,
        json={"location_id": location_id, "regime": "sexwork", "reason": "Advertentie zonder vergunning"},
        headers=world.h["officer_sw"],
    )
    assert opened.status_code == 201, opened.text
    reads = "SELECT count(*) FROM audit_event WHERE action = 'location.read' AND object_id = $1"
    before = await db.fetchval(reads, location_id)

    [item] = (await client.get(CASES, headers=world.h["officer_sw"])).json()["items"]
    assert (item["object_name"], item["address"]) == (None, "Vleutenseweg 301, 3532 HN Utrecht")
    assert await db.fetchval(reads, location_id) == before + 1
