"""Cross-references within one catalogue document that need no database: duplicate element and
item codes, an item that is its own parent or a parent loop, a material's ``source_ref`` (an
``item_output`` or ``e_licence`` material names ``ITEM#OUTPUT``; when that item is in the file, it
must have that output, marked ``e_licence`` for an e-licence), step days against the item's time
limits, and (``strict_refs``) parents, source items and data elements the file does not
define."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tongban.catalog.io.document import Loc, Locator


def _as_code(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


#: ``ITEM#OUTPUT``: an item's implementation code and the code of one of its outputs
SOURCE_REF: Final = re.compile(r"^([A-Za-z0-9_.\-]{1,40})#([A-Za-z0-9_.\-]{1,40})$")
#: the step kinds the single window takes over from every member (see bundles/compose.py)
WINDOW_STEP_KINDS: Final = ("acceptance", "delivery")


def _days(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rows(raw: Mapping[Any, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


@dataclass
class FileIndex:
    """What the cross-references of a file's items need of all of them: the index of each item
    code's first entry, each item's parent, each item's outputs (output code → marked
    ``e_licence``). A streaming reader builds it in a first pass and keeps only this."""

    item_codes: dict[str, int] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, bool]] = field(default_factory=dict)

    def add(self, i: int, row: Any) -> None:
        """Item ``i`` of the file (raw data), in the file's order."""
        code = _as_code(row.get("implementation_code")) if isinstance(row, Mapping) else None
        if code is None or code in self.item_codes:
            return
        self.item_codes[code] = i
        parent = _as_code(row.get("parent"))
        if parent is not None:
            self.parents[code] = parent
        self.outputs[code] = {
            out_code: _truthy(sub.get("e_licence"))
            for sub in _rows(row, "outputs")
            if isinstance(sub, Mapping) and (out_code := _as_code(sub.get("code"))) is not None
        }


def _reference_problems(
    raw: Any, place: Locator, *, strict_refs: bool
) -> Iterator[tuple[Loc, str]]:
    if not isinstance(raw, Mapping):
        return
    element_codes: dict[str, int] = {}
    yield from element_problems(_rows(raw, "elements"), place, element_codes)
    items = _rows(raw, "items")
    index = FileIndex()
    for i, row in enumerate(items):
        yield from duplicate_item_problems(i, row, index.item_codes, place)
        index.add(i, row)
    for i, row in enumerate(items):
        yield from item_problems(i, row, index, element_codes, strict_refs=strict_refs)


def element_problems(
    rows: list[Any], place: Locator, element_codes: dict[str, int]
) -> Iterator[tuple[Loc, str]]:
    """Data element codes defined twice; ``element_codes`` is filled with each code's first
    index."""
    for i, row in enumerate(rows):
        code = _as_code(row.get("code")) if isinstance(row, Mapping) else None
        if code is None:
            continue
        if code in element_codes:
            yield (
                ("elements", i, "code"),
                f"data element code '{code}' is defined twice "
                f"(first at {place(('elements', element_codes[code]))})",
            )
        else:
            element_codes[code] = i


def duplicate_item_problems(
    i: int, row: Any, item_codes: Mapping[str, int], place: Locator
) -> Iterator[tuple[Loc, str]]:
    """Item ``i`` reuses the code of an earlier one (``item_codes``: the first index of each
    code of the items before it)."""
    code = _as_code(row.get("implementation_code")) if isinstance(row, Mapping) else None
    if code is not None and code in item_codes and item_codes[code] != i:
        yield (
            ("items", i, "implementation_code"),
            f"item implementation code '{code}' is used twice "
            f"(first at {place(('items', item_codes[code]))})",
        )


def item_problems(
    i: int,
    row: Any,
    index: FileIndex,
    element_codes: Mapping[str, int],
    *,
    strict_refs: bool,
) -> Iterator[tuple[Loc, str]]:
    """Item ``i``'s references within the file: its materials' sources, its steps' days, its
    parent, and (``strict_refs``) the data elements it names."""
    if not isinstance(row, Mapping):
        return
    item_codes, parents, outputs = index.item_codes, index.parents, index.outputs
    code = _as_code(row.get("implementation_code"))
    yield from _source_problems(i, row, outputs, strict_refs=strict_refs)
    yield from _limit_problems(i, row)
    parent = _as_code(row.get("parent"))
    if parent is not None:
        if parent == code:
            yield ("items", i, "parent"), "an item cannot be its own parent"
        elif parent in item_codes:
            if code is not None and item_codes.get(code) == i and _in_loop(code, parents):
                yield ("items", i, "parent"), f"the parent chain of '{code}' loops back to it"
        elif strict_refs:
            yield ("items", i, "parent"), f"parent item '{parent}' is not in this file"
    if not strict_refs:
        return
    for field_name in ("materials", "outputs"):
        for j, sub in enumerate(_rows(row, field_name)):
            if not isinstance(sub, Mapping):
                continue
            for k, ref in enumerate(_rows(sub, "elements")):
                ref_code = _as_code(ref)
                if ref_code is not None and ref_code not in element_codes:
                    yield (
                        ("items", i, field_name, j, "elements", k),
                        f"data element '{ref_code}' is not defined in this file",
                    )
    for j, sub in enumerate(_rows(row, "form")):
        ref_code = _as_code(sub.get("element")) if isinstance(sub, Mapping) else None
        if ref_code is not None and ref_code not in element_codes:
            yield (
                ("items", i, "form", j, "element"),
                f"data element '{ref_code}' is not defined in this file",
            )


