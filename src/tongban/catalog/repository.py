"""Queries for data elements, items and versions. Visibility comes in as a SQL condition from
the access funnel; this module never decides who may see what."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, RowMapping, Select, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql import visitors
from sqlalchemy.sql.base import ExecutableOption

from tongban.catalog.models import (
    CoHandler,
    DataElement,
    FormField,
    ItemVersion,
    LegalBasis,
    Material,
    Output,
    ProcessStep,
    ServiceItem,
    VersionStatus,
)
from tongban.catalog.search import index as search_index
from tongban.catalog.search.rank import Ranker, Relevance
from tongban.catalog.search.text import Query
from tongban.org.models import ApplicationModule, Department, Jurisdiction, module_department

_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")


def elements_by_codes(session: Session, codes: Iterable[str]) -> dict[str, DataElement]:
    wanted = set(codes)
    if not wanted:
        return {}
    return {
        e.code: e for e in session.scalars(select(DataElement).where(DataElement.code.in_(wanted)))
    }


def all_elements(session: Session) -> list[DataElement]:
    return list(session.scalars(select(DataElement).order_by(DataElement.code)))


def element_by_code(session: Session, code: str) -> DataElement | None:
    return session.scalars(select(DataElement).where(DataElement.code == code)).one_or_none()


def items_by_codes(session: Session, codes: Iterable[str]) -> dict[str, ServiceItem]:
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.scalars(select(ServiceItem).where(ServiceItem.implementation_code.in_(wanted)))
    return {i.implementation_code: i for i in rows}


def item_by_code(session: Session, code: str) -> ServiceItem | None:
    return session.scalars(
        select(ServiceItem).where(ServiceItem.implementation_code == code)
    ).one_or_none()


def _full_version() -> tuple[ExecutableOption, ...]:
    return (
        selectinload(ItemVersion.co_handlers),
        selectinload(ItemVersion.legal_bases),
        selectinload(ItemVersion.materials),
        selectinload(ItemVersion.form_fields).selectinload(FormField.element),
        selectinload(ItemVersion.steps),
        selectinload(ItemVersion.outputs),
        selectinload(ItemVersion.item).selectinload(ServiceItem.parent),
    )


def versions_of(session: Session, item_id: int, visible: ColumnElement[bool]) -> list[ItemVersion]:
    return list(
        session.scalars(
            _with_scope(select(ItemVersion), visible)
            .where(ItemVersion.item_id == item_id)
            .order_by(ItemVersion.version_no)
        )
    )


def full_version(session: Session, version_id: int) -> ItemVersion:
    return session.scalars(
        select(ItemVersion).where(ItemVersion.id == version_id).options(*_full_version())
    ).one()


def full_versions(session: Session, version_ids: list[int]) -> list[ItemVersion]:
    if not version_ids:
        return []
    rows = session.scalars(
        select(ItemVersion).where(ItemVersion.id.in_(version_ids)).options(*_full_version())
    )
    by_id = {v.id: v for v in rows}
    return [by_id[i] for i in version_ids]


def latest_version(session: Session, item_id: int) -> ItemVersion | None:
    return session.scalars(
        select(ItemVersion)
        .where(ItemVersion.item_id == item_id)
        .order_by(ItemVersion.version_no.desc())
        .limit(1)
    ).one_or_none()


def published_version(session: Session, item_id: int) -> ItemVersion | None:
    return session.scalars(
        select(ItemVersion).where(ItemVersion.item_id == item_id, ItemVersion.status == "published")
    ).one_or_none()


def _names_place(visible: ColumnElement[bool]) -> bool:
    """Whether the funnel's condition reads the department or jurisdiction (a staff member's
    scope does; the public's "published" does not, and its search joins neither per row)."""
    tables = {Department.__table__, Jurisdiction.__table__}
    return any(getattr(c, "table", None) in tables for c in visitors.iterate(visible))


def _with_scope(query: _S, visible: ColumnElement[bool]) -> _S:
    return (
        query.join(Department, Department.id == ItemVersion.department_id)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .where(visible)
    )


@dataclass(frozen=True)
class ItemFilter:
    text: str = ""
    department_code: str = ""
    module_code: str = ""
    item_type: str = ""
    status: str = ""
    parent_code: str = ""  # only the sub-items (子项) of this main item
    jurisdiction_code: str = ""  # only this jurisdiction and the ones below it
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class ItemRow:
    version: ItemVersion
    implementation_code: str
    department: Department
    jurisdiction: Jurisdiction | None = None


