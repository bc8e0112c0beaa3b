"""Honest gaps: what an item has not yet recorded, and what that means.

A real list arrives incomplete (codes, names and types, but no materials or time limits). What is
not recorded is never read as "none": ``materials`` left out is "not yet recorded", ``[]`` is
"stated that none is needed". The parts an item may leave unrecorded, and when each is a gap:

- ``legal_basis``: for an administrative power (``tongban.catalog.types``), which may only be
  exercised under a law;
- ``materials``, ``time_limit``, ``visits``: for an item someone applies for;
- ``steps``: for every item.

An item with a gap is **incomplete**: it is published and shown as it is, with "not yet recorded"
where a part is missing, and listed on the completeness page of its department; it cannot join a
bundle or take applications until the parts are filled in. A main item with sub-items that
does not record its own materials is a **heading**: its sub-items are what one applies for, and
its own gaps are not counted.
"""

from __future__ import annotations

from typing import Any, Final, Literal, Protocol

from tongban.catalog import types as item_types
from tongban.catalog.schemas import ItemIn, TimeLimitIn

PARTS: Final = ("legal_basis", "materials", "steps", "time_limit", "visits")
LIST_PARTS: Final = ("legal_basis", "materials", "steps")
PART_LABELS: Final = {
    "legal_basis": ("法律依据", "Legal basis"),
    "materials": ("申请材料", "Materials"),
    "steps": ("办理流程", "Steps"),
    "time_limit": ("办理时限", "Time limits"),
    "visits": ("到现场次数", "Visits"),
}


class VersionLike(Protocol):
    @property
    def item_type(self) -> str: ...
    @property
    def not_recorded(self) -> list[str]: ...
    @property
    def legal_limit_days(self) -> int | None: ...
    @property
    def visits(self) -> int | None: ...


def unrecorded(version: VersionLike) -> set[str]:
    """Every part the version does not record, whether or not its type needs it."""
    parts = {p for p in version.not_recorded if p in LIST_PARTS}
    if version.legal_limit_days is None:
        parts.add("time_limit")
    if version.visits is None:
        parts.add("visits")
    return parts


def gaps(version: VersionLike) -> list[str]:
    """The parts the version's type needs and it has not recorded, in ``PARTS`` order."""
    missing = unrecorded(version)
    rule = item_types.rule(version.item_type)
    needed = {"steps"}
    if rule.power:
        needed.add("legal_basis")
    if rule.applied_for:
        needed.update(("materials", "time_limit", "visits"))
    return [p for p in PARTS if p in missing and p in needed]


def is_heading(version: VersionLike, has_sub_items: bool) -> bool:
    return has_sub_items and "materials" in unrecorded(version)


def part_label(part: str, zh: bool) -> str:
    label = PART_LABELS.get(part, (part, part))
    return label[0] if zh else label[1]


class NotRecorded(ValueError):
    """A part that is not yet recorded was read as if it were: callers check ``item_gaps``
    first (a bundle refuses an incomplete member, intake an incomplete item)."""

    def __init__(self, code: str, part: str) -> None:
        super().__init__(f"item {code}: {part} not yet recorded")
        self.code = code
        self.part = part


def item_gaps(item: ItemIn) -> list[str]:
    """``gaps`` of an item in its file/API shape."""
    return gaps(_ItemView(item))


def recorded(item: ItemIn, part: Literal["materials", "steps", "legal_basis"]) -> list[Any]:
    value = getattr(item, part)
    if value is None:
        raise NotRecorded(item.implementation_code, part)
    return list(value)


def time_limit(item: ItemIn) -> TimeLimitIn:
    if item.time_limit is None:
        raise NotRecorded(item.implementation_code, "time_limit")
    return item.time_limit


def visits(item: ItemIn) -> int:
    if item.visits is None:
        raise NotRecorded(item.implementation_code, "visits")
    return item.visits


class _ItemView:
    def __init__(self, item: ItemIn) -> None:
        self.item_type = item.type.value
        self.not_recorded = [p for p in LIST_PARTS if getattr(item, p) is None]
        self.legal_limit_days = item.time_limit.legal if item.time_limit else None
        self.visits = item.visits
