"""Evidence photos through HTTP: upload to an inspection, photos that arrive before their inspection,
resends and conflicts, what is kept (original, derivatives, EXIF facts as columns), and who sees what."""

from __future__ import annotations

import asyncio
import io
import stat
import uuid
import zipfile
from datetime import UTC, datetime

import asyncpg
import pytest
from PIL import Image

from backend.core import db as core_db
from backend.photos import queries as photo_queries
from tests.helpers import assert_problem
from tests.inspection_helpers import URL, World, build_world, return_it
from tests.photo_helpers import (
    PHOTO_USERS,
    blob_path,
    digest,
    entry,
    inspection_with_photos,
    jpeg,
    photo_events,
    photo_rows,
    photo_url,
    sha256,
    spooled,
    swapped_primaries_profile,
    upload,
)


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth, PHOTO_USERS)


# --- upload to an inspection that has arrived ---------------------------------------------------------------


async def test_an_upload_keeps_the_original_write_once_and_completes_the_inspection(client, db, world, data_dir):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    assert inspection["state"] == "submitted" and inspection["expected_photos"] == [photo_id]

    response = await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "id": photo_id,
        "inspection_id": inspection["id"],
        "sha256": sha256(data),
        "size": len(data),
        "media_type": "image/jpeg",
        "width": 64,
        "height": 48,
        "received_at": body["received_at"],
        "attached": True,
    }
    original = blob_path(data_dir, "original", sha256(data))
    assert original.read_bytes() == data
    assert stat.S_IMODE(original.stat().st_mode) == 0o444  # write-once: nobody may write it
    row = await db.fetchrow("SELECT * FROM photo WHERE id = $1", uuid.UUID(photo_id))
    assert row["uploaded_by"] == uuid.UUID(world.ids["insp_a1"]) and row["attached_at"] is not None
    for column in ("display_sha256", "thumbnail_sha256"):
        assert blob_path(data_dir, "derivative", row[column]).is_file()

    after = (await client.get(f"{URL}/{inspection['id']}", headers=world.h["insp_a1"])).json()
    assert after["state"] == "complete" and after["expected_photos"] == []
    assert after["version"] > inspection["version"]
    received = await photo_events(db, "inspection.photo_received")
    assert [(e["after"]["photo_id"], e["after"]["state"], e["before"]["state"]) for e in received] == [
        (photo_id, "complete", "submitted")
    ]
    assert received[0]["actor_id"] == uuid.UUID(world.ids["insp_a1"])
    uploaded = await photo_events(db, "photo.uploaded")
    assert [(e["object_id"], e["after"]["sha256"]) for e in uploaded] == [(photo_id, sha256(data))]
    assert spooled(data_dir) == []


async def test_every_arriving_photo_changes_the_inspections_etag(client, world):
    first, second = jpeg(), jpeg()
    inspection, (first_id, second_id) = await inspection_with_photos(client, world, first, second)
    url, phone = f"{URL}/{inspection['id']}", world.h["insp_a1"]
    etag = (await client.get(url, headers=phone)).headers["etag"]
    assert (await upload(client, phone, inspection["id"], first_id, first)).status_code == 200

    # One of two photos: still submitted, but a conditional GET must not answer 304 with the old photo list.
    response = await client.get(url, headers={**phone, "If-None-Match": etag})
    assert response.status_code == 200 and response.headers["etag"] != etag
    assert response.json()["state"] == "submitted" and response.json()["expected_photos"] == [second_id]
    assert (await client.get(url, headers={**phone, "If-None-Match": response.headers["etag"]})).status_code == 304


async def test_without_a_digest_header_the_manifest_hash_is_checked(client, db, world):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    other = jpeg(color=(0, 0, 255))
    refused = await upload(client, world.h["insp_a1"], inspection["id"], photo_id, other, with_digest=False)
    assert_problem(refused, 422, "digest_mismatch")
    assert await photo_rows(db) == 0
    accepted = await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data, with_digest=False)
    assert accepted.status_code == 200 and accepted.json()["attached"] is True


async def test_the_bytes_must_be_the_ones_the_manifest_lists(client, db, world, data_dir):
    inspection, (photo_id,) = await inspection_with_photos(client, world, jpeg())
    other = jpeg(color=(0, 255, 0))  # a good image with a matching Repr-Digest, but not the listed photo
    assert_problem(await upload(client, world.h["insp_a1"], inspection["id"], photo_id, other), 422, "photo_mismatch")
    assert await photo_rows(db) == 0 and not blob_path(data_dir, "original", sha256(other)).exists()


