"""Feedback to the reporter when a complaint is forwarded (rejected) and when the reporter can only be reached by
phone: a rejection carries an answer for a reporter who wants feedback, sent by e-mail like a resolution's; a
reporter without an e-mail address whose complaint was answered is on the handlers' reporters-to-inform worklist
until the handler records informing them. A real SMTP server (aiosmtpd) on loopback receives the e-mails."""

from __future__ import annotations

from typing import Any

import pytest

from tests.complaint_helpers import REPORTER, URL, complaint_world, create_complaint, move, moved, stored
from tests.conftest import app_client
from tests.helpers import assert_problem
from tests.inspection_helpers import World, if_match
from tests.outbox_helpers import (  # noqa: F401 (fixtures: mailbox, settings)
    email_messages,
    mail_settings,
    running_mailbox,
    settings_with_mail,
    smtp_server,
    text_of,
    until,
)

REPORTERS_TO_INFORM = f"{URL}/reporters-to-inform"
FORWARDED = (
    "Uw melding gaat over fout parkeren; dat is een taak van de politie. Wij hebben uw melding doorgestuurd naar "
    "Politie Utrecht, die contact met u opneemt."
)
REJECT = {"to": "rejected", "forwarded_to": "Politie Utrecht", "reason": "Fout parkeren is aan de politie."}
RESOLVE = {"to": "resolved", "outcome": "nuisance_stopped", "answer": "De overlast is gestopt. Dank voor uw melding."}
PHONE_ONLY = {"name": "Bram Smit", "phone": "06 87654321"}
TAKE_UP = {"to": "in_progress"}


@pytest.fixture
async def world(client, auth) -> World:
    return await complaint_world(client, auth)


async def worklist(client, world: World, **params: Any) -> dict[str, Any]:
    response = await client.get(REPORTERS_TO_INFORM, params=params, headers=world.h["complaints"])
    assert response.status_code == 200, response.text
    return response.json()


async def read(client, world: World, complaint: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"{URL}/{complaint['id']}", headers=world.h["complaints"])
    assert response.status_code == 200, response.text
    return response.json()


async def record_informed(client, world: World, complaint: dict[str, Any], how: str = "phone"):
    return await client.post(
        f"{URL}/{complaint['id']}/reporter-informed",
        json={"how": how},
        headers=if_match(world, "complaints", complaint["version"]),
    )


async def test_a_rejection_without_an_answer_for_a_reporter_who_wants_feedback_is_refused(client, world, db, mailbox):
    complaint = await moved(client, world, await create_complaint(client, world), TAKE_UP)
    # The acknowledgement goes out first: sending it reads the reporter's address, an audited read.
    await until(lambda: len(mailbox.received) == 1)
    before = await stored(db)
    mails = [(m["id"], m["event_type"]) for m in await email_messages(db)]  # the acknowledgement

    body = assert_problem(await move(client, world, complaint, REJECT), 422, "answer_required")
    assert [e["pointer"] for e in body["errors"]] == ["/answer"]
    assert await stored(db) == before and [(m["id"], m["event_type"]) for m in await email_messages(db)] == mails
    row = await db.fetchrow("SELECT state, version, answer, forwarded_to FROM complaint")
    assert dict(row) == {"state": "in_progress", "version": complaint["version"], "answer": None, "forwarded_to": None}

    # A reporter who asked for no feedback gets no answer: it is refused, and a rejection without one goes.
    quiet = await moved(client, world, await create_complaint(client, world, wants_feedback=False), TAKE_UP)
    before = await stored(db)
    refused = await move(client, world, quiet, {**REJECT, "answer": FORWARDED})
    assert assert_problem(refused, 422, "no_feedback_wanted")["errors"][0]["pointer"] == "/answer"
    assert await stored(db) == before
    rejected = await moved(client, world, quiet, REJECT)
    assert rejected["state"] == "rejected" and rejected["answer"] is None


async def test_a_rejection_sends_the_reporter_its_answer_by_e_mail(client, world, db, mailbox):
    complaint = await create_complaint(client, world)
    await until(lambda: len(mailbox.received) == 1)  # the acknowledgement, which promises word once dealt with

    rejected = await moved(client, world, complaint, {**REJECT, "answer": FORWARDED})
    assert (rejected["state"], rejected["forwarded_to"], rejected["answer"]) == (
        "rejected",
        "Politie Utrecht",
        FORWARDED,
    )
    assert rejected["answered_at"] is not None and rejected["history"][-1]["answer"] == FORWARDED

    await until(lambda: len(mailbox.received) == 2)
    answer = mailbox.received[1]
    assert answer["To"] == REPORTER["email"] and answer["Subject"] == "Reactie op uw melding"
    assert FORWARDED in " ".join(text_of(answer).split())
    messages = await email_messages(db)
    assert [m["event_type"] for m in messages] == ["complaint.received", "complaint.answered"]
    # The answer text stays out of the audit trail, as a resolution's does.
    audited = await db.fetchval(
        "SELECT after FROM audit_event WHERE object_id = $1 AND action = 'complaint.rejected'", complaint["id"]
    )
    assert audited["answered"] is True and FORWARDED not in str(audited)


