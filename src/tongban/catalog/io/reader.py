"""Reading a catalogue file: the entry points, which pick the format from the suffix, and the
validation of the loaded data against the model and its cross-references."""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from pydantic import ValidationError

from tongban.catalog.io.document import (
    INVALID,
    MAX_FILE_BYTES,
    SUPPORTED_SUFFIXES,
    YAML_SUFFIXES,
    Loc,
    Locator,
)
from tongban.catalog.io.refs import _reference_problems
from tongban.catalog.io.xlsx import _xlsx_raw
from tongban.catalog.io.yamlfmt import _yaml_raw
from tongban.catalog.schemas import CatalogDocument
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.safeyaml import too_big_message


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
