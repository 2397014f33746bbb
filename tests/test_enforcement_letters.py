"""The letter in the procedure: drafting renders it, the approval binds its SHA-256 (a letter changed after the
approval is approved again before it is sent), sending stores it write-once and records its hash; the document
is read back as PDF (a draft as a preview, a tampered stored document refused); a letter lacking data is a 422
naming it, and nothing is stored."""

from __future__ import annotations

import hashlib

import pytest

from backend.demo_answers import COFFEESHOP_OK
from backend.letters import service as letters
from tests.enforcement_helpers import (
    CASES,
    NO_MANAGER,
    OPERATOR,
    World,
    act,
    done,
    drafted,
    enforcement_world,
    fined,
    last_step,
    only_case,
    proposal,
    reviewed,
    step,
    voornemen_answered,
    warned_once,
    with_dwangsom,
)
from tests.helpers import assert_problem
from tests.inspection_helpers import add_users, checklist_file
from tests.letter_helpers import pdf_text
from tests.registry_helpers import create_object


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


def document_url(current: dict, step_id: str) -> str:
    return f"{CASES}/{current['id']}/steps/{step_id}/document"


async def test_sending_stores_the_letter_write_once_and_records_its_hash(client, db, settings, world):
    current = await fined(client, world)
    besluit = last_step(current)
    assert besluit["letter_sha256"] == besluit["approved_sha256"]  # sent on the day it was approved
    stored = await letters.read_document(letters.letters_for(settings), besluit["letter_sha256"])
    assert hashlib.sha256(stored).hexdigest() == besluit["letter_sha256"]
    text = pdf_text(stored)
    for part in (
        "Café De Hoek B.V.",
        "Oudegracht 1",
        "A. de Vries",
        "bezwaar",
        "De overtreding is ernstig",
        "artikel 44a, eerste lid, van de Alcoholwet",
        # The checklist's sentence for the offender, not its description for the back office.
        "Er was geen leidinggevende aanwezig. Dit is in strijd met",
    ):
        assert part in text
    assert "horecaloket" not in text
    with pytest.raises(Exception, match="a sent step cannot change"):
        await db.execute(
            "UPDATE enforcement_step SET letter_sha256 = repeat('0', 64) WHERE id = $1::uuid", besluit["id"]
        )


async def test_a_letter_changed_after_its_approval_is_approved_again_before_it_is_sent(client, db, world):
    current, besluit = await with_dwangsom(client, world)
    moved = await client.put(
        f"/api/v1/objects/{world.ids['cafe']}/addressee",
        json={**OPERATOR, "street": "Neude 5"},
        headers=world.h["admin"],
    )
    assert moved.status_code == 200
    refused = await act(client, world, current, besluit["id"], "send")
    assert_problem(refused, 409, "letter_changed")
    assert await db.fetchval("SELECT sent_on FROM enforcement_step WHERE id = $1::uuid", besluit["id"]) is None

    current = await done(client, world, current, besluit["id"], "approve", who="officer_b")
    assert last_step(current)["approved_sha256"] != besluit["approved_sha256"]
    current = await done(client, world, current, besluit["id"], "send")
    sent = next(s for s in current["steps"] if s["id"] == besluit["id"])
    response = await client.get(document_url(current, sent["id"]), headers=world.h["officer_a"])
    assert "Neude 5" in pdf_text(response.content)


async def test_an_unchanged_approved_letter_is_not_approved_twice(client, world):
    current, besluit = await with_dwangsom(client, world)
    assert_problem(await act(client, world, current, besluit["id"], "approve", who="officer_b"), 409, "not_a_draft")