async def test_a_phone_only_reporter_s_answered_complaint_is_to_inform_until_the_handler_records_it(
    client, world, db, mailbox
):
    phone_only = await create_complaint(client, world, reporter=PHONE_ONLY)
    # Neither an anonymous complaint nor a reporter who asked for no feedback, nor one whose answer e-mail went.
    anonymous = await create_complaint(client, world, reporter=None, wants_feedback=False)
    no_feedback = await create_complaint(client, world, reporter=PHONE_ONLY, wants_feedback=False)
    by_email = await create_complaint(client, world)
    taken = await moved(client, world, phone_only, TAKE_UP)
    assert (await worklist(client, world))["items"] == []  # nothing to tell them yet
    assert (await read(client, world, taken))["reporter_to_inform"] is False

    resolved = await moved(client, world, taken, RESOLVE)
    await moved(
        client,
        world,
        await moved(client, world, anonymous, TAKE_UP),
        {"to": "resolved", "outcome": "other"},
    )
    await moved(client, world, no_feedback, REJECT)
    await moved(client, world, by_email, {**REJECT, "answer": FORWARDED})
    await until(lambda: len(mailbox.received) == 2)  # the e-mail reporter's acknowledgement and answer

    listed = (await worklist(client, world))["items"]
    assert [(i["id"], i["to_inform_because"], i["email_failed_at"]) for i in listed] == [
        (phone_only["id"], "no_email_address", None)
    ]
    assert listed[0]["to_inform_since"] == resolved["answered_at"] and "reporter" not in listed[0]
    seen = await read(client, world, resolved)
    assert seen["reporter_to_inform"] is True and seen["reporter"]["phone"] == PHONE_ONLY["phone"]
    for other in (anonymous, no_feedback, by_email):
        assert (await read(client, world, other))["reporter_to_inform"] is False
    assert {str(m["complaint_id"]) for m in await email_messages(db)} == {by_email["id"]}  # no e-mail to a phone

    informed = await record_informed(client, world, seen)
    assert informed.status_code == 200, informed.text
    after = informed.json()
    assert after["reporter_to_inform"] is False and after["reporter_informed"]["how"] == "phone"
    assert (await worklist(client, world))["items"] == []
    again = await record_informed(client, world, after, "letter")
    assert_problem(again, 409, "no_failed_email")
    assert await db.fetchval("SELECT version FROM complaint WHERE id = $1", phone_only["id"]) == after["version"]

    # Reopened and forwarded after all: the new answer is to be told again, and once told it leaves the list.
    reopened = await moved(client, world, after, {"to": "reopened", "reason": "De melder belt terug."})
    assert (await worklist(client, world))["items"] == []
    forwarded = await moved(client, world, reopened, {**REJECT, "answer": FORWARDED})
    listed = (await worklist(client, world))["items"]
    assert [(i["id"], i["state"], i["to_inform_since"]) for i in listed] == [
        (phone_only["id"], "rejected", forwarded["answered_at"])
    ]
    assert (await record_informed(client, world, forwarded, "letter")).status_code == 200
    assert (await worklist(client, world))["items"] == []


async def test_the_worklist_pages_failed_e_mails_and_phone_only_answers_oldest_first(database_url, data_dir, auth, db):
    async with smtp_server() as mailbox:
        mailbox.replies = ["550 5.1.1 Onbekende ontvanger"]  # the first e-mail fails for good (one attempt)
        async with app_client(mail_settings(database_url, data_dir, mailbox, outbox_max_attempts=1)) as client:
            world = await complaint_world(client, auth)
            bounced = await create_complaint(client, world)

            async def dead() -> bool:
                return [m["state"] for m in await email_messages(db)] == ["dead"]

            await until(dead)
            failed_at = (await email_messages(db))[0]["last_attempt_at"]
            taken = await moved(client, world, await create_complaint(client, world, reporter=PHONE_ONLY), TAKE_UP)
            first = await moved(client, world, taken, RESOLVE)
            second = await moved(
                client,
                world,
                await create_complaint(client, world, reporter=PHONE_ONLY),
                {**REJECT, "answer": FORWARDED},
            )

            whole = (await worklist(client, world))["items"]
            assert [(i["id"], i["to_inform_because"]) for i in whole] == [
                (bounced["id"], "email_failed"),
                (first["id"], "no_email_address"),
                (second["id"], "no_email_address"),
            ]
            assert (
                whole[0]["to_inform_since"]
                == whole[0]["email_failed_at"]
                == failed_at.isoformat().replace("+00:00", "Z")
            )
            pages, cursor = [], None
            while True:
                page = await worklist(client, world, limit=1, **({"cursor": cursor} if cursor else {}))
                pages.append([i["id"] for i in page["items"]])
                if (cursor := page["next_cursor"]) is None:
                    break
            assert pages == [[bounced["id"]], [first["id"]], [second["id"]]]
            # Filters still apply: none of them is assigned to a handler.
            assert (await worklist(client, world, handler=world.ids["complaints"]))["items"] == []
