"""Checking a catalogue file in one round: the file itself (shape, codes, references within
it) and its references against the database (departments, data elements, items and their
outputs, e-licence types, what publishing needs), every problem located with the file's line
(YAML) or sheet and row (XLSX)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session

from tongban.catalog.io.document import MAX_REPORTED_ERRORS, TOO_MANY_ERRORS, Loc, Locator
from tongban.catalog.io.reader import CatalogFile, _pydantic_errors, load_catalog_file
from tongban.catalog.io.refs import duplicate_item_problems, element_problems, item_problems
from tongban.catalog.io.stream import StreamedYaml
from tongban.catalog.schemas import CatalogDocument, ElementIn, ItemIn
from tongban.catalog.service.checks import parent_cycle_errors
from tongban.catalog.service.transfer import CatalogImporter, ReferenceChecker, reference_errors
from tongban.errors import FieldError
from tongban.kit.safeyaml import place_loc


def check_file(session: Session, path: Path) -> tuple[CatalogFile, list[FieldError]]:
    """The file as read, and every problem it has: the file's own and the database's, in one
    round (the valid entries of a file with errors are still checked against the database).
    Nothing is written."""
    catalog = load_catalog_file(path)
    if catalog.checked is None:
        return catalog, catalog.errors
    checked = catalog.checked
    db_errors = reference_errors(session, checked.document, also_known=checked.invalid_item_codes)
    located = [FieldError(catalog.locate(e.loc), e.message) for e in db_errors]
    return catalog, catalog.errors + _new(located, catalog.errors)


def _new(errors: list[FieldError], before: list[FieldError]) -> list[FieldError]:
    """The database's problems that the file's own checks have not already reported (the same
    place and message)."""
    seen = {(e.loc, e.message) for e in before}
    out = []
    for error in errors:
        if (error.loc, error.message) not in seen:
            seen.add((error.loc, error.message))
            out.append(error)
    return out


def check_streamed(
    session: Session, streamed: StreamedYaml, *, importer: CatalogImporter | None = None
) -> tuple[list[FieldError], list[FieldError]]:
    """``check_file`` of a large YAML file a chunk of items at a time (``io.stream``): the
    file's own problems, and those with the database's too, the same as ``check_file`` gives
    (the outputs of an item that is itself invalid are taken as the file states them). With
    ``importer``, the items are imported batch by batch as long as nothing is wrong; the
    caller rolls back if anything is (nothing stays written)."""
    name = streamed.name
    flagged: set[Loc] = set()
    own: list[FieldError] = []

    def located(place: Locator, loc: Loc) -> str:
        where = place(loc)
        return f"{name}: {where}" if where else name

    def report(exc: ValidationError, prefix: Loc, place: Locator) -> None:
        for error, loc in _pydantic_errors(exc, lambda at: located(place, at), prefix):
            own.append(error)
            flagged.add(loc)

    head = streamed.head_place
    top = dict(streamed.head.data)
    element_rows = top.pop("elements") if isinstance(top.get("elements"), list) else []
    try:
        CatalogDocument.model_validate(top)
    except ValidationError as exc:
        report(exc, (), head)
    elements: list[ElementIn] = []
    element_index: list[int] = []
    stopped = False
    for i, row in enumerate(element_rows):
        if len(own) >= MAX_REPORTED_ERRORS:
            stopped = True
            break
        try:
            elements.append(ElementIn.model_validate(row))
            element_index.append(i)
        except ValidationError as exc:
            report(exc, ("elements", i), head)
    element_codes: dict[str, int] = {}
    refs = [
        FieldError(located(head, loc), message)
        for loc, message in element_problems(element_rows, head, element_codes)
        if loc not in flagged
    ]
    duplicates: list[FieldError] = []
    checker = ReferenceChecker(session, elements, streamed.index.outputs)
    with_db = [
        FieldError(_element_place(e.loc, element_index, located, head), e.message)
        for e in checker.element_errors()
    ]
    # main items and sub-items form a tree, with the file's parents over the database's
    with_db += parent_cycle_errors(
        session,
        {code: streamed.index.parents.get(code) for code in streamed.codes if code},
        {code: f"{name}: items[{i}] ({code})" for i, code in enumerate(streamed.codes) if code},
    )
    if importer is not None and not own and not refs and not with_db:
        importer.add_elements(elements)
    for batch in () if stopped else streamed.batches():
        first = batch.chunk.first_index
        valid: list[tuple[int, ItemIn]] = []
        for k, row in enumerate(batch.rows):
            if len(own) >= MAX_REPORTED_ERRORS:
                stopped = True
                break
            try:
                valid.append((first + k, ItemIn.model_validate(row)))
            except ValidationError as exc:
                report(exc, ("items", first + k), batch.place)
        for i, item in valid:
            with_db += [
                FieldError(located(batch.place, place_loc(e.loc)), e.message)
                for e in checker.item_errors(i, item)
            ]
        if stopped:
            break
        index = streamed.index
        for k, row in enumerate(batch.rows):
            i = first + k
            for loc, message in duplicate_item_problems(i, row, index.item_codes, batch.place):
                if loc not in flagged:
                    duplicates.append(FieldError(located(batch.place, loc), message))
            for loc, message in item_problems(i, row, index, element_codes, strict_refs=False):
                if loc not in flagged:
                    refs.append(FieldError(located(batch.place, loc), message))
        if importer is not None and not own and not refs and not duplicates and not with_db:
            importer.add_items([item for _, item in valid])
    if stopped:
        file_errors = [*own, FieldError(name, TOO_MANY_ERRORS)]
    else:
        element_refs = [e for e in refs if e.loc.startswith(f"{name}: elements[")]
        item_refs = [e for e in refs if not e.loc.startswith(f"{name}: elements[")]
        file_errors = own + element_refs + duplicates + item_refs
    return file_errors, file_errors + _new(with_db, file_errors)


def _element_place(
    service_loc: str,
    element_index: list[int],
    located: Callable[[Locator, Loc], str],
    head: Locator,
) -> str:
    loc = list(place_loc(service_loc))
    if len(loc) >= 2 and isinstance(loc[1], int) and 0 <= loc[1] < len(element_index):
        loc[1] = element_index[loc[1]]
    return located(head, tuple(loc))
