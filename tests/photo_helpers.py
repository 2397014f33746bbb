"""Photos for the photo tests, made in memory with Pillow, and the steps those tests share."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import struct
import uuid
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from tests.inspection_helpers import URL, World

PHOTO_USERS = ("admin", "coord_a", "insp_a1", "insp_a2", "insp_b", "enforcer", "enforcer_coffee", "auditor")


def jpeg(
    width: int = 64,
    height: int = 48,
    *,
    orientation: int | None = None,
    gps: tuple[float, float] | None = None,
    captured: str | None = None,
    offset: str | None = None,
    comment: bytes | None = None,
    color: tuple[int, int, int] | None = None,
    quality: int = 90,
) -> bytes:
    """A JPEG whose left half is `color` (by default a random red, so that no two tests share a photo in
    the session's evidence store) and right half white (so orientation is visible), with EXIF."""
    color = color or (random.randint(150, 255), random.randint(0, 60), random.randint(0, 60))
    im = Image.new("RGB", (width, height), (255, 255, 255))
    im.paste(color, (0, 0, width // 2, height))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if captured:
        details = exif.get_ifd(0x8769)
        details[0x9003] = captured
        if offset:
            details[0x9011] = offset
    if gps:
        exif[0x8825] = {
            1: "N" if gps[0] >= 0 else "S",
            2: _dms(abs(gps[0])),
            3: "E" if gps[1] >= 0 else "W",
            4: _dms(abs(gps[1])),
        }
    extra: dict[str, Any] = {"comment": comment} if comment else {}
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=quality, exif=exif, **extra)
    return buffer.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def encoded(fmt: str, size: tuple[int, int] = (40, 30), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    colour = tuple(random.randint(0, 255) for _ in mode)  # a random colour: every call another photo
    Image.new(mode, size, colour if len(colour) > 1 else colour[0]).save(buffer, fmt)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A few-KB PNG whose header claims width x height pixels (a decompression bomb's first bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest(data: bytes) -> str:
    """The RFC 9530 field value for these bytes."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(data).digest()).decode()}:"


def entry(photo_id: str, data: bytes, question: str | None = "AW-06") -> dict[str, Any]:
    return {"id": photo_id, "sha256": sha256(data), "size": len(data), "checklist": 0, "question": question}


def listed_jpeg(photo_id: str) -> bytes:
    """The photo a manifest lists under `photo_id`: its colour comes from the id, so a body can list the photo
    before it is made and no two photos are alike."""
    red, green, blue = uuid.UUID(photo_id).bytes[:3]
    return jpeg(color=(red, green, blue))


async def photos_sent(client, world: World, inspection: dict[str, Any], who: str = "insp_a1") -> dict[str, Any]:
    """Each photo the inspection still expects (made by listed_jpeg) uploaded by the phone of `who`; the
    inspection as it is after them."""
    if not inspection["expected_photos"]:
        return inspection
    for photo_id in inspection["expected_photos"]:
        response = await upload(client, world.h[who], inspection["id"], photo_id, listed_jpeg(photo_id))
        assert response.status_code == 200, response.text
    response = await client.get(f"{URL}/{inspection['id']}", headers=world.h[who])
    assert response.status_code == 200, response.text
    return response.json()


def photo_url(inspection_id: str, photo_id: str, tail: str = "") -> str:
    return f"{URL}/{inspection_id}/photos/{photo_id}{tail}"


async def upload(
    client,
    headers: dict[str, str],
    inspection_id: str,
    photo_id: str,
    data: Any,
    *,
    content_type: str = "image/jpeg",
    with_digest: bool = True,
    extra: dict[str, str] | None = None,
):
    sent = {**headers, "Content-Type": content_type, **(extra or {})}
    if with_digest and isinstance(data, bytes):
        sent["Repr-Digest"] = digest(data)
    return await client.put(photo_url(inspection_id, photo_id), content=data, headers=sent)


async def inspection_with_photos(client, world: World, *photos: bytes, who: str = "insp_a1") -> tuple[dict, list[str]]:
    """An inspection (the café without a manager and age notice) whose manifest lists these photos."""
    ids = [str(uuid.uuid4()) for _ in photos]
    manifest = [
        entry(photo_id, data, "AW-06" if index == 0 else None)
        for index, (photo_id, data) in enumerate(zip(ids, photos, strict=True))
    ]
    inspection_id = str(uuid.uuid4())
    response = await client.put(
        f"{URL}/{inspection_id}", json=world.violating_body(who, photos=manifest), headers=world.h[who]
    )
    assert response.status_code == 200, response.text
    return response.json(), ids


def blob_path(data_dir: Path, kind: str, sha: str) -> Path:
    return data_dir / "evidence" / kind / sha[:2] / sha[2:4] / sha


def spooled(data_dir: Path) -> list[Path]:
    """Files in the upload spool (there must be none between requests)."""
    spool = data_dir / "tmp" / "uploads"
    return sorted(spool.iterdir()) if spool.is_dir() else []


async def photo_rows(db) -> int:
    return await db.fetchval("SELECT count(*) FROM photo")


async def photo_events(db, action: str) -> list[dict]:
    rows = await db.fetch(
        "SELECT actor_id, object_id, reason, before, after, occurred_at FROM audit_event "
        "WHERE action = $1 ORDER BY seq",
        action,
    )
    return [dict(row) for row in rows]


def exif_time(moment: datetime) -> str:
    return moment.strftime("%Y:%m:%d %H:%M:%S")


def swapped_primaries_profile() -> bytes:
    """An RGB display profile (ICC v2, matrix and gamma 2.2 curves) whose red and blue primaries are sRGB's blue
    and red: a pixel that is red in these numbers is blue in sRGB. Built here byte by byte (ImageCms makes
    only sRGB, LAB and XYZ profiles)."""

    def s15(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + s15(x) + s15(y) + s15(z)

    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)  # gamma 2.2 as u8Fixed8
    text = b"swapped primaries\x00"
    desc = (
        b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4) + bytes(4) + bytes(2) + bytes(1) + bytes(67)
    )
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)  # sRGB, D50
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(*blue)),
        (b"gXYZ", xyz(*green)),
        (b"bXYZ", xyz(*red)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text" + bytes(4) + b"test\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, content in tags:
        padded = content + bytes(-len(content) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(content))
        data += padded
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + struct.pack(">I", 0)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + bytes(48)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data
