"""Query parameters that belong together, declared once as a typed record.

A list's filters (and every list's page: cursor and limit) are a `QueryGroup`: a msgspec Struct whose fields are
annotated as a handler's query parameters would be (`Annotated[T | None, QueryParameter(...)] = None`). A handler
takes the group as one parameter and hands it on to its service as it is, typed, instead of a dict built by hand.

Litestar knows nothing of groups, so the route decorators spread each group's fields into the handler's own
signature (`spread_query_groups`). That keeps what a client sees exactly as if every field were written in the
handler: each is documented as a query parameter, and all of them are validated together with the handler's other
parameters, so one 422 names every bad one (a Litestar dependency would validate its own parameters apart, and
answer for them alone).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, get_type_hints

import msgspec


class QueryGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Base of a group of query parameters. A field whose name ends in `_` dodges a Python keyword or a name
    Litestar reserves (`from_`, `state_`, `open_`); `filter_values()` names it without the underscore."""

    def filter_values(self) -> dict[str, Any]:
        """The fields by name (without a dodging underscore), as the SQL filters of a KeysetQuery are keyed."""
        return {name.rstrip("_"): value for name, value in msgspec.structs.asdict(self).items()}


Handler = Callable[..., Awaitable[Any]]


def _groups_of(hints: Mapping[str, Any]) -> dict[str, type[QueryGroup]]:
    return {
        name: hint
        for name, hint in hints.items()
        if name != "return" and inspect.isclass(hint) and issubclass(hint, QueryGroup)
    }


def _fields_as_parameters(group: type[QueryGroup]) -> list[inspect.Parameter]:
    hints = get_type_hints(group, include_extras=True)
    return [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if field.required else field.default,
            annotation=hints[field.name],
        )
        for field in msgspec.structs.fields(group)
    ]


def spread_query_groups(handler: Handler) -> Handler:
    """`handler` as Litestar should see it: each parameter typed as a QueryGroup replaced by the group's fields,
    which the returned function gathers back into the group before it calls `handler`. A handler without groups
    is returned as it is."""
    hints = get_type_hints(handler, include_extras=True)
    groups = _groups_of(hints)
    if not groups:
        return handler
    parameters: list[inspect.Parameter] = []
    members: dict[str, list[str]] = {}
    for parameter in inspect.signature(handler).parameters.values():
        group = groups.get(parameter.name)
        if group is None:
            kind = parameter.kind if parameter.name in ("self", "cls") else inspect.Parameter.KEYWORD_ONLY
            parameters.append(parameter.replace(kind=kind, annotation=hints.get(parameter.name, parameter.annotation)))
            continue
        fields = _fields_as_parameters(group)
        members[parameter.name] = [field.name for field in fields]
        parameters.extend(fields)
    names = [parameter.name for parameter in parameters]
    if len(names) != len(set(names)):
        raise TypeError(f"{handler.__qualname__}: a query group's field has the name of another parameter")

    @functools.wraps(handler)
    async def gathered(*args: Any, **kwargs: Any) -> Any:
        for name, fields in members.items():
            kwargs[name] = groups[name](**{field: kwargs.pop(field) for field in fields})
        return await handler(*args, **kwargs)

    gathered.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # read by inspect.signature
        parameters, return_annotation=hints.get("return", inspect.Signature.empty)
    )
    gathered.__annotations__ = {p.name: p.annotation for p in parameters if p.annotation is not p.empty}
    if "return" in hints:
        gathered.__annotations__["return"] = hints["return"]
    return gathered
