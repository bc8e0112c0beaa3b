"""Rules of the catalogue: importing, exporting, searching, drafting and publishing items.

Visibility: published versions are public (the catalogue is published by law); drafts and
retired versions are seen by the reform office over its jurisdiction subtree and by officers and
data administrators of the competent department. Drafts are edited by the reform office in scope
and by officers of the competent department; only the reform office publishes and retires.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.auth.access import require_principal, scope_clause
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.catalog import repository
from tongban.catalog.models import (
    CoHandler,
    DataElement,
    FormField,
    ItemVersion,
    LegalBasis,
    Material,
    MaterialSource,
    Output,
    ProcessStep,
    ServiceItem,
    VersionStatus,
)
from tongban.catalog.schemas import (
    BilingualText,
    CatalogDocument,
    ElementIn,
    FeeIn,
    FormFieldIn,
    ItemIn,
    LegalBasisIn,
    MaterialIn,
    OutputIn,
    StepIn,
    TimeLimitIn,
)
from tongban.db import utcnow
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.org.models import Department, Jurisdiction

READER_ROLES = (Role.REFORM_OFFICE, Role.OFFICER, Role.DATA_ADMIN)
EDITOR_ROLES = (Role.REFORM_OFFICE, Role.OFFICER)
PUBLISHER_ROLES = (Role.REFORM_OFFICE,)
ELEMENT_EDITOR_ROLES = (Role.DATA_ADMIN, Role.REFORM_OFFICE)
LEVEL_UNITS = frozenset({"township", "village", "county", "applicant"})
NEEDS_LEGAL_BASIS_EXEMPT = frozenset({"public_service", "other"})


def visible_versions(principal: Principal | None) -> ColumnElement[bool]:
    """The access funnel for item versions (ARCHITECTURE rule 3)."""
    published = ItemVersion.status == VersionStatus.PUBLISHED.value
    if principal is None:
        return published
    return or_(
        published,
        scope_clause(
            principal,
            READER_ROLES,
            jurisdiction_path=Jurisdiction.path,
            department_id=ItemVersion.department_id,
        ),
    )


# ---------------------------------------------------------------- conversion


@dataclass
class Lookups:
    """Departments and elements by code and id, loaded once per operation."""

    departments: dict[str, Department]
    elements: dict[str, DataElement]

    @property
    def department_codes(self) -> dict[int, str]:
        return {d.id: code for code, d in self.departments.items()}


def _lookups(session: Session) -> Lookups:
    departments = {d.code: d for d in session.scalars(select(Department))}
    elements = {e.code: e for e in repository.all_elements(session)}
    return Lookups(departments, elements)


def version_to_item(version: ItemVersion, departments: dict[int, str]) -> ItemIn:
    item = version.item
    return ItemIn(
        implementation_code=item.implementation_code,
        basic_code=item.basic_code,
        parent=item.parent.implementation_code if item.parent else None,
        status=version.status,
        name_zh=version.name_zh,
        name_en=version.name_en,
        type=version.item_type,
        department=departments[version.department_id],
        co_handlers=[departments[c.department_id] for c in version.co_handlers],
        description=version.description,
        legal_basis=[
            LegalBasisIn(law=b.law, article=b.article, text=b.text) for b in version.legal_bases
        ],
        conditions=[BilingualText.model_validate(c) for c in version.conditions],
        materials=[
            MaterialIn(
                code=m.code,
                name_zh=m.name_zh,
                name_en=m.name_en,
                necessity=m.necessity,
                format=m.format,
                copies=m.copies,
                source=m.source,
                source_ref=m.source_ref,
                elements=list(m.element_codes),
            )
            for m in version.materials
        ],
        form=[
            FormFieldIn(
                code=f.code,
                label_zh=f.label_zh,
                label_en=f.label_en,
                element=f.element.code,
                required=f.required,
            )
            for f in version.form_fields
        ],
        steps=[
            StepIn(
                code=s.code,
                kind=s.kind,
                name_zh=s.name_zh,
                name_en=s.name_en,
                responsible=s.responsible,
                limit_days=s.limit_days,
            )
            for s in version.steps
        ],
        time_limit=TimeLimitIn(
            legal=version.legal_limit_days, promised=version.promised_limit_days
        ),
        fees=[FeeIn.model_validate(f) for f in version.fees],
        channels=list(version.channels),
        outputs=[
            OutputIn(
                code=o.code,
                name_zh=o.name_zh,
                name_en=o.name_en,
                kind=o.kind,
                e_licence=o.e_licence,
                elements=list(o.element_codes),
            )
            for o in version.outputs
        ],
        visits=version.visits,
    )


def element_to_in(element: DataElement, departments: dict[int, str]) -> ElementIn:
    return ElementIn(
        code=element.code,
        name_zh=element.name_zh,
        name_en=element.name_en,
        type=element.data_type,
        format=element.format,
        max_length=element.max_length,
        allowed_values=list(element.allowed_values),
        validator=element.validator,
        source_department=(
            departments[element.source_department_id] if element.source_department_id else None
        ),
        description=element.description,
    )


def _fill_version(version: ItemVersion, item: ItemIn, lookups: Lookups) -> None:
    """Write an item's content into a (new or draft) version, replacing its child rows."""
    version.name_zh = item.name_zh
    version.name_en = item.name_en
    version.item_type = item.type.value
    version.department_id = lookups.departments[item.department].id
    version.description = item.description
    version.legal_limit_days = item.time_limit.legal
    version.promised_limit_days = item.time_limit.promised
    version.visits = item.visits
    version.channels = [c.value for c in item.channels]
    version.conditions = [c.model_dump() for c in item.conditions]
    version.fees = [f.model_dump() for f in item.fees]
    version.co_handlers = [
        CoHandler(position=i, department_id=lookups.departments[code].id)
        for i, code in enumerate(item.co_handlers)
    ]
    version.legal_bases = [
        LegalBasis(position=i, law=b.law, article=b.article, text=b.text)
        for i, b in enumerate(item.legal_basis)
    ]
    version.materials = [
        Material(
            position=i,
            code=m.code,
            name_zh=m.name_zh,
            name_en=m.name_en,
            necessity=m.necessity.value,
            format=m.format.value,
            copies=m.copies,
            source=m.source.value,
            source_ref=m.source_ref,
            element_codes=list(m.elements),
        )
        for i, m in enumerate(item.materials)
    ]
    version.form_fields = [
        FormField(
            position=i,
            code=f.code,
            label_zh=f.label_zh,
            label_en=f.label_en,
            element_id=lookups.elements[f.element].id,
            required=f.required,
        )
        for i, f in enumerate(item.form)
    ]
    version.steps = [
        ProcessStep(
            position=i,
            code=s.code,
            kind=s.kind.value,
            name_zh=s.name_zh,
            name_en=s.name_en,
            responsible=s.responsible,
            limit_days=s.limit_days,
        )
        for i, s in enumerate(item.steps)
    ]
    version.outputs = [
        Output(
            position=i,
            code=o.code,
            name_zh=o.name_zh,
            name_en=o.name_en,
            kind=o.kind.value,
            e_licence=o.e_licence,
            element_codes=list(o.elements),
        )
        for i, o in enumerate(item.outputs)
    ]


