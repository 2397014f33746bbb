"""A sent letter by e-mail: a real SMTP server (aiosmtpd) on loopback receives each letter sent through the API
to an establishment whose addressee has an e-mail address, with the stored PDF attached as it is (its SHA-256 is
the step's and the document endpoint's); a refusal is retried with the same Message-ID; without an address, or
without a mail server, the step is marked for post; a decision withdrawn before its e-mail went is not sent.
The step shows how its letter went out."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any
from uuid import UUID

import pytest

from backend.core import calendar
from backend.enforcement import bezwaar, mailing
from backend.letters import dutch
from tests.conftest import app_client, make_settings
from tests.enforcement_helpers import (
    CASES,
    NO_MANAGER,
    OPERATOR,
    World,
    act,
    case,
    done,
    drafted,
    enforcement_world,
    fined,
    last_step,
    only_case,
    proposal,
    reviewed,
    step_in,
)
from tests.helpers import assert_problem
from tests.outbox_helpers import (  # noqa: F401 (fixtures: mailbox, settings)
    MESSAGES,
    SENDER,
    mail_settings,
    running_mailbox,
    settings_with_mail,
    text_of,
    until,
)

DOMAIN = SENDER.rpartition("@")[2]


@pytest.fixture
async def world(client, auth, db) -> World:
    return await enforcement_world(client, auth, db)


async def letter_emails(db) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM outbox_message WHERE step_id IS NOT NULL ORDER BY created_at, id")
    return [dict(row) for row in rows]


def attachment(mail: EmailMessage) -> tuple[str, str, bytes]:
    (part,) = list(mail.iter_attachments())
    content = part.get_content()
    assert isinstance(content, bytes)
    return part.get_content_type(), str(part.get_filename()), content


async def document(client, world: World, current: dict[str, Any], step_id: str) -> tuple[str, bytes]:
    response = await client.get(f"{CASES}/{current['id']}/steps/{step_id}/document", headers=world.h["officer_b"])
    assert response.status_code == 200, response.text
    return response.headers["etag"].strip('"'), response.content


async def sent_warning(client, world: World) -> dict[str, Any]:
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    current = await drafted(client, world, current, {"type": "warning", "document_text": "Waarschuwing art. 24"})
    return await done(client, world, current, last_step(current)["id"], "send")


async def test_each_sent_letter_arrives_with_the_stored_pdf_as_its_attachment(client, db, world, mailbox):
    current = await fined(client, world)  # warning, voornemen and besluit boete, each sent
    await until(lambda: len(mailbox.received) == 3)

    messages = await letter_emails(db)
    sent = [s for s in current["steps"] if s["sent_on"] is not None]
    assert [str(m["step_id"]) for m in messages] == [s["id"] for s in sent]
    # The outbox delivers its due messages concurrently, so the mails may arrive in any order: each is found by the
    # Message-ID its outbox message gives it.
    arrived = {mail["Message-ID"]: mail for mail in mailbox.received}
    assert set(arrived) == {f"<{message['id']}@{DOMAIN}>" for message in messages}
    by_step = {str(message["step_id"]): arrived[f"<{message['id']}@{DOMAIN}>"] for message in messages}
    for step in sent:
        mail = by_step[step["id"]]
        assert mail["To"] == OPERATOR["email"] and mail["From"] == SENDER
        kind, filename, pdf = attachment(mail)
        assert kind == "application/pdf" and filename.endswith(f"-{step['seq']}.pdf")
        etag, served = await document(client, world, current, step["id"])
        assert hashlib.sha256(pdf).hexdigest() == step["letter_sha256"] == etag
        assert pdf == served
    besluit = by_step[sent[2]["id"]]
    assert besluit["Subject"].startswith("Besluit, ons kenmerk HH-")
    kenmerk = besluit["Subject"].rpartition(" ")[2]
    assert attachment(besluit)[1] == f"{kenmerk}-{sent[2]['seq']}.pdf"
    text = text_of(besluit)
    assert text.startswith("Geachte heer/mevrouw,") and kenmerk in text
    assert f"onze brief van {dutch.long_date(calendar.today())}" in text

    async def all_sent() -> bool:
        return all(m["state"] == "delivered" for m in await letter_emails(db))

    await until(all_sent)
    current = await case(client, world, current["id"])
    dispatch = step_in(current, sent[2]["id"])["dispatch"]
    assert dispatch["by"] == "email" and dispatch["state"] == "sent" and dispatch["attempts"] == 1
    assert dispatch["outbox_message_id"] == str(messages[2]["id"]) and dispatch["sent_at"] is not None
    # The outbox keeps ids only: neither the address nor the name of the addressee.
    stored = json.dumps([{k: str(v) for k, v in m.items()} for m in messages])
    assert OPERATOR["email"] not in stored and OPERATOR["name"] not in stored
    listed = await client.get(MESSAGES, headers=world.h["admin"])
    assert {m["step_id"] for m in listed.json()["items"]} == {s["id"] for s in sent}


async def bezwaar_term_listed(db, step_id: str) -> date:
    due: date = await db.fetchval(
        "SELECT due_on FROM enforcement_deadline WHERE step_id = $1::uuid AND kind = 'bezwaar_term'", step_id
    )
    return due


async def test_a_decision_the_mail_server_took_only_the_next_day_has_its_bezwaar_term_from_that_day(
    client, db, world, mailbox
):
    current = await fined(client, world)  # the besluit boete e-mailed today
    besluit = last_step(current)

    async def all_sent() -> bool:
        return all(m["state"] == "delivered" for m in await letter_emails(db))

    await until(all_sent)
    # Taken the day it was sent: recording the delivery leaves the term from the day of sending.
    sent_on = date.fromisoformat(besluit["sent_on"])
    assert await bezwaar_term_listed(db, besluit["id"]) == bezwaar.bezwaar_term_end(sent_on)
    # Had the retries run past midnight, the delivery the dispatcher records makes it known the next day (2:17).
    next_morning = datetime.combine(sent_on + timedelta(days=1), time(9), calendar.AMSTERDAM)
    async with db.transaction():
        await mailing.emailed(db, UUID(besluit["id"]), next_morning)
    assert await bezwaar_term_listed(db, besluit["id"]) == bezwaar.bezwaar_term_end(sent_on + timedelta(days=1))
    shown = step_in(await case(client, world, current["id"]), besluit["id"])
    [listed] = [d for d in shown["deadlines"] if d["kind"] == "bezwaar_term"]
    assert listed["due_on"] == bezwaar.bezwaar_term_end(sent_on + timedelta(days=1)).isoformat()


async def test_a_refused_letter_is_sent_again_with_the_same_message_id_and_no_address_is_logged(
    client, db, world, mailbox, capfd
):
    mailbox.replies = ["451 4.3.0 Probeer het later nog eens"]
    current = await sent_warning(client, world)
    await until(lambda: len(mailbox.received) == 1)

    (message,) = await letter_emails(db)
    assert [a["Message-ID"] for a in mailbox.attempts] == [f"<{message['id']}@{DOMAIN}>"] * 2
    assert attachment(mailbox.attempts[0])[2] == attachment(mailbox.attempts[1])[2]

    async def delivered() -> bool:
        return (await letter_emails(db))[0]["state"] == "delivered"

    await until(delivered)
    dispatch = last_step(await case(client, world, current["id"]))["dispatch"]
    assert (dispatch["by"], dispatch["state"], dispatch["attempts"]) == ("email", "sent", 2)
    output = capfd.readouterr().out
    failures = [json.loads(line) for line in output.splitlines() if '"email_delivery_failed"' in line]
    assert [(f["attempt"], f["error"]) for f in failures] == [(1, "smtp_451")]
    for personal in (OPERATOR["email"], OPERATOR["name"], OPERATOR["attention"]):
        assert personal not in output


async def sent_warning_without_address(client, world: World) -> dict:
    """The café's operator has no e-mail address on record; a warning is sent. Returns the case."""
    without = {key: value for key, value in OPERATOR.items() if key not in ("email", "letters_by_email")}
    put = await client.put(f"/api/v1/objects/{world.ids['cafe']}/addressee", json=without, headers=world.h["admin"])
    assert put.status_code == 200, put.text
    return await sent_warning(client, world)


