"""Photo benchmark: processing throughput against a naive pipeline, and the server's memory under uploads.

    .venv/bin/python tests/bench/bench_photos.py [--photos 30] [--uploads 20] [--upload-mib 20] [--json out.json]

1. processing: 12-megapixel phone JPEGs (4032x3024, EXIF orientation 6, made with Pillow at the start; nothing
   is downloaded) go through backend.photos.images.inspect_and_derive (checks, draft-mode decode, display and
   thumbnail, EXIF facts), one after another in this process. Baseline in the same run: the naive pipeline
   (full decode, orientation, thumbnail to 2048 and to 320, the same JPEG saves and EXIF reads). Reported as
   photos/s for both and their ratio. Target: at least 3x the naive rate.
2. memory: `toezicht serve` (embedded PostgreSQL in a temporary data directory, production settings) receives
   --uploads concurrent uploads of a --upload-mib MiB photo (a 12 MP JPEG padded after its end marker) to
   inspections that have not arrived yet. The server process's VmRSS is read from /proc while idle, polled
   during the uploads, and its VmHWM after them. Target: the peak stays below idle + 300 MB.
3. bad networks: a phone sends a --upload-mib MiB photo to that server and loses the connection after 50% and
   after 90% of it (the socket closes mid-body). Whole: it sends the photo again from the start. Resumable: it
   created an upload (PUT with Upload-Complete: ?0), asks the server's offset (HEAD) and sends only the rest
   (PATCH). Reported: the bytes the phone sent (request lines, headers and bodies) both ways, and their ratio.
   Target: fewer bytes than re-sending whole (ideally the photo once plus headers), and the stored photo's
   SHA-256 is the photo's.
Figures are printed; --check turns a missed target into exit code 1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH_DIR))

import bench_cli  # noqa: E402
import bench_http  # noqa: E402
import httpx  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402

from backend.core.config import Settings  # noqa: E402
from backend.core.tokens import load_or_create_dev_key, mint_dev_token  # noqa: E402
from backend.photos import images  # noqa: E402

TARGET_RATIO = 3.0
TARGET_MEMORY_MB = 300.0
WIDTH, HEIGHT = 4032, 3024


# --- the photos ---------------------------------------------------------------------------------------------


def phone_jpeg(seed: int) -> bytes:
    """A 12 MP photo-like JPEG (smooth light with texture, not pure noise) with EXIF orientation 6."""
    base = Image.linear_gradient("L").rotate(seed * 37).resize((WIDTH, HEIGHT))
    texture = Image.effect_noise((WIDTH // 2, HEIGHT // 2), 50 + seed).resize((WIDTH, HEIGHT))
    texture = texture.filter(ImageFilter.GaussianBlur(1))
    im = Image.merge("RGB", (base, texture, Image.blend(base, texture, 0.5)))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2025:03:01 21:30:00"
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


def naive(source: Path, display: Path, thumbnail: Path) -> None:
    """The obvious pipeline: decode everything, then scale down."""
    with Image.open(source) as im:
        im.load()
        exif = im.getexif()
        exif.get_ifd(0x8769).get(0x9003)
        exif.get_ifd(0x8825)
        upright = ImageOps.exif_transpose(im)
        for path, size, quality in ((display, 2048, 85), (thumbnail, 320, 80)):
            copy = upright.copy()
            copy.thumbnail((size, size))
            copy.info = {}
            copy.save(path, "JPEG", quality=quality)
            hashlib.sha256(path.read_bytes()).hexdigest()


def ours(source: Path, display: Path, thumbnail: Path) -> None:
    images.inspect_and_derive(
        source, "image/jpeg", max_pixels=50_000_000, display_path=display, thumbnail_path=thumbnail
    )


def processing(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-photos-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        sources = []
        for seed in range(3):
            path = folder / f"photo-{seed}.jpg"
            path.write_bytes(phone_jpeg(seed))
            sources.append(path)
        made_s = time.perf_counter() - started
        sizes = [path.stat().st_size for path in sources]
        display, thumbnail = folder / "display.jpg", folder / "thumbnail.jpg"
        rates = {}
        for name, pipeline in (("naive", naive), ("ours", ours)):
            pipeline(sources[0], display, thumbnail)  # warm up
            started = time.perf_counter()
            for index in range(count):
                pipeline(sources[index % len(sources)], display, thumbnail)
            rates[name] = count / (time.perf_counter() - started)
        return {
            "photos": count,
            "photo_bytes_median": int(statistics.median(sizes)),
            "generated_s": round(made_s, 1),
            "naive_per_s": round(rates["naive"], 2),
            "ours_per_s": round(rates["ours"], 2),
            "ratio": round(rates["ours"] / rates["naive"], 2),
        }


# --- memory of the server under concurrent uploads -------------------------------------------------------------


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def padded_photo(mib: int) -> bytes:
    photo = phone_jpeg(7)
    return photo + bytes(mib * 1024 * 1024 - len(photo))  # trailing bytes after the end marker are ignored


async def upload_all(base: str, token: str, body: bytes, count: int, pid: int) -> dict[str, Any]:
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg", "Repr-Digest": digest}
    peak_rss = 0.0
    done = asyncio.Event()

    async def poll() -> None:
        nonlocal peak_rss
        while not done.is_set():
            peak_rss = max(peak_rss, proc_status(pid)["VmRSS"])
            await asyncio.sleep(0.02)

    async def one(client: httpx.AsyncClient) -> int:
        url = f"{base}/api/v1/inspections/{uuid.uuid4()}/photos/{uuid.uuid4()}"
        return (await client.put(url, content=body, headers=headers)).status_code

    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        poller = asyncio.create_task(poll())
        started = time.perf_counter()
        statuses = await asyncio.gather(*(one(client) for _ in range(count)))
        elapsed = time.perf_counter() - started
        done.set()
        await poller
    return {"statuses": sorted(set(statuses)), "elapsed_s": round(elapsed, 2), "peak_rss_polled_mb": round(peak_rss, 1)}


@contextlib.contextmanager
def phone_and_server() -> Iterator[tuple[str, int, str]]:
    """`toezicht serve` in a temporary data directory, and a phone's token it accepts: (base URL, pid, token)."""
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-photos-serve-") as tmp:
        data_dir = Path(tmp)
        with bench_http.serve_ours(bench_http.free_port(), data_dir, data_dir / "server.log") as (base, pid):
            defaults = Settings()
            now = int(time.time())
            token = mint_dev_token(
                load_or_create_dev_key(data_dir / "dev-signing-key.pem"),
                {
                    "iss": defaults.jwt_issuer,
                    "aud": defaults.jwt_audience,
                    "sub": "bench-phone",
                    "iat": now,
                    "exp": now + 3600,
                    "roles": ["inspector"],
                    "regimes": ["alcohol"],
                    "teams": ["team-bench"],
                },
            )
            assert bench_http.http_get(base + "/api/v1/me", token)[0] == 200
            yield base, pid, token


