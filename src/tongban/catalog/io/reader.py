"""Reading a catalogue file: the entry points, which pick the format from the suffix, and the
validation of the loaded data against the model and its cross-references."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from pydantic import ValidationError

from tongban.catalog.io.document import (
    INVALID,
    MAX_FILE_BYTES,
    MAX_REPORTED_ERRORS,
    SUPPORTED_SUFFIXES,
    TOO_MANY_ERRORS,
    YAML_SUFFIXES,
    Loc,
    Locator,
    _Loaded,
    _no_place,
)
from tongban.catalog.io.refs import _reference_problems
from tongban.catalog.io.xlsx import _xlsx_raw
from tongban.catalog.io.yamlfmt import _yaml_raw
from tongban.catalog.schemas import CatalogDocument, ElementIn, ItemIn
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.safeyaml import place_loc, too_big_message


def read_catalog(path: Path, *, strict_refs: bool = False) -> CatalogDocument:
    """Load and validate a whole catalogue file (``.yaml``/``.yml``/``.xlsx``).

    Raises ``ValidationFailed("catalogue file is invalid", errors=[...])`` listing every problem.
    """
    doc, errors = _read(Path(path), strict_refs=strict_refs)
    if errors or doc is None:
        raise ValidationFailed(INVALID, errors=errors, code="catalog_file_invalid")
    return doc


def validate_catalog_file(path: Path, *, strict_refs: bool = False) -> list[FieldError]:
    """Every problem with a catalogue file, or ``[]`` when it is valid."""
    return _read(Path(path), strict_refs=strict_refs)[1]


def parse_catalog(data: bytes, filename: str, *, strict_refs: bool = False) -> CatalogDocument:
    """Like ``read_catalog`` for content already in memory (an upload); the format comes from
    ``filename``'s suffix and the name appears in error locations."""
    doc, errors = _parse(data, _display_name(filename), strict_refs=strict_refs)
    if errors or doc is None:
        raise ValidationFailed(INVALID, errors=errors, code="catalog_file_invalid")
    return doc


@dataclass
class CatalogFile:
    """A catalogue file read and checked on its own (``load_catalog_file``): what is valid in
    it (``checked``; None when the file cannot be read at all), every problem found, and how to
    name a place of it with the file's line or sheet and row."""

    name: str
    checked: Checked | None
    errors: list[FieldError]
    place: Locator

    def locate(self, service_loc: str) -> str:
        """A place as the import service names it in ``checked.document``
        (``items[3] (CODE).materials[2].source_ref``, indexes of the valid entries) as the
        file has it: ``catalog.yaml: items[5] (CODE).materials[2].source_ref (line 80)``."""
        loc = list(place_loc(service_loc))
        if self.checked is not None and len(loc) >= 2 and isinstance(loc[1], int):
            index = {"items": self.checked.item_index, "elements": self.checked.element_index}
            positions = index.get(str(loc[0]))
            if positions is not None and 0 <= loc[1] < len(positions):
                loc[1] = positions[loc[1]]
        where = self.place(tuple(loc))
        return f"{self.name}: {where}" if where else self.name


def load_catalog_file(path: Path, *, strict_refs: bool = False) -> CatalogFile:
    """Read and check a file (as ``validate_catalog_file``) and keep what is valid in it, so
    that the database's checks can follow in the same round (``catalog.service.check_file``)."""
    path = Path(path)
    name = path.name or str(path)
    loaded, errors = _load(path)
    if loaded is None or loaded.raw is None:
        return CatalogFile(name, None, errors, _no_place)

    def locate(loc: Loc) -> str:
        where = loaded.place(loc)
        return f"{name}: {where}" if where else name

    checked = _check(loaded.raw, locate, loaded.place, strict_refs=strict_refs, skip=loaded.skip)
    return CatalogFile(name, checked, loaded.errors + checked.errors, loaded.place)