def _source_problems(
    i: int, row: Mapping[Any, Any], outputs: Mapping[str, Mapping[str, bool]], *, strict_refs: bool
) -> Iterator[tuple[Loc, str]]:
    """An ``item_output`` or ``e_licence`` material's ``source_ref`` is ``ITEM#OUTPUT``; an item
    of this file must have that output (marked ``e_licence`` for an e-licence)."""
    for j, sub in enumerate(_rows(row, "materials")):
        if not isinstance(sub, Mapping):
            continue
        source, ref = sub.get("source"), sub.get("source_ref")
        if source not in ("item_output", "e_licence") or not isinstance(ref, str) or not ref:
            continue
        loc: Loc = ("items", i, "materials", j, "source_ref")
        name = _as_code(sub.get("code")) or f"materials[{j}]"
        match = SOURCE_REF.match(ref.strip())
        if match is None:
            what = "an e-licence type" if source == "e_licence" else "another item's output"
            yield (
                loc,
                f"material '{name}': source_ref '{ref}' must name {what} as ITEM#OUTPUT "
                "(an implementation code and the code of one of that item's outputs)",
            )
            continue
        item, output = match.groups()
        if item not in outputs:
            if strict_refs:
                yield loc, f"material '{name}': item '{item}' is not in this file"
            continue  # the database layer checks it against what is published
        if output not in outputs[item]:
            known = ", ".join(sorted(outputs[item])) or "none"
            yield (
                loc,
                f"material '{name}': item '{item}' has no output '{output}' (its outputs: {known})",
            )
        elif source == "e_licence" and not outputs[item][output]:
            yield (
                loc,
                f"material '{name}': '{ref}' is not an e-licence type "
                f"(output '{output}' of '{item}' is not marked e_licence: true)",
            )


def _limit_problems(i: int, row: Mapping[Any, Any]) -> Iterator[tuple[Loc, str]]:
    """A step's ``limit_days`` are working days of that step: none may exceed the item's legal
    limit, and the acceptance and delivery days together must fit in the legal and the promised
    limit (the single window takes them over; the rest is the item's own part)."""
    limits = row.get("time_limit")
    if not isinstance(limits, Mapping):
        return
    legal, promised = _days(limits.get("legal")), _days(limits.get("promised"))
    if legal is None:
        return
    window: list[tuple[str, int]] = []
    too_long = False
    for j, step in enumerate(_rows(row, "steps")):
        if not isinstance(step, Mapping):
            continue
        days = _days(step.get("limit_days"))
        if days is None:
            continue
        name = _as_code(step.get("code")) or f"steps[{j}]"
        if days > legal:
            too_long = True
            yield (
                ("items", i, "steps", j, "limit_days"),
                f"step '{name}' takes {days} working days, more than the item's legal time "
                f"limit ({legal})",
            )
        if step.get("kind") in WINDOW_STEP_KINDS:
            window.append((name, days))
    total = sum(days for _, days in window)
    names = ", ".join(name for name, _ in window)
    if not too_long and total > legal:
        yield (
            ("items", i, "time_limit", "legal"),
            f"the acceptance and delivery steps ({names}) take {total} working days together, "
            f"more than the item's legal time limit ({legal})",
        )
    elif total <= legal and promised is not None and total > promised:
        yield (
            ("items", i, "time_limit", "promised"),
            f"the acceptance and delivery steps ({names}) take {total} working days together, "
            f"more than the item's promised time limit ({promised})",
        )


def _in_loop(start: str, parents: Mapping[str, str]) -> bool:
    seen = {start}
    current = parents.get(start)
    while current is not None:
        if current == start:
            return True
        if current in seen:
            return False  # a loop further up; reported on its own members
        seen.add(current)
        current = parents.get(current)
    return False


def _truthy(value: object) -> bool:
    """A boolean as the file's model reads it (pydantic's lax bool: ``true``, ``yes``, ``on``,
    ``1``…): the raw YAML 1.2 value of ``e_licence: yes`` is the string ``"yes"``."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str | int) and str(value).strip().lower() in {
        "1",
        "true",
        "yes",
        "on",
        "y",
        "t",
    }
