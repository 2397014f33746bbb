"""A resumable-upload client written from the text of the IETF draft "Resumable Uploads for HTTP"
(draft-ietf-httpbis-resumable-upload-12), not from the server's code: what any client following the draft
would send, and the draft's rules on the server's answers checked as it goes (`InteropError` when broken).

Structured fields are parsed as RFC 9651 says (only the parts the draft's fields use); a field with a value
of the wrong type is ignored, as the draft requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx

PARTIAL_UPLOAD = "application/partial-upload"
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_INTEGER = re.compile(r"-?[0-9]{1,15}")


class InteropError(AssertionError):
    """The server broke a rule of the draft."""


def sf_integer(value: str | None) -> int | None:
    """An Item whose bare item is an Integer (parameters allowed); None otherwise."""
    if value is None:
        return None
    bare = value.strip().split(";", 1)[0].strip()
    return int(bare) if _INTEGER.fullmatch(bare) else None


def sf_boolean(value: str | None) -> bool | None:
    if value is None:
        return None
    bare = value.strip().split(";", 1)[0].strip()
    return {"?1": True, "?0": False}.get(bare)


def sf_dictionary(value: str | None) -> dict[str, Any] | None:
    """A Dictionary of Integer and Boolean members (a bare key is true); None when it does not parse."""
    if value is None:
        return None
    members: dict[str, Any] = {}
    for member in value.split(","):
        key, equals, item = member.strip().partition("=")
        key = key.split(";", 1)[0].strip()
        if not _KEY.fullmatch(key):
            return None
        if not equals:
            members[key] = True
            continue
        parsed = sf_integer(item) if sf_boolean(item) is None else sf_boolean(item)
        if parsed is None:
            return None
        members[key] = parsed
    return members


@dataclass
class Limits:
    """Upload-Limit: unknown keys are ignored; a known key with a value of another type voids the field."""

    values: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: str | None) -> Limits:
        members = sf_dictionary(value) or {}
        known = {
            key: members[key]
            for key in ("max-size", "min-size", "max-append-size", "min-append-size", "max-age")
            if key in members
        }
        if any(isinstance(item, bool) or not isinstance(item, int) for item in known.values()):
            return cls()
        return cls(known)


@dataclass
class UploadState:
    offset: int
    complete: bool
    length: int | None
    limits: Limits


class ResumableClient:
    """One upload at a time against one upload resource (the draft forbids parallel appends)."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers
        self.location: str | None = None
        self.highest_offset = 0  # the offset must never decrease

    async def create(self, target: str, method: str, length: int, representation_headers: dict[str, str]) -> Limits:
        """Careful upload creation: the request to the target with Upload-Complete false and no content."""
        response = await self.http.request(
            method,
            target,
            content=b"",
            headers={**self.headers, **representation_headers, "Upload-Complete": "?0", "Upload-Length": str(length)},
        )
        if not response.is_success:
            raise InteropError(f"creation refused: {response.status_code} {response.text}")
        if "location" not in response.headers:
            raise InteropError("a creation with Upload-Complete: ?0 must answer with Location")
        if sf_boolean(response.headers.get("upload-complete")) is True:
            raise InteropError("an upload created with no content cannot be complete")
        self.location = str(httpx.URL(str(response.url)).join(response.headers["location"]))
        return Limits.parse(response.headers.get("upload-limit"))

    async def offset(self) -> UploadState:
        """Offset retrieval (HEAD) with the fields a successful answer MUST carry."""
        assert self.location is not None
        response = await self.http.head(self.location, headers=self.headers)
        if not response.is_success:
            raise InteropError(f"offset retrieval failed: {response.status_code}")
        offset = sf_integer(response.headers.get("upload-offset"))
        complete = sf_boolean(response.headers.get("upload-complete"))
        if offset is None or offset < 0 or complete is None:
            raise InteropError("offset retrieval must carry Upload-Offset and Upload-Complete")
        if "upload-limit" not in response.headers:
            raise InteropError("offset retrieval must indicate the limits (Upload-Limit)")
        if "no-store" not in response.headers.get("cache-control", ""):
            raise InteropError("offset retrieval should not be cached (Cache-Control: no-store)")
        self._saw_offset(offset)
        return UploadState(
            offset,
            complete,
            sf_integer(response.headers.get("upload-length")),
            Limits.parse(response.headers.get("upload-limit")),
        )

    async def append(
        self, offset: int, content: Any, *, complete: bool, content_length: int | None = None
    ) -> httpx.Response:
        """Upload append (PATCH, application/partial-upload). A 2xx without Upload-Complete: ?1 acknowledges
        the content; an answer with Upload-Complete: ?1 is the target resource's answer to the whole upload."""
        assert self.location is not None
        headers = {
            **self.headers,
            "Content-Type": PARTIAL_UPLOAD,
            "Upload-Offset": str(offset),
            "Upload-Complete": "?1" if complete else "?0",
        }
        if content_length is not None:
            headers["Content-Length"] = str(content_length)
        response = await self.http.patch(self.location, content=content, headers=headers)
        if (
            response.status_code == 409
            and sf_boolean(response.headers.get("upload-complete")) is not True
            and sf_integer(response.headers.get("upload-offset")) is None
        ):
            raise InteropError("a 409 for a mismatching offset must carry the correct Upload-Offset")
        if complete and response.is_success and sf_boolean(response.headers.get("upload-complete")) is not True:
            raise InteropError("the answer to a completing append must carry Upload-Complete: ?1")
        if not complete and response.is_success:
            if sf_boolean(response.headers.get("upload-complete")) is not False:
                raise InteropError("an acknowledged intermediate append must carry Upload-Complete: ?0")
            acknowledged = sf_integer(response.headers.get("upload-offset"))
            if acknowledged is not None:
                self._saw_offset(acknowledged)
        return response

    async def cancel(self) -> int:
        assert self.location is not None
        return (await self.http.delete(self.location, headers=self.headers)).status_code

    async def upload_from(self, data: bytes, chunk: int) -> httpx.Response:
        """Ask the offset, then append the rest in chunks of at most `chunk` bytes (and within the announced
        max-append-size), the last one completing the upload."""
        state = await self.offset()
        if state.complete:
            raise InteropError("the upload is already complete")
        if state.offset > len(data):
            raise InteropError("the server claims more bytes than the representation has")
        step = min(chunk, state.limits.values.get("max-append-size", chunk))
        offset = state.offset
        while True:
            end = min(len(data), offset + step)
            last = end == len(data)
            response = await self.append(offset, data[offset:end], complete=last)
            if last or not response.is_success:
                return response
            offset = end

    def _saw_offset(self, offset: int) -> None:
        if offset < self.highest_offset:
            raise InteropError(f"the offset decreased from {self.highest_offset} to {offset}")
        self.highest_offset = offset
