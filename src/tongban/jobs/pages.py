"""The system administrator's page of background jobs: counts, the newest jobs, dead ones
with their errors, and a retry (confirmed) for each dead job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tongban.jobs import service
from tongban.jobs.models import JobStatus
from tongban.kit.bounds import RowId
from tongban.web.deps import CurrentPrincipal, DbSession, check_csrf
from tongban.web.format import local_time
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/admin/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    status: Annotated[str, Query(max_length=10)] = "",
    retried: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> HTMLResponse:
    chosen = status if status in {s.value for s in JobStatus} else None
    totals = service.counts(session=session, principal=principal)
    rows = service.list_jobs(
        session=session, principal=principal, flt=service.JobFilter(status=chosen, limit=200)
    )
    return render(
        request,
        "jobs/list.html",
        {
            "totals": totals,
            "rows": rows,
            "status": chosen or "",
            "retried": retried,
            "local_time": local_time,
        },
    )


@router.post("/admin/jobs/{job_id}/retry")
def retry_job(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    job_id: RowId,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    service.retry(session=session, principal=principal, job_id=job_id)
    return RedirectResponse(f"/admin/jobs?status=pending&retried={job_id}", status_code=303)
