"""Resumable photo uploads (photos.resumable) through HTTP: creation, offset, append, completion through the
checks of a whole upload, cuts, conflicts, limits, cancellation and expiry."""

from __future__ import annotations

import asyncio
import os
import uuid
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from backend.core import db as core_db
from backend.photos import resumable
from backend.photos import service as photos
from tests.conftest import app_client, make_settings
from tests.helpers import assert_problem
from tests.inspection_helpers import URL, World, build_world
from tests.photo_helpers import PHOTO_USERS, blob_path, digest, inspection_with_photos, jpeg, photo_url, sha256, spooled

PARTIAL = "application/partial-upload"
OFFSET_MISMATCH = "https://iana.org/assignments/http-problem-types#mismatching-upload-offset"


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth, PHOTO_USERS)


def big_photo() -> bytes:
    """A photo of a few hundred KB (noise does not compress), so that its parts are real parts."""
    buffer = BytesIO()
    Image.frombytes("RGB", (400, 300), os.urandom(400 * 300 * 3)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


async def create(
    client,
    headers: dict[str, str],
    inspection_id: str,
    photo_id: str,
    data: bytes,
    *,
    extra: dict[str, str] | None = None,
    content: bytes = b"",
) -> Any:
    return await client.put(
        photo_url(inspection_id, photo_id),
        content=content,
        headers={
            **headers,
            "Content-Type": "image/jpeg",
            "Repr-Digest": digest(data),
            "Upload-Complete": "?0",
            **(extra or {}),
        },
    )


def path_of(response) -> str:
    location = response.headers["location"]
    return location[location.index("/api/") :]


async def append(
    client,
    headers: dict[str, str],
    location: str,
    offset: int,
    content: bytes,
    *,
    complete: bool,
    extra: dict[str, str] | None = None,
) -> Any:
    return await client.patch(
        location,
        content=content,
        headers={
            **headers,
            "Content-Type": PARTIAL,
            "Upload-Offset": str(offset),
            "Upload-Complete": "?1" if complete else "?0",
            **(extra or {}),
        },
    )


async def cut_append(
    app,
    headers: dict[str, str],
    location: str,
    offset: int,
    sent: bytes,
    announced: int,
    *,
    release: asyncio.Event | None = None,
    rest: bytes = b"",
) -> tuple[int, dict[str, str]]:
    """A PATCH whose connection drops after `sent` (or, with `release`, that sends `rest` once released):
    the ASGI messages a server gets from a phone losing its network."""
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": sent, "more_body": True}]
    answer: dict[str, Any] = {"status": 0, "headers": {}}

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        if release is not None:
            await release.wait()
            release.clear()
            return {"type": "http.request", "body": rest, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            answer["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}

    raw_headers = [
        (k.lower().encode(), v.encode())
        for k, v in {
            **headers,
            "content-type": PARTIAL,
            "upload-offset": str(offset),
            "upload-complete": "?1",
            "content-length": str(announced),
            "host": "testserver",
        }.items()
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": location,
        "raw_path": location.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    return answer["status"], answer["headers"]


def app_of(client) -> Any:
    return client._transport.app


async def upload_rows(db) -> int:
    return await db.fetchval("SELECT count(*) FROM photo_upload")


def parts_dir(data_dir, location: str):
    return data_dir / "resumable" / uuid.UUID(location.rsplit("/", 1)[1]).hex


# --- the happy path and its cut -------------------------------------------------------------------------------


async def test_an_upload_cut_at_60_percent_resumes_at_the_servers_offset(client, db, world, data_dir):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]

    created = await create(client, phone, inspection["id"], photo_id, data, extra={"Upload-Length": str(len(data))})
    assert created.status_code == 201, created.text
    assert created.headers["upload-complete"] == "?0" and created.headers["upload-offset"] == "0"
    assert f"max-size={26_214_400}" in created.headers["upload-limit"]
    location = path_of(created)

    cut = len(data) * 60 // 100
    status, _ = await cut_append(app_of(client), phone, location, 0, data[:cut], len(data))
    assert status == 400  # nobody reads it: the phone is gone

    head = await client.head(location, headers=phone)
    assert head.status_code == 204
    assert (head.headers["upload-offset"], head.headers["upload-complete"]) == (str(cut), "?0")
    assert head.headers["upload-length"] == str(len(data)) and head.headers["cache-control"] == "no-store"
    assert "max-age=" in head.headers["upload-limit"]

    done = await append(client, phone, location, cut, data[cut:], complete=True)
    assert done.status_code == 200, done.text
    assert done.headers["upload-complete"] == "?1"
    assert done.json()["sha256"] == sha256(data) and done.json()["attached"] is True
    assert blob_path(data_dir, "original", sha256(data)).read_bytes() == data
    after = (await client.get(f"{URL}/{inspection['id']}", headers=phone)).json()
    assert after["state"] == "complete"
    assert await db.fetchval("SELECT count(*) FROM photo WHERE id = $1", uuid.UUID(photo_id)) == 1
    assert not parts_dir(data_dir, location).exists() and spooled(data_dir) == []

    # The answer was lost: the phone asks, sees the upload complete, and may ask for the answer again.
    head = await client.head(location, headers=phone)
    assert (head.headers["upload-complete"], head.headers["upload-offset"]) == ("?1", str(len(data)))
    again = await append(client, phone, location, len(data), b"", complete=True)
    assert again.status_code == 200 and again.json() == done.json()
    more = await append(client, phone, location, len(data), b"x", complete=False)
    assert more.status_code == 400 and more.json()["code"] == "upload_completed"


async def test_the_whole_photo_in_parts_with_the_manifest_digest(client, world):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    # No Repr-Digest: the inspection's manifest names the hash. The creation carries the first part.
    created = await client.put(
        photo_url(inspection["id"], photo_id),
        content=data[:1000],
        headers={**phone, "Content-Type": "image/jpeg", "Upload-Complete": "?0"},
    )
    assert created.status_code == 201 and created.headers["upload-offset"] == "1000"
    location = path_of(created)
    middle = await append(client, phone, location, 1000, data[1000:5000], complete=False)
    assert middle.status_code == 204 and middle.headers["upload-offset"] == "5000"
    done = await append(client, phone, location, 5000, data[5000:], complete=True)
    assert done.status_code == 200 and done.json()["sha256"] == sha256(data)


async def test_a_put_with_upload_complete_true_is_a_whole_upload(client, world):
    data = jpeg()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    response = await client.put(
        photo_url(inspection["id"], photo_id),
        content=data,
        headers={
            **world.h["insp_a1"],
            "Content-Type": "image/jpeg",
            "Upload-Complete": "?1",
            "Upload-Length": str(len(data)),
        },
    )
    assert response.status_code == 200 and response.headers["upload-complete"] == "?1"
    assert response.json()["sha256"] == sha256(data)


# --- refusals: each a clear 4xx, and nothing kept --------------------------------------------------------------


async def test_a_wrong_offset_is_409_with_the_servers_offset(client, db, world, data_dir):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data, content=data[:100]))

    refused = await append(client, phone, location, 5000, data[5000:6000], complete=False)
    assert refused.status_code == 409
    body = refused.json()
    assert body["type"] == OFFSET_MISMATCH and body["code"] == "upload_offset_mismatch"
    assert (body["expected-offset"], body["provided-offset"]) == (100, 5000)
    assert refused.headers["upload-offset"] == "100" and refused.headers["upload-complete"] == "?0"
    assert (await client.head(location, headers=phone)).headers["upload-offset"] == "100"
    assert len(list(parts_dir(data_dir, location).iterdir())) == 1  # the refused content was not kept


async def test_of_two_concurrent_appends_one_wins_and_the_other_gets_409(client, db, world, data_dir):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data))
    half = len(data) // 2

    # The first append has sent part of its content and waits for the rest; the second runs whole meanwhile.
    release = asyncio.Event()
    first = asyncio.create_task(
        cut_append(app_of(client), phone, location, 0, data[:1000], half, release=release, rest=data[1000:half])
    )
    second = await append(client, phone, location, 0, data[:half], complete=False)
    assert second.status_code == 204 and second.headers["upload-offset"] == str(half)
    release.set()
    status, headers = await first
    assert status == 409 and headers["upload-offset"] == str(half)

    assert len(list(parts_dir(data_dir, location).iterdir())) == 1  # the loser's part is gone
    done = await append(client, phone, location, half, data[half:], complete=True)
    assert done.status_code == 200 and done.json()["sha256"] == sha256(data)