async def test_the_document_is_a_pdf_download_with_its_hash_as_etag_and_every_read_is_audited(client, db, world):
    current = await fined(client, world)
    besluit = last_step(current)
    response = await client.get(document_url(current, besluit["id"]), headers=world.h["officer_b"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"] == f'"{besluit["letter_sha256"]}"'
    assert hashlib.sha256(response.content).hexdigest() == besluit["letter_sha256"]
    reads = await db.fetchval(
        "SELECT count(*) FROM audit_event WHERE action = 'enforcement_case.document_read' AND object_id = $1",
        current["id"],
    )
    assert reads == 1


async def test_a_draft_is_previewed_dated_today(client, world):
    current, besluit = await with_dwangsom(client, world)
    response = await client.get(document_url(current, besluit["id"]), headers=world.h["officer_a"])
    assert response.status_code == 200
    assert response.headers["etag"] == f'"{besluit["approved_sha256"]}"'  # approved today: the same letter
    assert "Stel een leidinggevende aan" in pdf_text(response.content)


async def test_a_tampered_stored_document_is_refused_never_served(client, db, settings, world):
    current = await fined(client, world)
    besluit = last_step(current)
    path = letters.letters_for(settings).store.path("document", besluit["letter_sha256"])
    path.chmod(0o644)
    original = path.read_bytes()
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    try:
        response = await client.get(document_url(current, besluit["id"]), headers=world.h["officer_a"])
    finally:
        # The store is content-addressed and shared by the session's tests: a later test that sends the same
        # letter on the same day finds this file, and must find it whole.
        path.write_bytes(original)
    assert_problem(response, 409, "document_tampered")
    assert b"%PDF" not in response.content
    assert (
        await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'enforcement_case.document_tampered'") == 1
    )


async def test_a_step_without_an_addressee_is_a_422_naming_it_and_nothing_is_stored(client, db, world):
    world.ids["bar"] = (await create_object(client, world.h["admin"], name="Bar Zonder Adres"))["id"]
    await reviewed(client, world, NO_MANAGER, object_key="bar")
    current = await only_case(client, world)
    refused = await step(client, world, current, {"type": "warning"})
    problem = assert_problem(refused, 422, "letter_data_missing")
    assert [error["pointer"] for error in problem["errors"]] == ["/addressee"]
    assert await db.fetchval("SELECT count(*) FROM enforcement_step") == 0

    # Letters by e-mail need the address they go to: refused, nothing stored.
    no_address = {**OPERATOR, "email": None}
    refused = await step(client, world, current, {"type": "warning", "addressee": no_address})
    problem = assert_problem(refused, 422, "validation_failed")
    assert [error["pointer"] for error in problem["errors"]] == ["/addressee/letters_by_email"]
    assert await db.fetchval("SELECT count(*) FROM enforcement_step") == 0

    named = await drafted(client, world, current, {"type": "warning", "addressee": OPERATOR})
    response = await client.get(document_url(named, last_step(named)["id"]), headers=world.h["officer_a"])
    assert "t.a.v. de heer J. Jansen" in pdf_text(response.content)


async def test_a_besluit_without_its_motivering_is_a_422_naming_the_field_and_nothing_is_stored(client, db, world):
    current = await warned_once(client, world)
    amount = (await proposal(client, world, current["id"]))["next"]["amount_cents"]
    current = await voornemen_answered(client, world, current, "boete", amount_cents=amount)
    refused = await step(client, world, current, {"type": "besluit", "decision": "boete", "amount_cents": amount})
    problem = assert_problem(refused, 422, "letter_data_missing")
    assert [error["pointer"] for error in problem["errors"]] == ["/document_text"]
    assert await db.fetchval("SELECT count(*) FROM enforcement_step") == len(current["steps"])
    assert await db.fetchval("SELECT count(*) FROM enforcement_fined_violation") == 0


def with_extra_violation(content: dict, article: dict) -> dict:
    """The alcohol-horeca checklist with a second violation where no manager is present (AW-03 'no'), citing
    `article`: a code the sanction rules do not know, so its article is the checklist's."""
    for section in content["sections"]:
        for item in section["items"]:
            if item["key"] == "AW-03":
                item["violations"].append(
                    {
                        "when": {"equals": "no"},
                        "code": "AW-TEST-ARTICLE",
                        "article": article,
                        "severity": "minor",
                        "description": "Leidinggevende niet aanwezig (testregel)",
                    }
                )
    return content


async def test_no_letter_cites_an_article_the_checklist_has_not_looked_up_yet(client, db, world):
    unknown = {"law": "Alcoholwet", "article": "artikel onbekend (VERIFY)"}
    published = await client.post(
        "/api/v1/checklists",
        headers=world.h["admin"],
        json=with_extra_violation(checklist_file("alcohol-horeca"), unknown),
    )
    assert published.status_code == 201, published.text
    body = world.body(
        "insp_a1",
        object_id=world.ids["cafe"],
        checklists=[{"checklist_version_id": published.json()["id"], "answers": dict(NO_MANAGER)}],
    )
    await reviewed(client, world, NO_MANAGER, body=body)
    current = await only_case(client, world)
    refused = await step(client, world, current, {"type": "warning"})
    problem = assert_problem(refused, 422, "article_unknown")
    assert [error["pointer"] for error in problem["errors"]] == ["/violation_ids"]
    assert "AW-TEST-ARTICLE" in problem["errors"][0]["detail"]
    assert await db.fetchval("SELECT count(*) FROM enforcement_step") == 0

    # Once the checklists state the article, the letter cites it.
    known = {"law": "Alcoholwet", "article": "24", "lid": "1"}
    corrected = await client.post(
        "/api/v1/checklists",
        headers=world.h["admin"],
        json=with_extra_violation(checklist_file("alcohol-horeca"), known),
    )
    assert corrected.status_code == 201, corrected.text
    current = await drafted(client, world, current, {"type": "warning"})
    response = await client.get(document_url(current, last_step(current)["id"]), headers=world.h["officer_a"])
    text = pdf_text(response.content)
    assert "onbekend" not in text and "Leidinggevende niet aanwezig (testregel)" in text


async def test_a_coffeeshop_letter_cites_the_gedoogcriterium_it_breaks(client, auth, world):
    """The gedoogcriteria have no article number: the letter names the criterion of the Aanwijzing Opiumwet, as the
    checklist does, never 'artikel ?'."""
    coffee = {
        "officer_cs": dict(roles=["enforcement_officer"], regimes=["coffeeshop"], name="C. Smit"),
        "insp_cs": dict(roles=["inspector"], regimes=["coffeeshop"], teams=["team-a"]),
    }
    await add_users(client, auth, world, coffee)
    shop = await create_object(
        client, world.h["admin"], name="Coffeeshop De Wolk", kind="coffeeshop", regimes=["coffeeshop"]
    )
    addressee = await client.put(f"/api/v1/objects/{shop['id']}/addressee", json=OPERATOR, headers=world.h["admin"])
    assert addressee.status_code == 200, addressee.text
    answers = {**COFFEESHOP_OK, "CS-06": "yes"}  # more than 5 grams sold to one buyer: criterion G
    checklist = {"checklist_version_id": world.ids["coffeeshop"], "answers": answers}
    await reviewed(
        client, world, answers, who="insp_cs", body=world.body("insp_cs", object_id=shop["id"], checklists=[checklist])
    )
    current = await only_case(client, world, who="officer_cs")
    current = await drafted(client, world, current, {"type": "warning"}, who="officer_cs")
    response = await client.get(document_url(current, last_step(current)["id"]), headers=world.h["officer_cs"])
    text = " ".join(pdf_text(response.content).split())
    assert "gedoogcriterium G van de Aanwijzing Opiumwet" in text and "artikel ?" not in text
    # The checklist describes the finding as a heading; the letter ends it as a sentence before the next one.
    assert "meer dan 5 gram per persoon per dag. Dit is in strijd met gedoogcriterium G" in text
