"""JSON routes of the catalogue: search, read, draft, publish, retire, import (the export,
which names bundles, is ``tongban.exports.api``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tongban.auth.access import require_principal
from tongban.catalog import completeness, service
from tongban.catalog.repository import ItemFilter
from tongban.catalog.schemas import CatalogDocument, ItemIn
from tongban.catalog.search import highlight
from tongban.errors import ValidationFailed
from tongban.kit.bounds import MAX_INT, Count, RowId
from tongban.web.deps import CurrentPrincipal, DbSession, api_csrf

router = APIRouter(tags=["catalogue"])


class ItemSummary(BaseModel):
    implementation_code: str
    name_zh: str
    name_en: str
    type: str
    department: str
    status: str
    version_no: int
    jurisdiction: str = ""  # division code of the department's jurisdiction
    jurisdiction_name_zh: str = ""
    jurisdiction_name_en: str = ""
    # The spans [start, end) of name_zh and name_en that the search text matched.
    marks_zh: list[tuple[int, int]] = Field(default_factory=list)
    marks_en: list[tuple[int, int]] = Field(default_factory=list)


class ItemPage(BaseModel):
    total: int
    total_capped: bool = False  # more matches than ``total`` (a search counts at most 1,000)
    items: list[ItemSummary]
    jurisdiction: str = ""  # the jurisdiction filter in force ("" for all)


class VersionOut(BaseModel):
    version_no: int
    status: str


class ItemOut(BaseModel):
    item: ItemIn
    gaps: list[str] = Field(
        description="Parts the item's type needs that are not yet recorded (legal_basis, "
        "materials, steps, time_limit, visits): an item with gaps is incomplete and takes no "
        "applications."
    )
    version_no: int
    status: str
    lock_version: int
    versions: list[VersionOut]
    can_edit: bool
    can_publish: bool


class DraftIn(BaseModel):
    changes: dict[str, Any] = Field(
        description="Fields of the item to change, as in the file format."
    )
    lock_version: Count | None = Field(
        default=None, description="The lock_version you read; a concurrent save is refused."
    )


class PublishIn(BaseModel):
    lock_version: Count | None = None


class ImportOut(BaseModel):
    items_created: int
    versions_created: int
    drafts_updated: int
    status_changes: int
    unchanged: int


class ElementOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    data_type: str
    format: str
    max_length: int | None
    allowed_values: list[Any]
    validator: str


class ElementUse(BaseModel):
    implementation_code: str
    item_name: str  # Chinese
    field_label: str  # Chinese
    item_name_en: str
    field_label_en: str
    jurisdiction: str = ""  # division code of the item's department's jurisdiction
    jurisdiction_name_zh: str = ""
    jurisdiction_name_en: str = ""


class ElementDetailOut(ElementOut):
    used_by: list[ElementUse]


class CheckIn(BaseModel):
    value: Any


class CheckOut(BaseModel):
    valid: bool
    message: str = ""


def _detail_out(detail: service.ItemDetail) -> ItemOut:
    return ItemOut(
        item=detail.item,
        gaps=completeness.item_gaps(detail.item),
        version_no=detail.version_no,
        status=detail.status,
        lock_version=detail.lock_version,
        versions=[VersionOut(version_no=v.version_no, status=v.status) for v in detail.versions],
        can_edit=detail.can_edit,
        can_publish=detail.can_publish,
    )


@router.get("/items", response_model=ItemPage)
def search_items(
    session: DbSession,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(max_length=100)] = "",
    department: Annotated[str, Query(max_length=32)] = "",
    module: Annotated[str, Query(max_length=32)] = "",
    type: Annotated[str, Query(max_length=40)] = "",
    status: Annotated[Literal["", "draft", "published", "retired"], Query()] = "",
    jurisdiction: Annotated[str | None, Query(max_length=12)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> ItemPage:
    """Items by relevance to ``q`` (Chinese, pinyin, initials, codes, synonyms), else by code.
    ``jurisdiction``: a division code (that subtree), ``all``; by default a reform office
    sees its own subtree and everyone else all."""
    place = service.resolve_jurisdiction(principal, jurisdiction)
    flt = ItemFilter(
        text=q.strip(),
        jurisdiction_code=place,
        department_code=department,
        module_code=module,
        item_type=type,
        status=status,
        limit=limit,
        offset=offset,
    )
    rows, total = service.search_items(session=session, principal=principal, flt=flt)
    needles = service.parsed_query(session, flt.text).needles if flt.text else ()
    return ItemPage(
        total=total,
        total_capped=getattr(total, "capped", False),
        jurisdiction=place,
        items=[
            ItemSummary(
                implementation_code=r.implementation_code,
                name_zh=r.version.name_zh,
                name_en=r.version.name_en,
                type=r.version.item_type,
                department=r.department.code,
                status=r.version.status,
                version_no=r.version.version_no,
                jurisdiction=r.jurisdiction.code if r.jurisdiction else "",
                jurisdiction_name_zh=r.jurisdiction.name_zh if r.jurisdiction else "",
                jurisdiction_name_en=r.jurisdiction.name_en if r.jurisdiction else "",
                marks_zh=highlight.spans(r.version.name_zh, needles),
                marks_en=highlight.spans(r.version.name_en, needles),
            )
            for r in rows
        ],
    )


@router.get("/items/{code}", response_model=ItemOut)
def get_item(
    code: str, session: DbSession, principal: CurrentPrincipal, version: RowId | None = None
) -> ItemOut:
    detail = service.get_item(
        session=session, principal=principal, implementation_code=code, version_no=version
    )
    return _detail_out(detail)


@router.patch("/items/{code}/draft", response_model=ItemOut, dependencies=[Depends(api_csrf)])
def save_draft(
    code: str, body: DraftIn, session: DbSession, principal: CurrentPrincipal
) -> ItemOut:
    service.save_draft(
        session=session,
        principal=principal,
        implementation_code=code,
        changes=body.changes,
        lock_version=body.lock_version,
    )
    return _detail_out(
        service.get_item(session=session, principal=principal, implementation_code=code)
    )


@router.post("/items/{code}/publish", response_model=ItemOut, dependencies=[Depends(api_csrf)])
def publish(code: str, body: PublishIn, session: DbSession, principal: CurrentPrincipal) -> ItemOut:
    service.publish_item(
        session=session,
        principal=principal,
        implementation_code=code,
        lock_version=body.lock_version,
    )
    return _detail_out(
        service.get_item(session=session, principal=principal, implementation_code=code)
    )


@router.post("/items/{code}/retire", response_model=ItemOut, dependencies=[Depends(api_csrf)])
def retire(code: str, session: DbSession, principal: CurrentPrincipal) -> ItemOut:
    service.retire_item(session=session, principal=principal, implementation_code=code)
    return _detail_out(
        service.get_item(session=session, principal=principal, implementation_code=code)
    )


@router.post("/catalog/import", response_model=ImportOut, dependencies=[Depends(api_csrf)])
def import_catalog(
    body: CatalogDocument, session: DbSession, principal: CurrentPrincipal
) -> ImportOut:
    report = service.import_catalog(
        session=session, document=body, principal=require_principal(principal)
    )
    return ImportOut(
        items_created=report.items_created,
        versions_created=report.versions_created,
        drafts_updated=report.drafts_updated,
        status_changes=report.status_changes,
        unchanged=report.unchanged,
    )


@router.get("/elements", response_model=list[ElementOut])
def list_elements(session: DbSession) -> list[ElementOut]:
    return [
        ElementOut.model_validate(e, from_attributes=True)
        for e in service.list_elements(session=session)
    ]


@router.get("/elements/{code}", response_model=ElementDetailOut)
def get_element(
    code: str,
    session: DbSession,
    jurisdiction: Annotated[str, Query(max_length=12)] = "",
) -> ElementDetailOut:
    """The element and the published items that ask for it; ``jurisdiction``: a division code,
    the items of that subtree only."""
    element, uses = service.get_element(
        session=session, code=code, jurisdiction_code=jurisdiction.strip()
    )
    return ElementDetailOut(
        **ElementOut.model_validate(element, from_attributes=True).model_dump(),
        used_by=[
            ElementUse(
                implementation_code=u.implementation_code,
                item_name=u.item_name_zh,
                field_label=u.label_zh,
                item_name_en=u.item_name_en,
                field_label_en=u.label_en,
                jurisdiction=u.jurisdiction_code,
                jurisdiction_name_zh=u.jurisdiction_zh,
                jurisdiction_name_en=u.jurisdiction_en,
            )
            for u in uses
        ],
    )


@router.post("/elements/{code}/check", response_model=CheckOut)
def check_value(code: str, body: CheckIn, session: DbSession) -> CheckOut:
    """Check a value against the element's type and validator (ID check digits and so on)."""
    element, _ = service.get_element(session=session, code=code)
    try:
        service.validate_value(element, body.value)
    except ValueError as exc:
        return CheckOut(valid=False, message=str(exc))
    return CheckOut(valid=True)


__all__ = ["ValidationFailed", "router"]
