"""The application page: one form for an item or a bundle, at the single window or online."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import astuple, dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from tongban.auth.principal import Principal
from tongban.bundles import service as bundle_service
from tongban.cases import repository, service, storage
from tongban.cases.pages.common import (
    CHANNEL_LABELS,
    SEARCH_LIMIT,
    STAFF,
    Name,
    _department_names,
    _files,
    _page,
    _posted,
    _today,
    plain,
)
from tongban.cases.schemas import ApplicantIn, ApplicationIn
from tongban.catalog import service as catalog_service
from tongban.catalog.completeness import recorded, time_limit
from tongban.catalog.models import DataElement
from tongban.catalog.repository import ItemFilter
from tongban.catalog.values import check_value
from tongban.errors import (
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
)
from tongban.kit import ids, money, workdays
from tongban.org.models import Jurisdiction
from tongban.web import tokens
from tongban.web.deps import CurrentPrincipal, DbSession, PostedForm, attempt, check_csrf, see_other
from tongban.web.ratelimit import client_address

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class FieldSpec:
    """One input of the application form, by data element."""

    element: str
    label_zh: str
    label_en: str
    required: bool
    data_type: str
    widget: str  # text | textarea | tel | number | date | select | boolean | file
    options: tuple[str, ...] = ()
    max_length: int | None = None
    validator: str = "none"
    prefilled_from: str | None = None

    @property
    def name(self) -> str:
        return f"form.{self.element}"

    @property
    def html_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.element)


@dataclass(frozen=True)
class MaterialSpec:
    code: str
    name_zh: str
    name_en: str
    necessity: str
    from_applicant: bool

    @property
    def name(self) -> str:
        return f"material.{self.code}"

    @property
    def html_id(self) -> str:
        return "m-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.code)


@dataclass
class Subject:
    kind: str  # item | bundle
    code: str
    name: Name
    fields: list[FieldSpec]
    materials: list[MaterialSpec]
    answers: dict[str, str]
    legal_days: int
    promised_days: int
    elements: dict[str, DataElement]
    #: the form's fields that the applicant's section fills (asked once): element → detail
    from_applicant: dict[str, FieldSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in list(self.fields):
            element = self.elements.get(spec.element)
            if element is not None and element.applicant_field:
                self.from_applicant[spec.element] = spec
        self.fields = [f for f in self.fields if f.element not in self.from_applicant]

    @property
    def applicant_required(self) -> set[str]:
        """The applicant's details that a required field of the form needs."""
        return {
            self.elements[code].applicant_field or ""
            for code, spec in self.from_applicant.items()
            if spec.required
        }

    def applicant_values(self, applicant: ApplicantIn) -> dict[str, str]:
        """The values of the fields the applicant's section fills."""
        values = {}
        for code in self.from_applicant:
            detail = self.elements[code].applicant_field or ""
            value = getattr(applicant, detail, "")
            if value:
                values[code] = value
        return values


def _widget(element: DataElement) -> str:
    if element.data_type == "enum" or element.allowed_values:
        return "select"
    return {
        "integer": "number",
        "money": "money",
        "decimal": "text",
        "date": "date",
        "boolean": "boolean",
        "file": "file",
    }.get(
        element.data_type,
        "tel"
        if element.validator == "phone"
        else "textarea"
        if (element.max_length or 0) > 200
        else "text",
    )


def _spec(
    element: DataElement | None,
    code: str,
    label_zh: str,
    label_en: str,
    required: bool,
    prefilled_from: str | None = None,
) -> FieldSpec:
    if element is None:
        return FieldSpec(code, label_zh, label_en, required, "string", "text")
    return FieldSpec(
        element=code,
        label_zh=label_zh,
        label_en=label_en,
        required=required,
        data_type=element.data_type,
        widget=_widget(element),
        options=tuple(str(v) for v in element.allowed_values),
        max_length=element.max_length,
        validator=element.validator,
        prefilled_from=prefilled_from,
    )


