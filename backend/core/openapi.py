"""OpenAPI documentation helpers: the problem+json responses and the headers our conventions use.

Handlers list the error statuses they can answer with, so clients (and the schemathesis test) know every
response an endpoint may give.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter

from backend.core.errors import PROBLEM_JSON, Problem

# Any authenticated endpoint: an undefined query parameter, bad/missing token, role, rate limit, a bug, database down.
AUTHENTICATED = (400, 401, 403, 429, 500, 503)
LIST = (*AUTHENTICATED, 422)
READ_ONE = (*AUTHENTICATED, 404, 422)
COMMAND = (*AUTHENTICATED, 400, 404, 409, 412, 413, 415, 422, 428)


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem, media_type=PROBLEM_JSON, description=HTTPStatus(status).phrase, generate_examples=False
        )
        for status in sorted(set(statuses))
    }


IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", description="The ETag you read; required (428 without it, 412 when stale or malformed)"
    ),
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        # No max_length here: a bad key is answered by core.idempotency as 400 idempotency_key_invalid.
        description="1-255 visible ASCII characters. Makes a retry safe: the same key and request give the stored "
        "response (kept 7 days by default)",
    ),
]
# Declared by a read with an ETag so the document shows it; core.concurrency.NotModified answers it for all.
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(name="If-None-Match", description="The ETag of your copy: 304 without a body when it is still current"),
]
NOT_MODIFIED = {
    304: ResponseSpec(data_container=None, description="Not Modified: the copy named in If-None-Match is current")
}
ETAG_HEADER = [
    ResponseHeader(name="ETag", documentation_only=True, description="Strong validator; send it back in If-None-Match")
]