def jurisdiction_by_code(session: Session, code: str) -> Jurisdiction | None:
    return session.scalars(select(Jurisdiction).where(Jurisdiction.code == code)).one_or_none()


# A text search ranks and counts at most this many matches (decision 0005): beyond it, the
# count says "more than" and the reader narrows the search.
SEARCH_CAP = 1000


class SearchTotal(int):
    """The number of matches; ``capped`` when there are more than that (shown as "1000+")."""

    capped: bool = False

    def __new__(cls, value: int, capped: bool = False) -> SearchTotal:
        made = super().__new__(cls, value)
        made.capped = capped
        return made

    def __str__(self) -> str:
        return f"{int(self)}+" if self.capped else str(int(self))


# The candidate version of a search and its department and jurisdiction; the plain entities
# are the later versions the access funnel is applied to.
_CUR = aliased(ItemVersion, name="cur")
_DEPT = aliased(Department, name="cur_department")
_PLACE = aliased(Jurisdiction, name="cur_jurisdiction")


def _ranked_candidates(
    session: Session, visible: ColumnElement[bool], flt: ItemFilter, query: Query
) -> tuple[list[int], SearchTotal]:
    """The version ids of the matches in rank order (at most SEARCH_CAP) and their count.

    Each tier (a match in the name, codes or pinyin before a match elsewhere only) is read
    from the index joined to the filters in descending version order, and stops after the
    cap: the index never ranks every match of a common word. The exact code pasted comes
    first, then the tier, the relevance, the code."""
    cur, dept, place = _CUR, _DEPT, _PLACE
    # The latest visible version of its item (the funnel applies to the later versions).
    newest_stmt = select(func.max(ItemVersion.version_no)).where(visible)
    if _names_place(visible):
        newest_stmt = _with_scope(select(func.max(ItemVersion.version_no)), visible)
    newest = newest_stmt.where(ItemVersion.item_id == cur.item_id).scalar_subquery()
    conditions: list[ColumnElement[bool]] = [cur.version_no == newest]
    by_place: list[ColumnElement[bool]] = []  # the conditions on the department or jurisdiction
    if flt.jurisdiction_code:
        where = jurisdiction_by_code(session, flt.jurisdiction_code)
        if where is None:
            return [], SearchTotal(0)
        by_place.append(place.path.startswith(where.path, autoescape=True))
    if flt.department_code:
        by_place.append(dept.code == flt.department_code)
    if flt.module_code:
        conditions.append(
            cur.department_id.in_(
                select(module_department.c.department_id)
                .join(ApplicationModule, ApplicationModule.id == module_department.c.module_id)
                .where(ApplicationModule.code == flt.module_code)
            )
        )
    if flt.item_type:
        conditions.append(cur.item_type == flt.item_type)
    if flt.status:
        conditions.append(cur.status == flt.status)
    if flt.parent_code:
        main = aliased(ServiceItem)
        conditions.append(
            ServiceItem.parent_id.in_(
                select(main.id).where(main.implementation_code == flt.parent_code)
            )
        )

    def joined(stmt: _S) -> _S:
        stmt = stmt.join(ServiceItem, ServiceItem.id == cur.item_id).where(*conditions)
        if not by_place:  # (joined for nothing, they misled the planner: 25 ms at 1,000 rows)
            return stmt
        return (
            stmt.join(dept, dept.id == cur.department_id)
            .join(place, place.id == dept.jurisdiction_id)
            .where(*by_place)
        )

    pasted = flt.text.strip()
    keys: dict[int, tuple[int, int, Relevance, str]] = {}
    for vid, code in session.execute(
        joined(select(cur.id, ServiceItem.implementation_code).select_from(cur)).where(
            or_(ServiceItem.implementation_code == pasted, ServiceItem.basic_code == pasted)
        )
    ):
        keys[vid] = (0, 0, (0, 0.0, 0, 0), code)
    found = 0
    ranker = Ranker(query)
    for tier, strong in enumerate((True, False)):
        source = search_index.tier_source(session, query, strong)
        if source is None:
            continue
        rows = _tier_rows(session, source, joined, SEARCH_CAP + 1 - found)
        found += len(rows)
        for vid, code, name_zh, name_en in rows:
            if vid not in keys:
                keys[vid] = (1, tier, ranker.relevance(name_zh, name_en), code)
        if found > SEARCH_CAP:
            break
    ordered = sorted(keys, key=keys.__getitem__)
    capped = len(ordered) > SEARCH_CAP
    return ordered[:SEARCH_CAP], SearchTotal(min(len(ordered), SEARCH_CAP), capped)


