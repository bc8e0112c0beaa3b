"""Catalogue file formats: YAML, XLSX and an EU CPSV-AP 3.x JSON-LD export.

Pure functions, no database. ``read_catalog`` loads and validates a whole file and reports every
problem it finds at once (file, position, field); the ``write_*``/``dump_*`` functions are
deterministic, so export → import → export gives byte-identical files.

Hostile input is expected: files are capped at 20 MB; YAML is read with a safe loader (libyaml's
when PyYAML has it, after a pass over the events) that also refuses anchors/aliases (no "billion
laughs"), merge keys, duplicate keys and nesting deeper than 64 levels; an XLSX file's ZIP
directory is checked (size, member count) before openpyxl opens it read-only, values only.

Error locations: ``catalog.yaml: items[3] (QX-RSJ-0001).materials[2].elements[0] (line 42)``
(0-based indexes, the top-level item's or element's code, the YAML line) and
``catalog.xlsx: sheet 'materials' row 7 column 'necessity'``.

The XLSX workbook has the sheets ``elements``, ``items`` and one per list of an item
(``co_handlers``, ``legal_basis``, ``conditions``, ``materials``, ``form``, ``steps``, ``fees``,
``channels``, ``outputs``) keyed by ``item`` (implementation code) and ``position``; list cells
hold ``|``-separated values. Writing refuses what a cell cannot hold losslessly.

Cross-references that need no database are checked here (duplicate element and item codes, an
item that is its own parent or a parent loop); with ``strict_refs=True`` every parent and every
data element named by a form field, material or output must also be defined in the same file.
Otherwise the database layer checks those against what it already holds.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePath
from typing import Any, Final

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, SequenceNode

from tongban.catalog.schemas import FORMAT_ID, CatalogDocument, ItemIn
from tongban.errors import FieldError, ValidationFailed

__all__ = [
    "MAX_FILE_BYTES",
    "SUPPORTED_SUFFIXES",
    "CpsvEvent",
    "dump_xlsx",
    "dump_yaml",
    "parse_catalog",
    "read_catalog",
    "to_cpsv_jsonld",
    "validate_catalog_file",
    "write_jsonld",
    "write_xlsx",
    "write_yaml",
]

MAX_FILE_BYTES: Final = 20 * 1024 * 1024
MAX_YAML_DEPTH: Final = 64
MAX_XLSX_UNCOMPRESSED: Final = 200 * 1024 * 1024
MAX_XLSX_MEMBERS: Final = 1000
YAML_SUFFIXES: Final = (".yaml", ".yml")
XLSX_SUFFIXES: Final = (".xlsx",)
SUPPORTED_SUFFIXES: Final = YAML_SUFFIXES + XLSX_SUFFIXES
INVALID: Final = "catalogue file is invalid"

Loc = tuple[str | int, ...]
Locator = Callable[[Loc], str]


# --------------------------------------------------------------------------------------------
# Reading: entry points
# --------------------------------------------------------------------------------------------


def read_catalog(path: Path, *, strict_refs: bool = False) -> CatalogDocument:
    """Load and validate a whole catalogue file (``.yaml``/``.yml``/``.xlsx``).

    Raises ``ValidationFailed("catalogue file is invalid", errors=[...])`` listing every problem.
    """
    doc, errors = _read(Path(path), strict_refs=strict_refs)
    if errors or doc is None:
        raise ValidationFailed(INVALID, errors=errors)
    return doc


def validate_catalog_file(path: Path, *, strict_refs: bool = False) -> list[FieldError]:
    """Every problem with a catalogue file, or ``[]`` when it is valid."""
    return _read(Path(path), strict_refs=strict_refs)[1]


def parse_catalog(data: bytes, filename: str, *, strict_refs: bool = False) -> CatalogDocument:
    """Like ``read_catalog`` for content already in memory (an upload); the format comes from
    ``filename``'s suffix and the name appears in error locations."""
    doc, errors = _parse(data, _display_name(filename), strict_refs=strict_refs)
    if errors or doc is None:
        raise ValidationFailed(INVALID, errors=errors)
    return doc


def _display_name(filename: str) -> str:
    return PurePath(filename).name or filename


def _suffix_error(name: str) -> FieldError:
    return FieldError(
        name,
        f"unsupported file type '{PurePath(name).suffix or '(none)'}': "
        f"a catalogue file must be {', '.join(SUPPORTED_SUFFIXES)}",
    )


def _read(path: Path, *, strict_refs: bool) -> tuple[CatalogDocument | None, list[FieldError]]:
    name = path.name or str(path)
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        return None, [_suffix_error(name)]
    try:
        if not path.is_file():
            return None, [FieldError(name, "no such file (or not a regular file)")]
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, [_too_big(name)]
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [FieldError(name, f"cannot read the file: {exc.strerror or exc}")]
    return _parse(data, name, strict_refs=strict_refs)


def _too_big(name: str) -> FieldError:
    return FieldError(name, f"file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")


def _parse(
    data: bytes, name: str, *, strict_refs: bool
) -> tuple[CatalogDocument | None, list[FieldError]]:
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return None, [_suffix_error(name)]
    if len(data) > MAX_FILE_BYTES:
        return None, [_too_big(name)]
    loaded = _yaml_raw(data, name) if suffix in YAML_SUFFIXES else _xlsx_raw(data, name)
    if loaded.raw is None:
        return None, loaded.errors

    def locate(loc: Loc) -> str:
        place = loaded.place(loc)
        return f"{name}: {place}" if place else name

    doc, errors = _validate(
        loaded.raw, locate, loaded.place, strict_refs=strict_refs, skip=loaded.skip
    )
    errors = loaded.errors + errors
    return (None if errors else doc), errors


