"""The OpenAPI document: the problem+json responses and the headers our conventions use, and what the framework
leaves out of the generated document that the server enforces.

Handlers list the error statuses they can answer with, so clients (and the schemathesis test) know every
response an endpoint may give. What holds for every operation alike is added here, in one place, when the
document is built (`DocumentConfig`): If-Match is required wherever it is accepted, every 201 names the new
resource in `Location`, parameters are never null. Structs are described by msgspec itself (`StructSchema`),
so the document states each constraint msgspec checks, and a struct that refuses unknown fields is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from http import HTTPStatus
from typing import Annotated, Any, get_origin

import msgspec
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.datastructures import ResponseHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, Schema
from litestar.params import HeaderParameter
from litestar.typing import FieldDefinition
from litestar.utils.typing import get_type_hints_with_generics_resolved

from backend.core.errors import PROBLEM_JSON, Problem

# Any authenticated endpoint: a bad or undefined parameter, a bad or missing token, role, rate limit, a bug,
# database down.
AUTHENTICATED = (400, 401, 403, 429, 500, 503)
LIST = (*AUTHENTICATED, 422)
READ_ONE = (*AUTHENTICATED, 404, 422)
COMMAND = (*AUTHENTICATED, 404, 409, 412, 413, 415, 422, 428)

COMPONENT_REF = "#/components/schemas/{name}"
# The forms core.concurrency and core.idempotency accept; the document states them so a client can see them.
ETAG_PATTERN = r'^(W/)?"[0-9]{1,18}"$'
NO_NUL_PATTERN = "^[^\\u0000]*$"
IDEMPOTENCY_KEY_PATTERN = r'^"?[!#-~]{1,255}"?$'


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in sorted(set(statuses))
    }


IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        description="The ETag you read (428 without it, 412 when stale or malformed)",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        # Documented, not enforced by the framework: a bad key is answered by core.idempotency as
        # 400 idempotency_key_invalid.
        schema_extra={"pattern": IDEMPOTENCY_KEY_PATTERN},
        description='1-255 visible ASCII characters (no `"`), optionally in double quotes. Makes a retry safe: '
        "the same key and request give the stored response (kept 7 days by default)",
    ),
]
# Declared by a read with an ETag so the document shows it; core.concurrency.NotModified answers it for all.
IfNoneMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-None-Match", description="The ETag of your copy: 304 without a body when it is still current"
    ),
]
NOT_MODIFIED = {
    304: ResponseSpec(data_container=None, description="Not Modified: the copy named in If-None-Match is current")
}
ETAG_HEADER = [
    ResponseHeader(name="ETag", documentation_only=True, description="Strong validator; send it back in If-None-Match")
]


# --- what the generated document leaves out ------------------------------------------------------------


class StructSchema(StructSchemaPlugin):
    """msgspec Structs with the properties msgspec itself describes, so the document states every constraint
    msgspec enforces: the framework's own rendering drops constraints inside optional fields, list items and
    dict keys, and a bound of 0. A struct that forbids unknown fields is a closed object, and a struct's
    `example` class variable is its example."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        # The framework's rendering registers the nested structs as components; their properties are msgspec's.
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = field_definition.type_
        _register_generic_fields(struct, schema_creator)
        (_,), components = msgspec.json.schema_components([struct], ref_template=COMPONENT_REF)
        own = components[struct.__name__]
        schema.properties = own.get("properties", {})
        schema.required = own.get("required") or None
        if struct.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        example = vars(struct).get("example")  # the struct's own, not one a subclass inherits
        if isinstance(example, dict):
            schema.examples = [example]
        return schema


def _register_generic_fields(struct: type[msgspec.Struct], schema_creator: Any) -> None:
    """A struct that fills in a generic struct's parameters (`CasePage(Page[CaseSummary])`): the framework reads
    the inherited fields with their parameters unfilled (`list[T]`), so the structs they hold (CaseSummary) would
    be missing from the components that msgspec's properties refer to."""
    for base in getattr(struct, "__orig_bases__", ()):
        origin = get_origin(base)
        if isinstance(origin, type) and issubclass(origin, msgspec.Struct):
            for hint in get_type_hints_with_generics_resolved(base, include_extras=True).values():
                schema_creator.for_field_definition(FieldDefinition.from_annotation(hint))


@dataclass
class _Document(OpenAPI):
    def to_schema(self) -> dict[str, Any]:
        document = super().to_schema()
        for operation in _operations(document):
            _parameters_are_never_null(operation)
            _query_text_has_no_nul(operation)
            _require_if_match(operation)
            _document_location(operation)
            _give_headers_a_schema(operation)
        return document


class DocumentConfig(OpenAPIConfig):
    """OpenAPIConfig whose document is completed by the rules above, however it is read (served, rendered,
    or written by `toezicht openapi`)."""

    def to_openapi_schema(self) -> OpenAPI:
        plain = super().to_openapi_schema()
        return _Document(**{field.name: getattr(plain, field.name) for field in fields(plain)})


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for item in document.get("paths", {}).values() for operation in item.values()]


def _parameters_are_never_null(operation: dict[str, Any]) -> None:
    """An optional parameter is `T | None` in Python, but a query string or header cannot carry null: it is
    absent or a value."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        arms = schema.get("oneOf", [])
        values = [arm for arm in arms if arm != {"type": "null"}]
        if len(arms) == 2 and len(values) == 1:
            del schema["oneOf"]
            schema = parameter["schema"] = {**values[0], **schema}
        if isinstance(schema.get("type"), list) and "null" in schema["type"]:
            types = [kind for kind in schema["type"] if kind != "null"]
            schema["type"] = types[0] if len(types) == 1 else types
            if "enum" in schema:
                schema["enum"] = [value for value in schema["enum"] if value is not None]


def _query_text_has_no_nul(operation: dict[str, Any]) -> None:
    """core.request_checks refuses NUL in query strings (PostgreSQL text cannot hold it); free-text parameters
    say so. Those with an enumeration, a format or a pattern of their own exclude NUL already."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        free_text = schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema)
        if parameter["in"] == "query" and free_text:
            schema["pattern"] = NO_NUL_PATTERN


def _require_if_match(operation: dict[str, Any]) -> None:
    """Writes to versioned resources need If-Match (428 without it); the handler checks this itself, so the
    framework sees an optional header."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"] == "If-Match":
            parameter["required"] = True
            parameter["schema"] = {"type": "string", "pattern": ETAG_PATTERN}


def _document_location(operation: dict[str, Any]) -> None:
    created = operation.get("responses", {}).get("201")
    if created is not None:
        created.setdefault("headers", {})["Location"] = {
            "description": "The path of the created resource",
            "required": True,
            "schema": {"type": "string", "format": "uri-reference"},
        }


def _give_headers_a_schema(operation: dict[str, Any]) -> None:
    """A documentation-only response header has no value to take a type from; every header we send is a string."""
    for response in operation.get("responses", {}).values():
        for header in response.get("headers", {}).values():
            header.setdefault("schema", {"type": "string"})
