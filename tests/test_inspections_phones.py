"""Many phones at once (small scale): 20 phones each submit several inspections concurrently, with duplicate
sends while the first is running and retries afterwards. Exactly one inspection per id must exist, none
lost, none doubled, and every send of the same body must get the same success answer."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from tests.helpers import register
from tests.inspection_helpers import NIX18_NOT_SOLD, NIX18_SOLD_NO_ID, SCOPED, World, build_world, put, sha

PHONES = 20
INSPECTIONS_PER_PHONE = 3


@pytest.fixture
async def world(client, auth) -> World:
    w = await build_world(client, auth, users=("admin",))
    for n in range(PHONES):
        name = f"phone-{n}"
        w.h[name] = auth(name, roles=["inspector"], regimes=SCOPED, teams=["team-a"])
        w.ids[name] = str(await register(client, w.h[name]))
    return w


def a_body(world: World, phone: str, rng: random.Random) -> dict:
    kind = rng.choice(["ok", "violation", "nix18"])
    if kind == "ok":
        return world.body(phone, observations=f"Controle {uuid.uuid4()}")
    if kind == "violation":
        return world.violating_body(phone)
    photo_id = str(uuid.uuid4())
    return world.body(
        phone,
        checklists=[
            {"checklist_version_id": world.ids["nix18-purchase-attempt"], "answers": NIX18_NOT_SOLD},
            {"checklist_version_id": world.ids["nix18-purchase-attempt"], "answers": NIX18_SOLD_NO_ID},
        ],
        photos=[{"id": photo_id, "sha256": sha(photo_id), "size": 4096, "checklist": 1, "question": "NX-04"}],
    )


async def test_many_phones_with_duplicates_and_retries_store_each_inspection_once(client, db, world):
    rng = random.Random(20)
    planned = [(f"phone-{n}", str(uuid.uuid4()), None) for n in range(PHONES) for _ in range(INSPECTIONS_PER_PHONE)]
    planned = [(phone, inspection_id, a_body(world, phone, rng)) for phone, inspection_id, _ in planned]
    answers: dict[str, list[tuple[int, str]]] = defaultdict(list)

    async def send(phone: str, inspection_id: str, body: dict) -> None:
        # Some phones send their clock; it is not part of the body, so a resend is still the same submission.
        headers = {"Date": format_datetime(datetime.now(UTC), usegmt=True)} if rng.random() < 0.5 else None
        response = await put(client, world, body, phone, inspection_id=inspection_id, headers=headers)
        answers[inspection_id].append((response.status_code, response.text))

    # Every inspection is sent, some twice or three times at once (the phone retried while the first ran)...
    first_wave = [send(*item) for item in planned for _ in range(rng.choice([1, 1, 2, 3]))]
    rng.shuffle(first_wave)
    await asyncio.gather(*first_wave)
    # ...and some again later (the answer was lost on the way back).
    await asyncio.gather(*[send(*item) for item in planned if rng.random() < 0.5])

    assert len(answers) == len(planned)
    for inspection_id, got in answers.items():
        assert {status for status, _ in got} == {200}, got[0][1]
        assert len({text for _, text in got}) == 1, inspection_id
    stored_ids = {str(row["id"]) for row in await db.fetch("SELECT id FROM inspection")}
    assert stored_ids == {inspection_id for _, inspection_id, _ in planned}
    assert await db.fetchval("SELECT count(*) FROM inspection_revision") == len(planned)
    assert await db.fetchval("SELECT count(*) FROM audit_event WHERE action = 'inspection.submitted'") == len(planned)
    expected_violations = sum(
        2 if "photos" in body and len(body["checklists"]) == 1 else (1 if "photos" in body else 0)
        for _, _, body in planned
    )
    assert await db.fetchval("SELECT count(*) FROM violation") == expected_violations
    assert await db.fetchval("SELECT count(*) FROM inspection_photo") == sum(
        len(b.get("photos", [])) for _, _, b in planned
    )
    assert sum(len(got) for got in answers.values()) > len(planned)  # duplicates and retries did happen
