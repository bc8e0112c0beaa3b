"""The applicant's status page: a case by its number and the applicant's ID number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from tongban.cases import events, repository, service, views
from tongban.cases.models import (
    CaseStatus,
)
from tongban.cases.pages.casemap import map_of
from tongban.cases.pages.common import (
    Due,
    Name,
    _case_due,
    _department_names,
    _page,
    _posted,
    _subject_name,
    _today,
    due_of,
)
from tongban.errors import (
    NotFound,
    TooManyRequests,
)
from tongban.web.deps import CurrentPrincipal, DbSession, PostedForm, check_csrf
from tongban.web.format import local_time
from tongban.web.ratelimit import StatusLookups, client_address, status_lookups

router = APIRouter(include_in_schema=False)

#: What an applicant may do against a refusal, with the time limit and its source: the status
#: page says it under every refusal (message ids; the page translates them).
APPEAL_RIGHTS = (
    (
        "Administrative reconsideration: within 60 days of learning of this decision you may "
        "apply for administrative reconsideration (Administrative Reconsideration Law of the "
        "PRC, article 20).",
        "《中华人民共和国行政复议法》第二十条",
    ),
    (
        "Administrative litigation: within 6 months of learning of this decision you may bring "
        "an administrative lawsuit before the people's court (Administrative Litigation Law of "
        "the PRC, article 46).",
        "《中华人民共和国行政诉讼法》第四十六条",
    ),
)


@router.get("/status", response_class=HTMLResponse)
def status_page(
    request: Request,
    number: Annotated[str, Query(max_length=40)] = "",
    submitted: Annotated[str, Query(max_length=2)] = "",
) -> HTMLResponse:
    context = {"number": number.strip(), "submitted": submitted == "1", "result": None}
    return _page(request, "cases/status.html", context)


@dataclass(frozen=True)
class PublicStep:
    name: Name
    kind: str
    status: str
    department: str | None
    due: Due | None
    finished: str


@router.post("/status", response_class=HTMLResponse)
def status_lookup(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
    lookups: Annotated[StatusLookups, Depends(status_lookups)],
) -> HTMLResponse:
    """The case number and the applicant's ID number; a wrong pair says only "not found", and
    too many lookups are refused for a while."""
    check_csrf(request, _posted(posted, "csrf_token"))
    number = _posted(posted, "number", 40).strip()
    id_no = _posted(posted, "id_no", 40).strip()
    context: dict[str, Any] = {"number": number, "submitted": False, "result": None}
    if not number or not id_no:
        context["missing"] = True
        return _page(request, "cases/status.html", context, status_code=422)
    try:
        with lookups.guard(client_address(request), number):
            case = service.public_status(session=session, number=number, id_no=id_no)
    except TooManyRequests as exc:
        context["wait_minutes"] = exc.data["minutes"]
        page = _page(request, "cases/status.html", context, status_code=429)
        page.headers["Retry-After"] = str(exc.data["retry_after"])
        return page
    except NotFound:
        context["not_found"] = True
        return _page(request, "cases/status.html", context, status_code=404)
    out = views.case_out(session, case)
    today = _today()
    closed = case.status not in (CaseStatus.IN_PROGRESS.value, CaseStatus.SUSPENDED.value)
    departments, _ = _department_names(session)
    steps = [
        PublicStep(
            Name(s.name_zh, s.name_en),
            s.kind,
            s.status,
            s.responsible_department,
            due_of(
                s.due_date,
                s.due_provisional,
                s.calendar_version,
                today,
                closed=closed or s.status != "ready",
                stopped=case.status == CaseStatus.SUSPENDED.value,
            ),
            local_time(s.acted_at),
        )
        for s in out.steps
    ]
    suspension = repository.open_suspension(session, case.id)
    decision = None
    if case.status in (CaseStatus.COMPLETED.value, CaseStatus.REJECTED.value):
        closing = [
            e
            for e in events.events_of(session, case.id)
            if e.action in (CaseStatus.COMPLETED.value, CaseStatus.REJECTED.value)
        ]
        if closing:
            last = closing[-1]
            decision = {
                "refused": last.action == CaseStatus.REJECTED.value,
                "reason": str((last.data or {}).get("reason", "")),
                "at": local_time(last.at),
            }
    context["result"] = {
        "case": out,
        "subject": _subject_name(session, principal, case),
        "steps": steps,
        "departments": departments,
        "legal_due": _case_due(case.legal_due, today, closed),
        "promised_due": _case_due(case.promised_due, today, closed),
        "suspension": suspension,
        "decision": decision,
        "rights": APPEAL_RIGHTS,
        "map": map_of(session, case.id),
    }
    return _page(request, "cases/status.html", context)
