"""Checking a catalogue file in one round: the file itself (shape, codes, references within
it) and its references against the database (departments, data elements, items and their
outputs, e-licence types, what publishing needs), every problem located with the file's line
(YAML) or sheet and row (XLSX)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tongban.catalog.io.reader import CatalogFile, load_catalog_file
from tongban.catalog.service.transfer import reference_errors
from tongban.errors import FieldError


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
