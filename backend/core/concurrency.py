"""Optimistic concurrency for mutable back-office resources.

Every such row has a `version` integer. Reads send it as a strong ETag; writes must send it back in
If-Match (428 without it, 412 when stale). The UPDATE itself checks the version (`... WHERE id = $1 AND
version = $2`), so the check and the write are one atomic step.
"""

from __future__ import annotations

import re
from backend.core.errors import PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def required_version(header: str | None) -> int:
    """The version the client says it is changing, from its If-Match header."""
    if header is None:
        raise PreconditionRequired("Send If-Match with the ETag you read; this resource may have changed.")
    match = _ETAG.match(header.strip())
    if not match:
        raise PreconditionFailed("If-Match must be one ETag as returned by a read of this resource.")
    return int(match.group(1))


def stale(current_version: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"The resource changed since you read it (now at version {current_version}); read it again.",
        code="stale_version",
    )
