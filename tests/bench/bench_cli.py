"""The command line every benchmark shares: --check and --json beside its own sizes, and how it ends."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def arguments(doc: str | None, *, check_help: str = "exit 1 when a target is missed") -> argparse.ArgumentParser:
    """A parser described by the first line of the benchmark's docstring, with --check and --json; the
    benchmark adds its own options."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help=check_help)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser


def finish(args: argparse.Namespace, result: dict[str, Any], *, ok: bool) -> int:
    """Write the figures when --json asks, and the exit code: 1 only when a target was missed under --check."""
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    return 1 if args.check and not ok else 0