async def test_a_photo_the_manifest_does_not_list_is_refused(client, db, world):
    inspection, _ = await inspection_with_photos(client, world, jpeg())
    refused = await upload(client, world.h["insp_a1"], inspection["id"], str(uuid.uuid4()), jpeg())
    assert_problem(refused, 422, "photo_not_in_manifest")
    assert await photo_rows(db) == 0


async def test_an_upload_to_an_inspection_the_caller_may_not_see_is_404(client, db, world):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    assert_problem(await upload(client, world.h["insp_b"], inspection["id"], photo_id, data), 404, "not_found")
    assert await photo_rows(db) == 0
    # Whoever sees the inspection may deliver the listed photo (only those exact bytes pass the manifest).
    assert (await upload(client, world.h["coord_a"], inspection["id"], photo_id, data)).status_code == 200


# --- resends, conflicts, concurrency --------------------------------------------------------------------------


async def test_a_resend_answers_the_same_and_other_bytes_are_a_conflict(client, db, world, data_dir):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    first = await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)
    again = await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    stored = dict(await db.fetchrow("SELECT * FROM photo WHERE id = $1", uuid.UUID(photo_id)))

    other = jpeg(color=(0, 0, 0))
    assert_problem(await upload(client, world.h["insp_a1"], inspection["id"], photo_id, other), 409, "photo_conflict")
    assert dict(await db.fetchrow("SELECT * FROM photo WHERE id = $1", uuid.UUID(photo_id))) == stored
    assert blob_path(data_dir, "original", sha256(data)).read_bytes() == data
    assert not blob_path(data_dir, "original", sha256(other)).exists()
    assert len(await photo_events(db, "photo.uploaded")) == 1
    assert len(await photo_events(db, "inspection.photo_received")) == 1


async def test_other_bytes_without_a_digest_header_are_checked_against_the_manifest_even_after_receipt(
    client, db, world, data_dir
):
    # README: the declared SHA-256 is the header's, else the manifest's; so this is 422, not 409 photo_conflict.
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    assert (await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)).status_code == 200
    stored = dict(await db.fetchrow("SELECT * FROM photo WHERE id = $1", uuid.UUID(photo_id)))
    other = jpeg(color=(0, 0, 0))
    refused = await upload(client, world.h["insp_a1"], inspection["id"], photo_id, other, with_digest=False)
    assert_problem(refused, 422, "digest_mismatch")
    assert dict(await db.fetchrow("SELECT * FROM photo WHERE id = $1", uuid.UUID(photo_id))) == stored
    assert not blob_path(data_dir, "original", sha256(other)).exists()


async def test_two_concurrent_uploads_of_one_photo_leave_one_photo(client, db, world):
    data = jpeg(1200, 900)
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    responses = await asyncio.gather(
        *(upload(client, world.h[who], inspection["id"], photo_id, data) for who in ("insp_a1", "coord_a"))
    )
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].json() == responses[1].json()
    assert await photo_rows(db) == 1
    assert len(await photo_events(db, "photo.uploaded")) == 1
    assert len(await photo_events(db, "inspection.photo_received")) == 1


