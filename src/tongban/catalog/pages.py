"""HTML pages of the catalogue: search, item detail, editing a draft, publishing and retiring,
and the data element dictionary (数据元).

Labels of the domain's enumerations are English message ids here; templates translate them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tongban.auth.access import require_principal
from tongban.auth.principal import Principal
from tongban.catalog import codes, completeness, service
from tongban.catalog import types as item_types
from tongban.catalog.models import DataElement
from tongban.catalog.repository import ItemFilter
from tongban.catalog.schemas import ItemIn
from tongban.catalog.search import highlight
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.kit.spreadsheet import XLSX_MEDIA_TYPE, table_csv, table_xlsx
from tongban.org import service as org_service
from tongban.org.models import Department
from tongban.web.deps import (
    CurrentPrincipal,
    DbSession,
    attempt,
    check_csrf,
    pick_locale,
    see_other,
)
from tongban.web.format import format_yuan, local_time
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
TEXT_MAX = 25000

ITEM_TYPE_LABELS = {rule.type.value: rule.en for rule in item_types.RULES.values()}
GAP_ANCHORS = {
    "legal_basis": "legal",
    "materials": "materials",
    "steps": "steps",
    "time_limit": "limits",
    "visits": "basic",
}
CODE_PART_LABELS = {
    "basic": "Basic code",
    "division": "Division code",
    "unit": "Unit",
    "organisation": "Implementing organisation (credit code)",
    "nature": "Nature of the implementing subject",
    "handling_item": "Business handling item",
}
STATUS_LABELS = {"draft": "Draft", "published": "Published", "retired": "Retired"}
NECESSITY_LABELS = {
    "required": "Mandatory",
    "optional": "Optional",
    "conditional": "Conditional",
}
FORMAT_LABELS = {"paper": "Paper", "electronic": "Electronic", "both": "Paper or electronic"}
SOURCE_LABELS = {
    "applicant": "Provided by the applicant",
    "item_output": "Result of another item",
    "shared_data": "Shared data",
    "e_licence": "Electronic licence",
}
STEP_LABELS = {
    "acceptance": "Acceptance",
    "review": "Review",
    "automatic_check": "Automatic check",
    "onsite_verification": "On-site verification",
    "collective_decision": "Collective decision",
    "decision": "Decision",
    "e_signature": "Electronic signature",
    "payment": "Payment of fees",
    "delivery": "Delivery",
    "notification": "Notification",
}
CHANNEL_LABELS = {
    "window": "Service window",
    "online": "Online",
    "mobile": "Mobile app",
    "mail": "By post",
    "self_service": "Self-service terminal",
}
OUTPUT_LABELS = {
    "licence": "Licence",
    "certificate": "Certificate",
    "decision": "Decision document",
    "payment": "Funds paid out",
    "record": "Record",
    "service": "Service",
}
UNIT_LABELS = {
    "township": "Township of the applicant",
    "village": "Village of the applicant",
    "county": "County",
    "applicant": "The applicant",
}
ELEMENT_TYPE_LABELS = {
    "string": "Free text",
    "integer": "Whole number",
    "decimal": "Decimal number",
    "date": "Date",
    "boolean": "Yes or no",
    "money": "Money (fen)",
    "enum": "Choice from a list",
    "file": "File",
}
VALIDATOR_LABELS = {
    "none": "None",
    "resident_id": "Resident ID number (GB 11643)",
    "uscc": "Unified social credit code (GB 32100)",
    "phone": "Phone number",
    "date": "Date",
    "money_fen": "Amount in fen",
    "division_code": "Division code (GB/T 2260)",
}
LABELS: dict[str, dict[str, str]] = {
    "item_type": ITEM_TYPE_LABELS,
    "status": STATUS_LABELS,
    "necessity": NECESSITY_LABELS,
    "format": FORMAT_LABELS,
    "source": SOURCE_LABELS,
    "step": STEP_LABELS,
    "channel": CHANNEL_LABELS,
    "output": OUTPUT_LABELS,
    "unit": UNIT_LABELS,
    "element_type": ELEMENT_TYPE_LABELS,
    "validator": VALIDATOR_LABELS,
}


def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        template,
        {"labels": LABELS, "yuan": format_yuan, "local_time": local_time, **context},
        status_code=status_code,
    )


def _may_see_drafts(principal: Principal | None) -> bool:
    return principal is not None and principal.has_role(*service.READER_ROLES)


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d{1,9}", text) else None


def _int_or_raw(text: str) -> int | str:
    """A number the user typed, or the text itself so that validation names the field."""
    number = _int_or_none(text)
    return number if number is not None else text.strip()


# ---------------------------------------------------------------- the catalogue list


@router.get("/catalog", response_model=None)
def catalog_list(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(max_length=100)] = "",
    department: Annotated[str, Query(max_length=32)] = "",
    module: Annotated[str, Query(max_length=32)] = "",
    item_type: Annotated[str, Query(alias="type", max_length=40)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    jurisdiction: Annotated[str | None, Query(max_length=12)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    page: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    pasted = codes.normalise(q)
    if (
        codes.looks_national(pasted)
        and not request.headers.get("hx-request")
        and service.item_codes_exist(session=session, codes=[pasted])
    ):
        # A national implementation code pasted into the search opens its item.
        return RedirectResponse(f"/catalog/{quote(pasted, safe='')}", status_code=303)
    may_see_drafts = _may_see_drafts(principal)
    place = service.resolve_jurisdiction(principal, jurisdiction)
    default_place = service.default_jurisdiction(principal)
    if page is not None:
        offset = (page - 1) * PAGE_SIZE
    filters = {
        "q": q.strip(),
        "jurisdiction": (place or service.ALL_JURISDICTIONS) if place != default_place else "",
        "department": department.strip(),
        "module": module.strip(),
        "type": item_type if item_type in ITEM_TYPE_LABELS else "",
        "status": status if may_see_drafts and status in STATUS_LABELS else "",
    }
    flt = ItemFilter(
        text=filters["q"],
        department_code=filters["department"],
        module_code=filters["module"],
        item_type=filters["type"],
        status=filters["status"],
        jurisdiction_code=place,
        limit=PAGE_SIZE,
        offset=offset,
    )
    rows, total = service.search_items(session=session, principal=principal, flt=flt)
    needles = service.parsed_query(session, flt.text).needles if flt.text else ()
    kept = {k: v for k, v in filters.items() if v}

    def page_url(new_offset: int) -> str:
        params = dict(kept)
        if new_offset:
            params["offset"] = str(new_offset)
        return "/catalog" + ("?" + urlencode(params) if params else "")

    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    current = offset // PAGE_SIZE + 1
    shown = sorted({1, pages, *range(max(current - 2, 1), min(current + 2, pages) + 1)})
    page_links: list[dict[str, Any]] = []
    for number in shown:
        if page_links and number - page_links[-1]["number"] > 1:
            page_links.append({"number": number - 1, "url": None, "gap": True})
        page_links.append(
            {"number": number, "url": page_url((number - 1) * PAGE_SIZE), "gap": False}
        )

    context = {
        "filters": filters,
        "rows": rows,
        "total": total,
        "offset": offset,
        "page_size": PAGE_SIZE,
        "first": offset + 1 if rows else 0,
        "last": offset + len(rows),
        "prev_url": page_url(max(offset - PAGE_SIZE, 0)) if offset > 0 else None,
        "next_url": page_url(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
        "may_see_drafts": may_see_drafts,
        "filtered": bool(kept),
        "pages": pages,
        "current_page": current,
        "page_links": page_links,
        "kept": {k: v for k, v in kept.items() if k != "page"},
        "names": {
            r.implementation_code: (
                highlight.mark(r.version.name_zh, needles),
                highlight.mark(r.version.name_en, needles),
            )
            for r in rows
        },
    }
    partial = request.headers.get("hx-request") and not request.headers.get(
        "hx-history-restore-request"
    )
    if partial:
        response = _page(request, "catalog/_results.html", {**context, "partial": True})
    else:
        context["departments"] = org_service.department_rows(session=session)
        context["modules"] = org_service.modules(session=session)
        context["jurisdictions"] = [
            j for j in org_service.jurisdiction_rows(session=session) if j["level"] != "village"
        ]
        context["place"] = place
        response = _page(request, "catalog/list.html", context)
    response.headers["Vary"] = "HX-Request"
    return response


# ---------------------------------------------------------------- completeness


@router.get("/catalog/completeness", response_model=None)
def completeness_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    jurisdiction: Annotated[str | None, Query(max_length=12)] = None,
    department: Annotated[str, Query(max_length=40)] = "",
    format: Annotated[str, Query(max_length=8, pattern="^(|html|csv|xlsx)$")] = "",
) -> Response:
    """What each department still has to fill in: a bar per department, its incomplete items
    with what each lacks, and the same as CSV or XLSX (``format=csv|xlsx``)."""
    place = service.resolve_jurisdiction(principal, jurisdiction)
    report = service.completeness_report(session=session, principal=principal, jurisdiction=place)
    if format in ("csv", "xlsx"):
        header, rows = service.gap_table(report, pick_locale(request) == "zh_CN")
        name = f"completeness-{place or 'all'}.{format}"
        body, media = (
            (table_csv(header, rows), "text/csv; charset=utf-8")
            if format == "csv"
            else (table_xlsx("completeness", header, rows), XLSX_MEDIA_TYPE)
        )
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    shown = [d for d in report.departments if not department or d.code == department]
    context = {
        "report": report,
        "shown": shown,
        "department": department,
        "place": place,
        "jurisdictions": [
            j for j in org_service.jurisdiction_rows(session=session) if j["level"] != "village"
        ],
        "parts": completeness.PARTS,
        "gap_labels": completeness.PART_LABELS,
        "export_query": urlencode({"jurisdiction": place or service.ALL_JURISDICTIONS}),
    }
    return _page(request, "catalog/completeness.html", context)


# ---------------------------------------------------------------- one item


@router.get("/catalog/{code}", response_class=HTMLResponse)
def item_detail(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    saved: Annotated[str, Query(max_length=8)] = "",
    published: Annotated[str, Query(max_length=8)] = "",
    retired: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    detail = service.get_item(
        session=session, principal=principal, implementation_code=code, version_no=version
    )
    latest = detail.versions[-1]
    is_latest = detail.version_no == latest.version_no
    parent: dict[str, str] | None = None
    if detail.item.parent:
        parent = {"code": detail.item.parent, "name_zh": "", "name_en": ""}
        try:
            main = service.get_item(
                session=session, principal=principal, implementation_code=detail.item.parent
            )
        except NotFound:
            pass
        else:
            parent["name_zh"], parent["name_en"] = main.item.name_zh, main.item.name_en
    sub_items, _ = service.search_items(
        session=session,
        principal=principal,
        flt=ItemFilter(parent_code=detail.item.implementation_code, limit=200),
    )
    competent = detail.departments.get(detail.item.department)
    gaps = completeness.item_gaps(detail.item)
    heading = bool(sub_items) and detail.item.materials is None
    context = {
        "code": code,
        "detail": detail,
        "item": detail.item,
        "place": org_service.jurisdiction_of(session=session, department=competent)
        if competent
        else None,
        "departments": detail.departments,
        "elements": detail.elements,
        "parent": parent,
        "sub_items": sub_items,
        "is_latest": is_latest,
        "latest": latest,
        "gaps": gaps,
        "heading": heading,
        "can_apply": detail.status == "published"
        and is_latest
        and not gaps
        and not heading
        and item_types.applied_for(detail.item.type.value),
        "gap_anchor": GAP_ANCHORS,
        "gap_labels": completeness.PART_LABELS,
        "national": codes.national_parts(detail.item.implementation_code),
        "code_part_labels": CODE_PART_LABELS,
        "can_edit": detail.can_edit and is_latest,
        "can_publish": detail.can_publish and is_latest,
        "notice": "saved" if saved else "published" if published else "retired" if retired else "",
    }
    return _page(request, "catalog/detail.html", context)


# ---------------------------------------------------------------- editing a draft


@dataclass
class LegalBasisRow:
    law: str = ""
    article: str = ""
    text: str = ""


@dataclass
class EditForm:
    """What the edit form shows: the stored draft, or exactly what the user typed."""

    name_zh: str = ""
    name_en: str = ""
    item_type: str = ""
    department: str = ""
    description: str = ""
    legal: str = ""
    promised: str = ""
    visits: str = ""
    channels: list[str] = field(default_factory=list)
    conditions_zh: str = ""
    conditions_en: str = ""
    legal_basis: list[LegalBasisRow] = field(default_factory=list)
    lock_version: str = ""

    @classmethod
    def from_item(cls, item: ItemIn, lock_version: int) -> EditForm:
        return cls(
            name_zh=item.name_zh,
            name_en=item.name_en,
            item_type=item.type.value,
            department=item.department,
            description=item.description,
            legal=str(item.time_limit.legal) if item.time_limit else "",
            promised=str(item.time_limit.promised) if item.time_limit else "",
            visits="" if item.visits is None else str(item.visits),
            channels=[c.value for c in item.channels],
            conditions_zh="\n".join(c.zh for c in item.conditions),
            conditions_en="\n".join(c.en for c in item.conditions),
            legal_basis=[LegalBasisRow(b.law, b.article, b.text) for b in item.legal_basis or ()],
            lock_version=str(lock_version),
        )

    def changes(self) -> tuple[dict[str, Any], list[int], list[int]]:
        """The service's change set, the form row of each legal basis sent, and the line number
        of each condition sent (so that errors land next to what the user typed)."""
        zh_lines = self.conditions_zh.splitlines()
        en_lines = self.conditions_en.splitlines()
        conditions: list[dict[str, str]] = []
        condition_lines: list[int] = []
        for i in range(max(len(zh_lines), len(en_lines))):
            zh = zh_lines[i].strip() if i < len(zh_lines) else ""
            en = en_lines[i].strip() if i < len(en_lines) else ""
            if zh or en:
                conditions.append({"zh": zh, "en": en})
                condition_lines.append(i + 1)
        bases: list[dict[str, str]] = []
        basis_rows: list[int] = []
        for i, row in enumerate(self.legal_basis):
            if row.law.strip() or row.article.strip() or row.text.strip():
                bases.append({"law": row.law, "article": row.article, "text": row.text})
                basis_rows.append(i)
        changes: dict[str, Any] = {
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "type": self.item_type,
            "department": self.department,
            "description": self.description,
            # Left blank: not yet recorded (the item stays incomplete), never 0.
            "time_limit": None
            if not self.legal.strip() and not self.promised.strip()
            else {
                "legal": _int_or_raw(self.legal),
                "promised": _int_or_raw(self.promised),
            },
            "visits": _int_or_raw(self.visits) if self.visits.strip() else None,
            "channels": list(self.channels),
            "conditions": conditions,
            "legal_basis": bases or None,
        }
        return changes, basis_rows, condition_lines


# Messages of the validators, said plainly (and translatable) next to the field.
PLAIN_MESSAGES: tuple[tuple[str, str], ...] = (
    ("promised time limit", "The promised time limit cannot be longer than the legal one."),
    ("Input should be a valid integer", "Enter a whole number."),
    ("String should have at least 1 character", "This field is required."),
    ("Input should be greater than or equal to", "Enter a number that is not negative."),
    ("Input should be less than or equal to", "The number is too large."),
    ("String should have at most", "The text is too long."),
    ("unknown department code", "Unknown department."),
    ("Input should be '", "Choose one of the listed values."),
    ("a value appears twice", "A value appears twice."),
)

DEPARTMENT_NOT_ALLOWED = "You may not move the item to this department."

_SIMPLE_FIELDS = {
    "name_zh": "name_zh",
    "name_en": "name_en",
    "type": "item_type",
    "department": "department",
    "description": "description",
    "visits": "visits",
    "channels": "channels",
    "time_limit.legal": "legal",
    "time_limit.promised": "promised",
    "time_limit": "promised",
}


def _plain(message: str) -> str:
    for needle, plain in PLAIN_MESSAGES:
        if needle in message:
            return plain
    return message.removeprefix("Value error, ")


@dataclass(frozen=True)
class FieldMessage:
    """An error shown on the form: a message id, and where it is when a field has lines."""

    message: str
    line: int | None = None
    loc: str = ""


def place_errors(
    errors: list[FieldError], basis_rows: list[int], condition_lines: list[int]
) -> tuple[dict[str, list[FieldMessage]], list[FieldMessage]]:
    """Sort the service's errors onto the form's fields; what has no field goes on top."""
    by_field: dict[str, list[FieldMessage]] = {}
    general: list[FieldMessage] = []
    for error in errors:
        loc = re.sub(r"\[(\d+)\]", r".\1", error.loc).removeprefix("item.")
        parts = loc.split(".")
        message = FieldMessage(_plain(error.message))
        target: str | None = None
        if loc in _SIMPLE_FIELDS:
            target = _SIMPLE_FIELDS[loc]
        elif parts[0] in {"channels", "name_zh", "name_en", "type", "department"}:
            target = _SIMPLE_FIELDS[parts[0]]
        elif parts[0] == "conditions" and len(parts) >= 2 and parts[1].isdigit():
            index = int(parts[1])
            line = condition_lines[index] if index < len(condition_lines) else index + 1
            language = parts[2] if len(parts) > 2 and parts[2] in {"zh", "en"} else "zh"
            target = f"conditions_{language}"
            message = FieldMessage(message.message, line=line)
        elif parts[0] == "legal_basis" and len(parts) >= 2 and parts[1].isdigit():
            index = int(parts[1])
            row = basis_rows[index] if index < len(basis_rows) else index
            column = (
                parts[2] if len(parts) > 2 and parts[2] in {"law", "article", "text"} else "law"
            )
            target = f"lb_{column}_{row}"
        if target is None:
            general.append(FieldMessage(message.message, loc=loc))
        else:
            by_field.setdefault(target, []).append(message)
    return by_field, general


def _edit_context(
    session: Session,
    code: str,
    detail: service.ItemDetail,
    form: EditForm,
) -> dict[str, Any]:
    rows = list(form.legal_basis)
    rows.append(LegalBasisRow())  # one empty row to add a basis without JavaScript
    return {
        "code": code,
        "detail": detail,
        "form": form,
        "basis_rows": rows,
        "departments": org_service.department_rows(session=session),
        "field_errors": {},
        "general_errors": [],
        "conflict": False,
    }


def _editable(session: Session, principal: Principal | None, code: str) -> service.ItemDetail:
    who = require_principal(principal)
    detail = service.get_item(session=session, principal=who, implementation_code=code)
    if not detail.can_edit:
        raise PermissionDenied(
            "you may not edit item '%(item)s'", params={"item": code}, code="item_edit_denied"
        )
    return detail


@router.get("/catalog/{code}/edit", response_class=HTMLResponse)
def edit_form(
    code: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    detail = _editable(session, principal, code)
    form = EditForm.from_item(detail.item, detail.lock_version)
    return _page(request, "catalog/edit.html", _edit_context(session, code, detail, form))


@router.post("/catalog/{code}/edit", response_class=HTMLResponse)
def edit_submit(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form()] = "",
    lock_version: Annotated[str, Form(max_length=20)] = "",
    name_zh: Annotated[str, Form(max_length=TEXT_MAX)] = "",
    name_en: Annotated[str, Form(max_length=TEXT_MAX)] = "",
    item_type: Annotated[str, Form(max_length=100)] = "",
    department: Annotated[str, Form(max_length=100)] = "",
    description: Annotated[str, Form(max_length=TEXT_MAX)] = "",
    legal: Annotated[str, Form(max_length=100)] = "",
    promised: Annotated[str, Form(max_length=100)] = "",
    visits: Annotated[str, Form(max_length=100)] = "",
    channels: Annotated[list[str] | None, Form()] = None,
    conditions_zh: Annotated[str, Form(max_length=TEXT_MAX)] = "",
    conditions_en: Annotated[str, Form(max_length=TEXT_MAX)] = "",
    lb_law: Annotated[list[str] | None, Form()] = None,
    lb_article: Annotated[list[str] | None, Form()] = None,
    lb_text: Annotated[list[str] | None, Form()] = None,
) -> Response:
    check_csrf(request, csrf_token)
    detail = _editable(session, principal, code)
    laws, articles, texts = lb_law or [], lb_article or [], lb_text or []
    count = max(len(laws), len(articles), len(texts))

    def at(values: list[str], i: int) -> str:
        return values[i] if i < len(values) else ""

    form = EditForm(
        name_zh=name_zh,
        name_en=name_en,
        item_type=item_type,
        department=department,
        description=description,
        legal=legal,
        promised=promised,
        visits=visits,
        channels=list(channels or []),
        conditions_zh=conditions_zh,
        conditions_en=conditions_en,
        legal_basis=[
            LegalBasisRow(at(laws, i), at(articles, i), at(texts, i)) for i in range(count)
        ],
        lock_version=lock_version,
    )
    changes, basis_rows, condition_lines = form.changes()
    try:
        with attempt(session):
            service.save_draft(
                session=session,
                principal=principal,
                implementation_code=code,
                changes=changes,
                lock_version=_int_or_none(lock_version),
            )
    except ValidationFailed as exc:
        by_field, general = place_errors(exc.errors, basis_rows, condition_lines)
        context = _edit_context(session, code, detail, _without_blank_rows(form))
        context["field_errors"] = by_field
        context["general_errors"] = general
        context["error_message"] = exc.message
        return _page(request, "catalog/edit.html", context, status_code=422)
    except Conflict:
        context = _edit_context(session, code, detail, _without_blank_rows(form))
        context["conflict"] = True
        return _page(request, "catalog/edit.html", context, status_code=409)
    except PermissionDenied:
        # The item itself is editable (checked above): the new department is not the user's.
        context = _edit_context(session, code, detail, _without_blank_rows(form))
        context["field_errors"] = {"department": [FieldMessage(DEPARTMENT_NOT_ALLOWED)]}
        return _page(request, "catalog/edit.html", context, status_code=403)
    return see_other(f"/catalog/{quote(code)}?saved=1")


def _without_blank_rows(form: EditForm) -> EditForm:
    """Drop trailing blank legal basis rows; earlier ones keep their place so that errors still
    point at the row the user typed in."""
    rows = list(form.legal_basis)
    while rows and not (rows[-1].law.strip() or rows[-1].article.strip() or rows[-1].text.strip()):
        rows.pop()
    form.legal_basis = rows
    return form


# ---------------------------------------------------------------- publishing and retiring


@router.post("/catalog/{code}/publish")
def publish(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form()] = "",
    lock_version: Annotated[str, Form(max_length=20)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    service.publish_item(
        session=session,
        principal=principal,
        implementation_code=code,
        lock_version=_int_or_none(lock_version),
    )
    return see_other(f"/catalog/{quote(code)}?published=1")


@router.post("/catalog/{code}/retire")
def retire(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    service.retire_item(session=session, principal=principal, implementation_code=code)
    return see_other(f"/catalog/{quote(code)}?retired=1")


# ---------------------------------------------------------------- data elements


def _source_departments(
    session: Session, elements: list[DataElement]
) -> dict[int, Department | None]:
    # The catalogue service names an element's authoritative source only by id; the primary-key
    # lookups below are served from the session's identity map after the first.
    ids = {e.source_department_id for e in elements if e.source_department_id is not None}
    return {i: session.get(Department, i) for i in ids}


@router.get("/elements", response_class=HTMLResponse)
def element_list(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    needle = q.strip().lower()
    elements = service.list_elements(session=session)
    total = len(elements)
    if needle:
        elements = [
            e
            for e in elements
            if needle in e.code.lower()
            or needle in e.name_zh.lower()
            or needle in e.name_en.lower()
            or needle in e.description.lower()
        ]
    context = {
        "q": q.strip(),
        "elements": elements,
        "total": total,
        "sources": _source_departments(session, elements),
    }
    return _page(request, "catalog/elements.html", context)


def _coerce(element: DataElement, text: str) -> Any:
    """A value typed into the check form, as the element's type expects it."""
    if element.data_type in {"integer", "money"}:
        number = _int_or_none(text)
        return number if number is not None else text
    if element.data_type == "boolean":
        lowered = text.strip().lower()
        if lowered in {"true", "1", "yes", "是"}:
            return True
        if lowered in {"false", "0", "no", "否"}:
            return False
    return text


@router.get("/elements/{code}", response_class=HTMLResponse)
def element_detail(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    value: Annotated[str | None, Query(max_length=1000)] = None,
    jurisdiction: Annotated[str, Query(max_length=12)] = "",
) -> HTMLResponse:
    element, uses = service.get_element(
        session=session, code=code, jurisdiction_code=jurisdiction.strip()
    )
    check: dict[str, Any] | None = None
    if value is not None:
        try:
            service.validate_value(element, _coerce(element, value))
        except ValueError as exc:
            check = {"valid": False, "message": str(exc)}
        else:
            check = {"valid": True, "message": ""}
    context = {
        "element": element,
        "uses": uses,
        "source": _source_departments(session, [element]).get(element.source_department_id or -1),
        "value": value if value is not None else "",
        "check": check,
        "place": jurisdiction.strip(),
        "jurisdictions": [
            j for j in org_service.jurisdiction_rows(session=session) if j["level"] != "village"
        ],
    }
    return _page(request, "catalog/element.html", context)
