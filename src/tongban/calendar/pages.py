"""The system administrator's calendar page: which years the calendar in force covers (the
package's, the imported ones with their version, file, importer and time), and an upload of
a year's file (confirmed) that does what ``tongban calendar import`` does."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from tongban.calendar import io, service
from tongban.errors import ValidationFailed
from tongban.web.deps import CurrentPrincipal, DbSession, PostedForm, check_csrf
from tongban.web.format import local_time
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)


def calendar_in_force(session: DbSession) -> None:
    """A router dependency of the pages and routes that compute due dates: this process
    loads an import made by another within ``service.REFRESH_SECONDS``."""
    service.refresh(session)


@router.get("/admin/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, imported: str = ""
) -> HTMLResponse:
    found = service.coverage(session=session, principal=principal)
    return render(
        request,
        "calendar/coverage.html",
        {
            "coverage": found,
            "imported": imported[:40],
            "local_time": local_time,
            "max_bytes": io.MAX_BYTES,
        },
    )


@router.post("/admin/calendar/import")
def import_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, posted: PostedForm
) -> RedirectResponse:
    token = posted.get("csrf_token")
    check_csrf(request, token if isinstance(token, str) else "")
    upload = posted.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed("choose a calendar file to import", code="calendar_file_missing")
    result = service.import_year(
        session=session,
        principal=principal,
        filename=upload.filename,
        data=upload.file.read(io.MAX_BYTES + 1),
    )
    return RedirectResponse(
        f"/admin/calendar?imported={result.year}.v{result.version}", status_code=303
    )
