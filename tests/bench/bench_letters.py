"""Letter rendering benchmark: letters rendered per second against a plain one-page PDF from the same library.

    .venv/bin/python tests/bench/bench_letters.py [--rounds 5] [--letters 100] [--check]

Each round renders `--letters` letters through the letters service (a besluit last onder dwangsom: two pages,
every field filled from data, the Atw terms computed, the PDF/A-2b written and hashed), then as many plain
one-page PDFs (one paragraph, the same compiler and PDF/A setting) with Typst directly; the two alternate so a
drift in a shared machine's speed touches both alike, and the median round counts. No database is needed: the
template version comes straight from schemas/letters.
Target: at least 20 letters per second.

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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import typst  # noqa: E402

from backend.core.config import load_settings  # noqa: E402
from backend.letters import service  # noqa: E402
from backend.letters.models import Terms  # noqa: E402
from tests.letter_helpers import SENT_ON, data_for, shipped_version  # noqa: E402

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


def plain_per_second(directory: Path, count: int) -> float:
    source = directory / "plain.typ"
    source.write_bytes(PLAIN)
    compiler = typst.Compiler(str(source), root=str(directory), ignore_system_fonts=True)
    started = time.perf_counter()
    for n in range(count):
        compiler.compile(format="pdf", pdf_standards="a-2b", timestamp=0,
                         sys_inputs={"text": f"Brief {n}: een alinea platte tekst op één pagina."})
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--letters", type=int, default=100)
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
    print(f"letters ({KIND}, 2 pages, PDF/A-2b): {letter_rate:.0f}/s  "
          f"(rounds: {', '.join(f'{r:.0f}' for r in ours)})")
    print(f"plain one-page PDF/A-2b, same library: {plain_rate:.0f}/s  "
          f"(rounds: {', '.join(f'{r:.0f}' for r in plain)})")
    print(f"ratio letter/plain throughput: {letter_rate / plain_rate:.2f}  (target: at least {TARGET_PER_S:.0f} letters/s)")
    return 1 if args.check and letter_rate < TARGET_PER_S else 0


if __name__ == "__main__":
    raise SystemExit(main())