async def test_the_rows_are_write_once_in_the_database(client, db, world):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("UPDATE photo SET sha256 = $2 WHERE id = $1", uuid.UUID(photo_id), sha256(b"x"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("DELETE FROM photo WHERE id = $1", uuid.UUID(photo_id))


# --- photos that arrive before their inspection ------------------------------------------------------------


async def test_a_photo_sent_before_its_inspection_is_attached_when_it_arrives(client, db, world):
    data = jpeg()
    photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
    early = await upload(client, world.h["insp_a1"], inspection_id, photo_id, data)
    assert early.status_code == 200 and early.json()["attached"] is False
    thumbnail = photo_url(inspection_id, photo_id, "/thumbnail")
    assert_problem(await client.get(thumbnail, headers=world.h["insp_a1"]), 404, "not_found")

    body = world.violating_body(photos=[entry(photo_id, data)])
    arrived = await client.put(f"{URL}/{inspection_id}", json=body, headers=world.h["insp_a1"])
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["state"] == "complete" and arrived.json()["expected_photos"] == []
    assert arrived.json()["photos"][0]["evidence"]["media_type"] == "image/jpeg"
    assert (await client.get(thumbnail, headers=world.h["insp_a1"])).status_code == 200
    again = await upload(client, world.h["insp_a1"], inspection_id, photo_id, data)
    assert again.status_code == 200 and again.json()["attached"] is True
    events = await photo_events(db, "inspection.photo_received")
    assert [e["after"]["photo_id"] for e in events] == [photo_id]


async def test_an_inspection_arriving_during_an_early_upload_waits_its_turn_and_takes_the_photo(
    client, db, world, database_url
):
    # An upload holds the inspection id's turn and has stored its photo, not yet committed, when the
    # inspection arrives: the inspection waits, then sees the photo and takes it.
    data = jpeg()
    earlier = await upload(client, world.h["insp_a1"], str(uuid.uuid4()), str(uuid.uuid4()), data)
    assert earlier.status_code == 200, earlier.text
    photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
    uploader = await core_db.connect(database_url)
    try:
        turn = uploader.transaction()
        await turn.start()
        await uploader.execute(photo_queries.LOCK_INSPECTION, inspection_id)
        await uploader.execute(
            "INSERT INTO photo SELECT $1, $2, uploaded_by, sha256, size_bytes, media_type, width, height, captured_at, "
            "latitude, longitude, received_at, NULL, display_sha256, display_size, thumbnail_sha256, thumbnail_size "
            "FROM photo WHERE id = $3",
            uuid.UUID(photo_id),
            uuid.UUID(inspection_id),
            uuid.UUID(earlier.json()["id"]),
        )
        body = world.violating_body(photos=[entry(photo_id, data)])
        arriving = asyncio.create_task(client.put(f"{URL}/{inspection_id}", json=body, headers=world.h["insp_a1"]))
        assert await waits_for_advisory_lock(db, arriving), "the arriving inspection did not wait for the upload"
        await turn.commit()
    finally:
        await uploader.close()
    arrived = await arriving
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["state"] == "complete" and arrived.json()["expected_photos"] == []
    assert await db.fetchval("SELECT attached_at IS NOT NULL FROM photo WHERE id = $1", uuid.UUID(photo_id))


async def waits_for_advisory_lock(db, task: asyncio.Task, attempts: int = 5000) -> bool:
    """Whether some session comes to wait for an advisory lock while `task` runs (each check yields to it)."""
    for _ in range(attempts):
        if task.done():
            return False
        if await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
        ):
            return True
    return False


async def test_an_early_photo_that_is_not_the_listed_one_is_discarded_and_can_be_sent_again(
    client, db, world, data_dir
):
    wrong, right = jpeg(color=(1, 2, 3)), jpeg()
    photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
    assert (await upload(client, world.h["insp_a1"], inspection_id, photo_id, wrong)).status_code == 200
    body = world.violating_body(photos=[entry(photo_id, right)])
    arrived = (await client.put(f"{URL}/{inspection_id}", json=body, headers=world.h["insp_a1"])).json()
    assert arrived["state"] == "submitted" and arrived["expected_photos"] == [photo_id]
    assert await photo_rows(db) == 0
    discarded = await photo_events(db, "photo.discarded")
    assert [(e["object_id"], e["before"]["sha256"]) for e in discarded] == [(photo_id, sha256(wrong))]
    # The phone sends again: now judged against the manifest.
    assert_problem(await upload(client, world.h["insp_a1"], inspection_id, photo_id, wrong), 422, "photo_mismatch")
    resent = await upload(client, world.h["insp_a1"], inspection_id, photo_id, right)
    assert resent.status_code == 200 and resent.json()["attached"] is True


async def test_an_early_photo_is_attached_only_if_its_uploader_may_see_the_inspection(client, db, world):
    data = jpeg()
    photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
    assert (await upload(client, world.h["insp_b"], inspection_id, photo_id, data)).status_code == 200
    body = world.violating_body(photos=[entry(photo_id, data)])  # insp_a1's unplanned inspection: team-a
    arrived = (await client.put(f"{URL}/{inspection_id}", json=body, headers=world.h["insp_a1"])).json()
    assert arrived["expected_photos"] == [photo_id] and await photo_rows(db) == 0
    assert [e["reason"] for e in await photo_events(db, "photo.discarded")] == [
        "its uploader may not see the inspection"
    ]


async def test_before_the_inspection_only_inspectors_upload_and_the_photo_is_theirs(client, db, world):
    data = jpeg()
    photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
    for who in ("coord_a", "enforcer", "admin"):
        assert_problem(await upload(client, world.h[who], inspection_id, photo_id, data), 404, "not_found")
    assert await photo_rows(db) == 0
    no_digest = await upload(client, world.h["insp_a1"], inspection_id, photo_id, data, with_digest=False)
    assert_problem(no_digest, 422, "digest_required")
    assert (await upload(client, world.h["insp_a1"], inspection_id, photo_id, data)).status_code == 200
    assert_problem(await upload(client, world.h["insp_a2"], inspection_id, photo_id, data), 409, "photo_id_in_use")
    assert_problem(await upload(client, world.h["insp_a1"], str(uuid.uuid4()), photo_id, data), 409, "photo_id_in_use")
    assert await photo_rows(db) == 1


# --- what is kept: derivatives and EXIF facts ------------------------------------------------------------------


async def test_derivatives_are_upright_resized_and_carry_no_metadata(client, db, world):
    data = jpeg(
        3000,
        200,
        orientation=6,
        gps=(52.0907, 5.1214),
        captured="2025:03:01 21:30:00",
        comment=b"serial 1234 owner Jansen",
    )
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    assert (await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)).status_code == 200
    sizes = {}
    for variant in ("display", "thumbnail"):
        response = await client.get(photo_url(inspection["id"], photo_id, f"/{variant}"), headers=world.h["insp_a1"])
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"
        content = response.content
        assert b"Exif" not in content and b"serial 1234" not in content and b"http://ns.adobe.com" not in content
        with Image.open(io.BytesIO(content)) as im:
            assert (
                im.format == "JPEG" and not im.getexif() and "comment" not in im.info and "icc_profile" not in im.info
            )
            sizes[variant] = im.size
            # Rotated upright (orientation 6): the coloured half, first the left one, is now on top.
            rgb = im.convert("RGB")
            assert rgb.getpixel((im.width // 2, 2))[1] < 100 and rgb.getpixel((im.width // 2, im.height - 3))[1] > 200
    assert sizes == {"display": (137, 2048), "thumbnail": (21, 320)}


async def test_derivatives_are_converted_to_srgb_from_the_embedded_profile(client, world):
    # Red in the numbers of a profile whose red primary is sRGB's blue: on the phone the photo looked blue.
    im = Image.new("RGB", (64, 48), (220, 20, 20))
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=95, icc_profile=swapped_primaries_profile())
    data = buffer.getvalue()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    assert (await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)).status_code == 200
    for variant in ("display", "thumbnail"):
        response = await client.get(photo_url(inspection["id"], photo_id, f"/{variant}"), headers=world.h["insp_a1"])
        with Image.open(io.BytesIO(response.content)) as derivative:
            assert "icc_profile" not in derivative.info  # sRGB pixels need no profile
            red, green, blue = derivative.convert("RGB").getpixel((10, 10))
            assert blue > 180 and red < 60 and green < 60, (red, green, blue)