def _load(path: Path) -> tuple[_Loaded | None, list[FieldError]]:
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
    if len(data) > MAX_FILE_BYTES:
        return None, [_too_big(name)]
    suffix = path.suffix.lower()
    loaded = _yaml_raw(data, name) if suffix in YAML_SUFFIXES else _xlsx_raw(data, name)
    del data
    return loaded, loaded.errors


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
    return FieldError(name, too_big_message(MAX_FILE_BYTES))


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


def _validate(
    raw: Any,
    locate: Locator,
    place: Locator,
    *,
    strict_refs: bool,
    skip: frozenset[Loc] = frozenset(),
) -> tuple[CatalogDocument | None, list[FieldError]]:
    checked = _check(raw, locate, place, strict_refs=strict_refs, skip=skip)
    return (None if checked.errors else checked.document), checked.errors


@dataclass
class Checked:
    """A file's content checked entry by entry: the entries that are valid (``document``, with
    the index of each in the file: ``element_index``, ``item_index``), the codes of the items
    that are not, and every problem found (located, with the line)."""

    document: CatalogDocument
    element_index: list[int]
    item_index: list[int]
    invalid_item_codes: set[str]
    errors: list[FieldError]


def _check(
    raw: Any,
    locate: Locator,
    place: Locator,
    *,
    strict_refs: bool,
    skip: frozenset[Loc] = frozenset(),
) -> Checked:
    """Validate the top level, then each element and each item on its own (the same messages
    as validating the whole document, with the same places), so that a valid entry is kept as
    a model and the raw data of an item is not needed again."""
    errors: list[FieldError] = []
    flagged: set[Loc] = set(skip)

    def report(exc: ValidationError, prefix: Loc) -> None:
        for error, loc in _pydantic_errors(exc, locate, prefix):
            if not any(loc[:n] in skip for n in range(len(loc) + 1)):
                errors.append(error)
            flagged.add(loc)

    sections: dict[str, type[ElementIn] | type[ItemIn]] = {"elements": ElementIn, "items": ItemIn}
    top = dict(raw) if isinstance(raw, Mapping) else raw
    lists: dict[str, list[Any]] = {}
    if isinstance(top, dict):
        for key in sections:
            if isinstance(top.get(key), list):
                lists[key] = top.pop(key)
    try:
        CatalogDocument.model_validate(top)
    except ValidationError as exc:
        report(exc, ())
    valid: dict[str, list[Any]] = {"elements": [], "items": []}
    index: dict[str, list[int]] = {"elements": [], "items": []}
    invalid_codes: set[str] = set()
    stopped = False
    for key, model in sections.items():
        for i, row in enumerate(lists.get(key, [])):
            if len(errors) >= MAX_REPORTED_ERRORS:
                stopped = True
                break
            try:
                valid[key].append(model.model_validate(row))
                index[key].append(i)
            except ValidationError as exc:
                report(exc, (key, i))
                if key == "items" and isinstance(row, Mapping):
                    code = row.get("implementation_code")
                    if isinstance(code, str) and code.strip():
                        invalid_codes.add(code.strip())
    if stopped:
        errors.append(FieldError(locate(()), TOO_MANY_ERRORS))
    else:
        errors.extend(
            FieldError(locate(loc), message)
            for loc, message in _reference_problems(raw, place, strict_refs=strict_refs)
            if loc not in flagged  # e.g. a malformed code is reported once, not also as unknown
        )
    document = CatalogDocument.model_construct(elements=valid["elements"], items=valid["items"])
    return Checked(document, index["elements"], index["items"], invalid_codes, errors)


def _pydantic_errors(
    exc: ValidationError, locate: Locator, prefix: Loc = ()
) -> list[tuple[FieldError, Loc]]:
    out: list[tuple[FieldError, Loc]] = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"])
        if err["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        if err["type"] != "missing":
            got = _short(err.get("input"))
            if got:
                message = f"{message} (got {got})"
        loc = prefix + tuple(err["loc"])
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