_AnySelect = Select[*tuple[Any, ...]]
_Row = tuple[int, str, str, str]  # version id, implementation code, name_zh, name_en


def _tier_rows(
    session: Session,
    source: search_index.Tier,
    joined: Callable[[_AnySelect], _AnySelect],
    wanted: int,
) -> list[_Row]:
    """At most ``wanted`` matches of one tier that pass the filters. SQLite: the index joined to
    the filters in the index's order, cut by the ``LIMIT``. PostgreSQL: the version ids from the
    index alone first, in a materialised CTE (a bitmap of the GIN index, read until the
    ``LIMIT``; joined to the filters directly, the planner reads and joins every match before
    the first row: a second for a common word at 100,000 items), then the filters over them;
    every match of the tier only when the filters dropped some (a version that is not its
    item's latest visible one, another department's)."""
    cur = _CUR
    columns = select(cur.id, ServiceItem.implementation_code, cur.name_zh, cur.name_en)
    if source.order:
        stmt = joined(
            columns.select_from(search_index.SEARCH_TABLE).join(cur, cur.id == source.version_id)
        )
        found = session.execute(stmt.where(source.match).order_by(*source.order).limit(wanted))
        return [(r[0], r[1], r[2], r[3]) for r in found]
    limit: int | None = wanted
    while True:
        ids = select(source.version_id.label("version_id")).select_from(search_index.SEARCH_TABLE)
        # Materialised: the index is read (up to the limit) before any join.
        cand = ids.where(source.match).limit(limit).cte("cand").prefix_with("MATERIALIZED")
        read = select(func.count()).select_from(cand).scalar_subquery()
        stmt = joined(
            columns.add_columns(read).select_from(cand).join(cur, cur.id == cand.c.version_id)
        )
        rows = session.execute(stmt).all()
        if limit is None or len(rows) >= wanted or (rows and rows[0][4] < limit):
            return [(r[0], r[1], r[2], r[3]) for r in rows[:wanted]]
        limit = None  # the filters dropped some: read every match of the tier


def _search_ranked(
    session: Session, visible: ColumnElement[bool], flt: ItemFilter, query: Query
) -> tuple[list[ItemRow], int]:
    ids, total = _ranked_candidates(session, visible, flt, query)
    page = ids[flt.offset : flt.offset + flt.limit]
    if not page:
        return [], total
    rows = session.execute(
        select(ItemVersion, ServiceItem.implementation_code, Department, Jurisdiction)
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .join(Department, Department.id == ItemVersion.department_id)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .where(ItemVersion.id.in_(page))
    ).all()
    by_id = {v.id: ItemRow(v, code, dept, place) for v, code, dept, place in rows}
    return [by_id[i] for i in page if i in by_id], total