def _fill_element(element: DataElement, data: ElementIn, lookups: Lookups) -> None:
    element.name_zh = data.name_zh
    element.name_en = data.name_en
    element.data_type = data.type.value
    element.format = data.format
    element.max_length = data.max_length
    element.allowed_values = list(data.allowed_values)
    element.validator = data.validator.value
    element.source_department_id = (
        lookups.departments[data.source_department].id if data.source_department else None
    )
    element.description = data.description


# ---------------------------------------------------------------- checks


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


# ---------------------------------------------------------------- import / export


@dataclass
class ImportReport:
    elements_created: int = 0
    elements_updated: int = 0
    items_created: int = 0
    versions_created: int = 0
    drafts_updated: int = 0
    status_changes: int = 0
    unchanged: int = 0
    codes: list[str] = field(default_factory=list)


def import_catalog(
    *,
    session: Session,
    document: CatalogDocument,
    principal: Principal | None = None,
    on_item: Callable[[int], None] | None = None,
) -> ImportReport:
    """Load a whole catalogue document: every reference is checked first; nothing is written
    unless everything is valid. ``principal`` None means the system (CLI, demo loader)."""
    if principal is not None:
        _require_catalog_admin(principal)
    lookups = _lookups(session)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, element_doc in enumerate(document.elements):
        loc = f"elements[{i}] ({element_doc.code})"
        if element_doc.code in seen:
            errors.append(
                FieldError(f"{loc}.code", f"data element '{element_doc.code}' appears twice")
            )
        seen.add(element_doc.code)
        if (
            element_doc.source_department
            and element_doc.source_department not in lookups.departments
        ):
            errors.append(
                FieldError(
                    f"{loc}.source_department",
                    f"unknown department code '{element_doc.source_department}'",
                )
            )
    element_codes = seen | set(lookups.elements)
    doc_items = [item_doc.implementation_code for item_doc in document.items]
    existing_items = repository.items_by_codes(session, doc_items)
    known_items = set(doc_items) | _all_item_codes(session)
    seen_items: set[str] = set()
    for i, item_doc in enumerate(document.items):
        loc = f"items[{i}] ({item_doc.implementation_code})"
        if item_doc.implementation_code in seen_items:
            errors.append(
                FieldError(f"{loc}.implementation_code", "implementation code appears twice")
            )
        seen_items.add(item_doc.implementation_code)
        errors += _item_reference_errors(
            item_doc, loc, lookups=lookups, element_codes=element_codes, item_codes=known_items
        )
        if item_doc.status == VersionStatus.PUBLISHED.value:
            errors += publish_errors(item_doc, loc)
    if errors:
        raise ValidationFailed("catalogue is invalid; nothing was imported", errors=errors)

    report = ImportReport()
    for element_in in document.elements:
        element = lookups.elements.get(element_in.code)
        if element is None:
            element = DataElement(code=element_in.code)
            session.add(element)
            lookups.elements[element_in.code] = element
            report.elements_created += 1
        elif element_to_in(element, lookups.department_codes) != element_in:
            report.elements_updated += 1
        _fill_element(element, element_in, lookups)
    session.flush()

    for item_in in document.items:
        if item_in.implementation_code not in existing_items:
            new_item = ServiceItem(
                implementation_code=item_in.implementation_code, basic_code=item_in.basic_code
            )
            session.add(new_item)
            existing_items[item_in.implementation_code] = new_item
            report.items_created += 1
    session.flush()
    parents = repository.items_by_codes(
        session, {i.parent for i in document.items if i.parent is not None}
    )
    for item_in in document.items:
        item = existing_items[item_in.implementation_code]
        item.basic_code = item_in.basic_code
        item.parent_id = parents[item_in.parent].id if item_in.parent else None
        _apply_item(session, item, item_in, lookups, report, actor=principal)
        if on_item is not None:
            on_item(1)
    session.flush()
    audit.record(
        session=session,
        actor_user_id=principal.user_id if principal else None,
        action="catalog.import",
        object_type="catalog",
        object_key="catalog",
        detail={
            "items_created": report.items_created,
            "versions_created": report.versions_created,
            "drafts_updated": report.drafts_updated,
            "unchanged": report.unchanged,
        },
    )
    return report


