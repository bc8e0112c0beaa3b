"""Cross-references within one catalogue document that need no database: duplicate element and
item codes, an item that is its own parent or a parent loop, and (``strict_refs``) parents and
data elements the file does not define."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tongban.catalog.io.document import Loc, Locator


def _as_code(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _rows(raw: Mapping[Any, Any], key: str) -> list[Any]:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _reference_problems(
    raw: Any, place: Locator, *, strict_refs: bool
) -> Iterator[tuple[Loc, str]]:
    if not isinstance(raw, Mapping):
        return
    element_codes: dict[str, int] = {}
    for i, row in enumerate(_rows(raw, "elements")):
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

    items = _rows(raw, "items")
    item_codes: dict[str, int] = {}
    parents: dict[str, str] = {}
    for i, row in enumerate(items):
        code = _as_code(row.get("implementation_code")) if isinstance(row, Mapping) else None
        if code is None:
            continue
        if code in item_codes:
            yield (
                ("items", i, "implementation_code"),
                f"item implementation code '{code}' is used twice "
                f"(first at {place(('items', item_codes[code]))})",
            )
        else:
            item_codes[code] = i
            parent = _as_code(row.get("parent"))
            if parent is not None:
                parents[code] = parent

    for i, row in enumerate(items):
        if not isinstance(row, Mapping):
            continue
        code = _as_code(row.get("implementation_code"))
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
            continue
        for field in ("materials", "outputs"):
            for j, sub in enumerate(_rows(row, field)):
                if not isinstance(sub, Mapping):
                    continue
                for k, ref in enumerate(_rows(sub, "elements")):
                    ref_code = _as_code(ref)
                    if ref_code is not None and ref_code not in element_codes:
                        yield (
                            ("items", i, field, j, "elements", k),
                            f"data element '{ref_code}' is not defined in this file",
                        )
        for j, sub in enumerate(_rows(row, "form")):
            ref_code = _as_code(sub.get("element")) if isinstance(sub, Mapping) else None
            if ref_code is not None and ref_code not in element_codes:
                yield (
                    ("items", i, "form", j, "element"),
                    f"data element '{ref_code}' is not defined in this file",
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