def _subject(
    session: Session,
    principal: Principal | None,
    *,
    item: str,
    bundle: str,
    answers: dict[str, str],
) -> Subject:
    """What the applicant applies for, with the form and the materials it asks."""
    elements = {e.code: e for e in catalog_service.list_elements(session=session)}
    if item:
        content = catalog_service.published_items(session=session, codes=[item]).get(item)
        if content is None:
            raise NotFound(
                "no published item '%(item)s'", params={"item": item}, code="item_not_found"
            )
        service.refuse_unfit_item(item, content)
        limit = time_limit(content)
        fields = [
            _spec(elements.get(f.element), f.element, f.label_zh, f.label_en, f.required)
            for f in content.form
        ]
        materials = [
            MaterialSpec(
                m.code, m.name_zh, m.name_en, m.necessity.value, m.source.value == "applicant"
            )
            for m in recorded(content, "materials")
        ]
        return Subject(
            "item",
            item,
            Name(content.name_zh, content.name_en),
            _unique(fields),
            materials,
            {},
            limit.legal,
            limit.promised,
            elements,
        )
    detail = bundle_service.get_bundle(session=session, principal=principal, code=bundle)
    if detail.status != "published":
        raise NotFound(
            "bundle '%(bundle)s' is not published",
            params={"bundle": bundle},
            code="bundle_not_published",
        )
    ledger = bundle_service.compose_definition(
        session=session, bundle=detail.bundle, answers=answers
    )
    fields = [
        _spec(
            elements.get(f.element),
            f.element,
            f.label_zh,
            f.label_en,
            f.required,
            f.authority,
        )
        for f in ledger.fields
    ]
    materials = [
        MaterialSpec(m.code, m.name_zh, m.name_en, m.necessity, True) for m in ledger.materials
    ]
    return Subject(
        "bundle",
        bundle,
        Name(detail.bundle.name_zh, detail.bundle.name_en),
        _unique(fields),
        materials,
        dict(answers),
        int(ledger.after.days.get("legal", 0)),
        int(ledger.after.days.get("promised", 0)),
        elements,
    )


def _unique(fields: list[FieldSpec]) -> list[FieldSpec]:
    """One input per data element (an item may ask the same element twice)."""
    seen: dict[str, FieldSpec] = {}
    for f in fields:
        if f.element in seen:
            if f.required and not seen[f.element].required:
                seen[f.element] = f
            continue
        seen[f.element] = f
    return list(seen.values())


@dataclass(frozen=True)
class Place:
    code: str
    name: Name
    level: str


@dataclass(frozen=True)
class PlaceGroup:
    township: Place
    villages: list[Place]


def _places(session: Session) -> list[PlaceGroup]:
    """Townships with their villages, for the applicant's jurisdiction."""
    rows = list(
        session.scalars(
            select(Jurisdiction)
            .where(Jurisdiction.level.in_(("township", "village")))
            .order_by(Jurisdiction.code)
        )
    )
    towns = {j.id: j for j in rows if j.level == "township"}
    villages: dict[int, list[Place]] = {}
    for j in rows:
        if j.level == "village" and j.parent_id in towns:
            villages.setdefault(j.parent_id, []).append(
                Place(j.code, Name(j.name_zh, j.name_en), j.level)
            )
    return [
        PlaceGroup(Place(t.code, Name(t.name_zh, t.name_en), t.level), villages.get(t.id, []))
        for t in towns.values()
    ]


@dataclass
class ApplyForm:
    """What the application form shows: empty with a fresh idempotency key, or what was sent."""

    idempotency_key: str = ""
    name: str = ""
    id_no: str = ""
    phone: str = ""
    jurisdiction: str = ""
    channel: str = "window"
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def fresh(cls, principal: Principal | None) -> ApplyForm:
        return cls(
            idempotency_key=secrets.token_urlsafe(18),
            channel="window" if principal and principal.has_role(*STAFF) else "online",
        )

    @classmethod
    def from_posted(
        cls, posted: FormData, subject: Subject, principal: Principal | None
    ) -> ApplyForm:
        channel = _posted(posted, "channel", 20)
        if principal is None or channel not in CHANNEL_LABELS:
            channel = "online"
        return cls(
            idempotency_key=_posted(posted, "idempotency_key", 100).strip(),
            name=_posted(posted, "applicant.name", 200),
            id_no=_posted(posted, "applicant.id_no", 40),
            phone=_posted(posted, "applicant.phone", 40),
            jurisdiction=_posted(posted, "applicant.jurisdiction", 20),
            channel=channel,
            values={
                f.element: _posted(posted, f.name, 20000)
                for f in subject.fields
                if f.widget != "file"
            },
        )


