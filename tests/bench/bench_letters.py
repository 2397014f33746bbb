"""Letter rendering benchmark: letters rendered per second against a plain one-page PDF from the same library.

    .venv/bin/python tests/bench/bench_letters.py [--rounds 5] [--letters 100] [--requests 200] [--check]

Each round renders `--letters` letters through the letters service (a besluit last onder dwangsom: two pages,
every field filled from data, the Atw terms computed, the PDF/A-2b written and hashed), then as many plain
one-page PDFs (one paragraph, the same compiler and PDF/A setting) with Typst directly; the two alternate so a
drift in a shared machine's speed touches both alike, and the median round counts. No database is needed: the
template version comes straight from schemas/letters.
Target: at least 20 letters per second.

Then the preview a reader downloads: on an embedded PostgreSQL in a temporary directory, the demo data and the
demo case up to its drafted voornemen (the services `toezicht demo` uses), and the app in process (ASGI, no
sockets). `--requests` times GET .../steps/{id}/document of that draft (rendered on every read, audited),
alternating with a plain one-page PDF rendered by Typst; reported: the p99 of each and their ratio.

Exit codes: 0 measured (with --check: and the target met), 1 the target missed (--check).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

# Run as a script: the project root makes `backend` and `tests` importable (ruff allows imports after this).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import typst

from backend import demo, demo_case
from backend.checklists import templates as checklist_templates
from backend.checklists.service import publish_directory as publish_checklists
from backend.core import db, embedded
from backend.core.config import load_settings
from backend.letters import service, templates
from backend.letters.models import Terms
from tests.bench.bench_enforcement import ISSUER, Api
from tests.bench.bench_registry import prepare_database
from tests.letter_helpers import SENT_ON, data_for, shipped_version

ROOT = Path(__file__).resolve().parents[2]
KIND = "besluit_last_onder_dwangsom"
TARGET_PER_S = 20.0
PLAIN = b"""#set page(paper: "a4")
#set text(lang: "nl", font: "Libertinus Serif", size: 11pt)
#sys.inputs.text
"""


async def letters_per_second(letters: service.Letters, count: int) -> float:
    version = shipped_version(KIND)
    started = time.perf_counter()
    for n in range(count):
        # A new sending date each time: no two letters are the same document.
        data = data_for(KIND, terms=Terms(sent_on=SENT_ON + timedelta(days=n)))
        await service.render_with(letters, version, data)
    return count / (time.perf_counter() - started)


def plain_compiler(directory: Path) -> typst.Compiler:
    source = directory / "plain.typ"
    source.write_bytes(PLAIN)
    return typst.Compiler(str(source), root=str(directory), ignore_system_fonts=True)


def plain_pdf(compiler: typst.Compiler, n: int) -> bytes:
    return compiler.compile(
        format="pdf",
        pdf_standards="a-2b",
        timestamp=0,
        sys_inputs={"text": f"Brief {n}: een alinea platte tekst op één pagina."},
    )


def plain_per_second(directory: Path, count: int) -> float:
    compiler = plain_compiler(directory)
    started = time.perf_counter()
    for n in range(count):
        plain_pdf(compiler, n)
    return count / (time.perf_counter() - started)


async def drafted_demo_voornemen(url: str, api: Api) -> str:
    """The demo data, the shipped templates and the demo case up to its drafted voornemen; its document's path."""
    conn = await db.connect(url)  # with the JSON codecs the app's queries need
    try:
        await demo.load_demo_data(conn, ISSUER)
        await publish_checklists(conn, checklist_templates.DEFAULT_DIRECTORY)
        await service.publish_directory(conn, templates.DEFAULT_DIRECTORY)
        async with conn.transaction():
            case = await demo_case.drafted_voornemen(conn, api.settings)
    finally:
        await conn.close()
    return f"/api/v1/enforcement/cases/{case.id}/steps/{case.steps[-1].id}/document"


def p99(seconds: list[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def document_against_plain(url: str, data_dir: Path, requests: int) -> tuple[list[float], list[float]]:
    """Seconds per GET of the draft's document and per plain one-page PDF, alternating, after a warm-up."""
    api = Api(url, data_dir)
    path = await drafted_demo_voornemen(url, api)
    officer = api.headers("jur-frank", ["enforcement_officer"])
    compiler = plain_compiler(data_dir)
    reads: list[float] = []
    plain: list[float] = []
    async with api.app.lifespan():
        for n in range(requests + 5):
            started = time.perf_counter()
            response = await api.http.get(path, headers=officer)
            read = time.perf_counter() - started
            if response.status_code != 200 or not response.content.startswith(b"%PDF"):
                raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
            started = time.perf_counter()
            plain_pdf(compiler, n)
            rendered = time.perf_counter() - started
            if n >= 5:  # the first reads warm the pool, fonts and layout
                reads.append(read)
                plain.append(rendered)
    await api.http.aclose()
    return reads, plain


def measure_document(requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-letters-db-") as tmp:
        data_dir = Path(tmp)
        server, admin_url = embedded.start(data_dir / "pgdata", cleanup_mode="delete", database="postgres")
        try:
            url = asyncio.run(prepare_database(admin_url, server, "bench_letters", ROOT / "migrations"))
            reads, plain = asyncio.run(document_against_plain(url, data_dir, requests))
        finally:
            server.cleanup()  # type: ignore[attr-defined]
    print(
        f"GET .../document of a drafted voornemen boete: p99 {p99(reads) * 1000:.1f} ms, "
        f"median {statistics.median(reads) * 1000:.1f} ms ({len(reads)} requests)"
    )
    print(
        f"plain one-page PDF/A-2b, same library: p99 {p99(plain) * 1000:.1f} ms, "
        f"median {statistics.median(plain) * 1000:.1f} ms"
    )
    print(f"ratio document GET / plain render (p99): {p99(reads) / p99(plain):.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--letters", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="reads of the draft's document")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="toezicht-bench-letters-") as tmp:
        letters = service.letters_for(load_settings({}, data_dir=tmp))
        asyncio.run(letters_per_second(letters, 3))  # warm up: fonts and layout parsed once per process
        ours, plain = [], []
        for _ in range(args.rounds):
            ours.append(asyncio.run(letters_per_second(letters, args.letters)))
            plain.append(plain_per_second(Path(tmp), args.letters))
    letter_rate, plain_rate = statistics.median(ours), statistics.median(plain)
    print(f"letters ({KIND}, 2 pages, PDF/A-2b): {letter_rate:.0f}/s  (rounds: {', '.join(f'{r:.0f}' for r in ours)})")
    print(
        f"plain one-page PDF/A-2b, same library: {plain_rate:.0f}/s  (rounds: {', '.join(f'{r:.0f}' for r in plain)})"
    )
    print(
        f"ratio letter/plain throughput: {letter_rate / plain_rate:.2f}"
        f"  (target: at least {TARGET_PER_S:.0f} letters/s)"
    )
    measure_document(args.requests)
    return 1 if args.check and letter_rate < TARGET_PER_S else 0


if __name__ == "__main__":
    raise SystemExit(main())
