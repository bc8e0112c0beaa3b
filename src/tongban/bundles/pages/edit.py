"""The reform office's composer: a new bundle, editing a draft with a live preview of the
ledger, saving and publishing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.bundles import service
from tongban.bundles.compose import Ledger
from tongban.bundles.pages.common import (
    BLANK_MEMBER_ROWS,
    BLANK_QUESTION_ROWS,
    PREVIEW_CODE,
    _department_names,
    _htmx,
    _int_or_none,
    _ledger_context,
    _page,
    _posted,
)
from tongban.bundles.pages.form import (
    ComposerForm,
    FieldMessage,
    MemberRow,
    QuestionRow,
    place_errors,
)
from tongban.bundles.schemas import BundleIn
from tongban.catalog import service as catalog_service
from tongban.catalog.repository import ItemFilter
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.kit.bounds import Count
from tongban.org import service as org_service
from tongban.web.deps import (
    CurrentPrincipal,
    DbSession,
    PostedForm,
    attempt,
    check_csrf,
    see_other,
)

router = APIRouter(include_in_schema=False)


def _require_composer(principal: Principal | None) -> Principal:
    who = require_principal(principal)
    if not who.has_role(Role.REFORM_OFFICE):
        raise PermissionDenied("only the reform office composes bundles", code="reform_office_only")
    return who


def _editable(session: Session, principal: Principal | None, code: str) -> service.BundleDetail:
    who = _require_composer(principal)
    detail = service.get_bundle(session=session, principal=who, code=code)
    if not detail.can_edit:
        raise PermissionDenied(
            "you may not edit bundle '%(code)s'", params={"code": code}, code="bundle_edit_denied"
        )
    return detail


@dataclass(frozen=True)
class ItemOption:
    code: str
    name_zh: str
    name_en: str
    published: bool = True


def _item_options(session: Session, principal: Principal, form: ComposerForm) -> list[ItemOption]:
    rows, _ = catalog_service.search_items(
        session=session, principal=principal, flt=ItemFilter(status="published", limit=500)
    )
    options = {
        r.implementation_code: ItemOption(
            r.implementation_code, r.version.name_zh, r.version.name_en
        )
        for r in rows
    }
    for m in form.members:  # a member that is not (or no longer) published stays selectable
        if m.item and m.item not in options:
            options[m.item] = ItemOption(m.item, m.item, m.item, published=False)
    return sorted(options.values(), key=lambda o: o.code)


def _composer_context(
    session: Session,
    principal: Principal,
    *,
    form: ComposerForm,
    detail: service.BundleDetail | None,
) -> dict[str, Any]:
    members = list(form.members) + [MemberRow() for _ in range(BLANK_MEMBER_ROWS)]
    questions = list(form.questions) + [QuestionRow() for _ in range(BLANK_QUESTION_ROWS)]
    return {
        "mode": "edit" if detail else "new",
        "detail": detail,
        "form": form,
        "member_rows": members,
        "question_rows": questions,
        "member_codes": [m.item for m in form.members if m.item],
        "items": _item_options(session, principal, form),
        "department_rows": org_service.department_rows(session=session),
        "departments": _department_names(session),
        "field_errors": {},
        "general_errors": [],
        "conflict": False,
        "lints": None,
        "preview": None,
        "notice": "",
    }


@dataclass
class Preview:
    """The composer's view of an unsaved definition: its ledger, or why there is none."""

    ledger: Ledger | None = None
    errors: list[FieldMessage] = field(default_factory=list)
    lints: list[service.LintIssue] = field(default_factory=list)


def _preview(session: Session, form: ComposerForm) -> Preview:
    data, member_rows, question_rows, local = form.definition()
    # What composition does not need may still be blank while a new bundle is being composed.
    for key in ("code", "name_zh", "name_en"):
        if not str(data[key]).strip():
            data[key] = PREVIEW_CODE
    if not data["lead_department"].strip() and data["members"]:
        first = data["members"][0]["item"]
        items = catalog_service.published_items(session=session, codes=[first])
        if first in items:
            data["lead_department"] = items[first].department
    errors = list(local)
    bundle: BundleIn | None = None
    try:
        bundle = service.parse_definition(data)
    except ValidationFailed as exc:
        errors += exc.errors
    if errors or bundle is None:
        return Preview(errors=_located(errors, member_rows, question_rows, form))
    lints = _lints(session, bundle)
    try:
        ledger = service.compose_definition(session=session, bundle=bundle)
    except ValidationFailed as exc:
        return Preview(errors=_located(exc.errors, member_rows, question_rows, form), lints=lints)
    return Preview(ledger=ledger, lints=lints)


def _located(
    errors: list[FieldError], member_rows: list[int], question_rows: list[int], form: ComposerForm
) -> list[FieldMessage]:
    """Every error as one list, each with where it is in words (for the preview panel)."""
    by_field, general = place_errors(errors, member_rows, question_rows, form.members)
    out = [FieldMessage(m.message, m.line) for m in general]
    for target, messages in by_field.items():
        out += [FieldMessage(m.message, m.line, target) for m in messages]
    return out


def _preview_context(request: Request, session: Session, preview: Preview) -> dict[str, Any]:
    context: dict[str, Any] = {"preview": preview}
    if preview.ledger is not None:
        context.update(_ledger_context(request, session, preview.ledger))
    return context


