"""The Awb's terms and thresholds as data: schemas/procedure/awb.json, one value per name with its article.

`awb()` reads the shipped file once per process; the app calls it at startup (like the sanction rules), so a
broken file stops the server instead of failing the first decision.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from backend.core.config import PROJECT_ROOT

AWB_FILE = PROJECT_ROOT / "schemas" / "procedure" / "awb.json"
NAMES = (
    "boete_voornemen_above_cents",
    "bezwaar_term_weeks",
    "bezwaar_post_grace_days",
    "bezwaar_decision_weeks",
    "bezwaar_decision_weeks_with_committee",
    "bezwaar_extension_weeks",
    "payment_weeks",
    "collection_limit_years",
)


class ProcedureInvalid(ValueError):
    """The Awb data file is malformed; the message says where."""


def load_awb(path: Path) -> dict[str, int]:
    try:
        values = json.loads(path.read_text(encoding="utf-8"))["values"]
        found = {name: values[name]["value"] for name in NAMES}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProcedureInvalid(f"{path.name}: cannot read the values ({exc!r})") from None
    wrong = [
        name for name, value in found.items() if not isinstance(value, int) or isinstance(value, bool) or value < 1
    ]
    if wrong:
        raise ProcedureInvalid(f"{path.name}: not a positive whole number: {', '.join(wrong)}")
    return found


@functools.cache
def awb() -> dict[str, int]:
    return load_awb(AWB_FILE)
