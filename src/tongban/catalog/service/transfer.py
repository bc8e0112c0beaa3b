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
    parent_cycle_errors,
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
    out: set[int] = set()
    for start in range(0, len(item_ids), _BATCH):
        out.update(
            session.scalars(
                select(ItemVersion.item_id)
                .where(ItemVersion.item_id.in_(item_ids[start : start + _BATCH]))
                .distinct()
            )
        )
    return out


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
    importer = CatalogImporter(session=session, principal=principal, on_item=on_item)
    errors = (
        [] if references_checked else reference_errors(session, document, lookups=importer.lookups)
    )
    cycles = parent_cycle_errors(
        session,
        {d.implementation_code: d.parent for d in document.items},
        {
            d.implementation_code: f"items[{i}] ({d.implementation_code})"
            for i, d in enumerate(document.items)
        },
    )
    if cycles:
        raise ValidationFailed(
            "main items and sub-items would form a cycle; nothing was imported",
            errors=cycles,
            code="parent_cycle",
        )
    if errors:
        raise ValidationFailed(
            "catalogue is invalid; nothing was imported", errors=errors, code="catalog_invalid"
        )
    importer.add_elements(document.elements)
    for start in range(0, len(document.items), _BATCH):
        importer.add_items(document.items[start : start + _BATCH])
    return importer.finish()