@dataclass(frozen=True)
class _Loaded:
    """A file's content as plain data (``None`` if it could not be read at all), how to name a
    place in it (without the file name), the problems found so far and the places already
    reported."""

    raw: Any
    place: Locator
    errors: list[FieldError]
    skip: frozenset[Loc] = frozenset()


def _validate(
    raw: Any,
    locate: Locator,
    place: Locator,
    *,
    strict_refs: bool,
    skip: frozenset[Loc] = frozenset(),
) -> tuple[CatalogDocument | None, list[FieldError]]:
    errors: list[FieldError] = []
    doc: CatalogDocument | None = None
    flagged: set[Loc] = set(skip)
    try:
        doc = CatalogDocument.model_validate(raw)
    except ValidationError as exc:
        for error, loc in _pydantic_errors(exc, locate):
            if not any(loc[:n] in skip for n in range(len(loc) + 1)):
                errors.append(error)
            flagged.add(loc)
    errors.extend(
        FieldError(locate(loc), message)
        for loc, message in _reference_problems(raw, place, strict_refs=strict_refs)
        if loc not in flagged  # e.g. a malformed code is reported once, not also as unknown
    )
    return (None if errors else doc), errors


def _pydantic_errors(exc: ValidationError, locate: Locator) -> list[tuple[FieldError, Loc]]:
    out: list[tuple[FieldError, Loc]] = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"])
        if err["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        if err["type"] != "missing":
            got = _short(err.get("input"))
            if got:
                message = f"{message} (got {got})"
        loc = tuple(err["loc"])
        out.append((FieldError(locate(loc), message), loc))
    return out


def _short(value: Any) -> str:
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        if len(value) > 40:
            return f"{value[:40]!r}… ({len(value)} characters)"
        return repr(value)
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


# --------------------------------------------------------------------------------------------
# Cross-references within the document
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# YAML
# --------------------------------------------------------------------------------------------


def _refuse_event(event: Any, depth: int) -> None:
    """Refuse an alias, an anchor, or nesting beyond ``MAX_YAML_DEPTH``."""
    mark: Any = event.start_mark
    anchor: str | None = getattr(event, "anchor", None)
    if isinstance(event, AliasEvent):
        raise ComposerError(
            None, None, f"aliases (*{anchor}) are not allowed in a catalogue file", mark
        )
    if anchor is not None:
        raise ComposerError(
            None, None, f"anchors (&{anchor}) are not allowed in a catalogue file", mark
        )
    if depth > MAX_YAML_DEPTH:
        raise ComposerError(None, None, f"nesting is deeper than {MAX_YAML_DEPTH} levels", mark)


class _TrackingConstructor(SafeConstructor):
    """Builds mappings and sequences while refusing merge keys and collecting duplicate keys,
    and remembers the line of every mapping key and sequence entry for error messages."""

    key_lines: dict[int, dict[Any, int]]
    entry_lines: dict[int, list[int]]
    duplicates: list[tuple[int, int, str]]

    def init_tracking(self) -> None:
        self.key_lines = {}
        self.entry_lines = {}
        self.duplicates = []

    def construct_catalog_map(self, node: MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        yield data
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "merge keys (<<) are not allowed in a catalogue file",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
            line = key_node.start_mark.line + 1
            if key in data:
                column = key_node.start_mark.column + 1
                message = f"duplicate key {key!r} (first on line {lines[key]})"
                self.duplicates.append((line, column, message))
                continue
            data[key] = self.construct_object(value_node, deep=False)
            lines[key] = line
        self.key_lines[id(data)] = lines

    def construct_catalog_seq(self, node: SequenceNode) -> Iterator[list[Any]]:
        data: list[Any] = []
        yield data
        data.extend(self.construct_object(child, deep=False) for child in node.value)
        self.entry_lines[id(data)] = [child.start_mark.line + 1 for child in node.value]


class _PyLoader(_TrackingConstructor, yaml.SafeLoader):
    """Pure-Python ``SafeLoader`` that checks every node as it composes it."""

    def __init__(self, stream: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self.init_tracking()
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            _refuse_event(self.peek_event(), self._depth)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_HAVE_LIBYAML: Final = bool(getattr(yaml, "__with_libyaml__", False))

_PyLoader.add_constructor("tag:yaml.org,2002:map", _PyLoader.construct_catalog_map)  # type: ignore[type-var]
_PyLoader.add_constructor("tag:yaml.org,2002:seq", _PyLoader.construct_catalog_seq)  # type: ignore[type-var]

if _HAVE_LIBYAML:

    class _CLoader(_TrackingConstructor, yaml.CSafeLoader):
        """libyaml's safe loader (much faster); ``_check_events`` must vet the text first,
        since libyaml composes aliases and nesting in C."""

        def __init__(self, stream: str) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            self.init_tracking()

    _CLoader.add_constructor("tag:yaml.org,2002:map", _CLoader.construct_catalog_map)  # type: ignore[type-var]
    _CLoader.add_constructor("tag:yaml.org,2002:seq", _CLoader.construct_catalog_seq)  # type: ignore[type-var]


def _check_events(text: str) -> None:
    """One fast pass over libyaml's events: no anchors, no aliases, no deep nesting."""
    parser = yaml.CSafeLoader(text)
    try:
        depth = 0
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, CollectionStartEvent):
                depth += 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            _refuse_event(event, depth + (1 if isinstance(event, ScalarEvent) else 0))
    finally:
        parser.dispose()


def _no_place(loc: Loc) -> str:
    return ""


def _yaml_raw(data: bytes, name: str, *, fast: bool = _HAVE_LIBYAML) -> _Loaded:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (bad byte at offset {exc.start})"
        return _Loaded(None, _no_place, [FieldError(name, message)])
    loader: _PyLoader | _CLoader | None = None
    try:
        if fast:
            _check_events(text)
            loader = _CLoader(text)
        else:
            loader = _PyLoader(text)
        raw = loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        return _Loaded(None, _no_place, [_reader_error(name, text, exc, in_bytes=fast)])
    except yaml.MarkedYAMLError as exc:
        return _Loaded(None, _no_place, [_yaml_error(name, exc)])
    except yaml.YAMLError as exc:
        return _Loaded(None, _no_place, [FieldError(name, f"not valid YAML: {exc}")])
    finally:
        if loader is not None:
            loader.dispose()
    if loader.duplicates:
        errors = [
            FieldError(f"{name}: line {line} column {column}", message)
            for line, column, message in loader.duplicates
        ]
        return _Loaded(None, _no_place, errors)
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        message = (
            f"the top level must be a mapping with 'format', 'elements' and 'items', not {kind}"
        )
        return _Loaded(None, _no_place, [FieldError(name, message)])

    def place(loc: Loc) -> str:
        path = _path_text(loc, raw)
        line = _yaml_line(loc, raw, loader)
        return f"{path} (line {line})" if path and line else path

    return _Loaded(raw, place, [])


def _yaml_error(name: str, exc: yaml.MarkedYAMLError) -> FieldError:
    mark = exc.problem_mark or exc.context_mark
    loc = f"{name}: line {mark.line + 1} column {mark.column + 1}" if mark else name
    message = exc.problem or exc.context or "not valid YAML"
    if exc.problem and exc.context:
        where = f" starting on line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message = f"{exc.context}{where}: {exc.problem}"
    return FieldError(loc, message)


def _reader_error(
    name: str, text: str, exc: yaml.reader.ReaderError, *, in_bytes: bool
) -> FieldError:
    # PyYAML reports a character index, libyaml a byte offset into the UTF-8 text.
    before = (
        text.encode("utf-8")[: exc.position].decode("utf-8", "replace")
        if in_bytes
        else text[: exc.position]
    )
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return FieldError(
        f"{name}: line {line} column {column}",
        f"character U+{exc.character:04X} is not allowed in a YAML file",
    )


def _yaml_line(loc: Loc, raw: Any, loader: _TrackingConstructor) -> int | None:
    node = raw
    line: int | None = None
    for step in loc:
        if isinstance(node, dict) and step in node:
            line = loader.key_lines.get(id(node), {}).get(step, line)
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            lines = loader.entry_lines.get(id(node), [])
            line = lines[step] if step < len(lines) else line
            node = node[step]
        else:
            break
    return line


class _CatalogDumper(yaml.SafeDumper):
    """Block style, indented sequences, multi-line strings as literal blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_UNICODE_BREAKS: Final = frozenset("\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style: str | None = None
    if _UNICODE_BREAKS.intersection(value):
        style = '"'  # PyYAML mangles NEL/LS/PS outside double quotes; escaped there
    elif "\n" in value:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CatalogDumper.add_representer(str, _represent_str)


def _plain(doc: CatalogDocument) -> dict[str, Any]:
    """The document as plain data: enums as strings, values equal to the default left out
    (reading fills them back in, so nothing is lost), ``format`` always first."""
    data = doc.model_dump(mode="json", exclude_defaults=True)
    data.pop("format", None)
    return {"format": FORMAT_ID, **data}


def dump_yaml(doc: CatalogDocument) -> str:
    """The document as deterministic YAML text (what ``write_yaml`` writes)."""
    return yaml.dump(
        _plain(doc),
        Dumper=_CatalogDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
        line_break="\n",
        explicit_start=False,
    )


def write_yaml(doc: CatalogDocument, path: Path) -> None:
    Path(path).write_text(dump_yaml(doc), encoding="utf-8", newline="")


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

# Column kinds: "str", "int", "bool", "list" ("|"-separated values).
_Columns = tuple[tuple[str, str], ...]

_ELEMENT_COLUMNS: _Columns = (
    ("code", "str"),
    ("name_zh", "str"),
    ("name_en", "str"),
    ("type", "str"),
    ("format", "str"),
    ("max_length", "int"),
    ("allowed_values", "list"),
    ("validator", "str"),
    ("source_department", "str"),
    ("description", "str"),
)
_ITEM_COLUMNS: _Columns = (
    ("implementation_code", "str"),
    ("basic_code", "str"),
    ("parent", "str"),
    ("status", "str"),
    ("name_zh", "str"),
    ("name_en", "str"),
    ("type", "str"),
    ("department", "str"),
    ("description", "str"),
    ("time_limit_legal", "int"),
    ("time_limit_promised", "int"),
    ("visits", "int"),
)
_TIME_LIMIT_COLUMNS: Final = {"time_limit_legal": "legal", "time_limit_promised": "promised"}

# sheet -> (ItemIn field, columns after "item" and "position", column of a list of plain values)
_CHILD_SHEETS: Final[dict[str, tuple[str, _Columns, str | None]]] = {
    "co_handlers": ("co_handlers", (("department", "str"),), "department"),
    "legal_basis": ("legal_basis", (("law", "str"), ("article", "str"), ("text", "str")), None),
    "conditions": ("conditions", (("zh", "str"), ("en", "str")), None),
    "materials": (
        "materials",
        (
            ("code", "str"),
            ("name_zh", "str"),
            ("name_en", "str"),
            ("necessity", "str"),
            ("format", "str"),
            ("copies", "int"),
            ("source", "str"),
            ("source_ref", "str"),
            ("elements", "list"),
        ),
        None,
    ),
    "form": (
        "form",
        (
            ("code", "str"),
            ("label_zh", "str"),
            ("label_en", "str"),
            ("element", "str"),
            ("required", "bool"),
        ),
        None,
    ),
    "steps": (
        "steps",
        (
            ("code", "str"),
            ("kind", "str"),
            ("name_zh", "str"),
            ("name_en", "str"),
            ("responsible", "str"),
            ("limit_days", "int"),
        ),
        None,
    ),
    "fees": (
        "fees",
        (("name_zh", "str"), ("name_en", "str"), ("amount_fen", "int"), ("basis", "str")),
        None,
    ),
    "channels": ("channels", (("channel", "str"),), "channel"),
    "outputs": (
        "outputs",
        (
            ("code", "str"),
            ("name_zh", "str"),
            ("name_en", "str"),
            ("kind", "str"),
            ("e_licence", "bool"),
            ("elements", "list"),
        ),
        None,
    ),
}
_CHILD_KEY_COLUMNS: _Columns = (("item", "str"), ("position", "int"))


def _sheet_columns(sheet: str) -> _Columns:
    if sheet == "elements":
        return _ELEMENT_COLUMNS
    if sheet == "items":
        return _ITEM_COLUMNS
    return _CHILD_KEY_COLUMNS + _CHILD_SHEETS[sheet][1]


SHEETS: Final = ("elements", "items", *_CHILD_SHEETS)
LIST_SEPARATOR: Final = "|"
_FIXED_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)
_FIXED_CORE_XML: Final = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b"<dc:creator>tongban</dc:creator>"
    b'<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
    b'<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified>'
    b"</cp:coreProperties>"
)
# XML cannot hold these; openpyxl refuses them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# OOXML's own escape syntax: openpyxl leaves "_xHHHH_" alone when reading but strips "x005F_",
# and Excel decodes both, so such text could not round-trip. Carriage returns, which XML turns
# into plain line feeds, are written as "_x000D_" (what Excel does) and decoded on reading.
_OOXML_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_|x005F_", re.IGNORECASE)
_CR_ESCAPE: Final = "_x000D_"
_EXCEL_MAX_INT: Final = 10**15 - 1  # Excel keeps 15 significant digits


class _Omit:
    """An empty cell: the field keeps its model default."""


_OMIT: Final = _Omit()


def _xlsx_text(value: str) -> str:
    return value.replace("\r", _CR_ESCAPE)


def _cell_problem(value: Any, kind: str) -> str | None:
    if kind == "int" and isinstance(value, int) and abs(value) > _EXCEL_MAX_INT:
        return f"{value} has more digits than a spreadsheet number keeps (15)"
    if kind == "list":
        for part in value:
            if part == "" or LIST_SEPARATOR in part:
                return (
                    f"value {part!r} cannot be stored in a '{LIST_SEPARATOR}'-separated "
                    f"spreadsheet cell (it is empty or contains '{LIST_SEPARATOR}')"
                )
            problem = _text_problem(part)
            if problem:
                return problem
    if kind == "str" and isinstance(value, str):
        return _text_problem(value)
    return None


def _text_problem(value: str) -> str | None:
    bad = _XML_ILLEGAL.search(value)
    if bad:
        return f"control character U+{ord(bad.group()):04X} cannot be stored in a spreadsheet"
    esc = _OOXML_ESCAPE.search(value)
    if esc:
        return f"text {esc.group()!r} is spreadsheet escape syntax and cannot be stored as is"
    return None


def _cell_value(value: Any, kind: str) -> Any:
    if value is None or value == "" or value == []:
        return None
    if kind == "list":
        return _xlsx_text(LIST_SEPARATOR.join(value))
    if isinstance(value, str):
        return _xlsx_text(value)
    return value


def _xlsx_rows(doc: CatalogDocument) -> tuple[dict[str, list[list[Any]]], list[FieldError]]:
    """The cell values of every sheet (header row first), and what cannot be written."""
    plain = doc.model_dump(mode="json")
    sheets: dict[str, list[list[Any]]] = {
        sheet: [[name for name, _ in _sheet_columns(sheet)]] for sheet in SHEETS
    }
    errors: list[FieldError] = []

    def cell(value: Any, kind: str, loc: Loc) -> Any:
        problem = _cell_problem(value, kind)
        if problem:
            errors.append(FieldError(_path_text(loc, plain), problem))
        return _cell_value(value, kind)

    for i, element in enumerate(plain["elements"]):
        sheets["elements"].append(
            [cell(element[col], kind, ("elements", i, col)) for col, kind in _ELEMENT_COLUMNS]
        )
    for i, item in enumerate(plain["items"]):
        row: list[Any] = []
        for col, kind in _ITEM_COLUMNS:
            if col in _TIME_LIMIT_COLUMNS:
                key = _TIME_LIMIT_COLUMNS[col]
                row.append(cell(item["time_limit"][key], kind, ("items", i, "time_limit", key)))
            else:
                row.append(cell(item[col], kind, ("items", i, col)))
        sheets["items"].append(row)
        code = item["implementation_code"]
        for sheet, (field, columns, scalar) in _CHILD_SHEETS.items():
            for k, entry in enumerate(item[field]):
                values: list[Any] = [cell(code, "str", ("items", i, "implementation_code")), k + 1]
                if scalar is not None:
                    values.append(cell(entry, "str", ("items", i, field, k)))
                else:
                    values.extend(
                        cell(entry[col], kind, ("items", i, field, k, col)) for col, kind in columns
                    )
                sheets[sheet].append(values)
    return sheets, errors


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    text = str(value).split("\n", 1)[0]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def dump_xlsx(doc: CatalogDocument) -> bytes:
    """The document as a deterministic XLSX workbook (what ``write_xlsx`` writes).

    Raises ``ValidationFailed`` if a value cannot be stored in a spreadsheet cell (a ``|`` inside
    a list value, a control character, OOXML escape syntax, a number beyond 15 digits).
    """
    sheets, errors = _xlsx_rows(doc)
    if errors:
        raise ValidationFailed("catalogue cannot be written as XLSX", errors=errors)
    wb = Workbook()
    default_sheet = wb.active
    bold = Font(bold=True)
    for sheet, rows in sheets.items():
        ws = wb.create_sheet(sheet)
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                target = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    target.data_type = "s"  # text starting with "=" stays text, never a formula
                if r == 1:
                    target.font = bold
        ws.freeze_panes = "A2"
        for c in range(1, len(rows[0]) + 1):
            width = max(_display_width(values[c - 1]) for values in rows)
            ws.column_dimensions[get_column_letter(c)].width = min(max(width, 8), 60) + 2
    if default_sheet is not None:
        wb.remove(default_sheet)
    buffer = io.BytesIO()
    wb.save(buffer)
    return _normalise_zip(buffer.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite openpyxl's archive with fixed timestamps and fixed document properties, so the
    same catalogue always gives the same bytes."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            content = _FIXED_CORE_XML if info.filename == "docProps/core.xml" else src.read(info)
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0
            entry.external_attr = 0
            dst.writestr(entry, content)
    return out.getvalue()


def write_xlsx(doc: CatalogDocument, path: Path) -> None:
    Path(path).write_bytes(dump_xlsx(doc))


def _xlsx_raw(data: bytes, name: str) -> _Loaded:
    not_xlsx = "not a valid .xlsx workbook"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return _Loaded(None, _no_place, [FieldError(name, f"{not_xlsx} (not a ZIP archive)")])
    if len(members) > MAX_XLSX_MEMBERS or sum(m.file_size for m in members) > MAX_XLSX_UNCOMPRESSED:
        return _Loaded(
            None, _no_place, [FieldError(name, f"{not_xlsx} (it unpacks to too much data)")]
        )
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        return _Loaded(
            None, _no_place, [FieldError(name, f"{not_xlsx} ({type(exc).__name__}: {exc})")]
        )
    try:
        return _workbook_raw(wb, name)
    except Exception as exc:  # a corrupt sheet only shows up while iterating over it
        return _Loaded(
            None, _no_place, [FieldError(name, f"{not_xlsx} ({type(exc).__name__}: {exc})")]
        )
    finally:
        wb.close()


def _workbook_raw(wb: Any, name: str) -> _Loaded:
    errors: list[FieldError] = []
    where: dict[Loc, str] = {(): ""}

    bad: set[Loc] = set()

    def fail(place: str, message: str) -> None:
        errors.append(FieldError(f"{name}: {place}" if place else name, message))

    present = list(wb.sheetnames)
    for sheet in present:
        if sheet not in SHEETS:
            fail(f"sheet '{sheet}'", f"unknown sheet; the sheets are: {', '.join(SHEETS)}")
    for sheet in SHEETS:
        if sheet not in present:
            fail("", f"missing sheet '{sheet}'")

    tables: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for sheet in SHEETS:
        if sheet in present:
            tables[sheet] = _sheet_rows(wb[sheet], sheet, _sheet_columns(sheet), fail)

    structural_ok = not errors

    def convert(sheet: str, row: int, col: str, kind: str, value: Any, loc: Loc) -> Any:
        place = f"sheet '{sheet}' row {row} column '{col}'"
        where[loc] = place
        result, problem = _from_cell(value, kind)
        if problem:
            fail(place, problem)
            bad.add(loc)
            return _OMIT
        return result

    elements: list[dict[str, Any]] = []
    where[("elements",)] = "sheet 'elements'"
    for rownum, values in tables.get("elements", []):
        i = len(elements)
        where[("elements", i)] = f"sheet 'elements' row {rownum}"
        element: dict[str, Any] = {}
        for col, kind in _ELEMENT_COLUMNS:
            value = convert("elements", rownum, col, kind, values.get(col), ("elements", i, col))
            if value is not _OMIT:
                element[col] = value
        elements.append(element)

    items: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    where[("items",)] = "sheet 'items'"
    for rownum, values in tables.get("items", []):
        i = len(items)
        where[("items", i)] = f"sheet 'items' row {rownum}"
        where[("items", i, "time_limit")] = (
            f"sheet 'items' row {rownum} columns 'time_limit_legal' and 'time_limit_promised'"
        )
        item: dict[str, Any] = {}
        for col, kind in _ITEM_COLUMNS:
            if col in _TIME_LIMIT_COLUMNS:
                key = _TIME_LIMIT_COLUMNS[col]
                loc: Loc = ("items", i, "time_limit", key)
                value = convert("items", rownum, col, kind, values.get(col), loc)
                if value is not _OMIT:
                    item.setdefault("time_limit", {})[key] = value
                elif loc in bad:
                    bad.add(loc[:-1])
            else:
                value = convert("items", rownum, col, kind, values.get(col), ("items", i, col))
                if value is not _OMIT:
                    item[col] = value
        code = item.get("implementation_code")
        if isinstance(code, str) and code.strip() and code.strip() not in index_of:
            index_of[code.strip()] = i
        items.append(item)

    for sheet, (field, columns, scalar) in _CHILD_SHEETS.items():
        groups: dict[int, list[tuple[int, int, dict[str, Any]]]] = {}
        for rownum, values in tables.get(sheet, []):
            code, problem = _from_cell(values.get("item"), "str")
            row_place = f"sheet '{sheet}' row {rownum}"
            if problem or code is _OMIT:
                fail(
                    f"{row_place} column 'item'",
                    problem or "the item's implementation code is missing",
                )
                continue
            if str(code).strip() not in index_of:
                fail(f"{row_place} column 'item'", f"no item '{code}' in sheet 'items'")
                continue
            position, problem = _from_cell(values.get("position"), "int")
            if problem or position is _OMIT or not isinstance(position, int):
                fail(f"{row_place} column 'position'", problem or "a whole number is needed")
                continue
            groups.setdefault(index_of[str(code).strip()], []).append((position, rownum, values))
        for i, rows in groups.items():
            rows.sort(key=lambda entry: (entry[0], entry[1]))
            code = items[i]["implementation_code"]
            where[("items", i, field)] = f"sheet '{sheet}' (rows of item '{code}')"
            entries: list[Any] = []
            seen: dict[int, int] = {}
            for k, (position, rownum, values) in enumerate(rows):
                if position in seen:
                    fail(
                        f"sheet '{sheet}' row {rownum} column 'position'",
                        f"position {position} of item '{code}' is also on row {seen[position]}",
                    )
                seen.setdefault(position, rownum)
                where[("items", i, field, k)] = f"sheet '{sheet}' row {rownum}"
                if scalar is not None:
                    loc = ("items", i, field, k)
                    value = convert(sheet, rownum, scalar, "str", values.get(scalar), loc)
                    entries.append(None if value is _OMIT else value)
                    continue
                entry: dict[str, Any] = {}
                for col, kind in columns:
                    loc = ("items", i, field, k, col)
                    value = convert(sheet, rownum, col, kind, values.get(col), loc)
                    if value is not _OMIT:
                        entry[col] = value
                entries.append(entry)
            items[i][field] = entries

    raw = {"elements": elements, "items": items}

    def place(loc: Loc) -> str:
        text, rest = "", loc
        for n in range(len(loc), -1, -1):
            if loc[:n] in where:
                text, rest = where[loc[:n]], loc[n:]
                break
        if len(rest) == 1 and isinstance(rest[0], int):
            text += f" (value {rest[0] + 1})"
        elif rest:
            text += f" field '{_path_text(rest, None)}'"
        return text

    return _Loaded(raw if structural_ok else None, place, errors, frozenset(bad))


def _sheet_rows(
    ws: Any, sheet: str, columns: _Columns, fail: Callable[[str, str], None]
) -> list[tuple[int, dict[str, Any]]]:
    ws.reset_dimensions()  # some writers store a wrong <dimension>; read every row
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    expected = [col for col, _ in columns]
    if header is None:
        fail(
            f"sheet '{sheet}'",
            f"the sheet is empty; row 1 must name the columns: {', '.join(expected)}",
        )
        return []
    names: dict[int, str] = {}
    ok = True
    for index, title in enumerate(header):
        if title is None or (isinstance(title, str) and not title.strip()):
            continue
        text = str(title).strip()
        letter = get_column_letter(index + 1)
        if text not in expected:
            fail(f"sheet '{sheet}' column {letter}", f"unknown column '{text}'")
            ok = False
        elif text in names.values():
            fail(f"sheet '{sheet}' column {letter}", f"column '{text}' appears twice")
            ok = False
        else:
            names[index] = text
    missing = [col for col in expected if col not in names.values()]
    if missing:
        fail(f"sheet '{sheet}'", "missing column(s): " + ", ".join(f"'{col}'" for col in missing))
        ok = False
    if not ok:
        return []
    out: list[tuple[int, dict[str, Any]]] = []
    for rownum, row in enumerate(rows, start=2):
        if all(_blank(value) for value in row):
            continue
        for index, value in enumerate(row):
            if index not in names and not _blank(value):
                fail(
                    f"sheet '{sheet}' row {rownum} column {get_column_letter(index + 1)}",
                    "a value in a column without a name",
                )
        out.append((rownum, {col: row[index] for index, col in names.items() if index < len(row)}))
    return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_INT_TEXT = re.compile(r"[+-]?\d{1,18}")


def _from_cell(value: Any, kind: str) -> tuple[Any, str | None]:
    """A cell's value as the model expects it; ``_OMIT`` for an empty cell."""
    if _blank(value):
        return _OMIT, None
    if isinstance(value, str):
        value = value.replace(_CR_ESCAPE, "\r")
    if kind == "str":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (str(int(value)) if float(value).is_integer() else str(value)), None
        return value, None
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            return int(value.strip()), None
        return value, None
    if kind == "list":
        if not isinstance(value, str):
            value = _from_cell(value, "str")[0]
        parts = [part.strip() for part in str(value).split(LIST_SEPARATOR)]
        if any(not part for part in parts):
            return _OMIT, f"empty value in a '{LIST_SEPARATOR}'-separated list"
        return parts, None
    return value, None  # bool: openpyxl gives True/False; pydantic parses "true", "yes", ...


# --------------------------------------------------------------------------------------------
# CPSV-AP 3.x JSON-LD
# --------------------------------------------------------------------------------------------

_EU_CURRENCY: Final = "http://publications.europa.eu/resource/authority/currency/"


def _lang(zh: str, en: str = "") -> list[dict[str, str]]:
    out = [{"@language": "zh", "@value": zh}]
    if en:
        out.append({"@language": "en", "@value": en})
    return out


def _yuan(amount_fen: int) -> str:
    """Fen as an exact yuan decimal string: 1250 → "12.50"."""
    yuan, fen = divmod(amount_fen, 100)
    return str(Decimal(f"{yuan}.{fen:02d}"))


def _put(node: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, "", [], {}):
        node[key] = value


@dataclass(frozen=True)
class CpsvEvent:
    """A one-thing bundle as CPSV-AP sees it: a life event (a citizen's) or a business event
    (an enterprise's) that groups public services. The bundles domain makes these."""

    code: str
    kind: str  # life_event | business_event
    name_zh: str
    name_en: str
    description: str
    items: tuple[str, ...]


def to_cpsv_jsonld(
    doc: CatalogDocument,
    *,
    departments: Mapping[str, tuple[str, str]] | None = None,
    events: Sequence[CpsvEvent] = (),
    base_uri: str = "https://tongban.example/",
) -> dict[str, Any]:
    """The catalogue as CPSV-AP 3.x JSON-LD: a ``@graph`` of ``cpsv:PublicService`` items, the
    ``cv:PublicOrganisation``s they name (labelled from ``departments[code] = (zh, en)``), the
    data elements as a ``skos:ConceptScheme``, and the one-thing ``events`` as
    ``cv:LifeEvent``/``cv:BusinessEvent`` that the services name with ``cv:isGroupedBy``.
    Property names follow CPSV-AP 3.2.0; what CPSV-AP has no term for is in the ``tb:``
    namespace (``<base_uri>ns#``)."""
    base = base_uri if base_uri.endswith("/") else base_uri + "/"
    departments = departments or {}
    context = {
        "cpsv": "http://purl.org/vocab/cpsv#",
        "cv": "http://data.europa.eu/m8g/",
        "dct": "http://purl.org/dc/terms/",
        "eli": "http://data.europa.eu/eli/ontology#",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "schema": "https://schema.org/",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "tb": base + "ns#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    }

    def ref(kind: str, code: str) -> dict[str, str]:
        return {"@id": f"{base}{kind}/{code}"}

    def concept(vocab: str, value: str) -> dict[str, str]:
        return {"@id": f"{base}vocab/{vocab}/{value}"}

    scheme = f"{base}element"
    graph: list[dict[str, Any]] = [
        {
            "@id": scheme,
            "@type": "skos:ConceptScheme",
            "dct:title": _lang("数据元", "Data elements"),
        }
    ]
    org_codes: set[str] = set()
    for element in doc.elements:
        node: dict[str, Any] = {
            "@id": f"{base}element/{element.code}",
            "@type": "skos:Concept",
            "skos:inScheme": {"@id": scheme},
            "skos:notation": element.code,
            "skos:prefLabel": _lang(element.name_zh, element.name_en),
            "tb:dataType": element.type.value,
            "tb:validator": element.validator.value,
        }
        _put(node, "skos:definition", _lang(element.description) if element.description else None)
        _put(node, "tb:format", element.format)
        _put(node, "tb:maxLength", element.max_length)
        _put(node, "tb:allowedValues", list(element.allowed_values))
        if element.source_department:
            org_codes.add(element.source_department)
            node["tb:sourceDepartment"] = ref("department", element.source_department)
        graph.append(node)

    children: dict[str, list[str]] = {}
    for item in doc.items:
        if item.parent:
            children.setdefault(item.parent, []).append(item.implementation_code)
        org_codes.add(item.department)
        org_codes.update(item.co_handlers)

    for code in sorted(org_codes):
        org: dict[str, Any] = {
            "@id": f"{base}department/{code}",
            "@type": "cv:PublicOrganisation",
            "dct:identifier": code,
        }
        if code in departments:
            name_zh, name_en = departments[code]
            org["skos:prefLabel"] = _lang(name_zh, name_en)
        graph.append(org)

    grouped_by: dict[str, list[dict[str, str]]] = {}
    for event in sorted(events, key=lambda e: e.code):
        node = {
            "@id": f"{base}event/{event.code}",
            "@type": "cv:BusinessEvent" if event.kind == "business_event" else "cv:LifeEvent",
            "dct:identifier": event.code,
            "dct:title": _lang(event.name_zh, event.name_en),
        }
        _put(node, "dct:description", _lang(event.description) if event.description else None)
        graph.append(node)
        for code in event.items:
            grouped_by.setdefault(code, []).append(ref("event", event.code))

    for item in doc.items:
        service = _service(item, base, ref, concept, children)
        _put(service, "cv:isGroupedBy", grouped_by.get(item.implementation_code))
        graph.append(service)
    return {"@context": context, "@graph": graph}


def _service(
    item: ItemIn,
    base: str,
    ref: Callable[[str, str], dict[str, str]],
    concept: Callable[[str, str], dict[str, str]],
    children: Mapping[str, list[str]],
) -> dict[str, Any]:
    code = item.implementation_code
    uri = f"{base}item/{code}"
    limit = item.time_limit
    node: dict[str, Any] = {
        "@id": uri,
        "@type": "cpsv:PublicService",
        "dct:identifier": code,
        "dct:title": _lang(item.name_zh, item.name_en),
        "dct:type": concept("item-type", item.type.value),
        "cv:hasCompetentAuthority": ref("department", item.department),
        "cv:processingTime": {"@type": "xsd:duration", "@value": f"P{limit.promised}D"},
        "tb:processingTimeUnit": "working-day",
        "tb:processingTimeNote": _lang(
            "办理时限按工作日计算，不含法定节假日。",
            "Processing time is counted in working days, excluding public holidays.",
        ),
        "tb:promisedWorkingDays": limit.promised,
        "tb:legalWorkingDays": limit.legal,
        "tb:basicCode": item.basic_code,
        "tb:status": item.status,
        "tb:visits": item.visits,
    }
    _put(node, "dct:description", _lang(item.description) if item.description else None)
    if item.parent:
        node["dct:isPartOf"] = ref("item", item.parent)
    _put(node, "dct:hasPart", [ref("item", child) for child in children.get(code, [])])
    _put(
        node,
        "cv:hasParticipation",
        [
            {
                "@id": f"{uri}/participation/{dept}",
                "@type": "cv:Participation",
                "dct:identifier": f"{code}/participation/{dept}",
                "dct:description": _lang("协办部门", "Co-handling department"),
                "cv:role": concept("participation-role", "co-handler"),
                "cv:hasParticipant": ref("department", dept),
            }
            for dept in item.co_handlers
        ],
    )
    legal: list[dict[str, Any]] = []
    for n, basis in enumerate(item.legal_basis, start=1):
        entry: dict[str, Any] = {
            "@id": f"{uri}/legal-resource/{n}",
            "@type": "eli:LegalResource",
            "dct:title": _lang(basis.law),
        }
        _put(entry, "tb:article", basis.article)
        _put(entry, "dct:description", _lang(basis.text) if basis.text else None)
        legal.append(entry)
    _put(node, "cv:hasLegalResource", legal)
    _put(
        node,
        "cv:holdsRequirement",
        [
            {
                "@id": f"{uri}/requirement/{n}",
                "@type": "cv:Requirement",
                "dct:identifier": f"{code}/requirement/{n}",
                "dct:title": _lang(condition.zh, condition.en),
            }
            for n, condition in enumerate(item.conditions, start=1)
        ],
    )
    evidence: list[dict[str, Any]] = []
    for material in item.materials:
        entry = {
            "@id": f"{uri}/evidence/{material.code}",
            "@type": "cv:Evidence",
            "dct:identifier": material.code,
            "dct:title": _lang(material.name_zh, material.name_en),
            "tb:necessity": material.necessity.value,
            "tb:format": material.format.value,
            "tb:copies": material.copies,
            "tb:source": material.source.value,
        }
        _put(entry, "tb:sourceRef", material.source_ref)
        _put(entry, "tb:dataElement", [ref("element", el) for el in material.elements])
        evidence.append(entry)
    _put(node, "cpsv:hasInput", evidence)
    _put(
        node,
        "tb:formField",
        [
            {
                "@id": f"{uri}/form/{field.code}",
                "@type": "schema:PropertyValueSpecification",
                "schema:valueName": field.code,
                "schema:name": _lang(field.label_zh, field.label_en),
                "schema:valueRequired": field.required,
                "tb:dataElement": ref("element", field.element),
            }
            for field in item.form
        ],
    )
    _put(
        node,
        "tb:step",
        [
            {
                "@id": f"{uri}/step/{step.code}",
                "@type": "schema:HowToStep",
                "dct:identifier": step.code,
                "schema:position": n,
                "schema:name": _lang(step.name_zh, step.name_en),
                "tb:stepKind": step.kind.value,
                "tb:responsible": step.responsible,
                "tb:limitWorkingDays": step.limit_days,
            }
            for n, step in enumerate(item.steps, start=1)
        ],
    )
    outputs: list[dict[str, Any]] = []
    for output in item.outputs:
        entry = {
            "@id": f"{uri}/output/{output.code}",
            "@type": "cv:Output",
            "dct:identifier": output.code,
            "dct:title": _lang(output.name_zh, output.name_en),
            "dct:type": concept("output-kind", output.kind.value),
            "tb:eLicence": output.e_licence,
        }
        _put(entry, "tb:dataElement", [ref("element", el) for el in output.elements])
        outputs.append(entry)
    _put(node, "cpsv:produces", outputs)
    costs: list[dict[str, Any]] = []
    for n, fee in enumerate(item.fees, start=1):
        entry = {
            "@id": f"{uri}/cost/{n}",
            "@type": "cv:Cost",
            "dct:identifier": f"{code}/cost/{n}",
            "dct:description": _lang(fee.name_zh, fee.name_en),
            "cv:hasValue": {"@type": "xsd:decimal", "@value": _yuan(fee.amount_fen)},
            "cv:currency": {"@id": _EU_CURRENCY + "CNY"},
            "tb:amountFen": fee.amount_fen,
        }
        _put(entry, "tb:basis", fee.basis)
        costs.append(entry)
    _put(node, "cv:hasCost", costs)
    _put(
        node,
        "cv:hasChannel",
        [
            {
                "@id": f"{uri}/channel/{channel.value}",
                "@type": "cv:Channel",
                "dct:identifier": f"{code}/channel/{channel.value}",
                "dct:type": concept("channel", channel.value),
            }
            for channel in item.channels
        ],
    )
    return node


def write_jsonld(
    doc: CatalogDocument,
    path: Path,
    *,
    departments: Mapping[str, tuple[str, str]] | None = None,
    events: Sequence[CpsvEvent] = (),
    base_uri: str = "https://tongban.example/",
) -> None:
    data = to_cpsv_jsonld(doc, departments=departments, events=events, base_uri=base_uri)
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    Path(path).write_text(text, encoding="utf-8", newline="")
