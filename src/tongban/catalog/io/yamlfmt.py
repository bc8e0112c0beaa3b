"""The catalogue as YAML: reading through the hardened loader of ``tongban.kit.safeyaml`` (its
refusals keep naming "a catalogue file"), and deterministic writing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from io import StringIO
from pathlib import Path
from typing import Any, Final, TextIO

import yaml

from tongban.catalog.io.document import MAX_FILE_BYTES, Loc, _Loaded, _no_place, _path_text
from tongban.catalog.schemas import FORMAT_ID, CatalogDocument
from tongban.errors import FieldError
from tongban.kit.safeyaml import HAVE_LIBYAML, YamlRefused, load_yaml

WHAT: Final = "catalogue file"


def _yaml_raw(data: bytes, name: str, *, fast: bool = HAVE_LIBYAML) -> _Loaded:
    """The file's data with the YAML line of every place, or why it cannot be read."""
    try:
        loaded = load_yaml(data, name, max_bytes=MAX_FILE_BYTES, what=WHAT, fast=fast)
    except YamlRefused as exc:
        return _Loaded(None, _no_place, exc.errors)
    raw = loaded.data
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        message = (
            f"the top level must be a mapping with 'format', 'elements' and 'items', not {kind}"
        )
        return _Loaded(None, _no_place, [FieldError(name, message)])

    def place(loc: Loc) -> str:
        path = _path_text(loc, raw)
        line = loaded.line_of(loc)
        return f"{path} (line {line})" if path and line else path

    return _Loaded(raw, place, [])


# libyaml's emitter (PyYAML's own, in Python, takes ten times as long: 75 s for 5,000 items). Block
# style, a sequence in a mapping at the mapping's indentation, multi-line strings as literal
# blocks. Without libyaml, PyYAML's emitter gives the same layout.
_Base: Any = yaml.CSafeDumper if HAVE_LIBYAML else yaml.SafeDumper


class _CatalogDumper(_Base):  # type: ignore[misc]
    """The catalogue's YAML writer."""


def _represent_str(dumper: Any, value: str) -> yaml.ScalarNode:
    style: str | None = None
    if "\x85" in value or "\u2028" in value or "\u2029" in value:
        style = '"'  # PyYAML mangles NEL/LS/PS outside double quotes; escaped there
    elif "\n" in value:
        style = "|"
    node: yaml.ScalarNode = dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return node


_CatalogDumper.add_representer(str, _represent_str)


def _plain(doc: CatalogDocument) -> dict[str, Any]:
    """The document as plain data: enums as strings, values equal to the default left out
    (reading fills them back in, so nothing is lost), ``format`` always first."""
    data = doc.model_dump(mode="json", exclude_defaults=True)
    data.pop("format", None)
    return {"format": FORMAT_ID, **data}


_DUMP_OPTIONS: Final[dict[str, Any]] = {
    "Dumper": _CatalogDumper,
    "allow_unicode": True,
    "sort_keys": False,
    "default_flow_style": False,
    "width": 100,
    "line_break": "\n",
    "explicit_start": False,
}
WIDTH: Final = 100


# What the writer below emits itself: what libyaml would write plain. A scalar that is not surely
# plain (quoted, a literal block, folded at the width, or read back as another type) sends its
# whole entry to PyYAML, so the text stays what ``yaml.dump`` of the whole document gives.
_PRINTABLE: Final = re.compile(r"[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]+")
_FIRST_UNSAFE: Final = frozenset("#,[]{}&*!|>'\"%@` ")
_resolvers: Final = _CatalogDumper.yaml_implicit_resolvers


class _NotPlain(Exception):
    """An entry the fast writer leaves to PyYAML."""


def _plain_text(value: str, column: int) -> bool:
    """Whether libyaml writes ``value`` plain, unfolded, starting at ``column``, and the
    resolvers read it back as a string (a conservative test: ``False`` only costs time)."""
    limit = _PLAIN_UP_TO.get(value)
    if limit is None:
        limit = _remember(value)
    return column <= limit


def _remember(value: str) -> int:
    limit = _plain_limit(value)
    if len(_PLAIN_UP_TO) >= _CACHE_SIZE:
        _PLAIN_UP_TO.clear()
    _PLAIN_UP_TO[value] = limit
    return limit


_CACHE_SIZE: Final = 100_000
_PLAIN_UP_TO: dict[str, int] = {}
"""A text's answer by text (the same codes, kinds and names recur in every item): the last
column it may start at and still be written plain on one line, -1 if it is never plain."""
_ANYWHERE: Final = 1 << 30