async def test_a_length_over_the_limit_is_413_announced_or_discovered(database_url, data_dir, auth, db):
    settings = make_settings(database_url, data_dir, photo_max_bytes=100_000)
    async with app_client(settings) as client:
        world = await build_world(client, auth, PHOTO_USERS)
        data = big_photo()
        assert len(data) > 100_000
        inspection, (photo_id,) = await inspection_with_photos(client, world, data)
        phone = world.h["insp_a1"]

        announced = await create(
            client, phone, inspection["id"], photo_id, data, extra={"Upload-Length": str(len(data))}
        )
        assert_problem(announced, 413, "photo_too_large")
        assert announced.headers["upload-limit"] == "max-size=100000"
        assert await upload_rows(db) == 0

        location = path_of(await create(client, phone, inspection["id"], photo_id, data))
        first = await append(client, phone, location, 0, data[:60_000], complete=False)
        assert first.status_code == 204
        over = await append(client, phone, location, 60_000, data[60_000:120_000], complete=False)
        assert_problem(over, 413, "photo_too_large")
        assert await upload_rows(db) == 0 and not parts_dir(data_dir, location).exists()
        assert (await client.head(location, headers=phone)).status_code == 404
        assert await db.fetchval("SELECT count(*) FROM photo") == 0


async def test_content_past_the_announced_length_removes_the_upload(client, db, world, data_dir):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data, extra={"Upload-Length": "1000"}))
    refused = await append(client, phone, location, 0, data[:1500], complete=False)
    assert refused.status_code == 400 and refused.json()["code"] == "upload_length_inconsistent"
    assert await upload_rows(db) == 0 and not parts_dir(data_dir, location).exists()