class CatalogImporter:
    """An import a batch of items at a time (a province's file is never held whole): the data
    elements first, then the items in the file's order, then ``finish`` (parents, the search
    index, the audit record). The caller has checked everything first (``import_catalog``, or
    ``check_streamed`` as it goes) and owns the transaction: if anything is found wrong on the
    way, it rolls back, and nothing stays written."""

    def __init__(
        self,
        *,
        session: Session,
        principal: Principal | None = None,
        on_item: Callable[[int], None] | None = None,
    ) -> None:
        self.session = session
        self.principal = principal
        self.on_item = on_item
        self.lookups = _lookups(session)
        self.report = ImportReport()
        self.code_ids: dict[str, int] = {}
        self.parents: list[tuple[str, str | None]] = []
        self.changed: list[int] = []

    def add_elements(self, elements: list[ElementIn]) -> None:
        lookups, report = self.lookups, self.report
        for element_in in elements:
            element = lookups.elements.get(element_in.code)
            if element is None:
                element = DataElement(code=element_in.code)
                self.session.add(element)
                lookups.elements[element_in.code] = element
                report.elements_created += 1
            elif element_to_in(element, lookups.department_codes) != element_in:
                report.elements_updated += 1
            _fill_element(element, element_in, lookups)
        self.session.flush()

    def add_items(self, batch: list[ItemIn]) -> None:
        session, report, code_ids = self.session, self.report, self.code_ids
        existing_items = _items_by_codes(session, [d.implementation_code for d in batch])
        code_ids.update((code, item.id) for code, item in existing_items.items())
        with_versions = _items_with_versions(session, [i.id for i in existing_items.values()])
        fresh = [d for d in batch if code_ids.get(d.implementation_code) not in with_versions]
        new_docs = [d for d in fresh if d.implementation_code not in existing_items]
        if new_docs:
            ids = session.scalars(
                insert(ServiceItem).returning(ServiceItem.id, sort_by_parameter_order=True),
                [
                    {"implementation_code": d.implementation_code, "basic_code": d.basic_code}
                    for d in new_docs
                ],
            ).all()
            code_ids.update(zip((d.implementation_code for d in new_docs), ids, strict=True))
        report.items_created += len(new_docs)
        for item_in in batch:
            self.changed.append(code_ids[item_in.implementation_code])
            if item_in.implementation_code in existing_items:
                existing_items[item_in.implementation_code].basic_code = item_in.basic_code
                self.parents.append((item_in.implementation_code, item_in.parent))
            elif item_in.parent is not None:
                self.parents.append((item_in.implementation_code, item_in.parent))
        session.flush()
        # Items without a version yet (most of a first import): their versions in bulk.
        if fresh:
            _insert_first_versions(session, fresh, code_ids, self.lookups, actor=self.principal)
            report.versions_created += len(fresh)
            report.codes.extend(d.implementation_code for d in fresh)
            if self.on_item is not None:
                self.on_item(len(fresh))
        fresh_codes = {d.implementation_code for d in fresh}
        for item_in in batch:
            if item_in.implementation_code in fresh_codes:
                continue
            item = existing_items[item_in.implementation_code]
            _apply_item(session, item, item_in, self.lookups, report, actor=self.principal)
            if self.on_item is not None:
                self.on_item(1)
        session.flush()

    def finish(self) -> ImportReport:
        """Parents (a main item may come later in the file than its sub-items), the search
        index, the planner's statistics and the audit record."""
        session, report, code_ids = self.session, self.report, self.code_ids
        unknown = [p for _, p in self.parents if p is not None and p not in code_ids]
        code_ids.update((c, i.id) for c, i in _items_by_codes(session, unknown).items())
        updates = [
            {"id": code_ids[code], "parent_id": code_ids[parent] if parent else None}
            for code, parent in self.parents
        ]
        for start in range(0, len(updates), _BATCH):
            session.execute(update(ServiceItem), updates[start : start + _BATCH])
        session.flush()
        index_items(session, self.changed)
        refresh_statistics(session, report.versions_created)
        audit.record(
            session=session,
            actor_user_id=self.principal.user_id if self.principal else None,
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
    outputs = {
        d.implementation_code: {o.code: o.e_licence for o in d.outputs} for d in document.items
    }
    checker = ReferenceChecker(
        session,
        document.elements,
        outputs,
        lookups=lookups,
        also_known=also_known,
    )
    errors = checker.element_errors()
    for i, item_doc in enumerate(document.items):
        errors += checker.item_errors(i, item_doc)
    return errors


class ReferenceChecker:
    """``reference_errors`` an item at a time: what the database holds is read once, and of
    the file only its data elements and the outputs of its items (item code → output code →
    marked ``e_licence``) are needed."""

    def __init__(
        self,
        session: Session,
        elements: list[ElementIn],
        file_outputs: dict[str, dict[str, bool]],
        *,
        lookups: Lookups | None = None,
        also_known: Collection[str] = (),
    ) -> None:
        self.lookups = lookups if lookups is not None else _lookups(session)
        self.elements = elements
        self.element_codes = {e.code for e in elements} | set(self.lookups.elements)
        self.known_items = set(file_outputs) | _all_item_codes(session) | set(also_known)
        # The file's items replace what the database holds of them: their outputs are the file's.
        self.outputs = output_index(session) | file_outputs
        self.e_licences = {
            t for t in e_licence_types(session=session) if t.partition("#")[0] not in file_outputs
        } | {
            f"{code}#{output}"
            for code, outputs in file_outputs.items()
            for output, e_licence in outputs.items()
            if e_licence
        }
        self.seen_items: set[str] = set()

    def element_errors(self) -> list[FieldError]:
        errors: list[FieldError] = []
        seen: set[str] = set()
        for i, element_doc in enumerate(self.elements):
            loc = f"elements[{i}] ({element_doc.code})"
            if element_doc.code in seen:
                errors.append(
                    FieldError(f"{loc}.code", f"data element '{element_doc.code}' appears twice")
                )
            seen.add(element_doc.code)
            if (
                element_doc.source_department
                and element_doc.source_department not in self.lookups.departments
            ):
                errors.append(
                    FieldError(
                        f"{loc}.source_department",
                        f"unknown department code '{element_doc.source_department}'",
                    )
                )
        return errors

    def item_errors(self, i: int, item_doc: ItemIn) -> list[FieldError]:
        """Item ``i`` (its place in the document, or the file), after the items before it."""
        loc = f"items[{i}] ({item_doc.implementation_code})"
        errors: list[FieldError] = []
        if item_doc.implementation_code in self.seen_items:
            errors.append(
                FieldError(f"{loc}.implementation_code", "implementation code appears twice")
            )
        self.seen_items.add(item_doc.implementation_code)
        errors += source_ref_form_errors(item_doc, loc)
        errors += _item_reference_errors(
            item_doc,
            loc,
            lookups=self.lookups,
            element_codes=self.element_codes,
            item_codes=self.known_items,
            outputs=self.outputs,
            e_licences=self.e_licences,
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