def _plain_limit(value: str) -> int:
    if not value or _PRINTABLE.fullmatch(value) is None:
        return -1
    first = value[0]
    if first in _FIRST_UNSAFE or value[-1] == " " or value.endswith(":"):
        return -1
    if first in "?:-" and (len(value) == 1 or value[1] == " "):
        return -1
    if value.startswith(("---", "...")) or ": " in value or " #" in value:
        return -1
    for tag, regexp in _resolvers.get(first, ()):
        if tag != "tag:yaml.org,2002:str" and regexp.match(value):
            return -1
    # libyaml folds a plain text at a space once the line is past the width
    return WIDTH - len(value) if " " in value else _ANYWHERE


def _scalar(value: Any, column: int) -> str:
    kind = type(value)
    if kind is str:
        if _plain_text(value, column):
            text: str = value
            return text
        raise _NotPlain
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    raise _NotPlain


_KEYS: dict[int, dict[str, tuple[str, str, int]]] = {}
"""By indentation, a key checked once: its line's start (``key: ``) indented and not (after
``- ``), and the column its value starts at."""


def _key(key: Any, indent: int) -> tuple[str, str, int]:
    if type(key) is not str or len(key) > 100 or not _plain_text(key, 0):
        raise _NotPlain
    found = (f"{' ' * indent}{key}: ", f"{key}: ", indent + len(key) + 2)
    _KEYS.setdefault(indent, {})[key] = found
    return found


def _mapping(out: list[str], mapping: dict[str, Any], indent: int, inline: bool) -> None:
    """A block mapping at ``indent``; ``inline``: its first key follows a ``- `` already
    written."""
    append = out.append
    limits = _PLAIN_UP_TO
    keys = _KEYS.get(indent) or {}
    for key, value in mapping.items():
        padded, bare, column = keys.get(key) or _key(key, indent)
        start = bare if inline else padded
        inline = False
        kind = type(value)
        if kind is str:
            limit = limits.get(value)
            if limit is None:
                limit = _remember(value)
            if column > limit:
                raise _NotPlain
            append(f"{start}{value}\n")
        elif kind is int:
            append(f"{start}{value}\n")
        elif kind is list:
            if value:
                append(f"{start[:-1]}\n")
                _sequence(out, value, indent)  # at the mapping's indentation
            else:
                append(f"{start}[]\n")
        elif kind is dict:
            if value:
                append(f"{start[:-1]}\n")
                _mapping(out, value, indent + 2, False)
            else:
                append(f"{start}{{}}\n")
        else:
            append(f"{start}{_scalar(value, column)}\n")


def _sequence(out: list[str], values: list[Any], indent: int) -> None:
    dash = " " * indent + "- "
    limits = _PLAIN_UP_TO
    column = indent + 2
    for value in values:
        kind = type(value)
        if kind is dict and value:
            out.append(dash)
            _mapping(out, value, indent + 2, True)
        elif kind is str:
            limit = limits.get(value)
            if limit is None:
                limit = _remember(value)
            if column > limit:
                raise _NotPlain
            out.append(f"{dash}{value}\n")
        elif kind is dict or kind is list:
            raise _NotPlain  # "- {}", "- []", a list in a list: left to PyYAML
        else:
            out.append(f"{dash}{_scalar(value, column)}\n")


def dump_entry(entry: dict[str, Any]) -> str:
    """One element or item (plain data) as an entry of its section's list: ``- code: …``,
    exactly as it stands in ``dump_yaml``'s text of a whole document."""
    out: list[str] = []
    try:
        _sequence(out, [entry], 0)
    except _NotPlain:
        text: str = yaml.dump([entry], **_DUMP_OPTIONS)
        return text
    return "".join(out)


def write_sections(
    out: TextIO, elements: Iterable[dict[str, Any]], items: Iterable[dict[str, Any]]
) -> int:
    """A catalogue as YAML to ``out``, entry by entry, from the plain data of its elements and
    items (what ``ElementIn``/``ItemIn.model_dump(mode="json", exclude_defaults=True)`` give):
    the same text as ``dump_yaml`` of the whole document, without holding it. Returns the
    number of items written."""
    out.write(f"format: {FORMAT_ID}\n")
    counts = {"elements": 0, "items": 0}
    for section, entries in (("elements", elements), ("items", items)):
        for entry in entries:
            if not counts[section]:
                out.write(f"{section}:\n")
            counts[section] += 1
            out.write(dump_entry(entry))
    return counts["items"]


def dump_yaml(doc: CatalogDocument) -> str:
    """The document as deterministic YAML text (what ``write_yaml`` writes)."""
    buffer = StringIO()
    data = _plain(doc)
    write_sections(buffer, data.get("elements", ()), data.get("items", ()))
    return buffer.getvalue()


def write_yaml(doc: CatalogDocument, path: Path) -> None:
    Path(path).write_text(dump_yaml(doc), encoding="utf-8", newline="")
