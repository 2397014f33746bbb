"""Keyset pagination: an opaque cursor that encodes the sort key of the last row a client has seen.

Keyset (not OFFSET) pages stay correct when rows are inserted concurrently, and cost the same on page 1
and page 1000.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from backend.core.errors import BadRequest

Limit = Annotated[int, Meta(ge=1, le=200)]
DEFAULT_LIMIT = 50
_MAX_CURSOR_LENGTH = 512


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(values))).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """The values a cursor encodes, or None for the first page; a cursor we did not make is a 400."""
    if cursor is None:
        return None
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError
        return values
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise BadRequest("The cursor is not one this API handed out.", code="invalid_cursor") from None