def _coerce(spec: FieldSpec, text: str) -> Any:
    """A typed value as the data element expects it (the checks then name what is wrong)."""
    text = text.strip()
    if spec.data_type == "money":
        # typed in yuan (1500, 1,500.50, ¥1500, 1500元), stored in fen
        try:
            return money.parse_yuan(text)
        except ValueError:
            return text
    if spec.data_type == "integer":
        return int(text) if re.fullmatch(r"-?\d{1,15}", text) else text
    if spec.validator == "phone" and text:
        # typed with spaces, dashes or +86: stored in the one form the check accepts
        try:
            return ids.normalize_phone(text)
        except ValueError:
            return text
    if spec.data_type == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


#: how long files chosen on the form stay carried to the check page and back (the store keeps
#: unreferenced files for a day before its sweep removes them)
CARRIED_MAX_AGE = 6 * 3600
#: how long the confirmation page's link opens the case's receipt without a lookup
DONE_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class CarriedFile:
    """A file chosen on the form, stored by its hash and carried, signed, through the check page
    (the applicant does not choose it again)."""

    name: str  # the form input it was chosen in
    purpose: str
    filename: str
    content_type: str
    sha256: str
    size: int


def _carried(posted: FormData) -> list[CarriedFile]:
    """The files carried from an earlier round (a forged or stale token carries none)."""
    token = _posted(posted, "carried", 20_000)
    if not token:
        return []
    try:
        rows = tokens.unsign("apply-files", token, max_age=CARRIED_MAX_AGE)
    except tokens.BadToken:
        return []
    return [CarriedFile(*row) for row in rows if isinstance(row, list) and len(row) == 6]


def _carry(files: list[CarriedFile]) -> str:
    return tokens.sign("apply-files", [list(astuple(f)) for f in files]) if files else ""


def done_token(number: str) -> str:
    return tokens.sign("apply-done", number)


def _read_file(upload: UploadFile, purpose: str) -> tuple[service.Attachment | None, str]:
    """The file, or the plain message of what is wrong with it (the engine checks again)."""
    attachment = service.Attachment(
        purpose,
        upload.filename or "upload",
        upload.content_type or "",
        upload.file.read(service.MAX_UPLOAD + 1),
    )
    try:
        service.check_attachment(attachment)
    except ValidationFailed as exc:
        return None, plain(exc.message)
    return attachment, ""


def _apply_context(
    session: Session,
    principal: Principal | None,
    subject: Subject,
    form: ApplyForm,
    *,
    field_errors: dict[str, list[str]] | None = None,
    general_errors: list[str] | None = None,
    conflict: str = "",
    carried: list[CarriedFile] | None = None,
    focus: str = "",
) -> dict[str, Any]:
    departments, _ = _department_names(session)
    chosen: dict[str, list[CarriedFile]] = {}
    for f in carried or []:
        chosen.setdefault(f.name, []).append(f)
    errors = field_errors or {}
    return {
        "error_links": _error_links(subject, errors),
        "subject": subject,
        "form": form,
        "carried": _carry(carried or []),
        "chosen": chosen,
        "focus": focus,
        "places": _places(session),
        "departments": departments,
        "field_errors": field_errors or {},
        "general_errors": general_errors or [],
        "conflict": conflict,
        "is_staff": principal is not None and principal.has_role(*STAFF),
        "today": _today(),
        "legal_due": workdays.add_workdays(_today(), subject.legal_days),
        "promised_due": workdays.add_workdays(_today(), subject.promised_days),
    }


