"""The FastAPI factory: JSON API under /api/v1, pages, static assets and the error handlers."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import sqlalchemy.exc
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from tongban import __version__
from tongban.auth import api as auth_api
from tongban.auth import pages as auth_pages
from tongban.bundles import api as bundles_api
from tongban.bundles import pages as bundles_pages
from tongban.calendar import pages as calendar_pages
from tongban.cases import api as cases_api
from tongban.cases import pages as cases_pages
from tongban.catalog import api as catalog_api
from tongban.catalog import pages as catalog_pages
from tongban.catalog.search import pages as synonym_pages
from tongban.config import get_settings
from tongban.errors import (
    AppError,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    database_unavailable,
    nul_character,
)
from tongban.exports import api as exports_api
from tongban.jobs import pages as jobs_pages
from tongban.jobs.runner import Sweeper
from tongban.org import api as org_api
from tongban.org import pages as org_pages
from tongban.web import pages as web_pages
from tongban.web.bodylimit import BodyLimit
from tongban.web.headers import SecurityHeaders
from tongban.web.ratelimit import (
    AnonymousIntake,
    LoginAttempts,
    StatusLookups,
    anonymous_checks,
)
from tongban.web.templating import render

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"
log = logging.getLogger(__name__)


def _database_errors() -> tuple[type[Exception], ...]:
    """The errors a busy or unreachable database raises: through SQLAlchemy, or bare from the
    DBAPI on the engine's hot path (``kit.prepared``)."""
    return (sqlalchemy.exc.OperationalError, sqlite3.OperationalError, psycopg.OperationalError)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in {"/healthz"}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    interval = get_settings().worker_interval
    sweeper = Sweeper(interval) if interval > 0 and app.state.run_worker else None
    if sweeper is not None:
        sweeper.start()
    yield
    if sweeper is not None:
        sweeper.stop()


def create_app(*, run_worker: bool = True) -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="tongban 通办",
        version=__version__,
        description="One window, one form, every department: the platform's open API.",
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.run_worker = run_worker
    app.state.status_lookups = StatusLookups()
    app.state.login_attempts = LoginAttempts()
    app.state.anonymous_intake = AnonymousIntake()
    app.state.anonymous_checks = anonymous_checks()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        retry = exc.data.get("retry_after")
        headers = {"Retry-After": str(retry)} if isinstance(retry, int) else None
        if _wants_json(request):
            return JSONResponse(exc.as_dict(), status_code=exc.status, headers=headers)
        if isinstance(exc, NotAuthenticated):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        page = render(request, "web/error.html", {"error": exc}, status_code=exc.status)
        page.headers.update(headers or {})
        return page

    async def database_error(request: Request, exc: Exception) -> Response:
        """A busy or unreachable database: 503 with Retry-After and a plain message (the
        transaction was rolled back); anything else stays a 500, as the defect it is."""
        unavailable = database_unavailable(exc)
        if unavailable is None:
            raise exc
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
        return await app_error(request, unavailable)

    for error_type in _database_errors():
        app.add_exception_handler(error_type, database_error)

    async def data_error(request: Request, exc: Exception) -> Response:
        """Text PostgreSQL cannot keep (a NUL character): 422, nothing written."""
        refused = nul_character(exc)
        if refused is None:
            raise exc
        return await app_error(request, refused)

    for error_type in (sqlalchemy.exc.DataError, psycopg.DataError):
        app.add_exception_handler(error_type, data_error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """Starlette's own refusals (no route, a method the route does not take) in the same
        shape as ours: the error JSON on the API, a page in the reader's language elsewhere."""
        error: AppError
        if exc.status_code == 404:
            error = NotFound("there is no page at this address", code="page_not_found")
        elif exc.status_code == 405:
            error = MethodNotAllowed("this address does not take that method")
        else:
            error = AppError(str(exc.detail), code="bad_request")
        return await app_error(request, error)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        body = {"code": "request_invalid", "message": "the request is invalid", "errors": errors}
        if _wants_json(request):
            return JSONResponse(body, status_code=422)
        error = AppError("the request is invalid", code="request_invalid")
        return render(
            request, "web/error.html", {"error": error, "details": errors}, status_code=422
        )

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # Routes that compute due dates load a calendar year imported by another process.
    in_force = [Depends(calendar_pages.calendar_in_force)]
    for module in (auth_api, org_api, catalog_api, exports_api, bundles_api, cases_api):
        app.include_router(
            module.router, prefix=API_PREFIX, dependencies=in_force if module is cases_api else []
        )
    for page_module in (
        web_pages,
        auth_pages,
        org_pages,
        catalog_pages,
        synonym_pages,
        bundles_pages,
        cases_pages,
        jobs_pages,
        calendar_pages,
    ):
        app.include_router(
            page_module.router,
            dependencies=in_force if page_module in (cases_pages, calendar_pages) else [],
        )
    return app