def search_latest(
    session: Session, visible: ColumnElement[bool], flt: ItemFilter, query: Query | None = None
) -> tuple[list[ItemRow], int]:
    """The latest visible version of each item that matches the filter, and the total count.

    With a text, ``query`` is the parsed text (``catalog.search``): the matching versions come
    from the search index in bounded tiers, an exact implementation or basic code first, then by
    relevance (``catalog.search.rank``, the same on both databases), then by code, so that
    paging is stable. Without one, by code."""
    if flt.text:
        if query is None or query.empty:
            return [], 0
        return _search_ranked(session, visible, flt, query)
    latest_select = _with_scope(
        select(ItemVersion.item_id, func.max(ItemVersion.version_no).label("v")), visible
    )
    latest = latest_select.group_by(ItemVersion.item_id).subquery()
    query_rows = (
        select(ItemVersion, ServiceItem.implementation_code, Department, Jurisdiction)
        .join(
            latest,
            (latest.c.item_id == ItemVersion.item_id) & (latest.c.v == ItemVersion.version_no),
        )
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .join(Department, Department.id == ItemVersion.department_id)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
    )
    if flt.jurisdiction_code:
        place = jurisdiction_by_code(session, flt.jurisdiction_code)
        if place is None:
            return [], 0
        query_rows = query_rows.where(Jurisdiction.path.startswith(place.path, autoescape=True))
    if flt.department_code:
        query_rows = query_rows.where(Department.code == flt.department_code)
    if flt.module_code:
        query_rows = query_rows.where(
            ItemVersion.department_id.in_(
                select(module_department.c.department_id)
                .join(ApplicationModule, ApplicationModule.id == module_department.c.module_id)
                .where(ApplicationModule.code == flt.module_code)
            )
        )
    if flt.item_type:
        query_rows = query_rows.where(ItemVersion.item_type == flt.item_type)
    if flt.status:
        query_rows = query_rows.where(ItemVersion.status == flt.status)
    if flt.parent_code:
        main = aliased(ServiceItem)
        query_rows = query_rows.where(
            ServiceItem.parent_id.in_(
                select(main.id).where(main.implementation_code == flt.parent_code)
            )
        )
    total = session.scalar(select(func.count()).select_from(query_rows.subquery())) or 0
    ordered = query_rows.order_by(ServiceItem.implementation_code)
    rows = session.execute(ordered.limit(flt.limit).offset(flt.offset)).all()
    return [ItemRow(v, code, dept, place) for v, code, dept, place in rows], total


def _latest_visible_ids(visible: ColumnElement[bool]) -> Select[int, int]:
    latest = (
        _with_scope(
            select(ItemVersion.item_id, func.max(ItemVersion.version_no).label("v")), visible
        )
        .group_by(ItemVersion.item_id)
        .subquery()
    )
    return (
        select(ItemVersion.id, ServiceItem.id)
        .join(
            latest,
            (latest.c.item_id == ItemVersion.item_id) & (latest.c.v == ItemVersion.version_no),
        )
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .order_by(ServiceItem.id)
    )


def latest_versions_for_export(session: Session, visible: ColumnElement[bool]) -> list[ItemVersion]:
    ids = [version_id for version_id, _ in session.execute(_latest_visible_ids(visible))]
    return full_versions(session, ids)


def latest_version_ids_for_export(session: Session, visible: ColumnElement[bool]) -> list[int]:
    """The latest visible version of every item, in the order of the items' ids (a province:
    100,000 integers)."""
    return [version_id for version_id, _ in session.execute(_latest_visible_ids(visible))]


_EXPORT_CHILDREN: Final = {
    "co_handlers": (CoHandler.__table__, ("department_id",)),
    "legal_bases": (LegalBasis.__table__, ("law", "article", "text")),
    "materials": (
        Material.__table__,
        (
            "code",
            "name_zh",
            "name_en",
            "necessity",
            "format",
            "copies",
            "source",
            "source_ref",
            "element_codes",
        ),
    ),
    "form_fields": (
        FormField.__table__,
        ("code", "label_zh", "label_en", "element_id", "required"),
    ),
    "steps": (
        ProcessStep.__table__,
        ("code", "kind", "name_zh", "name_en", "responsible", "limit_days"),
    ),
    "outputs": (
        Output.__table__,
        ("code", "name_zh", "name_en", "kind", "e_licence", "element_codes"),
    ),
}


@dataclass(frozen=True)
class VersionRows:
    """One version as Core rows, for an export: its columns (with the item's implementation
    code, basic code and parent's code) and its child rows by relationship name, in order."""

    version: RowMapping
    children: dict[str, list[RowMapping]]


def version_rows(session: Session, version_ids: list[int]) -> list[VersionRows]:
    """Versions with their child rows, in the order given, by Core queries: one for the
    versions and one per child table (``IN`` the ids; call with a thousand at a time)."""
    if not version_ids:
        return []
    parent = aliased(ServiceItem)
    table = ItemVersion.__table__
    query = (
        select(
            table,
            ServiceItem.implementation_code,
            ServiceItem.basic_code,
            parent.implementation_code.label("parent_code"),
        )
        .join(ServiceItem, ServiceItem.id == table.c.item_id)
        .outerjoin(parent, parent.id == ServiceItem.parent_id)
        .where(table.c.id.in_(version_ids))
    )
    versions = {row["id"]: row for row in session.execute(query).mappings()}
    children: dict[int, dict[str, list[RowMapping]]] = {
        i: {name: [] for name in _EXPORT_CHILDREN} for i in version_ids
    }
    for name, (child, columns) in _EXPORT_CHILDREN.items():
        rows = session.execute(
            select(child.c.version_id, *(child.c[c] for c in columns))
            .where(child.c.version_id.in_(version_ids))
            .order_by(child.c.version_id, child.c.position)
        ).mappings()
        for row in rows:
            children[row["version_id"]][name].append(row)
    return [VersionRows(versions[i], children[i]) for i in version_ids]