APPLICANT_INPUTS = (
    ("applicant.name", "applicant-name", "Name of the applicant"),
    ("applicant.id_no", "applicant-id", "ID number"),
    ("applicant.phone", "applicant-phone", "Phone"),
    ("applicant.jurisdiction", "applicant-place", "Township or village of the applicant"),
)


@dataclass(frozen=True)
class ErrorLink:
    """One line of the error summary: the field's id (the link's target), its label, and what
    is wrong. ``msgid`` labels are translated by the page; others are shown as they are."""

    html_id: str
    label_zh: str
    label_en: str
    msgid: bool
    messages: tuple[str, ...]


def _error_links(subject: Subject, errors: dict[str, list[str]]) -> list[ErrorLink]:
    """The error summary in the order of the form, each line linking to its field."""
    links: list[ErrorLink] = []
    for name, html_id, msgid in APPLICANT_INPUTS:
        if errors.get(name):
            links.append(ErrorLink(html_id, msgid, msgid, True, tuple(errors[name])))
    for f in subject.fields:
        if errors.get(f.name):
            links.append(ErrorLink(f.html_id, f.label_zh, f.label_en, False, tuple(errors[f.name])))
    for mat in subject.materials:
        if errors.get(mat.name):
            links.append(
                ErrorLink(mat.html_id, mat.name_zh, mat.name_en, False, tuple(errors[mat.name]))
            )
    shown = {name for name, _, _ in APPLICANT_INPUTS}
    shown |= {f.name for f in subject.fields} | {m.name for m in subject.materials}
    for name, messages in errors.items():
        if name not in shown and messages:  # an error of no field on the page: said all the same
            links.append(ErrorLink("apply-form", name, name, False, tuple(messages)))
    return links


def _answers_from(params: Iterable[tuple[str, Any]]) -> dict[str, str]:
    return {
        k.removeprefix("answer."): v.strip()[:100]
        for k, v in params
        if k.startswith("answer.") and isinstance(v, str) and v.strip()
    }


@router.get("/apply", response_class=HTMLResponse)
def apply_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    item: Annotated[str, Query(max_length=64)] = "",
    bundle: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    answered: Annotated[str, Query(max_length=2)] = "",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    item, bundle = item.strip(), bundle.strip()
    if not item and not bundle:
        rows, total = catalog_service.search_items(
            session=session,
            principal=principal,
            flt=ItemFilter(text=q.strip(), status="published", limit=SEARCH_LIMIT, offset=offset),
        )

        def page_url(start: int) -> str:
            return "/apply?" + urlencode(
                {"q": q.strip(), "offset": start} if q.strip() else {"offset": start}
            )

        departments, _ = _department_names(session)
        bundles = [
            b
            for b in bundle_service.list_bundles(session=session, principal=principal)
            if b.status == "published"
        ]
        context = {
            "q": q.strip(),
            "rows": rows,
            "total": total,
            "first": offset + 1,
            "last": offset + len(rows),
            "prev_url": page_url(max(0, offset - SEARCH_LIMIT)) if offset > 0 else "",
            "next_url": page_url(offset + SEARCH_LIMIT) if offset + len(rows) < total else "",
            "bundles": bundles,
            "departments": departments,
        }
        return _page(request, "cases/apply_choose.html", context)
    answers = _answers_from(request.query_params.multi_items())
    if bundle and not item:
        detail = bundle_service.get_bundle(session=session, principal=principal, code=bundle)
        if detail.status != "published":
            raise NotFound(
                "bundle '%(bundle)s' is not published",
                params={"bundle": bundle},
                code="bundle_not_published",
            )
        answer_errors: dict[str, list[str]] = {}
        if detail.bundle.questions and answered != "1":
            return _questions(request, detail.bundle, answers, answer_errors)
        try:
            subject = _subject(session, principal, item="", bundle=bundle, answers=answers)
        except ValidationFailed as exc:
            for e in exc.errors:
                question = e.loc.removeprefix("answers.")
                message = (
                    "Please answer this question."
                    if "needs an answer" in e.message
                    else "Choose one of the answers listed."
                )
                answer_errors.setdefault(question, []).append(message)
            return _questions(request, detail.bundle, answers, answer_errors, status_code=422)
    else:
        subject = _subject(session, principal, item=item, bundle="", answers={})
    context = _apply_context(session, principal, subject, ApplyForm.fresh(principal))
    return _page(request, "cases/apply_form.html", context)