async def test_a_completed_upload_whose_bytes_are_not_the_manifests_is_refused_and_removed(client, db, world, data_dir):
    data, other = big_photo(), big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data))  # the manifest's digest
    half = len(other) // 2
    assert (await append(client, phone, location, 0, other[:half], complete=False)).status_code == 204
    refused = await append(client, phone, location, half, other[half:], complete=True)
    assert_problem(refused, 422, "digest_mismatch")
    assert refused.headers["upload-complete"] == "?1"
    assert await upload_rows(db) == 0 and not parts_dir(data_dir, location).exists()
    assert await db.fetchval("SELECT count(*) FROM photo") == 0
    assert not blob_path(data_dir, "original", sha256(other)).exists() and spooled(data_dir) == []


async def test_other_bytes_for_a_stored_photo_are_409_after_a_resumable_upload(client, db, world):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data))
    assert (await append(client, phone, location, 0, data, complete=True)).status_code == 200
    # Same bytes again, resumably: the same answer; other bytes with their own digest: 409 photo_conflict.
    again = path_of(await create(client, phone, inspection["id"], photo_id, data))
    assert (await append(client, phone, again, 0, data, complete=True)).json()["sha256"] == sha256(data)
    other = jpeg()
    conflict = path_of(await create(client, phone, inspection["id"], photo_id, other))
    assert_problem(await append(client, phone, conflict, 0, other, complete=True), 409, "photo_conflict")


async def test_an_upload_without_its_headers_is_400(client, world):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data))
    for headers in (
        {"Upload-Offset": "0"},
        {"Upload-Complete": "?0"},
        {"Upload-Offset": "-1", "Upload-Complete": "?0"},
        {"Upload-Offset": "0", "Upload-Complete": "yes"},
    ):
        response = await client.patch(location, content=b"abc", headers={**phone, "Content-Type": PARTIAL, **headers})
        assert_problem(response, 400, "upload_header_invalid")
    wrong_type = await client.patch(
        location,
        content=b"abc",
        headers={**phone, "Content-Type": "image/jpeg", "Upload-Offset": "0", "Upload-Complete": "?0"},
    )
    assert_problem(wrong_type, 415, "unsupported_media_type")
    assert (await client.head(location, headers=phone)).headers["upload-offset"] == "0"


async def test_only_the_creator_reaches_an_upload_and_a_cancel_removes_its_bytes(client, db, world, data_dir):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data, content=data[:500]))
    for method in ("HEAD", "DELETE"):
        assert (await client.request(method, location, headers=world.h["insp_a2"])).status_code == 404
    assert (await append(client, world.h["insp_a2"], location, 500, b"x", complete=False)).status_code == 404
    cancelled = await client.delete(location, headers=phone)
    assert cancelled.status_code == 204
    assert (await client.head(location, headers=phone)).status_code == 404
    assert await upload_rows(db) == 0 and not parts_dir(data_dir, location).exists()


async def test_an_unfinished_upload_expires_with_its_bytes(client, db, world, data_dir, settings):
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    location = path_of(await create(client, phone, inspection["id"], photo_id, data, content=data[:500]))
    kept = path_of(await create(client, phone, inspection["id"], photo_id, data, content=data[:700]))
    orphan = data_dir / "resumable" / uuid.uuid4().hex  # a directory whose upload is gone
    orphan.mkdir(parents=True)
    await db.execute(
        "UPDATE photo_upload SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(location.rsplit("/", 1)[1]),
    )
    assert (await client.head(location, headers=phone)).status_code == 404  # expired before any purge

    pool = await core_db.create_pool(settings)
    try:
        assert await resumable.purge(photos.evidence_for(pool, settings)) == 1
    finally:
        await pool.close()
    assert not parts_dir(data_dir, location).exists() and not orphan.exists()
    assert parts_dir(data_dir, kept).exists() and await upload_rows(db) == 1


async def test_a_user_holds_a_bounded_number_of_open_uploads(client, db, world, monkeypatch):
    monkeypatch.setattr(resumable, "MAX_OPEN_UPLOADS", 2)
    data = big_photo()
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    phone = world.h["insp_a1"]
    first = path_of(await create(client, phone, inspection["id"], photo_id, data))
    assert (await create(client, phone, inspection["id"], photo_id, data)).status_code == 201
    assert_problem(await create(client, phone, inspection["id"], photo_id, data), 429, "too_many_uploads")
    assert await upload_rows(db) == 2
    assert (await client.delete(first, headers=phone)).status_code == 204
    assert (await create(client, phone, inspection["id"], photo_id, data)).status_code == 201
