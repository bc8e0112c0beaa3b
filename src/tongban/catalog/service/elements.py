"""The data element dictionary (数据元): listing, one element with its uses, checking a value."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tongban.catalog import repository
from tongban.catalog.models import (
    DataElement,
)
from tongban.errors import NotFound


def list_elements(*, session: Session) -> list[DataElement]:
    return repository.all_elements(session)


def get_element(
    *, session: Session, code: str, jurisdiction_code: str = ""
) -> tuple[DataElement, list[repository.ElementUse]]:
    """The element and the published items that ask for it (in a jurisdiction's subtree)."""
    element = repository.element_by_code(session, code)
    if element is None:
        raise NotFound(
            "no data element '%(code)s'", params={"code": code}, code="element_not_found"
        )
    return element, repository.items_using_element(session, element.id, jurisdiction_code)


def validate_value(element: DataElement, value: Any) -> None:
    """Check one value against its data element; raises ValueError naming what is wrong."""
    from tongban.catalog.values import check_value

    check_value(element, value)
