"""Resumable photo uploads against a real `toezicht serve` on the test database, driven by a client written
from the draft's text (tests/resumable_client.py): the protocol and its interop rules, and an upload that
survives a kill -9 of the server in the middle of an append."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from PIL import Image

from backend.core import db as core_db
from backend.core.config import PROJECT_ROOT
from backend.photos import resumable
from backend.photos import service as photos
from tests.conftest import AUDIENCE, ISSUER, make_settings, wait_until
from tests.inspection_helpers import World, build_world
from tests.photo_helpers import PHOTO_USERS, digest, inspection_with_photos, photo_url, sha256
from tests.resumable_client import InteropError, ResumableClient, sf_integer

TOEZICHT = PROJECT_ROOT / ".venv" / "bin" / "toezicht"
SENT_BEFORE_KILL = photos.FLUSH_BYTES + 200_000


@pytest.fixture
async def world(client, auth) -> World:
    return await build_world(client, auth, PHOTO_USERS)


@pytest.fixture
def server_dir(tmp_path: Path, data_dir: Path) -> Path:
    """The served app's data directory, with the tests' signing key so that their tokens are accepted."""
    shutil.copy(data_dir / "dev-signing-key.pem", tmp_path / "dev-signing-key.pem")
    return tmp_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(database_url: str, data_dir: Path, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`toezicht serve` on the test database; yields its base URL and process (killed at the end)."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOEZICHT_") and k != "DATABASE_URL"}
    env.update(
        DATABASE_URL=database_url,
        TOEZICHT_DATA_DIR=str(data_dir),
        TOEZICHT_JWT_ISSUER=ISSUER,
        TOEZICHT_JWT_AUDIENCE=AUDIENCE,
        TOEZICHT_MIGRATE_ON_START="false",
        TOEZICHT_LOG_LEVEL="warning",
        TOEZICHT_DB_POOL_MIN="1",
    )
    process = subprocess.Popen(
        [str(TOEZICHT), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)


async def ready(base: str, process: subprocess.Popen) -> None:
    async def answers() -> bool:
        assert process.poll() is None, "the server exited"
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(f"{base}/health/ready")).status_code == 200
        except httpx.TransportError:
            return False

    await wait_until(answers, timeout_s=60)


def photo(size_px: tuple[int, int] = (500, 400)) -> bytes:
    buffer = BytesIO()
    Image.frombytes("RGB", size_px, os.urandom(size_px[0] * size_px[1] * 3)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


async def test_the_draft_protocol_against_the_served_app(client, world, database_url, server_dir, db):
    data, other = photo(), photo()
    inspection, (photo_id, other_id) = await inspection_with_photos(client, world, data, other)
    with served(database_url, server_dir) as (base, process):
        await ready(base, process)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            phone = ResumableClient(http, world.h["insp_a1"])
            limits = await phone.create(
                photo_url(inspection["id"], photo_id),
                "PUT",
                len(data),
                {"Content-Type": "image/jpeg", "Repr-Digest": digest(data)},
            )
            assert limits.values["max-size"] >= len(data) and limits.values["max-age"] > 0
            state = await phone.offset()
            assert (state.offset, state.complete, state.length) == (0, False, len(data))

            third = len(data) // 3
            assert (await phone.append(0, data[:third], complete=False)).status_code == 204
            # A client that lost track sends a wrong offset: 409 and the server's offset, which it resumes from.
            wrong = await phone.append(third + 10, data[third + 10 : 2 * third], complete=False)
            assert wrong.status_code == 409 and sf_integer(wrong.headers["upload-offset"]) == third
            # A field of the wrong type is ignored (draft: "other values MUST cause the field to be ignored"),
            # so this append lacks Upload-Offset: refused, nothing appended.
            malformed = await http.patch(
                phone.location,
                content=b"x",
                headers={
                    **phone.headers,
                    "Content-Type": "application/partial-upload",
                    "Upload-Offset": "1.5",
                    "Upload-Complete": "?0",
                },
            )
            assert 400 <= malformed.status_code < 500
            assert (await phone.offset()).offset == third

            done = await phone.upload_from(data, chunk=third)
            assert done.status_code == 200, done.text
            assert done.json()["sha256"] == sha256(data)
            finished = await phone.offset()
            assert finished.complete and finished.offset == len(data)
            with pytest.raises(InteropError, match="already complete"):
                await phone.upload_from(data, chunk=third)

            # Cancellation: the upload resource is gone afterwards.
            canceller = ResumableClient(http, world.h["insp_a1"])
            await canceller.create(
                photo_url(inspection["id"], other_id),
                "PUT",
                len(other),
                {"Content-Type": "image/jpeg", "Repr-Digest": digest(other)},
            )
            assert await canceller.cancel() == 204
            assert (await http.head(canceller.location, headers=canceller.headers)).status_code == 404
    assert await db.fetchval("SELECT count(*) FROM photo") == 1


async def test_an_upload_survives_a_kill_of_the_server_in_the_middle_of_an_append(
    client,
    world,
    database_url,
    server_dir,
    db,
):
    data, other = photo((1600, 1200)), photo()
    inspection, (photo_id, other_id) = await inspection_with_photos(client, world, data, other)
    forty = len(data) * 40 // 100
    assert len(data) - forty > SENT_BEFORE_KILL
    port = free_port()
    with served(database_url, server_dir, port) as (base, process):
        await ready(base, process)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            phone = ResumableClient(http, world.h["insp_a1"])
            await phone.create(
                photo_url(inspection["id"], photo_id),
                "PUT",
                len(data),
                {"Content-Type": "image/jpeg", "Repr-Digest": digest(data)},
            )
            assert (await phone.append(0, data[:forty], complete=False)).status_code == 204
            # An upload the phone gives up on: its bytes must go when it expires.
            abandoned = ResumableClient(http, world.h["insp_a1"])
            await abandoned.create(
                photo_url(inspection["id"], other_id),
                "PUT",
                len(other),
                {"Content-Type": "image/jpeg", "Repr-Digest": digest(other)},
            )
            assert (await abandoned.append(0, other[:1000], complete=False)).status_code == 204

            # The rest is being sent when the server is killed: what it wrote of it (more than its flush buffer,
            # so some is on disk) is not acknowledged.
            parts = server_dir / "resumable" / uuid.UUID(phone.location.rsplit("/", 1)[1]).hex
            stall = asyncio.Event()

            async def rest() -> AsyncIterator[bytes]:
                yield data[forty : forty + SENT_BEFORE_KILL]
                await stall.wait()
                yield data[forty + SENT_BEFORE_KILL :]

            sending = asyncio.create_task(phone.append(forty, rest(), complete=True, content_length=len(data) - forty))

            async def in_flight() -> bool:
                return sum(part.stat().st_size for part in parts.iterdir()) >= forty + photos.FLUSH_BYTES

            await wait_until(in_flight, timeout_s=30)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            stall.set()  # the phone goes on sending into the dead connection
            with pytest.raises(httpx.TransportError):
                await sending

    with served(database_url, server_dir, port) as (base, process):  # the upload's URL names the port
        await ready(base, process)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            phone.http = http
            state = await phone.offset()
            assert state.offset == forty and not state.complete  # exactly what was acknowledged
            done = await phone.upload_from(data, chunk=len(data))
            assert done.status_code == 200, done.text
            assert done.json()["sha256"] == sha256(data)

    assert await db.fetchval("SELECT count(*) FROM photo") == 1
    assert await db.fetchval("SELECT sha256 FROM photo WHERE id = $1", uuid.UUID(photo_id)) == sha256(data)
    assert not parts.exists()
    # The abandoned upload expires: nothing of it stays on disk.
    await db.execute("UPDATE photo_upload SET expires_at = now() WHERE completed_at IS NULL")
    settings = make_settings(database_url, server_dir)
    pool = await core_db.create_pool(settings)
    try:
        assert await resumable.purge(photos.evidence_for(pool, settings)) == 1
    finally:
        await pool.close()
    assert list((server_dir / "resumable").iterdir()) == []
    assert list((server_dir / "tmp" / "uploads").iterdir()) == []