def _all_item_codes(session: Session) -> set[str]:
    return set(session.scalars(select(ServiceItem.implementation_code)))


def _apply_item(
    session: Session,
    item: ServiceItem,
    item_in: ItemIn,
    lookups: Lookups,
    report: ImportReport,
    *,
    actor: Principal | None,
) -> None:
    latest = repository.latest_version(session, item.id)
    target = item_in.status
    if latest is not None:
        latest = repository.full_version(session, latest.id)
        current = version_to_item(latest, lookups.department_codes)
        same_content = current.model_copy(update={"status": target}) == item_in
        if same_content and current.status == target:
            report.unchanged += 1
            return
        if same_content or latest.status == VersionStatus.DRAFT.value:
            if not same_content:
                _fill_version(latest, item_in, lookups)
                report.drafts_updated += 1
            _set_status(session, latest, target, actor)
            report.status_changes += int(current.status != target)
            return
    version = ItemVersion(
        item_id=item.id,
        version_no=(latest.version_no + 1) if latest else 1,
        status=VersionStatus.DRAFT.value,
        created_by_id=actor.user_id if actor else None,
    )
    _fill_version(version, item_in, lookups)
    session.add(version)
    session.flush()
    report.versions_created += 1
    _set_status(session, version, target, actor)
    report.codes.append(item.implementation_code)


