"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tongban.auth import service
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.config import get_settings
from tongban.errors import NotAuthenticated, TooManyRequests
from tongban.web.deps import SESSION_COOKIE, CurrentPrincipal, DbSession, check_csrf
from tongban.web.pages import safe_next
from tongban.web.ratelimit import LoginAttempts, client_address, login_attempts
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, principal: CurrentPrincipal, next: str | None = None) -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(
        request, "auth/login.html", {"next": safe_next(next) if next else "", "username": ""}
    )


def landing(principal: Principal) -> str:
    """Where a person lands after logging in, when no page sent them to the login: the people
    who act on cases on their workbench, the reform office on its catalogue, the system
    administrator on the background jobs, an observer on the overview of cases."""
    if principal.has_role(
        Role.FRONT_DESK, Role.OFFICER, Role.TOWNSHIP_WORKER, Role.COMMITTEE_MEMBER
    ):
        return "/workbench"
    if principal.has_role(Role.SYSADMIN) and not principal.has_role(Role.REFORM_OFFICE):
        return "/admin/jobs"
    if principal.has_role(Role.OBSERVER) and not principal.has_role(Role.REFORM_OFFICE):
        return "/cases/overview"
    return "/catalog"


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    attempts: Annotated[LoginAttempts, Depends(login_attempts)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(request, csrf_token)
    client = client_address(request)
    try:
        attempts.check(client, username)
    except TooManyRequests as exc:
        context = {"next": safe_next(next), "username": username, "throttled": exc}
        page = render(request, "auth/login.html", context, status_code=429)
        page.headers["Retry-After"] = str(exc.data["retry_after"])
        return page
    try:
        login = service.login(session=session, username=username, password=password)
    except NotAuthenticated:
        attempts.failed(client, username)
        service.record_failed_login(session=session, username=username, client=client)
        context = {"next": safe_next(next), "username": username, "failed": True}
        return render(request, "auth/login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next or None, landing(login.principal)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        login.cookie_value,
        httponly=True,
        samesite="lax",
        secure=get_settings().cookie_secure,
        max_age=get_settings().session_hours * 3600,
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.logout(session=session, cookie_value=cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
