"""Reading bundles: the list, the reduction ledger with its chart, and the citizen's page
(questions → one personalised form and the materials to bring)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from tongban.auth.models import Role
from tongban.bundles import service
from tongban.bundles.pages.common import (
    _department_names,
    _ledger_context,
    _page,
)
from tongban.errors import ValidationFailed
from tongban.kit.bounds import Count
from tongban.web.deps import (
    CurrentPrincipal,
    DbSession,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- the list


@router.get("/bundles", response_class=HTMLResponse)
def bundle_list(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    bundles = service.list_bundles(session=session, principal=principal)
    context = {
        "bundles": bundles,
        "departments": _department_names(session),
        "can_compose": principal is not None and principal.has_role(Role.REFORM_OFFICE),
    }
    return _page(request, "bundles/list.html", context)


# ---------------------------------------------------------------- the ledger


@router.get("/bundles/{code}/ledger", response_class=HTMLResponse)
def bundle_ledger(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    published: Count = 0,
) -> HTMLResponse:
    detail = service.get_bundle(session=session, principal=principal, code=code)
    context: dict[str, Any] = {
        "detail": detail,
        "bundle": detail.bundle,
        "departments": _department_names(session),
        "notice": "published" if published else "",
        "compose_error": None,
    }
    try:
        ledger = service.compose_bundle(session=session, principal=principal, code=code)
    except ValidationFailed as exc:
        context["compose_error"] = exc
    else:
        context.update(_ledger_context(request, session, ledger))
    return _page(request, "bundles/ledger.html", context)


# ---------------------------------------------------------------- the citizen's page


def _answer_message(message: str) -> str:
    """The service's word on an answer, as a message id the page translates."""
    if "needs an answer" in message:
        return "Please choose an answer."
    if "is not an answer" in message:
        return "This is not one of the answers; choose one of those listed."
    return message


@router.get("/bundles/{code}", response_class=HTMLResponse)
def bundle_page(
    code: str, request: Request, session: DbSession, principal: CurrentPrincipal
) -> HTMLResponse:
    detail = service.get_bundle(session=session, principal=principal, code=code)
    bundle = detail.bundle
    params = request.query_params
    asked = {q.code for q in bundle.questions}
    answers = {k: v for k, v in params.items() if k in asked and v}
    answered = bool(answers) or params.get("answered") == "1"
    context: dict[str, Any] = {
        "detail": detail,
        "bundle": bundle,
        "answers": answers,
        "answered": answered,
        "answer_errors": {},
        "general_errors": [],
        "ledger": None,
        "departments": _department_names(session),
    }
    status = 200
    if answered:
        try:
            ledger = service.compose_bundle(
                session=session, principal=principal, code=code, answers=answers
            )
        except ValidationFailed as exc:
            status = 422
            by_question: dict[str, list[str]] = {}
            for e in exc.errors:
                question = e.loc.removeprefix("answers.")
                if e.loc.startswith("answers.") and question in asked:
                    by_question.setdefault(question, []).append(_answer_message(e.message))
                else:
                    context["general_errors"].append(e.message)
            context["answer_errors"] = by_question
            if not by_question and not context["general_errors"]:
                context["general_errors"].append(exc.message)
        else:
            context.update(_ledger_context(request, session, ledger))
    return _page(request, "bundles/bundle.html", context, status_code=status)
