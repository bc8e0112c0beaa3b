"""Checks of an item beyond its schema: references to departments, elements and other items,
and what publishing needs on top of a valid draft."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.catalog.models import (
    MaterialSource,
    ServiceItem,
)
from tongban.catalog.schemas import (
    ItemIn,
)
from tongban.catalog.service.convert import (
    LEVEL_UNITS,
    Lookups,
)
from tongban.errors import FieldError

NEEDS_LEGAL_BASIS_EXEMPT = frozenset({"public_service", "other"})


def _item_reference_errors(
    item: ItemIn,
    loc: str,
    *,
    lookups: Lookups,
    element_codes: set[str],
    item_codes: set[str],
) -> list[FieldError]:
    errors: list[FieldError] = []

    def dept(code: str, where: str) -> None:
        if code not in lookups.departments:
            errors.append(FieldError(f"{loc}.{where}", f"unknown department code '{code}'"))

    def element(code: str, where: str) -> None:
        if code not in element_codes:
            errors.append(FieldError(f"{loc}.{where}", f"unknown data element '{code}'"))

    dept(item.department, "department")
    for i, code in enumerate(item.co_handlers):
        dept(code, f"co_handlers[{i}]")
        if code == item.department:
            errors.append(
                FieldError(f"{loc}.co_handlers[{i}]", "the competent department cannot co-handle")
            )
    if item.parent is not None:
        if item.parent == item.implementation_code:
            errors.append(FieldError(f"{loc}.parent", "an item cannot be its own main item"))
        elif item.parent not in item_codes:
            errors.append(FieldError(f"{loc}.parent", f"unknown main item '{item.parent}'"))
    for i, f in enumerate(item.form):
        element(f.element, f"form[{i}].element")
    for i, m in enumerate(item.materials):
        for j, code in enumerate(m.elements):
            element(code, f"materials[{i}].elements[{j}]")
        if m.source is MaterialSource.ITEM_OUTPUT:
            ref_item = m.source_ref.split("#", 1)[0]
            if ref_item not in item_codes:
                errors.append(
                    FieldError(
                        f"{loc}.materials[{i}].source_ref", f"unknown item '{ref_item}' as source"
                    )
                )
        if m.source is MaterialSource.SHARED_DATA and m.source_ref:
            dept(m.source_ref, f"materials[{i}].source_ref")
    for i, o in enumerate(item.outputs):
        for j, code in enumerate(o.elements):
            element(code, f"outputs[{i}].elements[{j}]")
    for i, s in enumerate(item.steps):
        if s.responsible not in LEVEL_UNITS:
            dept(s.responsible, f"steps[{i}].responsible")
    return errors


def publish_errors(item: ItemIn, loc: str = "item") -> list[FieldError]:
    """What must hold before an item is published."""
    errors: list[FieldError] = []
    if not item.steps:
        errors.append(FieldError(f"{loc}.steps", "a published item needs at least one step"))
    if item.type.value not in NEEDS_LEGAL_BASIS_EXEMPT and not item.legal_basis:
        errors.append(
            FieldError(
                f"{loc}.legal_basis", f"an item of type '{item.type.value}' needs a legal basis"
            )
        )
    return errors


def _all_item_codes(session: Session) -> set[str]:
    return set(session.scalars(select(ServiceItem.implementation_code)))
