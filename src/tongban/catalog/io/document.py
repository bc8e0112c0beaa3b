"""What every catalogue format shares: limits, suffixes, how a place in the data is named, and
the shape a reader hands to validation (``_Loaded``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tongban.errors import FieldError

MAX_FILE_BYTES: Final = 256 * 1024 * 1024
"""A catalogue file on disk or uploaded: a province's 100,000 items are about 200 MB of YAML."""
YAML_SUFFIXES: Final = (".yaml", ".yml")
XLSX_SUFFIXES: Final = (".xlsx",)
SUPPORTED_SUFFIXES: Final = YAML_SUFFIXES + XLSX_SUFFIXES
INVALID: Final = "catalogue file is invalid"

Loc = tuple[str | int, ...]
Locator = Callable[[Loc], str]


@dataclass(frozen=True)
class _Loaded:
    """A file's content as plain data (``None`` if it could not be read at all), how to name a
    place in it (without the file name), the problems found so far and the places already
    reported."""

    raw: Any
    place: Locator
    errors: list[FieldError]
    skip: frozenset[Loc] = frozenset()


def _no_place(loc: Loc) -> str:
    return ""


def _path_text(loc: Loc, raw: Any) -> str:
    """``items[3] (QX-RSJ-0001).materials[2].elements[0]``: 0-based indexes, and the code of a
    top-level item or element when the data has one."""
    out = ""
    for i, step in enumerate(loc):
        if isinstance(step, int):
            out += f"[{step}]"
            if i == 1:
                code = _top_code(raw, loc[0], step)
                if code:
                    out += f" ({code})"
        else:
            out += ("." if out else "") + str(step)
    return out


def _top_code(raw: Any, section: str | int, index: int) -> str:
    key = {"items": "implementation_code", "elements": "code"}.get(str(section))
    if key is None or not isinstance(raw, Mapping):
        return ""
    rows = raw.get(section)
    if not isinstance(rows, list) or not 0 <= index < len(rows):
        return ""
    row = rows[index]
    code = row.get(key) if isinstance(row, Mapping) else None
    if isinstance(code, str):
        return code.strip()
    if isinstance(code, int | float) and not isinstance(code, bool):
        return str(code)
    return ""


MAX_REPORTED_ERRORS = 1000
"""A file with more problems than this is not checked on: its first problems are listed, and the
rest would only repeat them (and hold the memory of millions of messages)."""
TOO_MANY_ERRORS = (
    f"more than {MAX_REPORTED_ERRORS} problems: the first ones are listed and the file was not "
    "checked further; mend them and check it again"
)
