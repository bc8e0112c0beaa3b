"""Importing a catalogue document (all or nothing) and exporting one."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.auth.principal import Principal
from tongban.catalog import repository
from tongban.catalog.models import (
    DataElement,
    ItemVersion,
    ServiceItem,
    VersionStatus,
)
from tongban.catalog.schemas import (
    CatalogDocument,
    ElementIn,
    ItemIn,
)
from tongban.catalog.search.index import index_items, refresh_statistics
from tongban.catalog.service.access import (
    _require_catalog_admin,
    visible_versions,
)
from tongban.catalog.service.checks import (
    _all_item_codes,
    _item_reference_errors,
    output_index,
    publish_errors,
    source_ref_form_errors,
)
from tongban.catalog.service.convert import (
    Lookups,
    _fill_element,
    _fill_version,
    _lookups,
    element_to_in,
    version_plain,
    version_to_item,
    version_values,
)
from tongban.catalog.service.published import e_licence_types
from tongban.db import utcnow
from tongban.errors import FieldError, ValidationFailed
from tongban.org.models import Jurisdiction


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


_BATCH: Final = 1000


def _items_by_codes(session: Session, codes: list[str]) -> dict[str, ServiceItem]:
    """``repository.items_by_codes`` a thousand codes at a time (a database takes only so
    many parameters in one statement)."""
    out: dict[str, ServiceItem] = {}
    for start in range(0, len(codes), _BATCH):
        out |= repository.items_by_codes(session, codes[start : start + _BATCH])
    return out


def _items_with_versions(session: Session, item_ids: list[int]) -> set[int]:
    """Which of these items already have a version."""
    if not item_ids:
        return set()
    wanted = set(item_ids)
    return {i for i in session.scalars(select(ItemVersion.item_id).distinct()) if i in wanted}


def _insert_first_versions(
    session: Session,
    batch: list[ItemIn],
    code_ids: dict[str, int],
    lookups: Lookups,
    *,
    actor: Principal | None,
) -> None:
    """Version 1 of items that have none, with their child rows, in bulk: what
    ``_apply_item`` and ``_set_status`` write for such an item, a statement per table."""
    now = utcnow()
    actor_id = actor.user_id if actor else None
    rows = []
    children: dict[type[Any], list[dict[str, Any]]] = {}
    for k, item_in in enumerate(batch):
        values, child_rows = version_values(item_in, lookups)
        values |= {
            "item_id": code_ids[item_in.implementation_code],
            "version_no": 1,
            "status": item_in.status,
            "created_by_id": actor_id,
        }
        if item_in.status == VersionStatus.PUBLISHED.value:
            values |= {"published_at": now, "published_by_id": actor_id}
        elif item_in.status == VersionStatus.RETIRED.value:
            values["retired_at"] = now
        rows.append(values)
        for model, entries in child_rows.items():
            children.setdefault(model, []).extend(entry | {"_item": k} for entry in entries)
    version_ids = session.scalars(
        insert(ItemVersion).returning(ItemVersion.id, sort_by_parameter_order=True), rows
    ).all()
    # child rows were built in item order; give each its version's id
    for model, entries in children.items():
        if entries:
            for entry in entries:
                entry["version_id"] = version_ids[entry.pop("_item")]
            session.execute(insert(model.__table__), entries)


def import_catalog(
    *,
    session: Session,
    document: CatalogDocument,
    principal: Principal | None = None,
    on_item: Callable[[int], None] | None = None,
    references_checked: bool = False,
) -> ImportReport:
    """Load a whole catalogue document: every reference is checked first; nothing is written
    unless everything is valid. ``principal`` None means the system (CLI, demo loader).
    ``references_checked``: the caller has just run ``check_file`` on this document in the same
    transaction (the CLI), so the references are not checked a second time."""
    if principal is not None:
        _require_catalog_admin(principal)
    lookups = _lookups(session)
    existing_items = _items_by_codes(
        session, [item_doc.implementation_code for item_doc in document.items]
    )
    errors = [] if references_checked else reference_errors(session, document, lookups=lookups)
    if errors:
        raise ValidationFailed(
            "catalogue is invalid; nothing was imported", errors=errors, code="catalog_invalid"
        )

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

    code_ids = {code: item.id for code, item in existing_items.items()}
    with_versions = _items_with_versions(session, list(code_ids.values()))
    fresh = [d for d in document.items if code_ids.get(d.implementation_code) not in with_versions]
    new_docs = [d for d in fresh if d.implementation_code not in existing_items]
    for start in range(0, len(new_docs), _BATCH):
        batch = new_docs[start : start + _BATCH]
        ids = session.scalars(
            insert(ServiceItem).returning(ServiceItem.id, sort_by_parameter_order=True),
            [
                {"implementation_code": d.implementation_code, "basic_code": d.basic_code}
                for d in batch
            ],
        ).all()
        code_ids.update(zip((d.implementation_code for d in batch), ids, strict=True))
    report.items_created += len(new_docs)
    parent_updates = [
        {"id": code_ids[d.implementation_code], "parent_id": code_ids[d.parent]}
        for d in new_docs
        if d.parent is not None
    ]
    for start in range(0, len(parent_updates), _BATCH):
        session.execute(update(ServiceItem), parent_updates[start : start + _BATCH])
    for item_in in document.items:
        if item_in.implementation_code in existing_items:
            item = existing_items[item_in.implementation_code]
            item.basic_code = item_in.basic_code
            item.parent_id = code_ids[item_in.parent] if item_in.parent else None
    session.flush()
    # Items without a version yet (most of a first import): their versions in bulk.
    for start in range(0, len(fresh), _BATCH):
        batch = fresh[start : start + _BATCH]
        _insert_first_versions(session, batch, code_ids, lookups, actor=principal)
        report.versions_created += len(batch)
        report.codes.extend(d.implementation_code for d in batch)
        if on_item is not None:
            on_item(len(batch))
    fresh_codes = {d.implementation_code for d in fresh}
    for item_in in document.items:
        if item_in.implementation_code in fresh_codes:
            continue
        item = existing_items[item_in.implementation_code]
        _apply_item(session, item, item_in, lookups, report, actor=principal)
        if on_item is not None:
            on_item(1)
    session.flush()
    index_items(session, (code_ids[i.implementation_code] for i in document.items))
    refresh_statistics(session, report.versions_created)
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


def reference_errors(
    session: Session,
    document: CatalogDocument,
    *,
    lookups: Lookups | None = None,
    also_known: Collection[str] = (),
) -> list[FieldError]:
    """What ``import_catalog`` refuses a document for: its references to departments, data
    elements, items and their outputs, e-licence types, checked against the database and the
    document itself, and what publishing needs. Located ``items[3] (CODE).department``.
    ``also_known``: item codes to take as existing (a file's items that are invalid on their
    own, so that what refers to them is not also reported)."""
    if lookups is None:
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
    known_items = set(doc_items) | _all_item_codes(session) | set(also_known)
    # The file's items replace what the database holds of them: their outputs are the file's.
    outputs = output_index(session) | {
        d.implementation_code: {o.code: o.e_licence for o in d.outputs} for d in document.items
    }
    in_file = set(doc_items)
    e_licences = {
        t for t in e_licence_types(session=session) if t.partition("#")[0] not in in_file
    } | {
        f"{d.implementation_code}#{o.code}"
        for d in document.items
        for o in d.outputs
        if o.e_licence
    }
    seen_items: set[str] = set()
    for i, item_doc in enumerate(document.items):
        loc = f"items[{i}] ({item_doc.implementation_code})"
        if item_doc.implementation_code in seen_items:
            errors.append(
                FieldError(f"{loc}.implementation_code", "implementation code appears twice")
            )
        seen_items.add(item_doc.implementation_code)
        errors += source_ref_form_errors(item_doc, loc)
        errors += _item_reference_errors(
            item_doc,
            loc,
            lookups=lookups,
            element_codes=element_codes,
            item_codes=known_items,
            outputs=outputs,
            e_licences=e_licences,
        )
        if item_doc.status == VersionStatus.PUBLISHED.value:
            errors += publish_errors(item_doc, loc)
    return errors


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


@dataclass
class CatalogExport:
    """A catalogue being exported: its data elements and the number of its items, and the items
    as plain data, read a thousand versions at a time (``items()``, once), so that a province's
    catalogue is written item by item and never held whole."""

    elements: list[dict[str, Any]]
    count: int
    _session: Session
    _version_ids: list[int]
    _departments: dict[int, str]
    _element_codes: dict[int, str]

    def items(self) -> Iterator[dict[str, Any]]:
        """Each item as ``ItemIn.model_dump(mode="json", exclude_defaults=True)`` gives it."""
        for start in range(0, len(self._version_ids), _BATCH):
            batch = repository.version_rows(
                self._session, self._version_ids[start : start + _BATCH]
            )
            for rows in batch:
                yield version_plain(rows, self._departments, self._element_codes)


def start_export(
    *,
    session: Session,
    principal: Principal | None,
    as_system: bool = False,
    jurisdiction_code: str = "",
) -> CatalogExport:
    """The latest version of every item the principal may see, to be read item by item.

    Anonymous (``principal=None``) sees what the public sees: published versions. Only a
    trusted internal caller (an operator's CLI command) sees every draft, and says so with
    ``as_system=True``. With a division code, only the items of departments in that
    jurisdiction's subtree (one county of several); an unknown code is refused.
    """
    lookups = _lookups(session)
    visible: ColumnElement[bool] = (
        ItemVersion.id.is_not(None) if as_system else visible_versions(principal)
    )
    if jurisdiction_code:
        place = repository.jurisdiction_by_code(session, jurisdiction_code)
        if place is None:
            raise ValidationFailed(
                "no jurisdiction '%(code)s'",
                params={"code": jurisdiction_code},
                errors=[FieldError("jurisdiction", f"no jurisdiction '{jurisdiction_code}'")],
                code="unknown_jurisdiction",
            )
        visible = visible & Jurisdiction.path.startswith(place.path, autoescape=True)
    version_ids = repository.latest_version_ids_for_export(session, visible)
    departments = lookups.department_codes
    return CatalogExport(
        elements=[
            element_to_in(e, departments).model_dump(mode="json", exclude_defaults=True)
            for e in lookups.elements.values()
        ],
        count=len(version_ids),
        _session=session,
        _version_ids=version_ids,
        _departments=departments,
        _element_codes={e.id: code for code, e in lookups.elements.items()},
    )


def export_catalog(
    *,
    session: Session,
    principal: Principal | None,
    as_system: bool = False,
    jurisdiction_code: str = "",
) -> CatalogDocument:
    """What ``start_export`` reads, as one document (the API, the CPSV-AP export)."""
    export = start_export(
        session=session,
        principal=principal,
        as_system=as_system,
        jurisdiction_code=jurisdiction_code,
    )
    return CatalogDocument(
        elements=[ElementIn.model_validate(e) for e in export.elements],
        items=[ItemIn.model_validate(i) for i in export.items()],
    )