def memory(uploads: int, mib: int) -> dict[str, Any]:
    body = padded_photo(mib)
    with phone_and_server() as (base, pid, token):
        idle = proc_status(pid)
        figures = asyncio.run(upload_all(base, token, body, uploads, pid))
        after = proc_status(pid)
    peak = max(after["VmHWM"], figures["peak_rss_polled_mb"])
    return {
        "uploads": uploads,
        "upload_mib": mib,
        **figures,
        "idle_rss_mb": round(idle["VmRSS"], 1),
        "idle_hwm_mb": round(idle["VmHWM"], 1),
        "hwm_after_mb": round(after["VmHWM"], 1),
        "peak_above_idle_mb": round(peak - idle["VmRSS"], 1),
    }


# --- bytes a phone sends on a bad network --------------------------------------------------------------------


def request_head(method: str, path: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def cut_request(base: str, method: str, path: str, headers: dict[str, str], body: bytes, share: float) -> int:
    """Send the request with only `share` of its body, then lose the connection; bytes sent."""
    host, port = base.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    head = request_head(method, path, headers, len(body))
    sent = head + body[: int(len(body) * share)]
    writer.write(sent)
    await writer.drain()
    writer.transport.abort()  # the network is gone: no FIN handshake, no answer read
    return len(sent)


async def whole_request(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[httpx.Response, int]:
    response = await client.request(method, path, content=body, headers=headers)
    return response, len(request_head(method, path, headers, len(body))) + len(body)


async def bad_network(base: str, token: str, body: bytes, share: float) -> dict[str, Any]:
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    auth = {"Authorization": f"Bearer {token}"}
    photo = {**auth, "Content-Type": "image/jpeg", "Repr-Digest": digest}
    async with httpx.AsyncClient(base_url=base, timeout=300) as client:
        # Whole: the cut attempt, then everything again.
        path = f"/api/v1/inspections/{uuid.uuid4()}/photos/{uuid.uuid4()}"
        whole = await cut_request(base, "PUT", path, photo, body, share)
        response, sent = await whole_request(client, "PUT", path, photo, body)
        assert response.status_code == 200, response.text
        whole += sent
        # Resumable: create, the cut append, the offset, the rest.
        path = f"/api/v1/inspections/{uuid.uuid4()}/photos/{uuid.uuid4()}"
        create = {**photo, "Upload-Complete": "?0", "Upload-Length": str(len(body))}
        response, resumable = await whole_request(client, "PUT", path, create, b"")
        assert response.status_code == 201, response.text
        location = response.headers["location"].removeprefix(base)
        append = {**auth, "Content-Type": "application/partial-upload", "Upload-Offset": "0", "Upload-Complete": "?1"}
        resumable += await cut_request(base, "PATCH", location, append, body, share)
        offset = 0
        for _ in range(500):  # the server counts what arrived once it notices the lost connection
            response, sent = await whole_request(client, "HEAD", location, auth, b"")
            resumable += sent
            offset = int(response.headers["upload-offset"])
            if offset:
                break
            await asyncio.sleep(0.01)
        rest = {**append, "Upload-Offset": str(offset)}
        response, sent = await whole_request(client, "PATCH", location, rest, body[offset:])
        assert response.status_code == 200, response.text
        assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
        resumable += sent
    return {
        "cut_at": share,
        "whole_bytes": whole,
        "resumable_bytes": resumable,
        "server_offset": offset,
        "ratio": round(resumable / whole, 3),
    }


def bad_networks(mib: int) -> list[dict[str, Any]]:
    body = padded_photo(mib)
    with phone_and_server() as (base, _pid, token):
        return [asyncio.run(bad_network(base, token, body, share)) for share in (0.5, 0.9)]


def main(argv: list[str] | None = None) -> int:
    parser = bench_cli.arguments(__doc__)
    parser.add_argument("--photos", type=int, default=30, help="photos per pipeline in the processing run")
    parser.add_argument("--uploads", type=int, default=20, help="concurrent uploads in the memory run")
    parser.add_argument("--upload-mib", type=int, default=20, help="size of each upload")
    args = parser.parse_args(argv)

    results = {"processing": processing(args.photos)}
    p = results["processing"]
    print(
        f"processing 12 MP JPEGs ({p['photo_bytes_median'] / 1e6:.1f} MB): ours {p['ours_per_s']} photos/s, "
        f"naive {p['naive_per_s']} photos/s, ratio {p['ratio']}x (target >= {TARGET_RATIO}x)",
        flush=True,
    )
    results["memory"] = memory(args.uploads, args.upload_mib)
    m = results["memory"]
    print(
        f"memory: {m['uploads']} concurrent {m['upload_mib']} MiB uploads in {m['elapsed_s']} s (statuses "
        f"{m['statuses']}): server idle RSS {m['idle_rss_mb']} MB, peak {m['peak_above_idle_mb']} MB above idle "
        f"(VmHWM after {m['hwm_after_mb']} MB; target < {TARGET_MEMORY_MB:.0f} MB above idle)"
    )
    results["bad_network"] = bad_networks(args.upload_mib)
    for run in results["bad_network"]:
        print(
            f"connection lost at {run['cut_at']:.0%} of a {args.upload_mib} MiB photo: whole again "
            f"{run['whole_bytes'] / 1e6:.2f} MB sent, resumable {run['resumable_bytes'] / 1e6:.2f} MB sent "
            f"(server kept {run['server_offset'] / 1e6:.2f} MB), ratio {run['ratio']}"
        )
    missed = []
    if any(run["resumable_bytes"] >= run["whole_bytes"] for run in results["bad_network"]):
        missed.append("resumable uploads sent no fewer bytes than whole ones")
    if p["ratio"] < TARGET_RATIO:
        missed.append(f"processing ratio {p['ratio']} below {TARGET_RATIO}")
    if m["peak_above_idle_mb"] >= TARGET_MEMORY_MB or m["statuses"] != [200]:
        missed.append("memory above target or uploads failed")
    for line in missed:
        print(f"target missed: {line}")
    return bench_cli.finish(args, results, ok=not missed)


if __name__ == "__main__":
    sys.exit(main())