def _questions(
    request: Request,
    bundle: Any,
    answers: dict[str, str],
    errors: dict[str, list[str]],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"bundle": bundle, "answers": answers, "answer_errors": errors}
    return _page(request, "cases/apply_questions.html", context, status_code=status_code)


#: the applicant's input that fills an element of each applicant detail
APPLICANT_INPUT = {"name": "applicant.name", "id_no": "applicant.id_no", "phone": "applicant.phone"}


def _check_form(
    subject: Subject,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    form: ApplyForm | None = None,
) -> None:
    """The same checks as the engine's, all at once, so every field shows what is wrong."""
    if form is not None:
        # a required field that the applicant's section fills makes that input required
        for code, spec in subject.from_applicant.items():
            detail = subject.elements[code].applicant_field or ""
            name = APPLICANT_INPUT.get(detail)
            if spec.required and name and not getattr(form, detail, "").strip():
                if "This field is required." not in errors.get(name, []):
                    errors.setdefault(name, []).append("This field is required.")
    for spec in subject.fields:
        if spec.widget == "file":
            continue
        value = values.get(spec.element)
        if value in (None, ""):
            if spec.required:
                errors.setdefault(spec.name, []).append("This field is required.")
            continue
        element = subject.elements.get(spec.element)
        if element is None:
            continue
        try:
            check_value(element, value)
        except ValueError as exc:
            message = str(exc).removeprefix(f"{spec.element}: ")
            errors.setdefault(spec.name, []).append(plain(message))


def _place_application_errors(
    subject: Subject,
    errors: list[FieldError],
    field_errors: dict[str, list[str]],
    general: list[str],
) -> None:
    for e in errors:
        loc = e.loc.removeprefix("body.")
        code = loc.removeprefix("form.")
        if loc.startswith("form.") and code in subject.from_applicant:
            # the field is filled from the applicant's section: the error goes there
            detail = subject.elements[code].applicant_field or ""
            loc = APPLICANT_INPUT.get(detail, loc)
        if loc.startswith(("form.", "applicant.", "material.")):
            field_errors.setdefault(loc, []).append(plain(e.message))
        else:
            general.append(plain(e.message))


def _after_submit(number: str) -> RedirectResponse:
    """Everyone who submitted goes to the confirmation page: the case number, what happens
    next, the receipt (and the one-time notice of what is missing)."""
    return see_other("/apply/done?" + urlencode({"t": done_token(number)}))


STEPS = ("check", "change", "submit")


@dataclass(frozen=True)
class CheckRow:
    """One answer on the check page, with the field its *Change* button returns to."""

    label_zh: str
    label_en: str
    value: str
    change: str  # the html id of the field on the form
    msgid: bool = False  # the label is a message id the page translates
    translate_value: bool = False
    value_en: str = ""  # the value in English, where it has one


def _shown(spec: FieldSpec, value: Any) -> tuple[str, bool]:
    """A form value as the applicant reads it back (money in yuan, yes/no translated)."""
    if value in (None, ""):
        return "", False
    if spec.data_type == "money" and isinstance(value, int):
        return money.format_yuan(value), False
    if spec.data_type == "boolean" and isinstance(value, bool):
        return ("Yes" if value else "No"), True
    return str(value), False