async def test_exif_capture_time_and_position_are_columns_and_the_position_is_for_evidence_roles(client, db, world):
    data = jpeg(gps=(52.0907, -5.1214), captured="2025:03:01 21:30:00", offset="+01:00")
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)
    row = await db.fetchrow("SELECT captured_at, latitude, longitude, received_at FROM photo")
    assert row["captured_at"] == datetime(2025, 3, 1, 20, 30, tzinfo=UTC)
    assert (round(row["latitude"], 4), round(row["longitude"], 4)) == (52.0907, -5.1214)

    shown = {}
    for who in ("enforcer", "coord_a", "insp_a1"):
        detail = (await client.get(f"{URL}/{inspection['id']}", headers=world.h[who])).json()
        shown[who] = detail["photos"][0]["evidence"]
    assert shown["enforcer"]["position"] == {
        "latitude": pytest.approx(52.0907, abs=1e-4),
        "longitude": pytest.approx(-5.1214, abs=1e-4),
    }
    for who in ("coord_a", "insp_a1"):
        assert shown[who]["position"] is None
        assert shown[who]["captured_at"] == "2025-03-01T20:30:00Z"
        assert datetime.fromisoformat(shown[who]["received_at"]) == row["received_at"]
    assert shown["enforcer"]["media_type"] == "image/jpeg" and shown["enforcer"]["width"] == 64


