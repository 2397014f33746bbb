"""Bad photo uploads get a clear problem and store nothing; size limits on a streamed body; interrupted
uploads leave nothing behind; the spool is swept at start-up; photos whose inspection never comes expire."""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import app_client, make_settings, wait_until
from tests.helpers import assert_problem
from tests.inspection_helpers import USERS, World, build_world
from tests.photo_helpers import (
    PHOTO_USERS,
    blob_path,
    digest,
    encoded,
    inspection_with_photos,
    jpeg,
    photo_events,
    photo_rows,
    photo_url,
    png_claiming,
    sha256,
    spooled,
    upload,
)

MIB = 1024 * 1024
FLUSH = 2 * MIB  # more than the service gathers before writing to the spool file


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth, PHOTO_USERS)


@pytest.fixture
def phone(auth) -> dict[str, str]:
    """An inspector uploading photos of inspections that have not arrived (no other setup needed)."""
    return auth("insp_a1", **USERS["insp_a1"])


async def nothing_stored(db, data_dir, data: bytes) -> None:
    assert await photo_rows(db) == 0
    assert not blob_path(data_dir, "original", sha256(data)).exists()
    assert spooled(data_dir) == []
    assert await photo_events(db, "photo.uploaded") == []


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


NOT_IMAGES = {
    "gif": lambda: encoded("GIF"),
    "tiff": lambda: encoded("TIFF"),
    "psd": lambda: b"8BPS\x00\x01" + bytes(20) + b"\x00\x03",
    "pdf": lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
    "svg": svg,
    "html": lambda: b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
}


@pytest.mark.parametrize("kind", sorted(NOT_IMAGES))
async def test_other_files_sent_as_jpeg_are_refused(client, db, phone, data_dir, kind):
    data = NOT_IMAGES[kind]()
    inspection_id = str(uuid.uuid4())  # not arrived: the Repr-Digest is the only check besides the image itself
    response = await upload(client, phone, inspection_id, str(uuid.uuid4()), data)
    assert_problem(response, 422, "unsupported_image")
    await nothing_stored(db, data_dir, data)


async def test_an_image_of_another_type_than_declared_is_refused(client, db, phone, data_dir):
    data = encoded("PNG")
    response = await upload(client, phone, str(uuid.uuid4()), str(uuid.uuid4()), data)
    assert_problem(response, 422, "type_mismatch")
    await nothing_stored(db, data_dir, data)


@pytest.mark.parametrize("content_type", ["image/gif", "text/html", "application/zip", "application/json"])
async def test_only_jpeg_png_and_webp_bodies_are_accepted(client, db, phone, data_dir, content_type):
    data = jpeg()
    response = await upload(client, phone, str(uuid.uuid4()), str(uuid.uuid4()), data, content_type=content_type)
    assert_problem(response, 415, "unsupported_media_type")
    await nothing_stored(db, data_dir, data)


@pytest.mark.parametrize("fmt,media_type", [("PNG", "image/png"), ("WEBP", "image/webp")])
async def test_png_and_webp_are_accepted_and_served_as_jpeg_derivatives(client, world, fmt, media_type):
    data = encoded(fmt, mode="RGBA" if fmt == "PNG" else "RGB")
    inspection, (photo_id,) = await inspection_with_photos(client, world, data)
    response = await upload(client, world.h["insp_a1"], inspection["id"], photo_id, data, content_type=media_type)
    assert response.status_code == 200 and response.json()["media_type"] == media_type
    thumbnail = await client.get(photo_url(inspection["id"], photo_id, "/thumbnail"), headers=world.h["insp_a1"])
    assert thumbnail.headers["content-type"] == "image/jpeg" and thumbnail.content.startswith(b"\xff\xd8\xff")


@pytest.mark.parametrize("width,height", [(30_000, 30_000), (8_000, 8_000)])
async def test_images_with_too_many_pixels_are_refused_before_decoding(client, db, phone, data_dir, width, height):
    """30000x30000 (900 MP) trips Pillow's own guard; 8000x8000 (64 MP) only our 50 MP limit."""
    data = png_claiming(width, height)
    assert len(data) < 100_000
    response = await upload(client, phone, str(uuid.uuid4()), str(uuid.uuid4()), data, content_type="image/png")
    assert_problem(response, 422, "image_too_large")
    await nothing_stored(db, data_dir, data)


