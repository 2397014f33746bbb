"""Rendering a letter to PDF/A-2b with Typst (the `typst` package: the compiler and its fonts in one wheel).

Why Typst: it writes PDF/A-2b itself (XMP identification, embedded and subset fonts, an sRGB output intent),
its fonts (Libertinus Serif) ship inside the wheel so rendering needs no system library or font download, its
output is a pure function of source, inputs and the timestamp we pass (the letter's date), and one compiler
kept in memory renders a letter in a few milliseconds. WeasyPrint needs the system's Pango; fpdf2 and
ReportLab do not produce PDF/A without extra work (XMP, ICC profile, font files committed to the repository).

The layout (layout.typ) is fixed; the text comes as one JSON document in `sys.inputs`, so a template or data
value is always set as text and never run as Typst code.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Final

import typst

LAYOUT = Path(__file__).with_name("layout.typ")
PDF_STANDARD: Final = "a-2b"


class LetterheadError(ValueError):
    """The letterhead or logo file is unreadable or incomplete; the message says which and why."""


LETTERHEAD_KEYS = (
    "municipality",
    "authority",
    "sender",
    "return_address",
    "bezwaar_address",
    "bezwaar_digital",
    "court",
    "appeal_court",
)


def load_letterhead(path: Path) -> dict[str, Any]:
    try:
        letterhead = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LetterheadError(f"{path}: cannot read the letterhead ({exc.__class__.__name__})") from None
    if not isinstance(letterhead, dict):
        raise LetterheadError(f"{path}: the letterhead needs {', '.join(LETTERHEAD_KEYS)} (sender: a list of lines)")
    missing = [key for key in LETTERHEAD_KEYS if not letterhead.get(key)]
    if missing or not all(isinstance(line, str) for line in letterhead["sender"]):
        raise LetterheadError(f"{path}: the letterhead needs {', '.join(LETTERHEAD_KEYS)} (sender: a list of lines)")
    return letterhead


def load_logo(path: Path) -> str:
    """The logo as SVG text (a vector logo stays sharp in print and adds no image profile to the PDF/A)."""
    try:
        svg = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise LetterheadError(f"{path}: cannot read the logo ({exc.__class__.__name__})") from None
    if "<svg" not in svg[:2000]:
        raise LetterheadError(f"{path}: the logo must be an SVG file")
    return svg


class Renderer:
    """One Typst compiler for the layout, kept for the life of the process; renders one letter at a time."""

    def __init__(self, logo_svg: str) -> None:
        self._logo = logo_svg
        self._compiler = typst.Compiler(str(LAYOUT), root=str(LAYOUT.parent), ignore_system_fonts=True)
        self._lock = threading.Lock()

    def render(self, document: dict[str, Any], dated: date) -> bytes:
        """The PDF/A bytes of a letter document (see layout.typ for its shape). The PDF's creation and
        modification dates are the letter's date, so equal input gives byte-identical output."""
        timestamp = int(datetime.combine(dated, time(), UTC).timestamp())
        inputs = {"letter": json.dumps(document, ensure_ascii=False, sort_keys=True), "logo": self._logo}
        with self._lock:
            pdf = self._compiler.compile(
                format="pdf", pdf_standards=PDF_STANDARD, sys_inputs=inputs, timestamp=timestamp
            )
        assert isinstance(pdf, bytes)  # one document; only the image formats answer a list of pages
        return pdf