async def test_without_an_address_on_record_the_letter_is_marked_for_post(client, db, world, mailbox):
    current = await sent_warning_without_address(client, world)
    warning = last_step(current)
    assert warning["dispatch"] == {
        "by": "post",
        "state": None,
        "outbox_message_id": None,
        "attempts": None,
        "last_error": None,
        "sent_at": None,
        "posted_on": None,
        "posted_by": None,
    }
    assert await letter_emails(db) == []  # written with the sending, so none will come

    # Bad input to the next sending is a 4xx that stores nothing, e-mail included.
    current = await case(client, world, current["id"])
    await reviewed(client, world, NO_MANAGER)
    current = await case(client, world, current["id"])
    amount = (await proposal(client, world, current["id"]))["next"]["amount_cents"]
    current = await drafted(client, world, current, {"type": "voornemen", "decision": "boete", "amount_cents": amount})
    voornemen = last_step(current)
    tomorrow = (calendar.today() + timedelta(days=1)).isoformat()
    refused = await act(client, world, current, voornemen["id"], "send", body={"sent_on": tomorrow})
    assert refused.status_code == 422, refused.text
    assert await letter_emails(db) == []

    # With an address recorded since, the next letter goes by e-mail, and it is the only e-mail sent.
    put = await client.put(f"/api/v1/objects/{world.ids['cafe']}/addressee", json=OPERATOR, headers=world.h["admin"])
    assert put.status_code == 200, put.text
    current = await case(client, world, current["id"])
    current = await done(client, world, current, voornemen["id"], "send")
    await until(lambda: len(mailbox.received) == 1)
    (mail,) = mailbox.received
    assert hashlib.sha256(attachment(mail)[2]).hexdigest() == step_in(current, voornemen["id"])["letter_sha256"]
    assert step_in(current, warning["id"])["dispatch"]["by"] == "post"
    assert step_in(current, voornemen["id"])["dispatch"]["by"] == "email"


