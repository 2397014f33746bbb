"""E-mail to the reporter through the outbox: a real SMTP server (aiosmtpd) on loopback receives the
acknowledgement of a complaint registered through the API and the answer the handler records; refusals are
retried with the same Message-ID, end as dead letters and can be replayed; a reporter who asked for no feedback
or left no address gets nothing, and without an SMTP server the e-mails wait."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from backend.core.calendar import AMSTERDAM
from backend.core.config import SettingsError, load_settings
from backend.letters import dutch
from tests.complaint_helpers import REPORTER, URL, complaint_world, create_complaint, moved
from tests.conftest import app_client, make_settings
from tests.inspection_helpers import World, if_match
from tests.outbox_helpers import (  # noqa: F401 (fixtures: mailbox, settings)
    FAST,
    MESSAGES,
    SENDER,
    Receiver,
    email_messages,
    mail_settings,
    receiving,
    running_mailbox,
    self_signed_tls,
    settings_with_mail,
    smtp_server,
    subscribe,
    text_of,
    until,
)

ANSWER = "Wij hebben het café gecontroleerd en een waarschuwing gegeven. Dank voor uw melding."


@pytest.fixture
async def world(client, auth) -> World:
    return await complaint_world(client, auth)


async def test_the_reporter_gets_the_acknowledgement_and_then_the_answer(client, world, db, mailbox):
    complaint = await create_complaint(client, world)
    await until(lambda: len(mailbox.received) == 1)

    (message,) = await email_messages(db)
    assert message["complaint_id"] is not None and str(message["complaint_id"]) == complaint["id"]
    (ack,) = mailbox.received
    assert ack["To"] == REPORTER["email"] and ack["From"] == SENDER
    assert ack["Subject"] == "Ontvangstbevestiging van uw melding"
    assert ack["Message-ID"] == f"<{message['id']}@toezicht.example.nl>"
    assert ack.get_content_charset() == "utf-8"
    assert "Wij hebben uw melding van" in text_of(ack) and "ontvangt u van ons bericht" in text_of(ack)
    # In Dutch dates, with the day the reporter may expect the complaint to be dealt with.
    received = datetime.fromisoformat(complaint["received_at"]).astimezone(AMSTERDAM).date()
    due = date.fromisoformat(complaint["resolution_due_on"])
    assert f"melding van {dutch.long_date(received)} ontvangen" in text_of(ack)
    assert f"uiterlijk op {dutch.long_date(due)} af te handelen" in " ".join(text_of(ack).split())
    # The outbox keeps ids only: no address, no text.
    stored = json.dumps([{k: str(v) for k, v in m.items()} for m in await email_messages(db)])
    assert REPORTER["email"] not in stored and REPORTER["name"] not in stored

    taken = await moved(client, world, complaint, {"to": "in_progress"})
    await moved(client, world, taken, {"to": "resolved", "outcome": "violation_found", "answer": ANSWER})
    await until(lambda: len(mailbox.received) == 2)
    answer = mailbox.received[1]
    assert answer["Subject"] == "Reactie op uw melding" and answer["To"] == REPORTER["email"]
    assert ANSWER in text_of(answer)  # é and all: UTF-8 through MIME
    second = (await email_messages(db))[1]
    assert second["event_type"] == "complaint.answered"
    assert answer["Message-ID"] == f"<{second['id']}@toezicht.example.nl>"

    async def both_delivered() -> bool:
        return all(m["state"] == "delivered" for m in await email_messages(db))

    await until(both_delivered)
    # The handler sees that both reached the reporter's mail server; a coordinator sees nothing of it.
    seen = await client.get(f"{URL}/{complaint['id']}", headers=world.h["complaints"])
    assert [(e["kind"], e["state"], e["last_error"]) for e in seen.json()["feedback_emails"]] == [
        ("acknowledgement", "sent", None),
        ("answer", "sent", None),
    ]
    coordinator = await client.get(f"{URL}/{complaint['id']}", headers=world.h["coord_alcohol_a"])
    assert coordinator.status_code == 200 and coordinator.json()["feedback_emails"] == []
    listed = await client.get(MESSAGES, headers=world.h["admin"])
    assert [(m["channel"], m["subscription_id"]) for m in listed.json()["items"]] == [("email", None)] * 2


async def test_no_e_mail_without_a_feedback_wish_or_an_address(client, world, db, mailbox):
    await create_complaint(client, world, wants_feedback=False)
    await create_complaint(client, world, reporter={"name": "Bram", "phone": "06 87654321"})
    assert await email_messages(db) == []  # written with the change, so none will come
    # A later reporter who does want it gets theirs, and it is the only e-mail sent.
    wanted = await create_complaint(client, world, reporter={"email": "c.jansen@example.nl"})
    await until(lambda: len(mailbox.received) == 1)
    assert [m["To"] for m in mailbox.received] == ["c.jansen@example.nl"]
    (message,) = await email_messages(db)
    assert str(message["complaint_id"]) == wanted["id"]


async def test_an_acknowledgement_never_promises_a_day_already_past(client, world, mailbox):
    """A complaint registered late (received two months ago): its resolution date has passed, so the
    acknowledgement does not name it."""
    received = datetime.now(UTC) - timedelta(days=60)
    late = await create_complaint(client, world, received_at=received.isoformat(), incident_at=None)
    assert date.fromisoformat(late["resolution_due_on"]) < date.today()
    await until(lambda: len(mailbox.received) == 1)
    text = " ".join(text_of(mailbox.received[0]).split())
    assert "Wij hebben uw melding van" in text and "ontvangt u van ons bericht" in text
    assert "streven ernaar" not in text


async def test_a_refusing_server_gets_the_same_message_id_again_and_no_personal_data_is_logged(
    client, world, db, mailbox, capfd
):
    mailbox.replies = ["451 4.3.0 Probeer het later nog eens", "451 4.3.0 Probeer het later nog eens"]
    await create_complaint(client, world)
    await until(lambda: len(mailbox.received) == 1)

    (message,) = await email_messages(db)
    ids = [attempt["Message-ID"] for attempt in mailbox.attempts]
    assert ids == [f"<{message['id']}@toezicht.example.nl>"] * 3

    async def delivered() -> bool:
        return (await email_messages(db))[0]["state"] == "delivered"

    await until(delivered)
    assert (await email_messages(db))[0]["attempts"] == 3
    output = capfd.readouterr().out
    failures = [json.loads(line) for line in output.splitlines() if '"email_delivery_failed"' in line]
    assert [(f["attempt"], f["status"], f["error"]) for f in failures] == [(1, 451, "smtp_451"), (2, 451, "smtp_451")]
    for secret in (REPORTER["email"], REPORTER["name"], "Harde muziek"):
        assert secret not in output


async def test_a_refused_e_mail_ends_as_a_dead_letter_and_a_replay_sends_it(database_url, data_dir, auth, db, mailbox):
    mailbox.default = "451 4.3.0 Probeer het later nog eens"
    async with app_client(mail_settings(database_url, data_dir, mailbox, outbox_max_attempts=2)) as client:
        world = await complaint_world(client, auth)
        complaint = await create_complaint(client, world)

        async def dead() -> bool:
            return [m["state"] for m in await email_messages(db)] == ["dead"]

        await until(dead)
        (letter,) = await email_messages(db)
        assert letter["last_error"] == "smtp_451" and mailbox.received == []
        # The handler sees the reporter did not hear from us, so they can call instead.
        seen = (await client.get(f"{URL}/{complaint['id']}", headers=world.h["complaints"])).json()
        assert [(e["kind"], e["state"], e["attempts"], e["last_error"]) for e in seen["feedback_emails"]] == [
            ("acknowledgement", "failed", 2, "smtp_451")
        ]

        mailbox.default = "250 OK"
        replayed = await client.post(f"{MESSAGES}/{letter['id']}/replay", headers=world.h["admin"])
        assert replayed.status_code == 200, replayed.text
        await until(lambda: len(mailbox.received) == 1)
    assert [a["Message-ID"] for a in mailbox.attempts] == [f"<{letter['id']}@toezicht.example.nl>"] * 3


REPORTERS_TO_INFORM = f"{URL}/reporters-to-inform"


async def test_a_reporter_whose_e_mail_failed_is_on_the_worklist_until_the_handler_records_informing_them(
    database_url, data_dir, auth, db, mailbox
):
    mailbox.default = "451 4.3.0 Probeer het later nog eens"
    async with app_client(mail_settings(database_url, data_dir, mailbox, outbox_max_attempts=2)) as client:
        world = await complaint_world(client, auth)
        complaint = await create_complaint(client, world)
        handler = world.h["complaints"]

        async def all_dead() -> bool:
            return {m["state"] for m in await email_messages(db)} == {"dead"}

        await until(all_dead)
        (acknowledgement,) = await email_messages(db)
        listed = (await client.get(REPORTERS_TO_INFORM, headers=handler)).json()
        assert [(i["id"], i["email_failed_at"]) for i in listed["items"]] == [
            (complaint["id"], acknowledgement["last_attempt_at"].isoformat().replace("+00:00", "Z"))
        ]
        assert "reporter" not in listed["items"][0]  # a list never carries the reporter's details
        seen = (await client.get(f"{URL}/{complaint['id']}", headers=handler)).json()
        assert seen["reporter_to_inform"] is True and seen["reporter_informed"] is None
        assert seen["feedback_emails"][0]["failed_at"] is not None
        # A handler of another regime sees neither the complaint on the list nor the complaint to record it on.
        elsewhere = auth("handler-nix18", roles=["complaints_officer"], regimes=["nix18"])
        assert (await client.get(REPORTERS_TO_INFORM, headers=elsewhere)).json()["items"] == []
        hidden = await client.post(
            f"{URL}/{complaint['id']}/reporter-informed",
            json={"how": "phone"},
            headers={**elsewhere, "If-Match": f'"{seen["version"]}"'},
        )
        assert hidden.status_code == 404, hidden.text

        # A way of informing that is not one of ours is refused, and nothing is stored.
        wrong = await client.post(
            f"{URL}/{complaint['id']}/reporter-informed",
            json={"how": "pigeon"},
            headers=if_match(world, "complaints", seen["version"]),
        )
        assert wrong.status_code == 422, wrong.text
        row = await db.fetchrow("SELECT version, reporter_informed_at FROM complaint WHERE id = $1", seen["id"])
        assert (row["version"], row["reporter_informed_at"]) == (seen["version"], None)

        informed = await client.post(
            f"{URL}/{complaint['id']}/reporter-informed",
            json={"how": "phone"},
            headers=if_match(world, "complaints", seen["version"]),
        )
        assert informed.status_code == 200, informed.text
        after = informed.json()
        assert after["reporter_informed"]["how"] == "phone"
        assert after["reporter_informed"]["by"] == world.ids["complaints"]
        assert after["reporter_to_inform"] is False and after["version"] == seen["version"] + 1
        assert informed.headers["ETag"] == f'"{after["version"]}"'
        assert (await client.get(REPORTERS_TO_INFORM, headers=handler)).json()["items"] == []
        actions = await db.fetch(
            "SELECT after FROM audit_event WHERE action = 'complaint.reporter_informed' AND object_id = $1",
            complaint["id"],
        )
        assert [a["after"] for a in actions] == [{"how": "phone"}]

        # Nothing failed since: a second record is refused and stores nothing.
        again = await client.post(
            f"{URL}/{complaint['id']}/reporter-informed",
            json={"how": "letter"},
            headers=if_match(world, "complaints", after["version"]),
        )
        assert again.status_code == 409 and again.json()["code"] == "no_failed_email"
        assert await db.fetchval("SELECT version FROM complaint WHERE id = $1", complaint["id"]) == after["version"]

        # The answer fails too: the reporter is to be informed again.
        taken = await moved(client, world, after, {"to": "in_progress"})
        await moved(client, world, taken, {"to": "resolved", "outcome": "violation_found", "answer": ANSWER})
        await until(lambda: len(mailbox.attempts) == 4)
        await until(all_dead)
        assert len(await email_messages(db)) == 2
        listed = (await client.get(REPORTERS_TO_INFORM, headers=handler)).json()
        assert [i["id"] for i in listed["items"]] == [complaint["id"]]
        assert listed["items"][0]["state"] == "resolved"
        seen = (await client.get(f"{URL}/{complaint['id']}", headers=handler)).json()
        assert seen["reporter_to_inform"] is True and seen["reporter_informed"]["how"] == "phone"


async def test_without_an_smtp_host_e_mails_wait_while_webhooks_go(database_url, data_dir, auth, db, mailbox):
    settings = make_settings(database_url, data_dir, **FAST)
    async with app_client(settings) as client:
        world = await complaint_world(client, auth)
        with receiving(Receiver()) as receiver:
            await subscribe(client, world.h["admin"], receiver, event_types=["complaint.received"])
            await create_complaint(client, world)
            await until(lambda: len(receiver.deliveries) == 1)
        # The webhook of the same event went; the e-mail was never tried, and waits.
        (message,) = await email_messages(db)
        assert message["state"] == "pending" and message["attempts"] == 0
        assert mailbox.attempts == []


async def test_e_mail_goes_over_smtps_to_a_server_whose_certificate_verifies(
    database_url, data_dir, auth, db, tmp_path
):
    """Port 465 style: TLS from the first byte. The server's certificate is verified against
    TOEZICHT_SMTP_CA_FILE; without it, against the system's CAs, which do not know this one: the attempt fails
    and nothing is sent."""
    context, ca_file = self_signed_tls(tmp_path)
    async with smtp_server(tls=context) as box:
        untrusted = mail_settings(database_url, data_dir, box, smtp_implicit_tls=True, outbox_max_attempts=1)
        async with app_client(untrusted) as client:
            world = await complaint_world(client, auth)
            await create_complaint(client, world)

            async def dead() -> bool:
                return [(m["state"], m["last_error"]) for m in await email_messages(db)] == [
                    ("dead", "connection_failed")
                ]

            await until(dead)
        assert box.attempts == []
        trusted = mail_settings(database_url, data_dir, box, smtp_implicit_tls=True, smtp_ca_file=str(ca_file))
        async with app_client(trusted) as client:
            (message,) = await email_messages(db)
            replayed = await client.post(f"{MESSAGES}/{message['id']}/replay", headers=world.h["admin"])
            assert replayed.status_code == 200, replayed.text
            await until(lambda: len(box.received) == 1)
        assert box.received[0]["Message-ID"] == f"<{message['id']}@toezicht.example.nl>"


async def test_e_mail_goes_after_starttls_to_a_submission_server_whose_certificate_verifies(
    database_url, data_dir, auth, db, tmp_path
):
    """The default (port 587): the connection is upgraded with STARTTLS, the certificate verified, and only then
    is the message handed over; a server that takes mail only after STARTTLS gets it."""
    context, ca_file = self_signed_tls(tmp_path)
    async with smtp_server(starttls=context) as box:
        settings = mail_settings(database_url, data_dir, box, smtp_starttls=True, smtp_ca_file=str(ca_file))
        async with app_client(settings) as client:
            world = await complaint_world(client, auth)
            await create_complaint(client, world)

            async def delivered() -> bool:
                return [m["state"] for m in await email_messages(db)] == ["delivered"]

            await until(delivered)
        assert len(box.received) == 1


def test_a_ca_file_that_is_not_there_stops_the_start():
    with pytest.raises(SettingsError, match="TOEZICHT_SMTP_CA_FILE"):
        load_settings({"TOEZICHT_SMTP_CA_FILE": "/nowhere/ca.pem"})