async def test_a_truncated_jpeg_is_refused(client, db, phone, data_dir):
    whole = jpeg(400, 300, quality=95)
    data = whole[: len(whole) * 2 // 3]
    response = await upload(client, phone, str(uuid.uuid4()), str(uuid.uuid4()), data)
    assert_problem(response, 422, "image_corrupt")
    await nothing_stored(db, data_dir, data)


async def test_an_empty_body_is_refused(client, db, phone, data_dir):
    response = await upload(client, phone, str(uuid.uuid4()), str(uuid.uuid4()), b"")
    assert_problem(response, 422, "empty_body")
    await nothing_stored(db, data_dir, b"")


async def test_a_wrong_hash_is_refused(client, db, phone, data_dir):
    data = jpeg()
    response = await upload(
        client,
        phone,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        data,
        with_digest=False,
        extra={"Repr-Digest": digest(data[:-1])},
    )
    assert_problem(response, 422, "digest_mismatch")
    await nothing_stored(db, data_dir, data)
    # Content-Digest is checked in the same way.
    response = await upload(
        client,
        phone,
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        data,
        with_digest=False,
        extra={"Content-Digest": digest(b"other")},
    )
    assert_problem(response, 422, "digest_mismatch")
    await nothing_stored(db, data_dir, data)


@pytest.mark.parametrize("value", ["sha-256=abc", "sha-256=:bm90IDMyIGJ5dGVz:", "md5=:AAAA:", "sha-256=:!!:"])
async def test_a_malformed_digest_is_refused(client, db, phone, data_dir, value):
    data = jpeg()
    response = await upload(
        client, phone, str(uuid.uuid4()), str(uuid.uuid4()), data, with_digest=False, extra={"Repr-Digest": value}
    )
    assert_problem(response, 400, "digest_invalid")
    await nothing_stored(db, data_dir, data)


# --- size: the route's own limit on a streamed body -----------------------------------------------------------


async def test_a_photo_above_the_app_wide_body_limit_is_accepted(client, phone, data_dir):
    data = jpeg() + os.urandom(3 * MIB)  # a JPEG with 3 MiB after its end marker: more than the 1 MiB app limit
    response = await upload(client, phone, str(uuid.uuid4()), str(uuid.uuid4()), data)
    assert response.status_code == 200 and response.json()["size"] == len(data)
    assert blob_path(data_dir, "original", sha256(data)).read_bytes() == data


async def test_a_26_mib_streamed_body_is_413_and_nothing_is_kept(client, db, phone, data_dir):
    sent = 0

    async def body() -> AsyncIterator[bytes]:  # chunked, no Content-Length: the streamed bytes are counted
        nonlocal sent
        head = jpeg()
        for index in range(26 * 4):
            chunk = head if index == 0 else bytes(MIB // 4)
            sent += len(chunk)
            yield chunk

    response = await client.put(
        photo_url(str(uuid.uuid4()), str(uuid.uuid4())),
        content=body(),
        headers={**phone, "Content-Type": "image/jpeg", "Repr-Digest": digest(b"x")},
    )
    assert_problem(response, 413, "photo_too_large")
    assert sent <= 25 * MIB + MIB  # reading stopped at the limit
    await nothing_stored(db, data_dir, b"")


async def test_a_body_announced_above_the_limit_is_refused_before_it_is_read(client, db, phone, data_dir):
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(4):
            read += 1
            yield bytes(MIB)

    response = await client.put(
        photo_url(str(uuid.uuid4()), str(uuid.uuid4())),
        content=body(),
        headers={**phone, "Content-Type": "image/jpeg", "Repr-Digest": digest(b"x"), "Content-Length": str(26 * MIB)},
    )
    assert_problem(response, 413, "photo_too_large")
    assert read <= 1  # at most the transport's first chunk
    await nothing_stored(db, data_dir, b"")


# --- interrupted uploads and the spool -------------------------------------------------------------------------


async def test_a_body_that_fails_midway_leaves_nothing(client, db, phone, data_dir):
    data = jpeg(800, 600)
    photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
    spooling = []

    async def broken() -> AsyncIterator[bytes]:
        yield data[:1000]
        yield bytes(FLUSH)  # enough to be written to the spool file
        spooling.append(len(spooled(data_dir)))
        raise ConnectionResetError("network gone")

    response = await client.put(
        photo_url(inspection_id, photo_id),
        content=broken(),
        headers={**phone, "Content-Type": "image/jpeg", "Repr-Digest": digest(data)},
    )
    assert spooling == [1]
    assert_problem(response, 400, "upload_interrupted")
    await nothing_stored(db, data_dir, data)
    # The phone simply sends again.
    assert (await upload(client, phone, inspection_id, photo_id, data)).status_code == 200


async def test_a_client_that_disconnects_midway_leaves_nothing(settings, phone, db, data_dir):
    async with app_client(settings) as http:
        data = jpeg(800, 600)
        photo_id, inspection_id = str(uuid.uuid4()), str(uuid.uuid4())
        app = http._transport.app  # type: ignore[attr-defined]
        messages = [
            {"type": "http.request", "body": data[:2000], "more_body": True},
            {"type": "http.request", "body": bytes(FLUSH), "more_body": True},
            {"type": "http.disconnect"},
        ]
        sent: list[dict] = []

        async def receive() -> dict:
            return messages.pop(0)

        async def send(message: dict) -> None:
            sent.append(message)

        headers = [
            (k.lower().encode(), v.encode())
            for k, v in {
                **phone,
                "Content-Type": "image/jpeg",
                "Content-Length": str(len(data)),
                "Repr-Digest": digest(data),
            }.items()
        ]
        url = photo_url(inspection_id, photo_id)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "PUT",
            "scheme": "http",
            "path": url,
            "raw_path": url.encode(),
            "query_string": b"",
            "headers": headers,
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 1),
        }
        await app(scope, receive, send)
        assert sent[0]["status"] == 400
        await nothing_stored(db, data_dir, data)