async def test_an_address_on_record_without_the_addressees_wish_for_e_mail_gets_its_letters_by_post(
    client, db, world, mailbox
):
    """Awb 2:14 lid 1: a letter goes by e-mail only to an addressee who made known they are reachable that way; an
    e-mail address on record alone is not that."""
    unasked = {**OPERATOR, "letters_by_email": False}
    put = await client.put(f"/api/v1/objects/{world.ids['cafe']}/addressee", json=unasked, headers=world.h["admin"])
    assert put.status_code == 200, put.text
    current = await sent_warning(client, world)
    assert last_step(current)["dispatch"]["by"] == "post"
    assert await letter_emails(db) == []


async def test_a_sending_recorded_for_an_earlier_day_is_not_e_mailed(client, db, world, mailbox):
    """The officer records that the letter went out yesterday, on paper: e-mailing it now would make it known a
    second time, on another day. It stays marked as posted, and no e-mail is written."""
    await reviewed(client, world, NO_MANAGER)
    current = await only_case(client, world)
    current = await drafted(client, world, current, {"type": "warning", "document_text": "Waarschuwing art. 24"})
    warning = last_step(current)
    # Arranged: drafted two days ago (a step cannot be dated before its drafting, and the API drafts today).
    await db.execute(
        "UPDATE enforcement_step SET created_at = now() - interval '2 days' WHERE id = $1::uuid", warning["id"]
    )
    yesterday = (calendar.today() - timedelta(days=1)).isoformat()
    current = await done(client, world, current, warning["id"], "send", body={"sent_on": yesterday})
    sent = step_in(current, warning["id"])
    assert sent["sent_on"] == yesterday and sent["dispatch"]["by"] == "post"
    assert await letter_emails(db) == []  # written with the sending, so none will come


TO_POST = "/api/v1/enforcement/letters-to-post"


async def test_a_letter_for_post_waits_on_the_worklist_until_it_is_recorded_as_posted(client, db, world, mailbox):
    current = await sent_warning_without_address(client, world)
    warning = last_step(current)
    listed = await client.get(TO_POST, headers=world.h["officer_b"])
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()["items"]
    assert (item["step_id"], item["case_id"]) == (warning["id"], current["id"])
    assert item["case_version"] == current["version"]
    assert (item["seq"], item["type"], item["sent_on"]) == (warning["seq"], "warning", warning["sent_on"])
    assert item["object_name"] and item["address"]
    # An officer of other regimes neither sees it nor can record it.
    other = await client.get(TO_POST, headers=world.h["enforcer_coffee"])
    assert other.status_code == 200 and other.json()["items"] == []
    assert (await act(client, world, current, warning["id"], "posted", who="enforcer_coffee")).status_code == 404

    # A day in the future or before the sending is refused, and nothing is recorded.
    for day, detail in ((1, "is in the future"), (-1, "is before the letter was sent")):
        posted_on = (calendar.today() + timedelta(days=day)).isoformat()
        refused = await act(client, world, current, warning["id"], "posted", body={"posted_on": posted_on})
        assert refused.status_code == 422 and detail in refused.text, refused.text
    assert [i["step_id"] for i in (await client.get(TO_POST, headers=world.h["officer_a"])).json()["items"]] == [
        warning["id"]
    ]

    current = await done(client, world, current, warning["id"], "posted", who="officer_b")
    dispatch = step_in(current, warning["id"])["dispatch"]
    assert (dispatch["by"], dispatch["posted_on"]) == ("post", calendar.today().isoformat())
    assert dispatch["posted_by"] == world.ids["officer_b"]
    assert (await client.get(TO_POST, headers=world.h["officer_a"])).json()["items"] == []
    again = await act(client, world, current, warning["id"], "posted")
    assert again.status_code == 409 and again.json()["code"] == "already_posted"
    audited = await db.fetchval(
        "SELECT count(*) FROM audit_event WHERE action = 'enforcement_case.letter_posted' AND object_id = $1",
        current["id"],
    )
    assert audited == 1

    # A letter that went by e-mail is not posted by hand, and never on the worklist.
    put = await client.put(f"/api/v1/objects/{world.ids['cafe']}/addressee", json=OPERATOR, headers=world.h["admin"])
    assert put.status_code == 200, put.text
    await reviewed(client, world, NO_MANAGER)
    current = await case(client, world, current["id"])
    amount = (await proposal(client, world, current["id"]))["next"]["amount_cents"]
    current = await drafted(client, world, current, {"type": "voornemen", "decision": "boete", "amount_cents": amount})
    current = await done(client, world, current, last_step(current)["id"], "send")
    assert last_step(current)["dispatch"]["by"] == "email"
    refused = await act(client, world, current, last_step(current)["id"], "posted")
    assert refused.status_code == 409 and refused.json()["code"] == "not_for_post"
    assert (await client.get(TO_POST, headers=world.h["officer_a"])).json()["items"] == []