def _check_page(
    request: Request,
    session: Session,
    principal: Principal | None,
    subject: Subject,
    form: ApplyForm,
    application: ApplicationIn,
    carried: list[CarriedFile],
) -> HTMLResponse:
    """Check your answers (GOV.UK's pattern): everything the application will carry, each
    with a way back to change it, and one button that submits."""
    place_zh = place_en = application.applicant.jurisdiction
    for g in _places(session):
        for spot in [g.township, *g.villages]:
            if spot.code == application.applicant.jurisdiction:
                town = g.township.name
                place_zh, place_en = town.zh, town.en or town.zh
                if spot is not g.township:
                    place_zh += " · " + spot.name.zh
                    place_en += " · " + (spot.name.en or spot.name.zh)
    applicant = application.applicant
    rows = [
        CheckRow("Name of the applicant", "", applicant.name, "applicant-name", msgid=True),
        CheckRow("ID number", "", applicant.id_no, "applicant-id", msgid=True),
        CheckRow("Phone", "", applicant.phone, "applicant-phone", msgid=True),
        CheckRow(
            "Township or village of the applicant",
            "",
            place_zh,
            "applicant-place",
            msgid=True,
            value_en=place_en,
        ),
    ]
    fields: list[CheckRow] = []
    for spec in subject.fields:
        if spec.widget == "file":
            names = [c.filename for c in carried if c.name == spec.name]
            fields.append(CheckRow(spec.label_zh, spec.label_en, "、".join(names), spec.html_id))
            continue
        shown, translate = _shown(spec, application.form.get(spec.element))
        fields.append(
            CheckRow(spec.label_zh, spec.label_en, shown, spec.html_id, translate_value=translate)
        )
    materials = [(mat, [c for c in carried if c.name == mat.name]) for mat in subject.materials]
    questions: list[CheckRow] = []
    if subject.kind == "bundle":
        detail = bundle_service.get_bundle(session=session, principal=principal, code=subject.code)
        for q in detail.bundle.questions:
            answer = next((a for a in q.answers if a.code == subject.answers.get(q.code)), None)
            if answer is not None:
                questions.append(CheckRow(q.text_zh, q.text_en, answer.zh, "", value_en=answer.en))
    context = _apply_context(session, principal, subject, form, carried=carried)
    context.update(
        {
            "applicant_rows": rows,
            "field_rows": fields,
            "material_rows": materials,
            "question_rows": questions,
            "answers_url": "/apply?"
            + urlencode(
                [
                    ("bundle", subject.code),
                    *((f"answer.{k}", v) for k, v in subject.answers.items()),
                ]
            ),
        }
    )
    return _page(request, "cases/apply_check.html", context)


