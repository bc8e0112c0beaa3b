"""Request dependencies: the database session (the edge owns the transaction), the principal
behind the request (session cookie or API token), the locale, and CSRF checks."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.auth import service as auth_service
from tongban.auth.principal import Principal
from tongban.config import get_settings
from tongban.db import session_scope
from tongban.errors import CsrfFailed
from tongban.web.i18n import DEFAULT_LOCALE, from_accept_language, normalize_locale

SESSION_COOKIE = "tb_session"
LANG_COOKIE = "tb_lang"
ANON_CSRF_COOKIE = "tb_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session() -> Iterator[Session]:
    """The request's session and the one owner of its transaction: commit when the endpoint
    returns, roll back when it raises (see ``DbSession`` for when that happens)."""
    yield from session_scope()


@contextmanager
def attempt(session: Session) -> Iterator[Session]:
    """Run a page's action in a savepoint: a refusal rolls back what the action wrote and is
    raised again, so the page can redraw itself with the error while the request's transaction
    stays usable (also after a failed flush, e.g. a unique key taken meanwhile). The request
    dependency stays the one owner of the transaction: pages call neither ``commit()`` nor
    ``rollback()``::

        try:
            with attempt(session):
                service.save_draft(session=session, ...)
        except ValidationFailed as exc:
            return redraw(exc)

    An action whose refusal the page does not answer itself (it goes to the error page) needs
    no savepoint: the exception ends the request and the dependency rolls everything back.
    """
    with session.begin_nested():
        yield session


def see_other(url: str) -> RedirectResponse:
    """Post/redirect/get after a successful action. The 303 is only built here; it reaches the
    client after ``db_session`` has committed (``DbSession`` is function-scoped), and a commit
    that fails turns the response into the error page instead, so a client never follows a
    redirect to a write that did not happen."""
    return RedirectResponse(url, status_code=303)


# scope="function": the dependency's exit (commit or rollback) runs when the endpoint returns,
# before the response is sent; with the default scope it would run only after the response had
# gone out, and a failed commit would follow a 303 that already announced success.
DbSession = Annotated[Session, Depends(db_session, scope="function")]


def current_principal(request: Request, session: DbSession) -> Principal | None:
    """Bearer token first (machine clients), then the session cookie (people)."""
    if hasattr(request.state, "principal"):
        return request.state.principal  # type: ignore[no-any-return]
    principal: Principal | None = None
    request.state.csrf_token = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = auth_service.resolve_token(session=session, secret=auth[7:].strip())
        request.state.via_token = principal is not None
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            resolved = auth_service.resolve_cookie(session=session, cookie_value=cookie)
            if resolved is not None:
                principal, request.state.csrf_token = resolved
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal | None, Depends(current_principal)]


def _anon_signer() -> TimestampSigner:
    return TimestampSigner(get_settings().secret_key, salt="tongban.anonymous-csrf")


def _signed_anon(token: str | None) -> str | None:
    """The anonymous token if it is one this server signed (``TONGBAN_SECRET_KEY``) within the
    session's lifetime; None for anything else (made up, altered, expired, another key's)."""
    if not token:
        return None
    try:
        _anon_signer().unsign(token, max_age=get_settings().session_hours * 3600)
    except BadSignature:  # SignatureExpired included
        return None
    return token


def anonymous_csrf(request: Request) -> str:
    """Double-submit token for forms shown before login (the login form itself): a random
    value signed with the secret key and a timestamp, in a cookie and in the form. The server
    trusts no token it has not signed: a cookie planted by someone else is refused."""
    token = _signed_anon(request.cookies.get(ANON_CSRF_COOKIE))
    if not token:
        token = getattr(request.state, "new_anon_csrf", None) or (
            _anon_signer().sign(secrets.token_urlsafe(24)).decode("ascii")
        )
        request.state.new_anon_csrf = token
    return token


def csrf_token_for(request: Request) -> str:
    token = getattr(request.state, "csrf_token", None)
    return token if token else anonymous_csrf(request)


def check_csrf(request: Request, given: str | None) -> None:
    """Every state-changing request with a cookie session must carry the session's token."""
    if request.method in SAFE_METHODS or getattr(request.state, "via_token", False):
        return
    expected = getattr(request.state, "csrf_token", None) or _signed_anon(
        request.cookies.get(ANON_CSRF_COOKIE)
    )
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfFailed("the form has expired or was not sent by this site; reload and try again")


def api_csrf(request: Request, principal: CurrentPrincipal) -> None:
    """API calls authenticated by cookie need the X-CSRF-Token header; token calls do not."""
    if principal is not None and not getattr(request.state, "via_token", False):
        check_csrf(request, request.headers.get(CSRF_HEADER))


def pick_locale(request: Request) -> str:
    return (
        normalize_locale(request.query_params.get("lang"))
        or normalize_locale(request.cookies.get(LANG_COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LOCALE
    )


async def _form_data(request: Request) -> FormData:
    return await request.form()


#: the posted form of a page (fields and files), read once per request
PostedForm = Annotated[FormData, Depends(_form_data)]
