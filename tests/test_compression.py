"""Response compression: text of 1 KB and more in the coding the client prefers, never images."""

from __future__ import annotations

import gzip
import io

import brotli
import pytest
from PIL import Image

from backend.core.docs import SWAGGER_UI_DIR, SWAGGER_UI_PATH
from tests.conftest import app_client, make_settings
from tests.inspection_helpers import World, build_world
from tests.photo_helpers import PHOTO_USERS, inspection_with_photos, photo_url, upload
from tests.registry_helpers import create_object

ACCEPT_BOTH = {"Accept-Encoding": "gzip, br"}


async def _objects_page(client, headers: dict[str, str], accept_encoding: str):
    """A page of ten establishments (about 4 KB of JSON), its body as it travelled (no decoding)."""
    async with client.stream(
        "GET", "/api/v1/objects", params={"limit": 10}, headers={**headers, "Accept-Encoding": accept_encoding}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200, raw
    return response, raw


@pytest.fixture
async def coordinator(client, auth) -> dict[str, str]:
    headers = auth("coord-compress", roles=["coordinator"], regimes=["alcohol", "nix18"])
    for number in range(10):
        await create_object(client, headers, name=f"Café {number}", house_number=number + 1)
    return headers


async def test_a_large_json_response_is_gzip_when_the_client_accepts_gzip(client, coordinator):
    plain, identity = await _objects_page(client, coordinator, "identity")
    assert "content-encoding" not in plain.headers and len(identity) >= 1024

    response, raw = await _objects_page(client, coordinator, "gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["vary"]
    assert int(response.headers["content-length"]) == len(raw) < len(identity) / 3
    assert gzip.decompress(raw) == identity


async def test_brotli_when_the_client_prefers_it_and_nothing_it_refuses(client, coordinator):
    _, identity = await _objects_page(client, coordinator, "identity")
    response, raw = await _objects_page(client, coordinator, "gzip, br")
    assert response.headers["content-encoding"] == "br" and brotli.decompress(raw) == identity
    response, raw = await _objects_page(client, coordinator, "br;q=0.5, gzip")
    assert response.headers["content-encoding"] == "gzip"
    for refused in ("gzip;q=0, br;q=0", "*;q=0", "deflate", ""):
        response, raw = await _objects_page(client, coordinator, refused)
        assert "content-encoding" not in response.headers and raw == identity, refused


async def test_a_response_under_the_minimum_size_is_sent_as_it_is(client, auth):
    response = await client.get("/api/v1/me", headers={**auth("small"), **ACCEPT_BOTH})
    assert response.status_code == 200 and len(response.content) < 1024
    assert "content-encoding" not in response.headers


async def test_a_photo_thumbnail_is_never_compressed(client, auth):
    world: World = await build_world(client, auth, PHOTO_USERS)
    noisy = io.BytesIO()
    Image.effect_noise((640, 480), 80).convert("RGB").save(noisy, "JPEG", quality=90)
    inspection, (photo_id,) = await inspection_with_photos(client, world, noisy.getvalue())
    assert (await upload(client, world.h["insp_a1"], inspection["id"], photo_id, noisy.getvalue())).status_code == 200

    url = photo_url(inspection["id"], photo_id, "/thumbnail")
    async with client.stream("GET", url, headers={**world.h["insp_a1"], **ACCEPT_BOTH}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert len(raw) > 1024 and "content-encoding" not in response.headers
    assert raw.startswith(b"\xff\xd8") and int(response.headers["content-length"]) == len(raw)


async def test_a_streamed_text_file_is_compressed_chunk_by_chunk(client):
    async with client.stream(
        "GET", f"{SWAGGER_UI_PATH}/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip" and "content-length" not in response.headers
    assert gzip.decompress(raw) == (SWAGGER_UI_DIR / "swagger-ui-bundle.js").read_bytes()


async def test_compression_can_be_left_to_a_reverse_proxy(database_url, data_dir):
    async with app_client(make_settings(database_url, data_dir, compression=False)) as http:
        response = await http.get("/schema/openapi.json", headers=ACCEPT_BOTH)
    assert response.status_code == 200 and len(response.content) > 1024
    assert "content-encoding" not in response.headers
