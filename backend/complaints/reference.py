"""Reference data of complaints, read from versioned files under schemas/complaints/ (data, not code):

- categories.json: each category's regime (who may see its complaints) and its acknowledgement and handling
  deadlines in working days;
- wijk-pc4.json: Utrecht's four-digit postcode areas and their wijk (marked VERIFY in the file).

Both are loaded once and checked whole; a malformed file stops the first use with a message naming it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from backend.core.config import PROJECT_ROOT
from backend.core.tokens import Regime

DIRECTORY = PROJECT_ROOT / "schemas" / "complaints"
WorkingDays = Annotated[int, Meta(ge=0, le=250)]


class ReferenceDataError(ValueError):
    """A complaints data file is malformed; the message names the file."""


class Category(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    key: Annotated[str, Meta(pattern="^[a-z0-9_]{1,64}$")]
    name: str
    regime: Regime | None
    acknowledgement_working_days: WorkingDays
    handling_working_days: WorkingDays


class _CategoryFile(msgspec.Struct, frozen=True):
    valid_from: str
    source: str
    categories: Annotated[list[Category], Meta(min_length=1)]


class _WijkFile(msgspec.Struct, frozen=True):
    valid_from: str
    source: str
    areas: dict[Annotated[str, Meta(pattern="^[1-9][0-9]{3}$")], str]


def _load(path: Path, shape: type) -> object:
    try:
        return msgspec.json.decode(path.read_bytes(), type=shape)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ReferenceDataError(f"{path.name}: {exc}") from None


def load_categories(path: Path) -> dict[str, Category]:
    data = _load(path, _CategoryFile)
    assert isinstance(data, _CategoryFile)
    categories = {category.key: category for category in data.categories}
    if len(categories) != len(data.categories):
        raise ReferenceDataError(f"{path.name}: a category key is listed twice")
    for category in data.categories:
        if category.handling_working_days < category.acknowledgement_working_days:
            raise ReferenceDataError(f"{path.name}: {category.key} is to be handled before it is acknowledged")
    return categories


def load_wijk_areas(path: Path) -> dict[str, str]:
    data = _load(path, _WijkFile)
    assert isinstance(data, _WijkFile)
    return dict(data.areas)


@functools.cache
def categories() -> dict[str, Category]:
    return load_categories(DIRECTORY / "categories.json")


@functools.cache
def wijk_areas() -> dict[str, str]:
    return load_wijk_areas(DIRECTORY / "wijk-pc4.json")


def wijk_of_postcode(postcode: str) -> str | None:
    """The wijk of a normalised postcode ('3511AX') by its four-digit area; None when it lies in none."""
    return wijk_areas().get(postcode[:4])
