"""Webhooks through the transactional outbox: delivered signed to a real receiver on loopback, retried, dead
letters listed and replayed, the regime scope kept, bad subscriptions refused. The app runs its dispatcher in
its lifespan, with a back-off of milliseconds so that retries take no real time."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from backend.core.events import SOURCE
from tests.conftest import app_client, make_settings, wait_until
from tests.helpers import assert_problem, run_toezicht
from tests.inspection_helpers import World, build_world
from tests.outbox_helpers import (
    FAST,
    MESSAGES,
    SUBSCRIPTIONS,
    Receiver,
    messages,
    receiving,
    submit_cafe,
    submit_club,
    subscribe,
    until_all_delivered,
)
from tests.registry_helpers import ALL_REGIMES


@pytest.fixture
def settings(database_url, data_dir):
    return make_settings(database_url, data_dir, **FAST)


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth)


async def test_an_event_is_delivered_once_signed_as_a_cloudevent_with_ids_and_links_only(client, world, db):
    with receiving(Receiver()) as receiver:
        subscription = await subscribe(client, world.h["admin"], receiver)
        assert subscription["secret"].startswith("whsec_")
        inspection = await submit_cafe(client, world)
        await until_all_delivered(db, 1)

    (delivery,) = receiver.deliveries
    assert receiver.verified(delivery)  # the reference library accepts our signature
    assert not receiver.verified(delivery, "whsec_" + "QUJD" * 11)  # and refuses it with another secret
    assert delivery.headers["content-type"] == "application/cloudevents+json"
    assert delivery.headers["webhook-signature"].startswith("v1,")
    event = delivery.json()
    assert event["specversion"] == "1.0" and event["source"] == SOURCE
    assert event["type"] == "nl.toezicht-bw.inspection.submitted"
    assert event["subject"] == f"inspection/{inspection['id']}"
    assert event["dataref"] == f"/api/v1/inspections/{inspection['id']}"
    assert event["data"] == {
        "related": {"object": world.ids["cafe"]},
        "regimes": ["alcohol"],
        "links": {
            "inspection": f"/api/v1/inspections/{inspection['id']}",
            "object": f"/api/v1/objects/{world.ids['cafe']}",
        },
    }
    # No personal data: not the actor's user id, not a name or the observations.
    text = delivery.body.decode()
    assert world.ids["insp_a1"] not in text and "Rustig" not in text

    (message,) = await messages(db)
    assert delivery.webhook_id == str(message["id"])
    answer = await client.get(f"{MESSAGES}/{message['id']}", headers=world.h["admin"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "delivered" and answer.json()["attempts"] == 1
    assert answer.json()["last_status"] == 204 and answer.json()["next_attempt_at"] is None
    read = await client.get(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=world.h["admin"])
    assert read.status_code == 200 and "secret" not in read.json() and subscription["secret"] not in read.text
    assert read.json()["deliveries"] | {"last_attempt_at": None} == {
        "pending": 0,
        "delivered": 1,
        "dead": 0,
        "last_attempt_at": None,
        "last_status": 204,
        "last_error": None,
        "next_attempt_at": None,
    }


async def test_a_receiver_failing_three_times_gets_the_event_once_per_retry_then_no_more(client, world, db, capfd):
    with receiving(Receiver(answers=[500, 503, 502])) as receiver:
        await subscribe(client, world.h["admin"], receiver)
        await submit_cafe(client, world)
        await until_all_delivered(db, 1)
        (message,) = await messages(db)
        assert message["attempts"] == 4 and message["state"] == "delivered"
    assert [d.status for d in receiver.deliveries] == [500, 503, 502, 204]
    assert set(receiver.ids()) == {str(message["id"])}  # every attempt with the same webhook-id
    assert all(receiver.verified(d) for d in receiver.deliveries)
    failures = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"webhook_delivery_failed"' in line]
    assert [(f["attempt"], f["status"], f["error"]) for f in failures] == [
        (1, 500, "http_500"),
        (2, 503, "http_503"),
        (3, 502, "http_502"),
    ]
    assert all(f["message_id"] == str(message["id"]) and not f["dead_letter"] for f in failures)
    assert not any(receiver.url in json.dumps(f) or receiver.secret in json.dumps(f) for f in failures)


async def test_a_permanently_failing_receiver_ends_as_a_dead_letter_listed_and_replayable(
    database_url, data_dir, auth, db
):
    settings = make_settings(database_url, data_dir, **FAST, outbox_max_attempts=3)
    async with app_client(settings) as client:
        world = await build_world(client, auth)
        with receiving(Receiver(default=503)) as receiver:
            subscription = await subscribe(client, world.h["admin"], receiver)
            await submit_cafe(client, world)

            async def dead() -> bool:
                return await db.fetchval("SELECT count(*) FROM outbox_message WHERE state = 'dead'") == 1

            await wait_until(dead)
            assert len(receiver.deliveries) == 3
            listed = await client.get(MESSAGES, params={"state": "dead"}, headers=world.h["admin"])
            assert listed.status_code == 200, listed.text
            (letter,) = listed.json()["items"]
            assert letter["attempts"] == 3 and letter["last_error"] == "http_503"
            assert letter["subscription_id"] == subscription["id"]
            read = await client.get(f"{SUBSCRIPTIONS}/{subscription['id']}", headers=world.h["admin"])
            assert read.json()["deliveries"]["dead"] == 1

            code, output = await run_toezicht(database_url, data_dir, "dead-letters", "list")
            assert code == 0, output
            assert json.loads(output.strip().splitlines()[-1])["id"] == letter["id"]

            receiver.default = 204
            replayed = await client.post(f"{MESSAGES}/{letter['id']}/replay", headers=world.h["admin"])
            assert replayed.status_code == 200, replayed.text
            await until_all_delivered(db, 1)
            assert receiver.ids() == [letter["id"]] * 4  # the same webhook-id again
            again = await client.post(f"{MESSAGES}/{letter['id']}/replay", headers=world.h["admin"])
            assert_problem(again, 409, "not_dead")


async def test_the_cli_replays_dead_letters(database_url, data_dir, auth, db):
    settings = make_settings(database_url, data_dir, **FAST, outbox_max_attempts=1)
    async with app_client(settings) as client:
        world = await build_world(client, auth)
        with receiving(Receiver(default=500)) as receiver:
            await subscribe(client, world.h["admin"], receiver)
            await submit_cafe(client, world)

            async def dead() -> bool:
                return await db.fetchval("SELECT count(*) FROM outbox_message WHERE state = 'dead'") == 1

            await wait_until(dead)
            receiver.default = 204
            code, output = await run_toezicht(database_url, data_dir, "dead-letters", "replay", "--all")
            assert code == 0, output
            await until_all_delivered(db, 1)
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'outbox_message.replayed'") == 1


async def test_sex_work_events_go_only_to_subscriptions_scoped_for_sex_work(client, world, db):
    with receiving(Receiver()) as alcohol, receiving(Receiver()) as sexwork:
        await subscribe(client, world.h["admin"], alcohol, regimes=["alcohol"])
        scoped = await subscribe(client, world.h["admin"], sexwork, regimes=["alcohol", "sexwork"])
        await submit_club(client, world)  # sexwork and alcohol
        await submit_cafe(client, world)  # alcohol
        await until_all_delivered(db, 3)
    assert [d.json()["data"]["regimes"] for d in alcohol.deliveries] == [["alcohol"]]
    assert sorted(d.json()["data"]["regimes"] for d in sexwork.deliveries) == [["alcohol"], ["alcohol", "sexwork"]]
    rows = await messages(db)
    assert sum(str(row["subscription_id"]) == scoped["id"] for row in rows) == 2 and len(rows) == 3


async def test_types_a_subscription_did_not_ask_for_are_not_written(client, world, db):
    with receiving(Receiver()) as receiver:
        await subscribe(client, world.h["admin"], receiver, event_types=["inspection.reviewed"])
        await submit_cafe(client, world)
    assert await messages(db) == []


async def test_after_a_secret_rotation_both_secrets_sign_until_the_overlap_ends(client, world, db):
    with receiving(Receiver()) as receiver:
        subscription = await subscribe(client, world.h["admin"], receiver)
        old = subscription["secret"]
        missing = await client.post(f"{SUBSCRIPTIONS}/{subscription['id']}/rotate-secret", headers=world.h["admin"])
        assert_problem(missing, 428, "precondition_required")
        rotated = await client.post(
            f"{SUBSCRIPTIONS}/{subscription['id']}/rotate-secret",
            headers={**world.h["admin"], "If-Match": '"1"'},
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert new != old and rotated.json()["previous_secret_until"]
        await submit_cafe(client, world)
        await until_all_delivered(db, 1)
    (delivery,) = receiver.deliveries
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2
    assert receiver.verified(delivery, new) and receiver.verified(delivery, old)
    audited = await db.fetchval("SELECT after FROM audit_event WHERE action = 'webhook_subscription.secret_rotated'")
    assert audited is None


async def test_a_deleted_subscription_gets_nothing_more_and_its_waiting_messages_are_cancelled(
    database_url, data_dir, auth, db
):
    settings = make_settings(database_url, data_dir, **FAST, outbox_dispatcher=False)
    async with app_client(settings) as client:
        world = await build_world(client, auth)
        with receiving(Receiver()) as receiver:
            subscription = await subscribe(client, world.h["admin"], receiver)
            await submit_cafe(client, world)
            ready = await client.get("/health/ready")
            assert ready.status_code == 200
            assert ready.json()["detail"]["outbox"]["pending"] == 1 and ready.json()["status"] == "ok"
            url = f"{SUBSCRIPTIONS}/{subscription['id']}"
            assert_problem(await client.delete(url, headers=world.h["admin"]), 428, "precondition_required")
            gone = await client.delete(url, headers={**world.h["admin"], "If-Match": '"1"'})
            assert gone.status_code == 204, gone.text
            assert_problem(await client.get(url, headers=world.h["admin"]), 404, "not_found")
            await submit_cafe(client, world)
    assert [row["state"] for row in await messages(db)] == ["cancelled"]
    assert receiver.deliveries == []


async def test_subscriptions_are_listed_without_secrets(client, world):
    with receiving(Receiver()) as receiver:
        first = await subscribe(client, world.h["admin"], receiver)
        second = await subscribe(client, world.h["admin"], receiver, description="Open Zaak notificaties")
    page = await client.get(SUBSCRIPTIONS, params={"limit": 1}, headers=world.h["admin"])
    assert page.status_code == 200, page.text
    rest = await client.get(SUBSCRIPTIONS, params={"cursor": page.json()["next_cursor"]}, headers=world.h["admin"])
    items = page.json()["items"] + rest.json()["items"]
    assert [item["id"] for item in items] == [first["id"], second["id"]]
    assert first["secret"] not in page.text + rest.text and second["secret"] not in page.text + rest.text


BAD_SUBSCRIPTIONS = [
    ("loopback", {"url": "https://127.0.0.1/hooks"}, "/url"),
    ("private", {"url": "https://10.0.0.1/hooks"}, "/url"),
    ("metadata service", {"url": "http://169.254.169.254/latest/meta-data/"}, "/url"),
    ("loopback by name", {"url": "https://localhost/hooks"}, "/url"),
    ("plain http", {"url": "http://hooks.example.nl/toezicht"}, "/url"),
    ("credentials", {"url": "https://user:pw@hooks.example.nl/toezicht"}, "/url"),
    ("unknown event type", {"event_types": ["inspection.deleted"]}, "/event_types/0"),
    ("no event type", {"event_types": []}, "/event_types"),
    ("unknown regime", {"regimes": ["casino"]}, "/regimes/0"),
    ("unknown field", {"secret": "whsec_mine"}, "/secret"),
]


@pytest.mark.parametrize(("case", "change", "pointer"), BAD_SUBSCRIPTIONS, ids=[c[0] for c in BAD_SUBSCRIPTIONS])
async def test_a_bad_subscription_is_422_naming_the_field_and_nothing_is_stored(
    database_url, data_dir, auth, db, case, change, pointer
):
    # Production mode: https only; every host allowed by name, so the address checks are what refuses.
    settings = make_settings(database_url, data_dir, webhook_allowed_hosts=("*",), outbox_dispatcher=False)
    admin = auth("admin-hooks", roles=["admin"], regimes=ALL_REGIMES)
    body = {"url": "https://1.1.1.1/hooks", "event_types": ["inspection.submitted"], "regimes": ["alcohol"]}
    async with app_client(settings) as client:
        response = await client.post(SUBSCRIPTIONS, json={**body, **change}, headers=admin)
    problem = assert_problem(response, 422, response.json()["code"])
    assert pointer in [error["pointer"] for error in problem["errors"]], problem
    assert await db.fetchval("SELECT count(*) FROM webhook_subscription") == 0


async def test_a_host_outside_the_allowlist_and_regimes_outside_your_scope_are_refused(client, auth, db):
    admin = auth("admin-alcohol", roles=["admin"], regimes=["alcohol"])
    body = {"url": "https://hooks.example.nl/x", "event_types": ["inspection.submitted"], "regimes": ["sexwork"]}
    response = await client.post(SUBSCRIPTIONS, json=body, headers=admin)
    problem = assert_problem(response, 422, "validation_failed")
    assert sorted(error["pointer"] for error in problem["errors"]) == ["/regimes", "/url"]
    assert await db.fetchval("SELECT count(*) FROM webhook_subscription") == 0


async def test_a_message_of_a_missing_id_is_404_and_a_delivered_one_cannot_be_replayed(client, world, db):
    missing = await client.post(f"{MESSAGES}/{uuid.uuid4()}/replay", headers=world.h["admin"])
    assert_problem(missing, 404, "not_found")
    with receiving(Receiver()) as receiver:
        await subscribe(client, world.h["admin"], receiver)
        await submit_cafe(client, world)
        await until_all_delivered(db, 1)
    (message,) = await messages(db)
    answer = await client.post(f"{MESSAGES}/{message['id']}/replay", headers=world.h["admin"])
    assert_problem(answer, 409, "not_dead")


async def test_a_new_message_wakes_the_dispatchers_when_its_change_commits(client, world, db):
    """Dispatchers LISTEN on the outbox channel: the message a submission writes notifies it at commit (a trigger
    on the table, so the message's INSERT can run among the submission's other reactions)."""
    woken = asyncio.Event()

    def wake(*_: object) -> None:
        woken.set()

    await db.add_listener("outbox_message", wake)
    with receiving(Receiver()) as receiver:
        await subscribe(client, world.h["admin"], receiver)
        assert not woken.is_set()
        await submit_cafe(client, world)
        await asyncio.wait_for(woken.wait(), timeout=10)
    await db.remove_listener("outbox_message", wake)