async def test_a_letter_whose_e_mail_failed_for_good_is_posted_instead_and_not_replayed(
    database_url, data_dir, auth, db, mailbox
):
    mailbox.replies = ["451 4.3.0 Probeer het later nog eens"] * 2
    async with app_client(mail_settings(database_url, data_dir, mailbox, outbox_max_attempts=2)) as client:
        world = await enforcement_world(client, auth, db)
        current = await sent_warning(client, world)
        warning = last_step(current)
        refused = await act(client, world, current, warning["id"], "posted")
        assert refused.status_code == 409 and refused.json()["code"] == "not_for_post"  # the e-mail may still go

        async def dead() -> bool:
            return [m["state"] for m in await letter_emails(db)] == ["dead"]

        await until(dead)
        current = await case(client, world, current["id"])
        assert step_in(current, warning["id"])["dispatch"]["state"] == "failed"
        listed = await client.get(TO_POST, headers=world.h["officer_a"])
        assert [item["step_id"] for item in listed.json()["items"]] == [warning["id"]]
        current = await done(client, world, current, warning["id"], "posted")
        dispatch = step_in(current, warning["id"])["dispatch"]
        assert (dispatch["by"], dispatch["state"]) == ("email", "failed")
        assert dispatch["posted_on"] == calendar.today().isoformat()
        assert (await client.get(TO_POST, headers=world.h["officer_a"])).json()["items"] == []
        # Posted by hand, the dead letter is not e-mailed after all: a replay would make the decision known twice.
        (message,) = await letter_emails(db)
        replayed = await client.post(f"{MESSAGES}/{message['id']}/replay", headers=world.h["admin"])
        assert_problem(replayed, 409, "letter_posted")
        assert [m["state"] for m in await letter_emails(db)] == ["dead"]


async def test_a_decision_withdrawn_before_its_e_mail_went_is_not_sent(database_url, data_dir, auth, db, mailbox):
    # First no dispatcher runs (as when `toezicht dispatch` is down): the e-mails wait while the decision is
    # withdrawn. Then one runs: the other letters go, the withdrawn decision's e-mail is cancelled.
    waiting = mail_settings(database_url, data_dir, mailbox, outbox_dispatcher=False)
    async with app_client(waiting) as client:
        world = await enforcement_world(client, auth, db)
        current = await fined(client, world)
        besluit = last_step(current)
        current = await done(client, world, current, besluit["id"], "withdraw", body={"reason": "Ten onrechte"})
    assert {m["state"] for m in await letter_emails(db)} == {"pending"}
    async with app_client(mail_settings(database_url, data_dir, mailbox)) as client:

        async def settled() -> bool:
            return {m["state"] for m in await letter_emails(db)} == {"delivered", "cancelled"}

        await until(settled)
        states = {str(m["step_id"]): (m["state"], m["last_error"]) for m in await letter_emails(db)}
        assert states[besluit["id"]] == ("cancelled", "step_withdrawn")
        hashes = [hashlib.sha256(attachment(mail)[2]).hexdigest() for mail in mailbox.received]
        assert besluit["letter_sha256"] not in hashes and len(hashes) == 2
        dispatch = step_in(await case(client, world, current["id"]), besluit["id"])["dispatch"]
        assert (dispatch["by"], dispatch["state"], dispatch["last_error"]) == ("email", "cancelled", "step_withdrawn")


async def test_without_a_mail_server_letters_are_marked_for_post(database_url, data_dir, auth, db):
    async with app_client(make_settings(database_url, data_dir)) as client:
        world = await enforcement_world(client, auth, db)
        current = await sent_warning(client, world)
        assert last_step(current)["dispatch"]["by"] == "post"
        assert await letter_emails(db) == []