def _lints(session: Session, bundle: BundleIn) -> list[service.LintIssue]:
    """What must be mended before publishing; a definition that does not compose says why."""
    try:
        return service.lint(session=session, bundle=bundle)
    except ValidationFailed as exc:
        return [service.LintIssue("composition", e.loc, e.message) for e in exc.errors]


# ---------------------------------------------------------------- composer routes


@router.get("/bundles/new", response_class=HTMLResponse)
def new_bundle(request: Request, session: DbSession, principal: CurrentPrincipal) -> HTMLResponse:
    who = _require_composer(principal)
    context = _composer_context(session, who, form=ComposerForm(), detail=None)
    return _page(request, "bundles/edit.html", context)


@router.post("/bundles/new", response_class=HTMLResponse)
def create_bundle(
    request: Request, session: DbSession, principal: CurrentPrincipal, posted: PostedForm
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = _require_composer(principal)
    return _save(request, session, who, ComposerForm.from_form(posted), detail=None)


@router.post("/bundles/preview", response_class=HTMLResponse)
def preview_bundle(
    request: Request, session: DbSession, principal: CurrentPrincipal, posted: PostedForm
) -> HTMLResponse:
    """The ledger of the definition being composed: a partial for htmx, else the whole page."""
    check_csrf(request, _posted(posted, "csrf_token"))
    who = _require_composer(principal)
    form = ComposerForm.from_form(posted)
    preview = _preview(session, form)
    if _htmx(request):
        response = _page(
            request, "bundles/_preview.html", _preview_context(request, session, preview)
        )
        response.headers["Vary"] = "HX-Request"
        return response
    detail: service.BundleDetail | None = None
    original = _posted(posted, "original_code")
    if original:
        detail = _editable(session, who, original)
        form.code = original
    context = _composer_context(session, who, form=form, detail=detail)
    if detail is not None:
        context["lints"] = _lints(session, detail.bundle)
    context.update(_preview_context(request, session, preview))
    return _page(request, "bundles/edit.html", context)


@router.get("/bundles/{code}/edit", response_class=HTMLResponse)
def edit_bundle(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    saved: Count = 0,
) -> HTMLResponse:
    detail = _editable(session, principal, code)
    who = require_principal(principal)
    form = ComposerForm.from_bundle(detail.bundle, detail.lock_version)
    context = _composer_context(session, who, form=form, detail=detail)
    context["lints"] = _lints(session, detail.bundle)
    preview = _preview(session, form)
    preview.lints = []  # the stored draft's problems are listed by the publish button
    context.update(_preview_context(request, session, preview))
    context["notice"] = "saved" if saved else ""
    return _page(request, "bundles/edit.html", context)


@router.post("/bundles/{code}/edit", response_class=HTMLResponse)
def update_bundle(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    detail = _editable(session, principal, code)
    who = require_principal(principal)
    form = ComposerForm.from_form(posted)
    form.code = code
    return _save(request, session, who, form, detail=detail)


def _save(
    request: Request,
    session: Session,
    who: Principal,
    form: ComposerForm,
    *,
    detail: service.BundleDetail | None,
) -> Response:
    data, member_rows, question_rows, local = form.definition()
    if detail is None and form.code.strip():
        try:
            service.get_bundle(session=session, principal=who, code=form.code.strip())
        except NotFound:
            pass
        else:
            local.append(FieldError("code", "A bundle with this code already exists."))

    def again(status: int, **extra: Any) -> HTMLResponse:
        context = _composer_context(session, who, form=form, detail=detail)
        context.update(extra)
        if detail is not None:
            context["lints"] = _lints(session, detail.bundle)
        return _page(request, "bundles/edit.html", context, status_code=status)

    try:
        if local:
            errors = list(local)
            try:
                service.parse_definition({**data, "status": "draft"})
            except ValidationFailed as exc:
                errors += exc.errors
            raise ValidationFailed(
                "the bundle is invalid; nothing was saved", errors=errors, code="bundle_invalid"
            )
        with attempt(session):
            saved = service.save_draft(
                session=session,
                principal=who,
                data=data,
                lock_version=_int_or_none(form.lock_version),
            )
    except ValidationFailed as exc:
        by_field, general = place_errors(exc.errors, member_rows, question_rows, form.members)
        return again(422, field_errors=by_field, general_errors=general)
    except Conflict:
        return again(409, conflict=True)
    except PermissionDenied:
        message = FieldMessage("You may not compose bundles led by this department.")
        if detail is None and form.code.strip():
            # The code may belong to a bundle of another office that this user cannot see.
            message = FieldMessage("You may not use this code or this lead department.")
        return again(403, field_errors={"lead_department": [message]})
    return see_other(f"/bundles/{quote(saved.bundle.code)}/edit?saved=1")


@router.post("/bundles/{code}/publish", response_class=HTMLResponse)
def publish_bundle(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    detail = _editable(session, principal, code)
    who = require_principal(principal)
    try:
        with attempt(session):
            service.publish(session=session, principal=who, code=code)
    except ValidationFailed as exc:
        form = ComposerForm.from_bundle(detail.bundle, detail.lock_version)
        context = _composer_context(session, who, form=form, detail=detail)
        context["lints"] = _lints(session, detail.bundle)
        context["publish_errors"] = exc.errors
        preview = _preview(session, form)
        preview.lints = []
        context.update(_preview_context(request, session, preview))
        return _page(request, "bundles/edit.html", context, status_code=422)
    return see_other(f"/bundles/{quote(code)}/ledger?published=1")