@dataclass(frozen=True)
class ElementUse:
    """A published item's form field that asks for a data element."""

    implementation_code: str
    item_name_zh: str
    item_name_en: str
    label_zh: str
    label_en: str
    jurisdiction_code: str
    jurisdiction_zh: str
    jurisdiction_en: str


def items_using_element(
    session: Session, element_id: int, jurisdiction_code: str = ""
) -> list[ElementUse]:
    """The published items asking for the element, with the label of the field that asks and
    the jurisdiction of the item's department; with a jurisdiction code, that subtree only (an
    unknown code finds nothing)."""
    query = (
        select(
            ServiceItem.implementation_code,
            ItemVersion.name_zh,
            ItemVersion.name_en,
            FormField.label_zh,
            FormField.label_en,
            Jurisdiction.code,
            Jurisdiction.name_zh,
            Jurisdiction.name_en,
        )
        .join(ItemVersion, ItemVersion.item_id == ServiceItem.id)
        .join(FormField, FormField.version_id == ItemVersion.id)
        .join(Department, Department.id == ItemVersion.department_id)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .where(FormField.element_id == element_id, ItemVersion.status == "published")
        .order_by(ServiceItem.implementation_code)
    )
    if jurisdiction_code:
        place = jurisdiction_by_code(session, jurisdiction_code)
        if place is None:
            return []
        query = query.where(Jurisdiction.path.startswith(place.path, autoescape=True))
    return [ElementUse(*row) for row in session.execute(query).all()]


def published_version_keys(
    session: Session, codes: Iterable[str]
) -> list[tuple[str, int, int, datetime]]:
    """(implementation code, version id, lock_version, updated_at) of the published versions."""
    rows = session.execute(
        select(
            ServiceItem.implementation_code,
            ItemVersion.id,
            ItemVersion.lock_version,
            ItemVersion.updated_at,
        )
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .where(
            ServiceItem.implementation_code.in_(set(codes)),
            ItemVersion.status == "published",
        )
        .order_by(ServiceItem.implementation_code)
    ).all()
    return [(code, version_id, lock, stamp) for code, version_id, lock, stamp in rows]


@dataclass(frozen=True)
class CompletenessRow:
    """What the completeness report needs of one published version."""

    implementation_code: str
    name_zh: str
    name_en: str
    item_type: str
    not_recorded: list[str]
    legal_limit_days: int | None
    visits: int | None
    has_sub_items: bool
    department_id: int


def completeness_rows(session: Session, jurisdiction_code: str = "") -> list[CompletenessRow]:
    """The published version of every item (of a jurisdiction subtree), with whether it has
    sub-items, ordered by department and code."""
    parents = select(ServiceItem.parent_id).where(ServiceItem.parent_id.is_not(None)).distinct()
    query = (
        select(
            ServiceItem.implementation_code,
            ItemVersion.name_zh,
            ItemVersion.name_en,
            ItemVersion.item_type,
            ItemVersion.not_recorded,
            ItemVersion.legal_limit_days,
            ItemVersion.visits,
            ServiceItem.id.in_(parents),
            ItemVersion.department_id,
        )
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .join(Department, Department.id == ItemVersion.department_id)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .where(ItemVersion.status == VersionStatus.PUBLISHED.value)
        .order_by(Department.code, ServiceItem.implementation_code)
    )
    if jurisdiction_code:
        place = jurisdiction_by_code(session, jurisdiction_code)
        if place is None:
            return []
        query = query.where(Jurisdiction.path.startswith(place.path, autoescape=True))
    return [
        CompletenessRow(code, zh, en, kind, list(missing or ()), legal, visits, bool(sub), dept)
        for code, zh, en, kind, missing, legal, visits, sub, dept in session.execute(query)
    ]
