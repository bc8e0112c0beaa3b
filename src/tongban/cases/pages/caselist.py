"""The case list (search, pages, CSV and XLSX export) and the overview with its charts, for
staff and observers: only what each may see (``service.listing``)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.auth.access import require_principal
from tongban.cases.models import Case, CaseStatus
from tongban.cases.pages.common import LABELS, _department_names, _page
from tongban.cases.service import listing
from tongban.errors import NotFound
from tongban.kit import ids, workdays
from tongban.org.models import Jurisdiction
from tongban.web.deps import CurrentPrincipal, DbSession, pick_locale
from tongban.web.format import local_time
from tongban.web.i18n import translations

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=100)]
Code = Annotated[str, Query(max_length=64)]
Day = Annotated[date | None, Query()]
TIMELINESS = {
    "on_time": "On time",
    "late": "Late",
    "overdue": "Overdue",
    "open": "Open, within the limit",
    "suspended": "Suspended (clock stopped)",
}


def _filter(
    q: Text = "",
    status: Annotated[str, Query(max_length=16)] = "",
    subject: Code = "",
    department: Code = "",
    township: Annotated[str, Query(max_length=12)] = "",
    submitted_from: Day = None,
    submitted_to: Day = None,
    timeliness: Annotated[str, Query(max_length=16)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> listing.CaseFilter:
    """The search of the list and of its export, from the query string (a dependency of
    both routes)."""
    return listing.CaseFilter(
        text=q.strip(),
        status=status.strip(),
        subject=subject.strip(),
        department=department.strip(),
        township=township.strip(),
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        timeliness=timeliness.strip(),
        limit=listing.PAGE_SIZE,
        offset=offset,
    )


Search = Annotated[listing.CaseFilter, Depends(_filter)]


def _query(flt: listing.CaseFilter, **changes: Any) -> str:
    """The search as URL parameters (for the page links and the export links)."""
    flt = replace(flt, **changes)
    params = {
        "q": flt.text,
        "status": flt.status,
        "subject": flt.subject,
        "department": flt.department,
        "township": flt.township,
        "submitted_from": flt.submitted_from.isoformat() if flt.submitted_from else "",
        "submitted_to": flt.submitted_to.isoformat() if flt.submitted_to else "",
        "timeliness": flt.timeliness,
        "offset": str(flt.offset) if flt.offset else "",
    }
    return urlencode({k: v for k, v in params.items() if v})


def _townships(session: Session) -> list[Jurisdiction]:
    return list(
        session.scalars(
            select(Jurisdiction).where(Jurisdiction.level == "township").order_by(Jurisdiction.code)
        )
    )


def _place_names(session: Session, cases: list[Case]) -> dict[int, Jurisdiction]:
    wanted = {c.applicant_jurisdiction_id for c in cases}
    if not wanted:
        return {}
    return {
        j.id: j for j in session.scalars(select(Jurisdiction).where(Jurisdiction.id.in_(wanted)))
    }


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request, session: DbSession, principal: CurrentPrincipal, flt: Search
) -> HTMLResponse:
    who = require_principal(principal)
    offset = flt.offset
    rows, total = listing.search_cases(session=session, principal=who, flt=flt)
    departments, _ = _department_names(session)
    size = listing.PAGE_SIZE
    pages = max(1, (total + size - 1) // size)
    current = offset // size + 1
    context = {
        "flt": flt,
        "rows": rows,
        "total": total,
        "places": _place_names(session, rows),
        "townships": _townships(session),
        "departments": departments,
        "statuses": [s.value for s in CaseStatus],
        "timeliness_labels": TIMELINESS,
        "timeliness": {
            c.id: listing.timeliness_of(c.status, c.finished_at, c.legal_due) for c in rows
        },
        "first": offset + 1,
        "last": offset + len(rows),
        "page_no": current,
        "pages": pages,
        "page_url": lambda n: "/cases?" + _query(flt, offset=(n - 1) * size),
        "export_query": _query(flt, offset=0),
        "mask": ids.mask_resident_id,
    }
    return _page(request, "cases/list.html", context)


COLUMNS = (
    ("number", "案件编号", "Case number"),
    ("subject_kind", "类型", "Kind"),
    ("subject_code", "事项或一件事", "Item or bundle"),
    ("status", "状态", "Status"),
    ("timeliness", "时效", "On time"),
    ("applicant_name", "申请人", "Applicant"),
    ("applicant_id", "证件号码（已遮蔽）", "ID number (masked)"),
    ("place", "所在地", "Township or village"),
    ("channel", "渠道", "Channel"),
    ("submitted_at", "提交时间", "Submitted"),
    ("legal_due", "法定办结日期", "Legal due date"),
    ("promised_due", "承诺办结日期", "Promised due date"),
    ("finished_at", "办结时间", "Finished"),
)


def _export_rows(session: Session, cases: list[Case], zh: bool) -> list[list[str]]:
    places = _place_names(session, cases)
    gettext = translations("zh_CN" if zh else "en").gettext
    out: list[list[str]] = []
    for c in cases:
        place = places.get(c.applicant_jurisdiction_id)
        timing = listing.timeliness_of(c.status, c.finished_at, c.legal_due)
        out.append(
            [
                c.number,
                c.subject_kind,
                c.subject_code,
                gettext(LABELS["case_status"].get(c.status, c.status)),
                gettext(TIMELINESS[timing]),
                c.applicant_name,
                ids.mask_resident_id(c.applicant_id_no),
                (place.name_zh if zh or not place.name_en else place.name_en) if place else "",
                c.channel,
                local_time(c.submitted_at),
                c.legal_due.isoformat() if c.legal_due else "",
                c.promised_due.isoformat() if c.promised_due else "",
                local_time(c.finished_at),
            ]
        )
    return out


@router.get("/cases/export.{fmt}", response_model=None)
def case_export(
    fmt: str, request: Request, session: DbSession, principal: CurrentPrincipal, flt: Search
) -> Response:
    """The search's cases as CSV (UTF-8 with a byte-order mark, so that spreadsheet programs read
    the Chinese) or XLSX; ID numbers masked; the export is audited."""
    if fmt not in ("csv", "xlsx"):
        raise NotFound("no export format '%(fmt)s'", params={"fmt": fmt}, code="page_not_found")
    who = require_principal(principal)
    flt = replace(flt, offset=0)
    cases = listing.export_cases(session=session, principal=who, flt=flt)
    zh = pick_locale(request) == "zh_CN"
    header = [zh_name if zh else en_name for _, zh_name, en_name in COLUMNS]
    rows = _export_rows(session, cases, zh)
    name = f"cases-{workdays.shanghai_today().isoformat()}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        writer.writerows(rows)
        return Response(
            "\ufeff" + buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("cases")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/cases/overview", response_class=HTMLResponse)
def case_overview(
    request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    """Figures and charts of every case the person may see (read-only: the observer's page)."""
    who = require_principal(principal)
    figures = listing.overview(session=session, principal=who)
    zh = pick_locale(request) == "zh_CN"
    gettext = translations("zh_CN" if zh else "en").gettext

    def name(zh_name: str, en_name: str) -> str:
        return zh_name if zh or not en_name else en_name

    charts = {
        "status": [
            {"name": gettext(LABELS["case_status"].get(k, k)), "value": v, "key": k}
            for k, v in figures.by_status.items()
        ],
        "timeliness": [
            {"name": gettext(TIMELINESS[k]), "value": v, "key": k}
            for k, v in figures.by_timeliness.items()
        ],
        "department": [
            {"name": name(zh_name, en_name), "value": n, "key": code}
            for code, zh_name, en_name, n in figures.by_department[:15]
        ],
        "township": [
            {"name": name(zh_name, en_name), "value": n, "key": code}
            for code, zh_name, en_name, n in figures.by_township
        ],
    }
    context = {
        "figures": figures,
        # "<" escaped: a name with "</script>" cannot end the JSON block
        "charts_json": json.dumps(charts, ensure_ascii=False).replace("<", "\\u003c"),
        "charts": charts,
        "timeliness_labels": TIMELINESS,
    }
    return _page(request, "cases/overview.html", context)