# --- serving -----------------------------------------------------------------------------------------------------


async def test_derivatives_have_strong_etags_and_answer_304(client, world):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)
    url = photo_url(inspection["id"], photo_id, "/display")
    first = await client.get(url, headers=world.h["coord_a"])
    etag = first.headers["etag"]
    assert etag == f'"{sha256(first.content)}"' and "no-cache" in first.headers["cache-control"]
    cached = await client.get(url, headers={**world.h["coord_a"], "If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag
    other = await client.get(url, headers={**world.h["coord_a"], "If-None-Match": '"0"'})
    assert other.status_code == 200 and other.content == first.content


async def test_derivatives_follow_the_inspection_visibility(client, world):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data)
    for who, status in {
        "insp_a1": 200,
        "coord_a": 200,
        "enforcer": 200,
        "admin": 200,
        "insp_b": 404,
        "enforcer_coffee": 404,
    }.items():
        response = await client.get(photo_url(inspection["id"], photo_id, "/thumbnail"), headers=world.h[who])
        assert response.status_code == status, who
    # A photo id under another inspection is not found either.
    other, _ = await inspection_with_photos(client, world, jpeg(color=(9, 9, 9)))
    assert (
        await client.get(photo_url(other["id"], photo_id, "/thumbnail"), headers=world.h["admin"])
    ).status_code == 404


async def test_the_original_is_an_audited_download_for_enforcement_officers_and_auditors(client, db, world):
    zip_part = io.BytesIO()
    with zipfile.ZipFile(zip_part, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    polyglot = jpeg() + zip_part.getvalue()  # a JPEG that is also a ZIP
    inspection, (photo_id,) = await inspection_with_photos(client, world, polyglot)
    assert (await upload(client, world.h["insp_a1"], inspection["id"], photo_id, polyglot)).status_code == 200

    url = photo_url(inspection["id"], photo_id, "/original")
    for who in ("enforcer", "auditor"):
        response = await client.get(url, headers=world.h[who])
        assert response.status_code == 200, response.text
        assert response.content == polyglot
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["content-disposition"] == f'attachment; filename="{photo_id}.jpg"'
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["repr-digest"] == digest(polyglot)
        assert response.headers["cache-control"] == "no-store"
    reads = await photo_events(db, "photo.original_read")
    assert [(e["actor_id"], e["object_id"], e["after"]["sha256"]) for e in reads] == [
        (uuid.UUID(world.ids[who]), photo_id, sha256(polyglot)) for who in ("enforcer", "auditor")
    ]

    for who in ("insp_a1", "coord_a", "admin"):
        assert_problem(await client.get(url, headers=world.h[who]), 403, "forbidden")
    assert_problem(await client.get(url, headers=world.h["enforcer_coffee"]), 404, "not_found")  # not their regime
    assert len(await photo_events(db, "photo.original_read")) == 2

    display = await client.get(photo_url(inspection["id"], photo_id, "/display"), headers=world.h["insp_a1"])
    assert b"PK\x03\x04" not in display.content and b"<script>" not in display.content


async def test_an_early_photo_the_first_submission_left_out_attaches_when_a_correction_lists_it(client, db, world):
    """A photo the phone sent before its inspection, which the first submission does not list, waits: a correction
    may list it. The correction that lists it takes it, so the phone need not send it again and the purge of
    photos nobody claimed never takes evidence."""
    data = jpeg()
    photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
    early = await upload(client, world.h["insp_a1"], inspection_id, photo_id, data)
    assert early.status_code == 200 and early.json()["attached"] is False
    first_body = world.violating_body()
    first = await client.put(f"{URL}/{inspection_id}", json=first_body, headers=world.h["insp_a1"])
    assert first.status_code == 200, first.text
    assert photo_id not in [photo["id"] for photo in first.json()["photos"]]
    await return_it(client, world, first.json(), reason="AW-06: foto van het bord ontbreekt")

    correction = {**first_body, "photos": [*first_body["photos"], entry(photo_id, data, None)], "base_revision": 1}
    corrected = await client.put(f"{URL}/{inspection_id}", json=correction, headers=world.h["insp_a1"])
    assert corrected.status_code == 200, corrected.text
    assert photo_id not in corrected.json()["expected_photos"]
    events = await photo_events(db, "inspection.photo_received")
    assert [e["after"]["photo_id"] for e in events] == [photo_id]
