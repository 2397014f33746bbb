"""HTTP for evidence photos (/api/v1/inspections/{inspection_id}/photos/{photo_id}) and their resumable
uploads (/api/v1/photo-uploads/{upload_id}).

The phone PUTs the raw image (image/jpeg, image/png or image/webp) with its SHA-256 in Repr-Digest or
Content-Digest (RFC 9530). The body is streamed (the app-wide 1 MiB body limit does not apply here; the
service enforces TOEZICHT_PHOTO_MAX_BYTES on the announced and on the streamed size). With
`Upload-Complete: ?0` the PUT creates a resumable upload instead (photos.resumable). Derivatives are
served with strong ETags; the original only as a download, audited.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, cast
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, head, patch, put
from litestar.exceptions import InternalServerException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, HeaderParameter
from litestar.response import Stream

from backend.core.auth import AuthRequest
from backend.core.concurrency import not_modified
from backend.core.errors import BadRequest
from backend.core.logging import request_id_of
from backend.core.openapi import AUTHENTICATED, NOT_MODIFIED, READ_ONE, IfNoneMatch, problem_responses
from backend.core.request_checks import UnsupportedMediaType
from backend.core.routes import read_route
from backend.photos import resumable, service
from backend.photos.models import Photo, Variant

DERIVATIVE_CACHE = "private, no-cache"  # kept by the client, revalidated (cheaply, 304) so access stays checked
EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

Digest = Annotated[
    str | None,
    HeaderParameter(
        name="Repr-Digest",
        description="RFC 9530: `sha-256=:<base64 of the SHA-256>:`. Required when the inspection "
        "has not arrived yet; otherwise the manifest's hash is used when it is left out",
    ),
]
ContentDigest = Annotated[
    str | None,
    HeaderParameter(
        name="Content-Digest",
        description="RFC 9530, the same as Repr-Digest for an unencoded body; either may be sent",
    ),
]
ContentEncoding = Annotated[
    str | None,
    HeaderParameter(
        name="Content-Encoding",
        description="Not supported: send the image bytes as they are",
    ),
]
UploadComplete = Annotated[
    str | None,
    HeaderParameter(
        name="Upload-Complete",
        description="Resumable uploads (structured boolean). On the PUT: `?0` creates an upload "
        "resource (201 with Location) to append the photo to; `?1` is a whole upload. On a PATCH (required): whether "
        "this content ends the photo",
    ),
]
UploadLength = Annotated[
    str | None,
    HeaderParameter(
        name="Upload-Length",
        description="Resumable uploads: the photo's size in bytes, when known (413 above the limit)",
    ),
]
UploadOffset = Annotated[
    str | None,
    HeaderParameter(
        name="Upload-Offset",
        description="Where this content starts in the photo; must be the upload's offset (409 "
        "with the server's offset otherwise)",
    ),
]

_BINARY = Schema(type=OpenAPIType.STRING, content_media_type="application/octet-stream")


@dataclass
class _UploadOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={media_type: OpenAPIMediaType(schema=_BINARY) for media_type in service.ACCEPTED_TYPES},
            required=True,
            description="The photo's bytes exactly as taken (at most 25 MiB by default)",
        )


PARTIAL_UPLOAD = "application/partial-upload"
_CREATED = ResponseSpec(
    data_container=None,
    description="A resumable upload was created: its URL in Location, "
    "with Upload-Offset, Upload-Complete: ?0 and Upload-Limit",
)
_APPENDED = ResponseSpec(data_container=None, description="Appended: Upload-Offset, Upload-Complete: ?0, Upload-Limit")


@dataclass
class _AppendOperation(Operation):
    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={PARTIAL_UPLOAD: OpenAPIMediaType(schema=_BINARY)},
            required=False,
            description="The photo's next bytes, from Upload-Offset on",
        )


def _image_response(media_types: tuple[str, ...], description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description, content={media_type: OpenAPIMediaType(schema=_BINARY) for media_type in media_types}
    )


@dataclass
class _DerivativeOperation(Operation):
    def __post_init__(self) -> None:
        assert self.responses is not None
        self.responses["200"] = _image_response(("image/jpeg",), "JPEG without any metadata; ETag = its SHA-256")


@dataclass
class _OriginalOperation(Operation):
    def __post_init__(self) -> None:
        assert self.responses is not None
        self.responses["200"] = _image_response(
            service.ACCEPTED_TYPES,
            "The original bytes as a download (Content-Disposition: attachment), with Repr-Digest; the read is audited",
        )


def parse_digest(header: str | None) -> str | None:
    """The SHA-256 (hex) from an RFC 9530 Repr-Digest/Content-Digest field; None when not given. Other
    algorithms in the field are ignored; a field without sha-256, or a malformed one, is 400."""
    if header is None:
        return None
    for member in header.split(","):
        name, _, value = member.strip().partition("=")
        if name.strip().lower() != "sha-256":
            continue
        value = value.strip().split(";")[0]
        if len(value) < 2 or not (value.startswith(":") and value.endswith(":")):
            break
        try:
            raw = base64.b64decode(value[1:-1], validate=True)
        except (binascii.Error, ValueError):
            break
        if len(raw) == 32:
            return raw.hex()
        break
    raise BadRequest("Repr-Digest/Content-Digest must hold sha-256=:<base64 of 32 bytes>:.", code="digest_invalid")


def _declared_sha256(repr_digest: str | None, content_digest: str | None) -> str | None:
    declared = {value for value in (parse_digest(repr_digest), parse_digest(content_digest)) if value}
    if len(declared) > 1:
        raise BadRequest("Repr-Digest and Content-Digest name different hashes.", code="digest_invalid")
    return declared.pop() if declared else None


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except (InternalServerException, OSError):  # Litestar's signal of a disconnect; a broken transport
        raise service.UploadInterrupted("The upload was interrupted; send the photo again.") from None


def _evidence(request: Request[Any, Any, Any]) -> service.Evidence:
    evidence: service.Evidence = request.app.state.photo_evidence
    return evidence


def _derivative_route(variant: str, *, operation_id: str, summary: str) -> HTTPRouteHandler:
    """GET of a re-encoded derivative: a JPEG with a strong ETag, 304 to a current If-None-Match."""
    return get(
        f"/{{photo_id:uuid}}/{variant}",
        operation_id=operation_id,
        summary=summary,
        operation_class=_DerivativeOperation,
        media_type="image/jpeg",
        responses={**problem_responses(*READ_ONE), **NOT_MODIFIED},
    )


class PhotoController(Controller):
    path = "/api/v1/inspections/{inspection_id:uuid}/photos"
    tags = ["Photos"]

    @put(
        "/{photo_id:uuid}",
        operation_id="UploadPhoto",
        summary="Upload a photo of an inspection (raw image body)",
        description="The body is the image as taken: image/jpeg, image/png or image/webp (415 otherwise), at most "
        "25 MiB (413). Its SHA-256 is checked against Repr-Digest/Content-Digest or the manifest's (422 "
        "`digest_mismatch`); the bytes must be an image of the declared type (422 `unsupported_image`, "
        "`type_mismatch`), of at most 50 megapixels (422 `image_too_large`), complete (422 `image_corrupt`), not "
        "empty (422 `empty_body`). For an inspection that has arrived, its manifest must list the photo (422 "
        "`photo_not_in_manifest`) with this hash and size (422 `photo_mismatch`); before it arrives only inspectors "
        "upload, with Repr-Digest (422 `digest_required`), and the photo waits for it (`attached`: false). The same "
        "bytes again answer the same; other bytes for a stored photo id are 409 `photo_conflict`. With "
        "`Upload-Complete: ?0` the same checks admit a resumable upload: 201 with its Location (the content sent, "
        "possibly none, is its first part), to be continued with PATCH there.",
        status_code=200,
        opt={"accepts": list(service.ACCEPTED_TYPES)},
        request_max_body_size=None,
        operation_class=_UploadOperation,
        responses={**problem_responses(*AUTHENTICATED, 400, 404, 409, 413, 415, 422), 201: _CREATED},
    )
    async def upload(
        self,
        request: AuthRequest,
        inspection_id: FromPath[UUID],
        photo_id: FromPath[UUID],
        repr_digest: Digest = None,
        content_digest: ContentDigest = None,
        content_encoding: ContentEncoding = None,
        upload_complete: UploadComplete = None,
        upload_length: UploadLength = None,
    ) -> Response[Photo]:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in service.ACCEPTED_TYPES:
            raise UnsupportedMediaType(f"Send the photo as {', '.join(service.ACCEPTED_TYPES)}.")
        if content_encoding not in (None, "", "identity"):
            raise UnsupportedMediaType(
                "Send the photo's bytes without a Content-Encoding.", code="unsupported_content_encoding"
            )
        declared = _declared_sha256(repr_digest, content_digest)
        upload = service.Upload(
            inspection_id=inspection_id,
            photo_id=photo_id,
            declared_type=media_type,
            declared_sha256=declared,
            content_length=_content_length(request),
        )
        complete, length = structured_boolean(upload_complete), structured_integer(upload_length)
        if complete is False:
            state = await resumable.create(
                _evidence(request), request.user, upload, length, _body(request), request_id=request_id_of(request)
            )
            # The 201 of a created upload has no body; the annotation documents the 200 (the stored photo).
            created = Response(b"", status_code=201, headers=_state_headers(request, state, location=True))
            return cast("Response[Photo]", created)
        if length is not None and upload.content_length is not None and length != upload.content_length:
            raise resumable.InconsistentLength("Upload-Length and Content-Length differ.")
        photo = await service.upload(
            _evidence(request), request.user, upload, _body(request), request_id=request_id_of(request)
        )
        return Response(photo, headers={"Upload-Complete": "?1"} if complete else None)

    @_derivative_route(
        "display",
        operation_id="GetPhotoDisplay",
        summary="The photo for viewing: longest side at most 2048 px, upright, no metadata",
    )
    async def display(
        self,
        request: AuthRequest,
        inspection_id: FromPath[UUID],
        photo_id: FromPath[UUID],
        if_none_match: IfNoneMatch = None,
    ) -> Response[Any]:
        """Anyone who may see the inspection. The photo for viewing: re-encoded, upright, the longest side at most
        2048 px, without EXIF or other metadata; 404 until the photo has arrived. Strong ETag; If-None-Match gives
        304."""
        return await _derivative(request, inspection_id, photo_id, "display", if_none_match)

    @_derivative_route(
        "thumbnail",
        operation_id="GetPhotoThumbnail",
        summary="The photo as a thumbnail: at most 320 px, upright, no metadata",
    )
    async def thumbnail(
        self,
        request: AuthRequest,
        inspection_id: FromPath[UUID],
        photo_id: FromPath[UUID],
        if_none_match: IfNoneMatch = None,
    ) -> Response[Any]:
        """Anyone who may see the inspection. The photo as a thumbnail of at most 320 px, upright, without metadata;
        404 until the photo has arrived. Strong ETag; If-None-Match gives 304."""
        return await _derivative(request, inspection_id, photo_id, "thumbnail", if_none_match)

    @read_route(
        "/{photo_id:uuid}/original",
        operation_id="DownloadPhotoOriginal",
        summary="The original bytes as received (enforcement officers and auditors); every read is audited",
        roles=service.EVIDENCE_ROLES,
        operation_class=_OriginalOperation,
    )
    async def original(
        self,
        request: AuthRequest,
        inspection_id: FromPath[UUID],
        photo_id: FromPath[UUID],
    ) -> Stream:
        """Enforcement officers and auditors who may see the inspection. The original bytes as received, as a
        download with their Repr-Digest, for evidence; every read is written to the audit trail."""
        download = await service.original(
            _evidence(request), request.user, inspection_id, photo_id, request_id=request_id_of(request)
        )
        blob = await download.open()
        digest = base64.b64encode(bytes.fromhex(download.sha256)).decode()
        return Stream(
            blob.chunks,
            media_type=download.media_type,
            headers={
                "Content-Length": str(blob.size),
                "Content-Disposition": f'attachment; filename="{photo_id}.{EXTENSION[download.media_type]}"',
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Repr-Digest": f"sha-256=:{digest}:",
                "Cache-Control": "no-store",
            },
        )


async def _derivative(
    request: AuthRequest,
    inspection_id: UUID,
    photo_id: UUID,
    variant: Variant,
    if_none_match: str | None,
) -> Response[Any]:
    download = await service.derivative(
        _evidence(request), request.user, inspection_id, photo_id, variant, request_id=request_id_of(request)
    )
    headers = {"ETag": f'"{download.sha256}"', "Cache-Control": DERIVATIVE_CACHE, "X-Content-Type-Options": "nosniff"}
    if not_modified(if_none_match, headers["ETag"]):
        return Response(content=b"", status_code=304, headers=headers)
    blob = await download.open()
    headers["Content-Length"] = str(blob.size)
    headers["Content-Disposition"] = f'inline; filename="{photo_id}-{variant}.jpg"'
    return Stream(blob.chunks, media_type=download.media_type, headers=headers)


class PhotoUploadController(Controller):
    """The upload resource of a resumable upload (photos.resumable): HEAD for its offset, PATCH to append,
    DELETE to cancel. Only its creator reaches it."""

    path = "/api/v1/photo-uploads/{upload_id:uuid}"
    tags = ["Photos"]

    @head(
        "/",
        operation_id="GetPhotoUploadOffset",
        summary="Where a resumable upload is (Upload-Offset)",
        description="204 with Upload-Offset (bytes received and kept), Upload-Complete, Upload-Length when known "
        "and Upload-Limit (max-size, max-age in seconds).",
        status_code=204,
        responses=problem_responses(*READ_ONE),
    )
    async def offset(self, request: AuthRequest, upload_id: FromPath[UUID]) -> Response[None]:
        state = await resumable.state(_evidence(request), request.user, upload_id)
        return Response(None, status_code=204, headers=_state_headers(request, state))

    @patch(
        "/",
        operation_id="AppendPhotoUpload",
        summary="Append to a resumable upload (application/partial-upload)",
        description="The content continues the photo at Upload-Offset (409 `upload_offset_mismatch` with the "
        "server's Upload-Offset otherwise, also for the loser of two appends at once). `Upload-Complete: ?0`: 204 "
        "with the new Upload-Offset. `?1`: the photo is checked and stored as by the PUT and the answer is the "
        "PUT's, with Upload-Complete: ?1; a refused photo removes the upload. Past the size limit: 413 and the "
        "upload is removed; past its Upload-Length: 400 `upload_length_inconsistent` and removed.",
        status_code=200,
        opt={"accepts": [PARTIAL_UPLOAD]},
        request_max_body_size=None,
        operation_class=_AppendOperation,
        responses={**problem_responses(*AUTHENTICATED, 400, 404, 409, 413, 415, 422), 204: _APPENDED},
    )
    async def append(
        self,
        request: AuthRequest,
        upload_id: FromPath[UUID],
        upload_offset: UploadOffset = None,
        upload_complete: UploadComplete = None,
        upload_length: UploadLength = None,
    ) -> Response[Any]:
        offset, complete = structured_integer(upload_offset), structured_boolean(upload_complete)
        if offset is None or complete is None:
            raise BadRequest(
                "An append needs Upload-Offset (an integer) and Upload-Complete (?0 or ?1).",
                code="upload_header_invalid",
            )
        appended = resumable.Append(
            offset=offset,
            complete=complete,
            length=structured_integer(upload_length),
            content_length=_content_length(request),
        )
        outcome = await resumable.append(
            _evidence(request), request.user, upload_id, appended, _body(request), request_id=request_id_of(request)
        )
        if isinstance(outcome, Photo):
            return Response(outcome, headers={"Upload-Complete": "?1"})
        return Response(None, status_code=204, headers=_state_headers(request, outcome))

    @delete(
        "/",
        operation_id="CancelPhotoUpload",
        summary="Cancel a resumable upload and remove its bytes",
        status_code=204,
        responses=problem_responses(*READ_ONE),
    )
    async def cancel(self, request: AuthRequest, upload_id: FromPath[UUID]) -> None:
        """Only the upload's creator (404 for anyone else). Cancels an unfinished resumable upload and removes the
        bytes received so far; a completed upload has become its photo and is gone (404)."""
        await resumable.cancel(_evidence(request), request.user, upload_id)


def _state_headers(
    request: Request[Any, Any, Any], state: resumable.UploadState, *, location: bool = False
) -> dict[str, str]:
    headers = {
        "Upload-Offset": str(state.offset),
        "Upload-Complete": "?1" if state.complete else "?0",
        "Upload-Limit": resumable.limit_field(state.max_size, state.max_age_s),
        "Cache-Control": "no-store",
    }
    if state.length is not None:
        headers["Upload-Length"] = str(state.length)
    if location:
        headers["Location"] = str(request.url.with_replacements(path=f"/api/v1/photo-uploads/{state.id}", query=""))
    return headers


def structured_integer(value: str | None) -> int | None:
    """A non-negative sf-integer (RFC 9651) field, parameters ignored; None when absent or not one (the
    draft: other values make the field ignored)."""
    if value is None:
        return None
    item = value.split(";")[0].strip()
    if not item.isdigit() or not item.isascii() or len(item) > 15:
        return None
    return int(item)


def structured_boolean(value: str | None) -> bool | None:
    """An sf-boolean field (`?1`/`?0`), parameters ignored; None when absent or not one."""
    if value is None:
        return None
    return {"?1": True, "?0": False}.get(value.split(";")[0].strip())


def _content_length(request: Request[Any, Any, Any]) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest("Content-Length must be a number.") from None