def _set_status(
    session: Session, version: ItemVersion, target: str, actor: Principal | None
) -> None:
    if version.status == target:
        return
    now = utcnow()
    if target == VersionStatus.PUBLISHED.value:
        previous = repository.published_version(session, version.item_id)
        if previous is not None and previous.id != version.id:
            previous.status = VersionStatus.RETIRED.value
            previous.retired_at = now
            session.flush()
        version.published_at = now
        version.published_by_id = actor.user_id if actor else None
    elif target == VersionStatus.RETIRED.value:
        version.retired_at = now
    version.status = target
    session.flush()


def export_catalog(
    *, session: Session, principal: Principal | None, as_system: bool = False
) -> CatalogDocument:
    """The latest version of every item the principal may see.

    Anonymous (``principal=None``) sees what the public sees: published versions. Only a
    trusted internal caller (an operator's CLI command) sees every draft, and says so with
    ``as_system=True``.
    """
    lookups = _lookups(session)
    visible: ColumnElement[bool] = (
        ItemVersion.id.is_not(None) if as_system else visible_versions(principal)
    )
    versions = repository.latest_versions_for_export(session, visible)
    return CatalogDocument(
        elements=[element_to_in(e, lookups.department_codes) for e in lookups.elements.values()],
        items=[version_to_item(v, lookups.department_codes) for v in versions],
    )


def _require_catalog_admin(principal: Principal) -> None:
    if not principal.has_role(Role.REFORM_OFFICE):
        raise PermissionDenied("only the reform office imports catalogues")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class VersionSummary:
    version_no: int
    status: str
    updated_at: Any
    published_at: Any


@dataclass(frozen=True)
class ItemDetail:
    item: ItemIn
    version_no: int
    status: str
    lock_version: int
    versions: list[VersionSummary]
    departments: dict[str, Department]
    elements: dict[str, DataElement]
    can_edit: bool
    can_publish: bool


def search_items(
    *, session: Session, principal: Principal | None, flt: repository.ItemFilter
) -> tuple[list[repository.ItemRow], int]:
    return repository.search_latest(session, visible_versions(principal), flt)


def get_item(
    *,
    session: Session,
    principal: Principal | None,
    implementation_code: str,
    version_no: int | None = None,
) -> ItemDetail:
    item = repository.item_by_code(session, implementation_code)
    visible = visible_versions(principal)
    versions = repository.versions_of(session, item.id, visible) if item else []
    if not versions:
        raise NotFound("no item '%(item)s'", params={"item": implementation_code})
    chosen = versions[-1]
    if version_no is not None:
        matching = [v for v in versions if v.version_no == version_no]
        if not matching:
            raise NotFound(
                "item '%(item)s' has no version %(version)s",
                params={"item": implementation_code, "version": version_no},
            )
        chosen = matching[0]
    version = repository.full_version(session, chosen.id)
    lookups = _lookups(session)
    content = version_to_item(version, lookups.department_codes)
    return ItemDetail(
        item=content,
        version_no=version.version_no,
        status=version.status,
        lock_version=version.lock_version,
        versions=[
            VersionSummary(v.version_no, v.status, v.updated_at, v.published_at) for v in versions
        ],
        departments=lookups.departments,
        elements=lookups.elements,
        can_edit=_covers(session, principal, EDITOR_ROLES, version.department_id),
        can_publish=_covers(session, principal, PUBLISHER_ROLES, version.department_id),
    )