@router.post("/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request, session: DbSession, principal: CurrentPrincipal, posted: PostedForm
) -> Response:
    """One handler for the three buttons of the journey: the form's *Continue* (``step=check``:
    every check, then the check-your-answers page), the check page's *Change* (``step=change``:
    back to the form, on the field to change) and *Submit* (``step=submit``, the default)."""
    step = "change" if _posted(posted, "change", 80) else _posted(posted, "step", 10) or "submit"
    if step not in STEPS:
        raise ValidationFailed(
            "unknown step '%(step)s' of the application", params={"step": step}, code="bad_step"
        )
    if principal is None:
        # An anonymous submission counts against the intake limit; checking and changing
        # answers against a looser one of their own (a person checks several times).
        limiter = (
            request.app.state.anonymous_intake
            if step == "submit"
            else (request.app.state.anonymous_checks)
        )
        limiter.check(client_address(request))
    check_csrf(request, _posted(posted, "csrf_token"))
    item, bundle = _posted(posted, "item", 64).strip(), _posted(posted, "bundle", 40).strip()
    if bool(item) == bool(bundle):
        raise ValidationFailed("choose an item or a bundle to apply for", code="subject_required")
    answers = _answers_from(posted.multi_items())
    subject = _subject(session, principal, item=item, bundle=bundle, answers=answers)
    form = ApplyForm.from_posted(posted, subject, principal)
    field_errors: dict[str, list[str]] = {}
    general: list[str] = []
    carried = _carried(posted)

    def again(status: int, conflict: str = "", focus: str = "") -> HTMLResponse:
        context = _apply_context(
            session,
            principal,
            subject,
            form,
            field_errors=field_errors,
            general_errors=general,
            conflict=conflict,
            carried=carried,
            focus=focus,
        )
        return _page(request, "cases/apply_form.html", context, status_code=status)

    if step == "change":
        return again(200, focus=_posted(posted, "change", 80))

    # Files first: read and checked before anything is written. A file chosen again replaces
    # the one carried for the same input; one that passes its checks is kept (stored by its
    # hash) so that nobody chooses it twice, whatever else is wrong.
    fresh: list[CarriedFile] = []
    wanted = [(m.name, m.code) for m in subject.materials]
    wanted += [(f.name, f.element) for f in subject.fields if f.widget == "file"]
    for name, purpose in wanted:
        uploads = _files(posted, name)
        if uploads:
            carried = [c for c in carried if c.name != name]
        for upload in uploads:
            read, problem = _read_file(upload, purpose)
            if read is None:
                field_errors.setdefault(name, []).append(problem)
            else:
                storage.put(read.sha256, read.data)
                fresh.append(
                    CarriedFile(
                        name,
                        purpose,
                        read.filename,
                        read.content_type,
                        read.sha256,
                        len(read.data),
                    )
                )
    carried = carried + fresh
    file_values = {c.purpose: c.sha256 for c in carried if c.name.startswith("form.")}
    values: dict[str, Any] = {
        f.element: _coerce(f, form.values.get(f.element, ""))
        for f in subject.fields
        if f.widget != "file"
    }
    values.update(file_values)
    filled = {k: v for k, v in values.items() if v not in (None, "")}
    raw = {
        "item": item or None,
        "bundle": bundle or None,
        "answers": answers if bundle else None,
        "applicant": {
            "name": form.name,
            "id_no": form.id_no,
            "phone": form.phone,
            "jurisdiction": form.jurisdiction,
        },
        "form": filled,
        "channel": form.channel,
        "idempotency_key": form.idempotency_key,
    }
    application: ApplicationIn | None = None
    try:
        application = ApplicationIn.model_validate(raw)
        for code, value in subject.applicant_values(application.applicant).items():
            application.form.setdefault(code, value)
    except ValidationError as exc:
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            if loc == "idempotency_key":
                general.append("The form has expired; reload the page and submit it again.")
            else:
                field_errors.setdefault(loc, []).append(plain(str(e["msg"])))
    if application is not None and repository.case_by_key(session, form.idempotency_key):
        # A double click or a retry: the engine answers with the case it already made.
        try:
            with attempt(session):
                case = service.submit_application(
                    session=session, principal=principal, application=application
                )
        except Conflict as exc:
            return again(409, conflict=exc.message)
        return _after_submit(case.number)
    _check_form(subject, values, field_errors, form)
    if field_errors or general or application is None:
        return again(422)
    if step == "check":
        return _check_page(request, session, principal, subject, form, application, carried)
    files: list[service.Attachment] = []
    for c in carried:
        try:
            data = storage.get(c.sha256)
        except (FileNotFoundError, ValueError):
            field_errors.setdefault(c.name, []).append(
                "The file chosen earlier is no longer kept: please choose it again."
            )
            continue
        files.append(service.Attachment(c.purpose, c.filename, c.content_type, data))
    if field_errors:
        carried = [c for c in carried if c.name not in field_errors]
        return again(422)
    try:
        with attempt(session):
            case = service.submit_application(
                session=session, principal=principal, application=application, attachments=files
            )
    except ValidationFailed as exc:
        _place_application_errors(subject, exc.errors, field_errors, general)
        if not exc.errors:
            general.append(exc.message)
        return again(422)
    except Conflict as exc:
        # Another request took the idempotency key meanwhile: answer with its case.
        existing = repository.case_by_key(session, form.idempotency_key)
        if existing is not None:
            return _after_submit(existing.number)
        return again(409, conflict=exc.message)
    return _after_submit(case.number)
