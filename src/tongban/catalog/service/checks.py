"""Checks of an item beyond its schema: references to departments, elements, other items and
their outputs, e-licence types, and what publishing needs on top of a valid draft (steps, a
legal basis, step days within the item's time limits)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from tongban.catalog import types as item_types
from tongban.catalog.io.refs import SOURCE_REF, WINDOW_STEP_KINDS
from tongban.catalog.models import (
    ItemVersion,
    MaterialSource,
    Output,
    ServiceItem,
    VersionStatus,
)
from tongban.catalog.schemas import (
    ItemIn,
)
from tongban.catalog.service.convert import (
    LEVEL_UNITS,
    Lookups,
)
from tongban.errors import FieldError


def _item_reference_errors(
    item: ItemIn,
    loc: str,
    *,
    lookups: Lookups,
    element_codes: set[str],
    item_codes: set[str],
    outputs: Mapping[str, Mapping[str, bool]] | None = None,
    e_licences: Collection[str] | None = None,
) -> list[FieldError]:
    """``outputs``: the outputs of every item (code → output code → marked ``e_licence``), to
    check an ``item_output`` material's ``ITEM#OUTPUT``; ``e_licences``: the e-licence types
    that exist (``ITEM#OUTPUT``), to check an ``e_licence`` material's. None: not checked."""
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
    for i, m in enumerate(item.materials or ()):
        for j, code in enumerate(m.elements):
            element(code, f"materials[{i}].elements[{j}]")
        where = f"{loc}.materials[{i}].source_ref"
        if m.source is MaterialSource.ITEM_OUTPUT:
            ref_item, _, ref_output = m.source_ref.partition("#")
            if ref_item not in item_codes:
                errors.append(
                    FieldError(where, f"material '{m.code}': unknown item '{ref_item}' as source")
                )
            elif (
                outputs is not None
                and SOURCE_REF.match(m.source_ref)
                and ref_output not in outputs.get(ref_item, {})
            ):
                known = ", ".join(sorted(outputs.get(ref_item, {}))) or "none"
                errors.append(
                    FieldError(
                        where,
                        f"material '{m.code}': item '{ref_item}' has no output "
                        f"'{ref_output}' (its outputs: {known})",
                    )
                )
        if m.source is MaterialSource.E_LICENCE and e_licences is not None:
            if m.source_ref not in e_licences:
                errors.append(
                    FieldError(
                        where,
                        f"material '{m.code}': '{m.source_ref}' is not an e-licence type: no "
                        "published item (nor an item of this file) has that output marked "
                        "e_licence: true",
                    )
                )
        if m.source is MaterialSource.SHARED_DATA and m.source_ref:
            dept(m.source_ref, f"materials[{i}].source_ref")
    for i, o in enumerate(item.outputs):
        for j, code in enumerate(o.elements):
            element(code, f"outputs[{i}].elements[{j}]")
    for i, s in enumerate(item.steps or ()):
        if s.responsible not in LEVEL_UNITS:
            dept(s.responsible, f"steps[{i}].responsible")
    return errors


def publish_errors(item: ItemIn, loc: str = "item") -> list[FieldError]:
    """What must hold before an item is published. A part left out (not yet recorded) does not
    stop publishing — the item is then incomplete (``tongban.catalog.completeness``) — but a part
    stated empty that cannot be empty does."""
    errors: list[FieldError] = []
    if item.steps == []:
        errors.append(
            FieldError(
                f"{loc}.steps",
                "a published item needs at least one step (leave steps out if they are not yet "
                "recorded)",
            )
        )
    if item_types.needs_legal_basis(item.type.value) and item.legal_basis == []:
        errors.append(
            FieldError(
                f"{loc}.legal_basis",
                f"an item of type '{item.type.value}' (an administrative power) needs a legal "
                "basis (leave legal_basis out if it is not yet recorded)",
            )
        )
    errors += limit_errors(item, loc)
    return errors


def limit_errors(item: ItemIn, loc: str = "item") -> list[FieldError]:
    """A step's ``limit_days`` are working days of that step: none may exceed the item's legal
    limit, and its acceptance and delivery days together must fit in the legal and the promised
    limit (``tongban.catalog.io.refs`` checks a file the same way, with lines)."""
    errors: list[FieldError] = []
    if item.time_limit is None or not item.steps:
        return errors
    legal, promised = item.time_limit.legal, item.time_limit.promised
    too_long = False
    for i, s in enumerate(item.steps):
        if s.limit_days > legal:
            too_long = True
            errors.append(
                FieldError(
                    f"{loc}.steps[{i}].limit_days",
                    f"step '{s.code}' takes {s.limit_days} working days, more than the item's "
                    f"legal time limit ({legal})",
                )
            )
    window = [s for s in item.steps if s.kind.value in WINDOW_STEP_KINDS]
    total = sum(s.limit_days for s in window)
    names = ", ".join(s.code for s in window)
    if not too_long and total > legal:
        errors.append(
            FieldError(
                f"{loc}.time_limit.legal",
                f"the acceptance and delivery steps ({names}) take {total} working days "
                f"together, more than the item's legal time limit ({legal})",
            )
        )
    elif total <= legal and total > promised:
        errors.append(
            FieldError(
                f"{loc}.time_limit.promised",
                f"the acceptance and delivery steps ({names}) take {total} working days "
                f"together, more than the item's promised time limit ({promised})",
            )
        )
    return errors


def source_ref_form_errors(item: ItemIn, loc: str = "item") -> list[FieldError]:
    """An ``item_output`` or ``e_licence`` material names ``ITEM#OUTPUT``."""
    return [
        FieldError(
            f"{loc}.materials[{i}].source_ref",
            f"material '{m.code}': source_ref '{m.source_ref}' must be ITEM#OUTPUT",
        )
        for i, m in enumerate(item.materials or ())
        if m.source in (MaterialSource.ITEM_OUTPUT, MaterialSource.E_LICENCE)
        and not SOURCE_REF.match(m.source_ref)
    ]


def output_index(session: Session) -> dict[str, dict[str, bool]]:
    """The outputs of every item's published and draft versions: item code → output code →
    marked ``e_licence``."""
    rows = session.execute(
        select(ServiceItem.implementation_code, Output.code, Output.e_licence)
        .join(ItemVersion, ItemVersion.item_id == ServiceItem.id)
        .join(Output, Output.version_id == ItemVersion.id)
        .where(ItemVersion.status != VersionStatus.RETIRED.value)
    )
    index: dict[str, dict[str, bool]] = {}
    for item, output, e_licence in rows:
        outputs = index.setdefault(item, {})
        outputs[output] = outputs.get(output, False) or bool(e_licence)
    return index


def _all_item_codes(session: Session) -> set[str]:
    return set(session.scalars(select(ServiceItem.implementation_code)))


def parent_cycle_errors(
    session: Session, proposed: Mapping[str, str | None], locs: Mapping[str, str]
) -> list[FieldError]:
    """Main items and sub-items must form a tree: with the parents ``proposed`` (item code →
    its main item's code, or None) put over those the database holds, an error at
    ``<loc>.parent`` for each proposed item that would be its own ancestor."""
    main = aliased(ServiceItem)
    parents: dict[str, str | None] = dict(
        session.execute(
            select(ServiceItem.implementation_code, main.implementation_code).join(
                main, ServiceItem.parent_id == main.id
            )
        ).all()
    )
    parents.update(proposed)
    errors: list[FieldError] = []
    for code in proposed:
        path, seen, at = [code], {code}, parents.get(code)
        while at is not None and at not in seen:
            path.append(at)
            seen.add(at)
            at = parents.get(at)
        if at == code:
            errors.append(
                FieldError(
                    f"{locs[code]}.parent",
                    "main items and sub-items would form a cycle: " + " → ".join([*path, code]),
                )
            )
    return errors