def _covers(
    session: Session, principal: Principal | None, roles: tuple[Role, ...], department_id: int
) -> bool:
    if principal is None:
        return False
    path = session.scalar(
        select(Jurisdiction.path)
        .join(Department, Department.jurisdiction_id == Jurisdiction.id)
        .where(Department.id == department_id)
    )
    return path is not None and principal.covers(
        *roles, jurisdiction_path=path, department_id=department_id
    )


# ---------------------------------------------------------------- drafting and publishing


def save_draft(
    *,
    session: Session,
    principal: Principal | None,
    implementation_code: str,
    changes: dict[str, Any],
    lock_version: int | None,
) -> ItemVersion:
    """Apply changes to the item's draft, starting a new draft from the latest version when the
    latest is published or retired.

    ``lock_version`` guards against overwriting a concurrent edit."""
    who = require_principal(principal)
    detail = get_item(session=session, principal=who, implementation_code=implementation_code)
    if not detail.can_edit:
        raise PermissionDenied(
            "you may not edit item '%(item)s'", params={"item": implementation_code}
        )
    if (
        lock_version is not None
        and detail.status == VersionStatus.DRAFT.value
        and lock_version != detail.lock_version
    ):
        raise Conflict(
            "someone else saved this draft after you opened it; reload and apply your change again",
            data={"current_lock_version": detail.lock_version},
        )
    if "implementation_code" in changes and changes["implementation_code"] != implementation_code:
        raise ValidationFailed(
            "the implementation code of an item cannot change",
            errors=[FieldError("implementation_code", "cannot change")],
        )
    merged = detail.item.model_dump(mode="json") | changes | {"status": VersionStatus.DRAFT.value}
    try:
        item_in = ItemIn.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed.of(
            "the draft is invalid; nothing was saved", exc, root="item"
        ) from exc
    lookups = _lookups(session)
    errors = _item_reference_errors(
        item_in,
        "item",
        lookups=lookups,
        element_codes=set(lookups.elements),
        item_codes=_all_item_codes(session),
    )
    if errors:
        raise ValidationFailed("the draft is invalid; nothing was saved", errors=errors)
    new_department = lookups.departments[item_in.department]
    if not _covers(session, who, EDITOR_ROLES, new_department.id):
        raise PermissionDenied(
            "you may not move the item to department '%(department)s'",
            params={"department": item_in.department},
        )
    item = repository.item_by_code(session, implementation_code)
    assert item is not None
    latest = repository.latest_version(session, item.id)
    assert latest is not None
    if latest.status == VersionStatus.DRAFT.value:
        version = repository.full_version(session, latest.id)
    else:
        version = ItemVersion(
            item_id=item.id,
            version_no=latest.version_no + 1,
            status=VersionStatus.DRAFT.value,
            created_by_id=who.user_id,
        )
        session.add(version)
    item.basic_code = item_in.basic_code
    _fill_version(version, item_in, lookups)
    session.flush()
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="item.save_draft",
        object_type="item",
        object_key=implementation_code,
        detail={"version_no": version.version_no, "fields": sorted(changes)},
    )
    return version


