"""After submitting: the confirmation page, the receipt (受理回执) and the one-time notice
(一次性告知书) as PDF (``tongban.cases.receipts`` says what they hold).

The applicant reaches them through the link the submission redirects to: a token signed with
the secret key that names the case and lasts a day (``DONE_MAX_AGE``); after that the status
page, with the case number and the ID number, follows the case. Staff who may see a case open
its receipt and notice from the case page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.cases import receipts, repository, service
from tongban.cases.models import Case
from tongban.cases.pages.apply import DONE_MAX_AGE
from tongban.cases.pages.common import _page
from tongban.errors import NotFound
from tongban.web import tokens
from tongban.web.deps import CurrentPrincipal, DbSession

router = APIRouter(include_in_schema=False)

Token = Annotated[str, Query(max_length=2000)]


def _case_of_token(session: Session, token: str) -> Case:
    try:
        number = tokens.unsign("apply-done", token, max_age=DONE_MAX_AGE)
    except tokens.BadToken:
        number = None
    case = repository.case_by_number(session, number) if isinstance(number, str) else None
    if case is None:
        raise NotFound(
            "this confirmation link is not valid or has expired: follow the case on the status "
            "page with its number and your ID number",
            code="confirmation_link_invalid",
        )
    return case


def _status_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/status"


def _pdf(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/apply/done", response_class=HTMLResponse)
def confirmation(
    request: Request, session: DbSession, principal: CurrentPrincipal, t: Token = ""
) -> HTMLResponse:
    case = _case_of_token(session, t)
    ack = receipts.acknowledgement(session, case)
    staff_may_see = False
    if principal is not None:
        try:
            service.get_case_row(session=session, principal=principal, number=case.number)
        except NotFound:
            pass
        else:
            staff_may_see = True
    context = {
        "ack": ack,
        "token": t,
        "query": urlencode({"t": t}),
        "status_query": urlencode({"number": case.number}),
        "staff_may_see": staff_may_see,
    }
    return _page(request, "cases/apply_done.html", context)


#: the two documents: their renderer and the name of the file
DOCUMENTS = {
    "receipt": (receipts.render_receipt, "受理回执"),
    "notice": (receipts.render_notice, "一次性告知书"),
}


def _document(request: Request, session: Session, case: Case, kind: str) -> Response:
    render, title = DOCUMENTS[kind]
    ack = receipts.acknowledgement(session, case)
    return _pdf(render(ack, status_url=_status_url(request)), f"{title}-{case.number}.pdf")


@router.get("/apply/done/receipt.pdf", response_model=None)
def confirmation_receipt(request: Request, session: DbSession, t: Token = "") -> Response:
    return _document(request, session, _case_of_token(session, t), "receipt")


@router.get("/apply/done/notice.pdf", response_model=None)
def confirmation_notice(request: Request, session: DbSession, t: Token = "") -> Response:
    return _document(request, session, _case_of_token(session, t), "notice")


@router.get("/cases/{number}/receipt.pdf", response_model=None)
def case_receipt(
    number: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """The receipt of a case, for staff who may see it (to print it again at the window)."""
    case = service.get_case_row(session=session, principal=principal, number=number)
    return _document(request, session, case, "receipt")


@router.get("/cases/{number}/notice.pdf", response_model=None)
def case_notice(
    number: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> Response:
    """The one-time notice of a case's missing materials, for staff who may see it."""
    case = service.get_case_row(session=session, principal=principal, number=number)
    return _document(request, session, case, "notice")