@contextlib.contextmanager
def locked_as_a_living_worker_holds_its_upload(path: Path) -> Iterator[None]:
    with path.open("wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        yield


async def test_leftover_spool_files_are_removed_at_start_but_not_those_being_written(settings, data_dir):
    spool = data_dir / "tmp" / "uploads"
    spool.mkdir(parents=True, exist_ok=True)
    leftover = spool / "killed-server.part"
    leftover.write_bytes(b"half a photo")
    in_progress = spool / "other-worker.part"
    with locked_as_a_living_worker_holds_its_upload(in_progress):
        async with app_client(settings) as http:
            assert (await http.get("/health/live")).status_code == 200
            assert not leftover.exists() and in_progress.exists()
    in_progress.unlink()


# --- photos whose inspection never comes ------------------------------------------------------------------------


async def test_a_photo_whose_inspection_never_comes_is_removed_after_the_period(
    client, db, world, database_url, data_dir
):
    kept, shared, lonely = jpeg(color=(1, 1, 1)), jpeg(color=(2, 2, 2)), jpeg(color=(3, 3, 3))
    # `shared` is both waiting (under an id whose inspection never comes) and evidence of an inspection.
    inspection, (attached_id,) = await inspection_with_photos(client, world, shared)
    await upload(client, world.h["insp_a1"], inspection["id"], attached_id, shared)
    waiting = {
        name: (str(uuid.uuid4()), data) for name, data in {"recent": kept, "shared": shared, "lonely": lonely}.items()
    }
    for photo_id, data in waiting.values():
        assert (await upload(client, world.h["insp_a1"], str(uuid.uuid4()), photo_id, data)).json()["attached"] is False
    # Two of them were received 25 hours ago (the period is 24 hours); their blobs' upload grace is over too.
    old = [uuid.UUID(waiting[name][0]) for name in ("shared", "lonely")]
    async with db.transaction():
        await db.execute("SET LOCAL session_replication_role = replica")  # past the write-once trigger
        await db.execute("UPDATE photo SET received_at = now() - interval '25 hours' WHERE id = ANY ($1)", old)
    await db.execute("UPDATE photo_blob_release SET ready_at = now() - interval '1 minute'")

    async with app_client(make_settings(database_url, data_dir, photo_pending_hours=24)):

        async def removed() -> bool:
            return (
                not blob_path(data_dir, "original", sha256(lonely)).exists()
                and await db.fetchval("SELECT count(*) FROM photo_blob_release") == 0
            )

        await wait_until(removed)
    remaining = {row["id"] for row in await db.fetch("SELECT id FROM photo")}
    assert remaining == {uuid.UUID(attached_id), uuid.UUID(waiting["recent"][0])}
    assert blob_path(data_dir, "original", sha256(shared)).exists()  # still evidence of the inspection
    assert blob_path(data_dir, "original", sha256(kept)).exists()
    expired = await photo_events(db, "photo.expired")
    assert sorted(e["object_id"] for e in expired) == sorted(str(i) for i in old)
    assert (
        await client.get(photo_url(inspection["id"], attached_id, "/display"), headers=world.h["insp_a1"])
    ).status_code == 200