def publish_item(
    *,
    session: Session,
    principal: Principal | None,
    implementation_code: str,
    lock_version: int | None,
) -> ItemVersion:
    who = require_principal(principal)
    detail = get_item(session=session, principal=who, implementation_code=implementation_code)
    if not detail.can_publish:
        raise PermissionDenied(
            "you may not publish item '%(item)s'", params={"item": implementation_code}
        )
    if detail.status != VersionStatus.DRAFT.value:
        raise Conflict(
            "item '%(item)s' has no draft to publish", params={"item": implementation_code}
        )
    if lock_version is not None and lock_version != detail.lock_version:
        raise Conflict(
            "the draft changed after you opened it; review it again before publishing",
            data={"current_lock_version": detail.lock_version},
        )
    errors = publish_errors(detail.item)
    if errors:
        raise ValidationFailed("the draft cannot be published yet", errors=errors)
    item = repository.item_by_code(session, implementation_code)
    assert item is not None
    version = repository.latest_version(session, item.id)
    assert version is not None
    _set_status(session, version, VersionStatus.PUBLISHED.value, who)
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="item.publish",
        object_type="item",
        object_key=implementation_code,
        detail={"version_no": version.version_no},
    )
    return version


def retire_item(
    *, session: Session, principal: Principal | None, implementation_code: str
) -> ItemVersion:
    who = require_principal(principal)
    detail = get_item(session=session, principal=who, implementation_code=implementation_code)
    if not detail.can_publish:
        raise PermissionDenied(
            "you may not retire item '%(item)s'", params={"item": implementation_code}
        )
    item = repository.item_by_code(session, implementation_code)
    assert item is not None
    version = repository.published_version(session, item.id)
    if version is None:
        raise Conflict(
            "item '%(item)s' has no published version to retire",
            params={"item": implementation_code},
        )
    _set_status(session, version, VersionStatus.RETIRED.value, who)
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="item.retire",
        object_type="item",
        object_key=implementation_code,
        detail={"version_no": version.version_no},
    )
    return version


# ---------------------------------------------------------------- data elements


def list_elements(*, session: Session) -> list[DataElement]:
    return repository.all_elements(session)


def get_element(*, session: Session, code: str) -> tuple[DataElement, list[repository.ElementUse]]:
    element = repository.element_by_code(session, code)
    if element is None:
        raise NotFound("no data element '%(code)s'", params={"code": code})
    return element, repository.items_using_element(session, element.id)


def validate_value(element: DataElement, value: Any) -> None:
    """Check one value against its data element; raises ValueError naming what is wrong."""
    from tongban.catalog.values import check_value

    check_value(element, value)


def department_names(*, session: Session) -> dict[str, tuple[str, str]]:
    return {d.code: (d.name_zh, d.name_en) for d in session.scalars(select(Department))}


class _ContentCache:
    """Item content by (version id, lock_version, updated_at). Every write of a version row
    bumps its lock_version and its timestamp, so a stale entry is never hit, in this process or
    another; the timestamp also tells apart two rows that reused an id after a rollback."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._data: OrderedDict[tuple[int, int, Any], ItemIn] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[int, int, Any]) -> ItemIn | None:
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: tuple[int, int, Any], value: ItemIn) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_published_content = _ContentCache()


def published_items(*, session: Session, codes: list[str]) -> dict[str, ItemIn]:
    """The published content of the named items (for composition); unknown or unpublished
    codes are simply absent, so the caller can name them."""
    found: dict[str, ItemIn] = {}
    missing: list[int] = []
    for code, version_id, lock, stamp in repository.published_version_keys(session, codes):
        cached = _published_content.get((version_id, lock, stamp))
        if cached is None:
            missing.append(version_id)
        else:
            found[code] = cached
    if missing:
        departments = {d.id: d.code for d in session.scalars(select(Department))}
        for version in repository.full_versions(session, missing):
            content = version_to_item(version, departments)
            key = (version.id, version.lock_version, version.updated_at)
            _published_content.put(key, content)
            found[version.item.implementation_code] = content
    return found


def item_codes_exist(*, session: Session, codes: list[str]) -> set[str]:
    return set(repository.items_by_codes(session, codes))


def item_ids(*, session: Session, codes: list[str]) -> dict[str, int]:
    return {code: item.id for code, item in repository.items_by_codes(session, codes).items()}
