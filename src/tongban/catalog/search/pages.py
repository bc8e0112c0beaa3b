"""The reform office's page of search synonyms (decision 0005): the groups of terms that
catalogue search treats as one (营业执照 ↔ 企业设立登记), added, changed and removed with an audit
record. Staff who read the catalogue see the list; only the reform office edits it."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from tongban.auth.access import require_role
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.catalog import service
from tongban.catalog.service.access import READER_ROLES
from tongban.errors import ValidationFailed
from tongban.web.deps import CurrentPrincipal, DbSession, attempt, check_csrf, see_other
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)

SynonymId = Annotated[int, Path(ge=1, le=2**31 - 1)]
TERMS_MAX = 2000  # characters of the posted field: a group of up to ~40 terms of 50
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def split_terms(text: str) -> list[str]:
    """The terms of a typed line: separated by spaces, commas (, ，) , 、 or semicolons."""
    return [t for t in _SEPARATORS.split(text) if t]


def _context(session: Session, principal: Principal) -> dict[str, Any]:
    return {
        "groups": service.list_synonyms(session),
        "may_edit": principal.has_role(Role.REFORM_OFFICE),
        "terms_max": TERMS_MAX,
    }


@router.get("/admin/synonyms", response_class=HTMLResponse)
def synonyms_page(
    request: Request, session: DbSession, principal: CurrentPrincipal, done: str = ""
) -> HTMLResponse:
    who = require_role(principal, *READER_ROLES)
    context = _context(session, who)
    context["done"] = done if done in {"added", "saved", "removed"} else ""
    return render(request, "catalog/synonyms.html", context)


def _redraw(
    request: Request, session: DbSession, who: Principal, exc: ValidationFailed, **extra: Any
) -> Response:
    context = _context(session, who)
    context.update(error_message=exc.message, error_code=exc.code, errors=exc.errors, **extra)
    return render(request, "catalog/synonyms.html", context, status_code=422)


@router.post("/admin/synonyms", response_model=None)
def add_synonym(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form()] = "",
    terms: Annotated[str, Form(max_length=TERMS_MAX)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    who = require_role(principal, Role.REFORM_OFFICE)
    try:
        with attempt(session):
            service.save_synonym(session=session, principal=who, terms=split_terms(terms))
    except ValidationFailed as exc:
        return _redraw(request, session, who, exc, new_terms=terms)
    return see_other("/admin/synonyms?done=added")


@router.post("/admin/synonyms/{synonym_id}", response_model=None)
def change_synonym(
    synonym_id: SynonymId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form()] = "",
    terms: Annotated[str, Form(max_length=TERMS_MAX)] = "",
) -> Response:
    check_csrf(request, csrf_token)
    who = require_role(principal, Role.REFORM_OFFICE)
    try:
        with attempt(session):
            service.save_synonym(
                session=session, principal=who, terms=split_terms(terms), synonym_id=synonym_id
            )
    except ValidationFailed as exc:
        return _redraw(request, session, who, exc, edited_id=synonym_id, edited_terms=terms)
    return see_other("/admin/synonyms?done=saved")


@router.post("/admin/synonyms/{synonym_id}/delete")
def remove_synonym(
    synonym_id: SynonymId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    csrf_token: Annotated[str, Form()] = "",
) -> RedirectResponse:
    check_csrf(request, csrf_token)
    who = require_role(principal, Role.REFORM_OFFICE)
    service.delete_synonym(session=session, principal=who, synonym_id=synonym_id)
    return see_other("/admin/synonyms?done=removed")
