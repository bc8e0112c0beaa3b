"""HTML pages of cases: the application (single window or online), the applicant's status
page, the officer's workbench, the case page with its timeline and the actions on its steps,
the committee's decision page and the signing page.

The engine (``tongban.cases.service``) decides everything; these pages ask, show and report
its answers. Every POST carries the CSRF token, every action on a step the ``lock_version`` the
page was drawn with, and every success answers with a 303 redirect.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from tongban.auth.access import require_principal
from tongban.auth.models import Role, RoleGrant, User
from tongban.auth.principal import Principal
from tongban.bundles import service as bundle_service
from tongban.cases import repository, service, views
from tongban.cases.models import (
    Case,
    CaseStatus,
    CaseStep,
    Delegation,
    EscalationLevel,
    Signature,
    StepStatus,
    Upload,
)
from tongban.cases.schemas import ApplicationIn, EventOut, StepOut
from tongban.catalog import service as catalog_service
from tongban.catalog.models import DataElement
from tongban.catalog.repository import ItemFilter
from tongban.catalog.values import check_value
from tongban.db import utcnow
from tongban.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from tongban.kit import workdays
from tongban.org.models import Department, Jurisdiction
from tongban.web.deps import CurrentPrincipal, DbSession, check_csrf
from tongban.web.format import format_yuan, local_time
from tongban.web.ratelimit import StatusLookups, client_address, status_lookups
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)

TEXT_MAX = 2000
SEARCH_LIMIT = 30
WORKBENCH_LIMIT = 500
STAFF = (Role.FRONT_DESK, Role.OFFICER, Role.TOWNSHIP_WORKER, Role.COMMITTEE_MEMBER)

# ---------------------------------------------------------------- labels (English message ids)

CASE_STATUS_LABELS = {
    "in_progress": "In progress",
    "suspended": "Suspended: waiting for corrections",
    "completed": "Completed",
    "rejected": "Rejected",
    "archived": "Archived",
}
STEP_STATUS_LABELS = {
    "waiting": "Waiting for earlier steps",
    "ready": "Ready to act on",
    "done": "Done",
    "skipped": "Skipped",
}
STEP_LABELS = {
    "acceptance": "Acceptance",
    "review": "Review",
    "automatic_check": "Automatic check",
    "onsite_verification": "On-site verification",
    "collective_decision": "Collective decision",
    "decision": "Decision",
    "e_signature": "Electronic signature",
    "payment": "Payment",
    "delivery": "Delivery",
    "notification": "Notification",
}
CHANNEL_LABELS = {
    "window": "Service window",
    "online": "Online",
    "mobile": "Mobile app",
    "mail": "By post",
    "self_service": "Self-service terminal",
}
EVENT_LABELS = {
    "submitted": "Application submitted",
    "step_done": "Step completed",
    "automatic_check": "Automatic check run",
    "collective_decision": "Collective decision closed",
    "payment": "Payment made",
    "duty_shift": "Duty shift",
    "delegated": "Step delegated",
    "returned": "Returned to the previous step",
    "suspended": "Clock stopped",
    "resumed": "Clock running again",
    "vote": "Vote cast",
    "signed": "Document signed",
    "uploaded": "File uploaded",
    "escalated": "Escalated",
    "completed": "Case completed",
    "rejected": "Case rejected",
    "archived": "Case archived",
}
VOTE_LABELS = {"approve": "Approve", "reject": "Reject", "abstain": "Abstain"}
DECISION_LABELS = {"approve": "Approved", "reject": "Rejected"}
DIRECTION_LABELS = {
    "pay_out": "Paid out to the applicant",
    "collect": "Collected from the applicant",
}
PARTY_LABELS = {"applicant": "The applicant", "department": "The department"}
SUSPENSION_LABELS = {"correction": "Correction requested", "expert_review": "Expert review"}
NECESSITY_LABELS = {"required": "Mandatory", "optional": "Optional", "conditional": "Conditional"}
FACT_LABELS = {
    "time": "Time",
    "place": "Place",
    "notes": "Notes",
    "note": "Note",
    "opinion": "Opinion",
    "decision": "Decision",
    "reason": "Reason",
    "photos": "Photos",
    "document_sha256": "Document SHA-256",
    "parties": "Parties",
    "payment": "Payment reference",
    "direction": "Direction",
    "amount_fen": "Amount",
    "approve": "Votes to approve",
    "reject": "Votes to reject",
    "abstain": "Abstentions",
    "members": "Committee members",
    "quorum": "Quorum",
    "minutes_upload": "Minutes",
    "rule": "Rule",
    "version": "Rule version",
    "passed": "Passed",
    "explanation": "Explanation",
    "inputs": "Inputs seen",
    "channel": "Channel",
    "steps": "Steps",
    "legal_due": "Legal due date",
    "calendar": "Calendar",
    "provisional": "Provisional",
    "subject": "Subject",
    "purpose": "Purpose",
    "sha256": "SHA-256",
    "size": "Size (bytes)",
    "level": "Level",
    "used_workdays": "Working days used",
    "limit": "Time limit (working days)",
    "suspended_workdays": "Working days suspended",
    "choice": "Vote",
    "party": "Party",
    "step": "Step",
}
LABELS: dict[str, dict[str, str]] = {
    "case_status": CASE_STATUS_LABELS,
    "step_status": STEP_STATUS_LABELS,
    "step": STEP_LABELS,
    "channel": CHANNEL_LABELS,
    "event": EVENT_LABELS,
    "vote": VOTE_LABELS,
    "decision": DECISION_LABELS,
    "party": PARTY_LABELS,
    "direction": DIRECTION_LABELS,
    "suspension": SUSPENSION_LABELS,
    "necessity": NECESSITY_LABELS,
}


def _today() -> date:
    return workdays.local_date(utcnow())


# ---------------------------------------------------------------- due dates in working days


@dataclass(frozen=True)
class Due:
    """A due date as people read it: so many working days ahead, today, or overdue."""

    day: date
    provisional: bool
    calendar: str
    state: str  # ahead | today | overdue | closed
    workdays: int


def due_of(
    day: date | None, provisional: bool, calendar: str, today: date, *, closed: bool = False
) -> Due | None:
    if day is None:
        return None
    calendar = calendar or workdays.calendar_version()
    if closed:
        return Due(day, provisional, calendar, "closed", 0)
    if day < today:
        late = workdays.workdays_between(day, today).count
        return Due(day, provisional, calendar, "overdue", late)
    if day == today:
        return Due(day, provisional, calendar, "today", 0)
    return Due(day, provisional, calendar, "ahead", workdays.workdays_between(today, day).count)


def _case_due(day: date | None, today: date, closed: bool) -> Due | None:
    if day is None:
        return None
    return due_of(day, not workdays.covered(day), workdays.calendar_version(), today, closed=closed)


# ---------------------------------------------------------------- shared helpers


def _page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        template,
        {"labels": LABELS, "yuan": format_yuan, "local_time": local_time, **context},
        status_code=status_code,
    )


async def _form_data(request: Request) -> FormData:
    return await request.form()


PostedForm = Annotated[FormData, Depends(_form_data)]


def _posted(form: FormData, name: str, limit: int = TEXT_MAX) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _files(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,12}", text) else None


@dataclass(frozen=True)
class Name:
    zh: str
    en: str


def _department_names(session: Session) -> tuple[dict[str, Name], dict[int, str]]:
    by_code: dict[str, Name] = {}
    by_id: dict[int, str] = {}
    for d in session.scalars(select(Department)):
        by_code[d.code] = Name(d.name_zh, d.name_en)
        by_id[d.id] = d.code
    return by_code, by_id


def _display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.username, User.display_name).where(User.username.in_(wanted))
    ).all()
    return {u: n for u, n in rows}


def _user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).all()
    return {i: n for i, n in rows}


def _subject_name(session: Session, principal: Principal | None, case: Case) -> Name:
    if case.subject_kind == "item":
        found = catalog_service.published_items(session=session, codes=[case.subject_code])
        item = found.get(case.subject_code)
        return Name(item.name_zh, item.name_en) if item else Name(case.subject_code, "")
    try:
        detail = bundle_service.get_bundle(
            session=session, principal=principal, code=case.subject_code
        )
    except NotFound:
        return Name(case.subject_code, "")
    return Name(detail.bundle.name_zh, detail.bundle.name_en)


# Messages of the engine and the validators, said plainly (and translatably) next to a field.
_PLAIN: tuple[tuple[str, str], ...] = (
    ("is required", "This field is required."),
    ("String should have at least 1 character", "This field is required."),
    ("Field required", "This field is required."),
    ("expected a whole number", "Enter a whole number."),
    ("is not one of", "Choose one of the listed values."),
    ("characters, got", "The text is too long."),
    ("is not a date", "Enter a date as YYYY-MM-DD."),
    ("date must be written as YYYY-MM-DD", "Enter a date as YYYY-MM-DD."),
    ("resident ID number", "This is not a valid resident ID number."),
    ("unified social credit code", "This is not a valid unified social credit code."),
    ("phone", "This is not a valid phone number."),
    ("division code", "Choose a township or village from the list."),
    ("money", "Enter an amount in whole fen (1 yuan = 100 fen)."),
    ("larger than", "The file is larger than 10 MB."),
    ("is not a", "Only PDF, PNG and JPEG files are accepted."),
    ("positive integer fen", "Enter an amount greater than zero."),
    ("required for a payment", "The application names no bank account to pay into."),
    ("not a direct predecessor", "Choose the step just before this one."),
    ("not a finished step of this case", "Choose the step just before this one."),
    ("no department", "Unknown department."),
)


def plain(message: str) -> str:
    text = message.removeprefix("Value error, ")
    if text == "required":
        return "This field is required."
    for needle, said in _PLAIN:
        if needle in text:
            return said
    return text


# ---------------------------------------------------------------- 1. the application page


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


def _widget(element: DataElement) -> str:
    if element.data_type == "enum" or element.allowed_values:
        return "select"
    return {
        "integer": "number",
        "money": "number",
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
            raise NotFound(f"no published item '{item}'")
        fields = [
            _spec(elements.get(f.element), f.element, f.label_zh, f.label_en, f.required)
            for f in content.form
        ]
        materials = [
            MaterialSpec(
                m.code, m.name_zh, m.name_en, m.necessity.value, m.source.value == "applicant"
            )
            for m in content.materials
        ]
        return Subject(
            "item",
            item,
            Name(content.name_zh, content.name_en),
            _unique(fields),
            materials,
            {},
            content.time_limit.legal,
            content.time_limit.promised,
            elements,
        )
    detail = bundle_service.get_bundle(session=session, principal=principal, code=bundle)
    if detail.status != "published":
        raise NotFound(f"bundle '{bundle}' is not published")
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
            f.prefilled_from,
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
    if spec.data_type in {"integer", "money"}:
        return int(text) if re.fullmatch(r"-?\d{1,15}", text) else text
    if spec.data_type == "boolean":
        return {"true": True, "false": False}.get(text, text)
    return text


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
        return None, (
            "The file is larger than 10 MB."
            if "larger" in exc.message
            else "Only PDF, PNG and JPEG files are accepted."
        )
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
) -> dict[str, Any]:
    departments, _ = _department_names(session)
    return {
        "subject": subject,
        "form": form,
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
    item: Annotated[str, Query(max_length=40)] = "",
    bundle: Annotated[str, Query(max_length=40)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    answered: Annotated[str, Query(max_length=2)] = "",
) -> HTMLResponse:
    item, bundle = item.strip(), bundle.strip()
    if not item and not bundle:
        rows, total = catalog_service.search_items(
            session=session,
            principal=principal,
            flt=ItemFilter(text=q.strip(), status="published", limit=SEARCH_LIMIT),
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
            "bundles": bundles,
            "departments": departments,
        }
        return _page(request, "cases/apply_choose.html", context)
    answers = _answers_from(request.query_params.multi_items())
    if bundle and not item:
        detail = bundle_service.get_bundle(session=session, principal=principal, code=bundle)
        if detail.status != "published":
            raise NotFound(f"bundle '{bundle}' is not published")
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


def _check_form(subject: Subject, values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """The same checks as the engine's, all at once, so every field shows what is wrong."""
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
    errors: list[FieldError], field_errors: dict[str, list[str]], general: list[str]
) -> None:
    for e in errors:
        loc = e.loc.removeprefix("body.")
        if loc.startswith(("form.", "applicant.", "material.")):
            field_errors.setdefault(loc, []).append(plain(e.message))
        else:
            general.append(plain(e.message))


def _see_other(session: Session, url: str) -> RedirectResponse:
    """Commit, then redirect. The request's own commit (``db_session``) runs only after the
    response has been sent, so a browser that follows the redirect at once could otherwise
    read the state from before the action."""
    session.commit()
    return RedirectResponse(url, status_code=303)


def _after_submit(session: Session, principal: Principal | None, number: str) -> RedirectResponse:
    if principal is not None:
        try:
            service.get_case_row(session=session, principal=principal, number=number)
        except NotFound:
            pass
        else:
            return _see_other(session, f"/cases/{quote(number)}?submitted=1")
    return _see_other(session, "/status?" + urlencode({"number": number, "submitted": "1"}))


@router.post("/apply", response_class=HTMLResponse)
def apply_submit(
    request: Request, session: DbSession, principal: CurrentPrincipal, posted: PostedForm
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    item, bundle = _posted(posted, "item", 40).strip(), _posted(posted, "bundle", 40).strip()
    if bool(item) == bool(bundle):
        raise ValidationFailed("choose an item or a bundle to apply for")
    answers = _answers_from(posted.multi_items())
    subject = _subject(session, principal, item=item, bundle=bundle, answers=answers)
    form = ApplyForm.from_posted(posted, subject, principal)
    field_errors: dict[str, list[str]] = {}
    general: list[str] = []

    def again(status: int, conflict: str = "") -> HTMLResponse:
        context = _apply_context(
            session,
            principal,
            subject,
            form,
            field_errors=field_errors,
            general_errors=general,
            conflict=conflict,
        )
        return _page(request, "cases/apply_form.html", context, status_code=status)

    # Files first: read and checked before anything is written.
    files: list[service.Attachment] = []
    file_values: dict[str, str] = {}
    wanted = [(m.name, m.code) for m in subject.materials]
    wanted += [(f.name, f.element) for f in subject.fields if f.widget == "file"]
    for name, purpose in wanted:
        for upload in _files(posted, name):
            read, problem = _read_file(upload, purpose)
            if read is None:
                field_errors.setdefault(name, []).append(problem)
            else:
                files.append(read)
                if name.startswith("form."):
                    file_values[purpose] = read.sha256
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
            case = service.submit_application(
                session=session, principal=principal, application=application
            )
        except Conflict as exc:
            session.rollback()
            return again(409, conflict=exc.message)
        return _after_submit(session, principal, case.number)
    _check_form(subject, values, field_errors)
    if field_errors or general or application is None:
        return again(422)
    try:
        case = service.submit_application(
            session=session, principal=principal, application=application, attachments=files
        )
        number = case.number
    except ValidationFailed as exc:
        session.rollback()
        _place_application_errors(exc.errors, field_errors, general)
        if not exc.errors:
            general.append(exc.message)
        return again(422)
    except Conflict as exc:
        session.rollback()
        existing = repository.case_by_key(session, form.idempotency_key)
        if existing is not None:
            return _after_submit(session, principal, existing.number)
        return again(409, conflict=exc.message)
    return _after_submit(session, principal, number)


# ---------------------------------------------------------------- 2. the applicant's status


@router.get("/status", response_class=HTMLResponse)
def status_page(
    request: Request,
    number: Annotated[str, Query(max_length=40)] = "",
    submitted: Annotated[str, Query(max_length=2)] = "",
) -> HTMLResponse:
    context = {"number": number.strip(), "submitted": submitted == "1", "result": None}
    return _page(request, "cases/status.html", context)


@dataclass(frozen=True)
class PublicStep:
    name: Name
    kind: str
    status: str
    department: str | None
    due: Due | None
    finished: str


@router.post("/status", response_class=HTMLResponse)
def status_lookup(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
    lookups: Annotated[StatusLookups, Depends(status_lookups)],
) -> HTMLResponse:
    """The case number and the applicant's ID number; a wrong pair says only "not found", and
    too many lookups are refused for a while."""
    check_csrf(request, _posted(posted, "csrf_token"))
    number = _posted(posted, "number", 40).strip()
    id_no = _posted(posted, "id_no", 40).strip()
    context: dict[str, Any] = {"number": number, "submitted": False, "result": None}
    if not number or not id_no:
        context["missing"] = True
        return _page(request, "cases/status.html", context, status_code=422)
    try:
        lookups.before(client_address(request), number)
    except TooManyRequests as exc:
        context["wait_minutes"] = exc.data["minutes"]
        page = _page(request, "cases/status.html", context, status_code=429)
        page.headers["Retry-After"] = str(exc.data["retry_after"])
        return page
    try:
        case = service.public_status(session=session, number=number, id_no=id_no)
    except NotFound:
        lookups.failed(number)
        context["not_found"] = True
        return _page(request, "cases/status.html", context, status_code=404)
    out = views.case_out(session, case)
    today = _today()
    closed = case.status not in (CaseStatus.IN_PROGRESS.value, CaseStatus.SUSPENDED.value)
    departments, _ = _department_names(session)
    steps = [
        PublicStep(
            Name(s.name_zh, s.name_en),
            s.kind,
            s.status,
            s.responsible_department,
            due_of(
                s.due_date,
                s.due_provisional,
                s.calendar_version,
                today,
                closed=closed or s.status != "ready",
            ),
            local_time(s.acted_at),
        )
        for s in out.steps
    ]
    suspension = repository.open_suspension(session, case.id)
    context["result"] = {
        "case": out,
        "subject": _subject_name(session, principal, case),
        "steps": steps,
        "departments": departments,
        "legal_due": _case_due(case.legal_due, today, closed),
        "promised_due": _case_due(case.promised_due, today, closed),
        "suspension": suspension,
    }
    return _page(request, "cases/status.html", context)


# ---------------------------------------------------------------- 3. the workbench


@dataclass(frozen=True)
class WorkRow:
    step: StepOut
    applicant: str
    subject: str
    due: Due | None
    delegated_to: str | None


@router.get("/workbench", response_class=HTMLResponse)
def workbench_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    kind: Annotated[str, Query(max_length=32)] = "",
    due: Annotated[str, Query(max_length=16)] = "",
    department: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    who = require_principal(principal)
    kind = kind if kind in STEP_LABELS else ""
    due = due if due in {"overdue", "soon"} else ""
    rows = service.workbench(session=session, principal=who, kind=kind, limit=WORKBENCH_LIMIT)
    steps = views.workbench_out(session, rows)
    numbers = {s.case_number for s in steps}
    cases = (
        {
            n: (a, c)
            for n, a, c in session.execute(
                select(Case.number, Case.applicant_name, Case.subject_code).where(
                    Case.number.in_(numbers)
                )
            ).all()
        }
        if numbers
        else {}
    )
    departments, by_id = _department_names(session)
    delegated: dict[int, str] = {}
    if steps:
        for d in session.scalars(
            select(Delegation)
            .where(Delegation.step_id.in_([s.id for s in steps]))
            .order_by(Delegation.id)
        ):
            delegated[d.step_id] = by_id.get(d.to_department_id, "")
    today = _today()
    work = [
        WorkRow(
            s,
            cases.get(s.case_number, ("", ""))[0],
            cases.get(s.case_number, ("", ""))[1],
            due_of(s.due_date, s.due_provisional, s.calendar_version, today),
            delegated.get(s.id),
        )
        for s in steps
    ]
    present = sorted({w.step.responsible_department or "" for w in work} - {""})
    if department:
        work = [w for w in work if w.step.responsible_department == department]
    if due == "overdue":
        work = [w for w in work if w.due is not None and w.due.state == "overdue"]
    elif due == "soon":
        work = [
            w
            for w in work
            if w.due is not None and (w.due.state in {"overdue", "today"} or w.due.workdays <= 2)
        ]
    context = {
        "rows": work,
        "filters": {"kind": kind, "due": due, "department": department},
        "present_departments": present,
        "departments": departments,
        "overdue_count": sum(1 for w in work if w.due is not None and w.due.state == "overdue"),
        "calendar": workdays.calendar_version(),
    }
    return _page(request, "cases/workbench.html", context)


# ---------------------------------------------------------------- 4. the case page


@dataclass(frozen=True)
class Fact:
    label: str  # message id
    value: str
    kind: str = "text"  # text | msgid | msgids ("|"-separated) | code | dept | step


@dataclass
class EventView:
    event: EventOut
    actor: str
    label: str
    step: StepOut | None
    facts: list[Fact]
    responsible: str | None = None
    acting: str | None = None


@dataclass
class StepView:
    out: StepOut
    due: Due | None
    actions: list[str]
    back_to: list[StepOut]
    delegated_to: str | None
    acted_by: str
    payment_direction: str = ""  # pay_out | collect, for a payment step


@dataclass
class Problem:
    """What went wrong with an action, shown on top and next to the form it came from."""

    status: int
    message: str
    form: str
    step_id: int | None = None
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return {409: "conflict", 403: "denied"}.get(self.status, "invalid")


def _may(session: Session, who: Principal, step: CaseStep, roles: tuple[Role, ...]) -> bool:
    """Whether the engine would let this person act on the step with one of these roles."""
    return service.may_act(session, who, step, roles)


def _step_actions(
    session: Session, who: Principal, case: Case, step: CaseStep, has_back: bool
) -> list[str]:
    if case.status != CaseStatus.IN_PROGRESS.value or step.status != StepStatus.READY.value:
        return []
    roles = service.ROLES_BY_KIND.get(step.kind) or (Role.OFFICER,)
    actions: list[str] = []
    may_act = _may(session, who, step, roles)
    if step.kind not in service.SPECIAL_KINDS and may_act:
        actions.append("complete")
    if step.kind == "payment" and _may(session, who, step, (Role.OFFICER,)):
        actions.append("pay")
    if step.kind == "e_signature":
        actions.append("sign")
    if step.kind == "collective_decision":
        actions.append("decide")
    if step.kind != "automatic_check" and may_act:
        if has_back:
            actions.append("return")
        actions.append("correction")
    if step.kind != "automatic_check" and _may(
        session, who, step, (Role.OFFICER, Role.TOWNSHIP_WORKER)
    ):
        actions.append("delegate")
    return actions


def _outcome_facts(outcome: Mapping[str, Any], uploads: dict[int, Upload]) -> list[Fact]:
    facts: list[Fact] = []
    for key, value in outcome.items():
        label = FACT_LABELS.get(key, key)
        if key == "decision" and value in DECISION_LABELS:
            facts.append(Fact(label, DECISION_LABELS[value], "msgid"))
        elif key == "direction" and value in DIRECTION_LABELS:
            facts.append(Fact(label, DIRECTION_LABELS[value], "msgid"))
        elif key == "amount_fen" and isinstance(value, int):
            facts.append(Fact(label, format_yuan(value)))
        elif key == "minutes_upload" and isinstance(value, int) and value in uploads:
            up = uploads[value]
            facts.append(Fact(label, f"{up.filename} · sha256 {up.sha256}", "code"))
        elif key in {"document_sha256", "sha256", "payment", "rule", "version"}:
            facts.append(Fact(label, str(value), "code"))
        elif key == "photos" and isinstance(value, list):
            facts.append(Fact(label, ", ".join(str(v) for v in value), "code"))
        elif key == "parties" and isinstance(value, list):
            names = [PARTY_LABELS.get(str(v), str(v)) for v in value]
            facts.append(Fact(label, "|".join(names), "msgids"))
        elif isinstance(value, bool):
            facts.append(Fact(label, "Yes" if value else "No", "msgid"))
        elif isinstance(value, dict):
            inner = "; ".join(f"{k}: {v}" for k, v in value.items())
            facts.append(Fact(label, inner, "code"))
        elif value not in (None, ""):
            facts.append(Fact(label, str(value)))
    return facts


def _event_view(
    e: EventOut,
    steps: dict[int, StepOut],
    by_id: dict[int, str],
    people: dict[str, str],
    uploads: dict[int, Upload],
    levels: dict[str, Name],
) -> EventView:
    data = e.data
    actor = ""
    if e.actor:
        display = people.get(e.actor, "")
        actor = f"{display} ({e.actor})" if display and display != e.actor else e.actor
    view = EventView(
        event=e,
        actor=actor,
        label=EVENT_LABELS.get(e.action, e.action),
        step=steps.get(e.step_id) if e.step_id else None,
        facts=[],
    )

    def dept(key: str) -> str | None:
        value = data.get(key)
        return by_id.get(value) if isinstance(value, int) else None

    match e.action:
        case "submitted":
            channel = str(data.get("channel", ""))
            view.facts = [
                Fact("Channel", CHANNEL_LABELS.get(channel, channel), "msgid"),
                Fact("Steps", str(data.get("steps", ""))),
                Fact("Legal due date", str(data.get("legal_due", ""))),
                Fact("Calendar", str(data.get("calendar", ""))),
            ]
            if data.get("provisional"):
                view.facts.append(Fact("Provisional", "Yes", "msgid"))
        case "step_done" | "automatic_check" | "collective_decision" | "payment":
            outcome = data.get("outcome")
            view.facts = _outcome_facts(outcome if isinstance(outcome, dict) else {}, uploads)
            acting = dept("acting_department")
            if acting:
                view.facts.append(Fact("Acting unit", acting, "dept"))
        case "duty_shift":
            view.responsible = dept("responsible_department")
            view.acting = dept("acting_department")
        case "delegated":
            target = dept("to_department")
            view.facts = [Fact("Delegated to", target or "", "dept")]
            view.facts.append(Fact("Reason", str(data.get("reason", ""))))
        case "returned":
            target = data.get("to_step")
            back = steps.get(target) if isinstance(target, int) else None
            if back is not None:
                view.facts.append(Fact("Returned to", str(back.id), "step"))
            view.facts.append(Fact("Reason", str(data.get("reason", ""))))
        case "suspended":
            reason = str(data.get("reason", ""))
            view.facts = [
                Fact("Reason", SUSPENSION_LABELS.get(reason, reason), "msgid"),
                Fact("Note", str(data.get("note", ""))),
            ]
        case "resumed":
            view.facts = [Fact("Working days suspended", str(data.get("suspended_workdays", 0)))]
            if data.get("note"):
                view.facts.append(Fact("Note", str(data["note"])))
        case "vote":
            choice = str(data.get("choice", ""))
            view.facts = [Fact("Vote", VOTE_LABELS.get(choice, choice), "msgid")]
        case "signed":
            party = str(data.get("party", ""))
            view.facts = [
                Fact("Party", PARTY_LABELS.get(party, party), "msgid"),
                Fact("Document SHA-256", str(data.get("document_sha256", "")), "code"),
            ]
        case "uploaded":
            view.facts = [
                Fact("Purpose", str(data.get("purpose", ""))),
                Fact("SHA-256", str(data.get("sha256", "")), "code"),
                Fact("Size (bytes)", str(data.get("size", ""))),
            ]
        case "escalated":
            level = str(data.get("level", ""))
            name = levels.get(level)
            view.facts = [
                Fact("Level", f"{name.zh} / {name.en}" if name else level),
                Fact("Working days used", str(data.get("used_workdays", ""))),
                Fact("Time limit (working days)", str(data.get("limit", ""))),
            ]
        case "rejected":
            if data.get("reason"):
                view.facts = [Fact("Reason", str(data["reason"]))]
        case _:
            view.facts = [Fact(FACT_LABELS.get(k, k), str(v)) for k, v in data.items()]
    view.facts = [f for f in view.facts if f.value]
    return view


def _case_context(
    session: Session, who: Principal, case: Case, *, problem: Problem | None = None
) -> dict[str, Any]:
    out = views.case_out(session, case)
    today = _today()
    closed = case.status not in (CaseStatus.IN_PROGRESS.value, CaseStatus.SUSPENDED.value)
    departments, by_id = _department_names(session)
    rows = {s.id: s for s in repository.steps_of(session, case.id)}
    by_step = {s.id: s for s in out.steps}
    delegated: dict[int, str] = {}
    for d in session.scalars(
        select(Delegation).where(Delegation.step_id.in_(list(rows))).order_by(Delegation.id)
    ):
        delegated[d.step_id] = by_id.get(d.to_department_id, "")
    people = _display_names(
        session, [e.actor for e in out.events] + [s.acted_by for s in out.steps]
    )
    steps: list[StepView] = []
    for s in out.steps:
        row = rows[s.id]
        back = []
        if s.status == "ready":
            back = [
                by_step[p]
                for p in repository.predecessors(session, s.id)
                if p in by_step and by_step[p].status == "done"
            ]
        actor = people.get(s.acted_by or "", "") if s.acted_by else ""
        steps.append(
            StepView(
                out=s,
                due=due_of(
                    s.due_date,
                    s.due_provisional,
                    s.calendar_version,
                    today,
                    closed=closed or s.status != "ready",
                ),
                actions=_step_actions(session, who, case, row, bool(back)),
                back_to=back,
                delegated_to=delegated.get(s.id),
                acted_by=f"{actor} ({s.acted_by})" if actor else (s.acted_by or ""),
                payment_direction=(
                    service.payment_direction(session, row) if s.kind == "payment" else ""
                ),
            )
        )
    uploads = list(
        session.scalars(select(Upload).where(Upload.case_id == case.id).order_by(Upload.id))
    )
    uploaders = _user_names(session, [u.uploaded_by_id for u in uploads])
    levels = {
        lv.code: Name(lv.name_zh, lv.name_en) for lv in session.scalars(select(EscalationLevel))
    }
    upload_by_id = {u.id: u for u in uploads}
    events = [
        _event_view(e, by_step, by_id, people, upload_by_id, levels) for e in reversed(out.events)
    ]
    may_resume = case.status == CaseStatus.SUSPENDED.value and who.has_role(
        Role.OFFICER, Role.FRONT_DESK, Role.TOWNSHIP_WORKER
    )
    return {
        "case": out,
        "row": case,
        "subject": _subject_name(session, who, case),
        "applicant_place": session.get(Jurisdiction, case.applicant_jurisdiction_id),
        "steps": steps,
        "events": events,
        "uploads": uploads,
        "uploaders": uploaders,
        "departments": departments,
        "department_rows": sorted(departments.items(), key=lambda kv: kv[0]),
        "element_names": {
            e.code: Name(e.name_zh, e.name_en)
            for e in catalog_service.list_elements(session=session)
            if e.code in out.form
        },
        "legal_due": _case_due(case.legal_due, today, closed),
        "promised_due": _case_due(case.promised_due, today, closed),
        "suspension": repository.open_suspension(session, case.id),
        "may_resume": may_resume,
        "may_upload": who.has_role(*STAFF),
        "problem": problem,
        "shifts": sum(1 for s in out.steps if s.duty_shift),
        "any_provisional": any(v.due is not None and v.due.provisional for v in steps),
    }


NOTICES = {
    "submitted": "The application was submitted. This is its case page.",
    "complete": "The step was completed.",
    "return": "The case was returned to the previous step.",
    "correction": "Corrections were requested: the legal clock is stopped until the case resumes.",
    "delegate": "The step was delegated.",
    "pay": "The payment was ordered; it is sent once, after this page was saved.",
    "resume": "The case resumed: the due dates moved by the working days it was suspended.",
    "upload": "The file was uploaded.",
}


@router.get("/cases/{number}", response_class=HTMLResponse)
def case_page(
    number: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    done: Annotated[str, Query(max_length=20)] = "",
    submitted: Annotated[str, Query(max_length=2)] = "",
) -> HTMLResponse:
    who = require_principal(principal)
    case = service.get_case_row(session=session, principal=who, number=number)
    context = _case_context(session, who, case)
    context["notice"] = NOTICES.get("submitted" if submitted == "1" else done, "")
    return _page(request, "cases/case.html", context)


def _case_and_step(
    session: Session, who: Principal, number: str, step_id: int
) -> tuple[Case, CaseStep]:
    case = service.get_case_row(session=session, principal=who, number=number)
    step = repository.step(session, step_id)
    if step is None or step.case_id != case.id:
        raise NotFound(f"case {number} has no step {step_id}")
    return case, step


def _check_lock(step: CaseStep, posted: FormData) -> None:
    if _int_or_none(_posted(posted, "lock_version", 20)) != step.lock_version:
        raise Conflict(
            f"step {step.id} was changed by someone else after you opened the page; reload it"
        )


_FIELD_OF_LOC = {
    "outcome.time": "time",
    "outcome.place": "place",
    "outcome.notes": "notes",
    "outcome.decision": "decision",
    "to_step_id": "to_step_id",
    "to_department": "to_department",
    "amount_fen": "amount",
    "file": "file",
}


def _run(
    request: Request,
    session: Session,
    who: Principal,
    number: str,
    *,
    form: str,
    step_id: int | None,
    values: dict[str, str],
    action: Callable[[], None],
    success: str,
    template: str = "cases/case.html",
    context_for: Callable[[Case, Problem], dict[str, Any]] | None = None,
) -> Response:
    """Run one action; a refusal re-draws the page with the reason next to the form."""
    try:
        action()
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        session.rollback()
        problem = Problem(exc.status, exc.message, form, step_id, values=values)
        for e in exc.errors:
            name = _FIELD_OF_LOC.get(e.loc, e.loc)
            problem.field_errors.setdefault(name, []).append(plain(e.message))
        case = service.get_case_row(session=session, principal=who, number=number)
        context = (
            context_for(case, problem)
            if context_for
            else _case_context(session, who, case, problem=problem)
        )
        return _page(request, template, context, status_code=exc.status)
    return _see_other(session, success)


def _case_url(number: str, done: str, step_id: int | None = None) -> str:
    anchor = f"#step-{step_id}" if step_id else ""
    return f"/cases/{quote(number)}?done={done}{anchor}"


@router.post("/cases/{number}/steps/{step_id}/complete", response_class=HTMLResponse)
def complete_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    values = {
        k: _posted(posted, k).strip()
        for k in ("time", "place", "notes", "decision", "reason", "opinion")
    }
    photos = _files(posted, "photos")

    def act() -> None:
        _check_lock(step, posted)
        outcome: dict[str, Any] = {}
        errors: list[FieldError] = []
        if step.kind == "onsite_verification":
            outcome.update(
                {
                    "time": values["time"].replace("T", " "),
                    "place": values["place"],
                    "notes": values["notes"],
                }
            )
            hashes = []
            for upload in photos:
                read, message = _read_file(upload, "photo")
                if read is None:
                    errors.append(FieldError("photos", message))
                    continue
                row = service.upload(
                    session=session,
                    principal=who,
                    number=number,
                    attachment=read,
                    step_id=step.id,
                )
                hashes.append(row.sha256)
            if hashes:
                outcome["photos"] = hashes
        elif step.kind == "decision":
            if values["decision"] not in DECISION_LABELS:
                errors.append(FieldError("decision", "Choose approve or reject."))
            elif values["decision"] == "reject" and len(values["reason"]) < 2:
                errors.append(FieldError("reason", "Give the reason for the rejection."))
            outcome["decision"] = values["decision"]
            if values["reason"]:
                outcome["reason"] = values["reason"]
        elif values["opinion"]:
            outcome["opinion"] = values["opinion"]
        if errors:
            raise ValidationFailed("the outcome is incomplete; nothing was done", errors=errors)
        service.complete_step(
            session=session,
            principal=who,
            step_id=step.id,
            lock_version=step.lock_version,
            outcome=outcome,
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="complete",
        step_id=step.id,
        values=values,
        action=act,
        success=_case_url(case.number, "complete", step.id),
    )


@router.post("/cases/{number}/steps/{step_id}/return", response_class=HTMLResponse)
def return_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    values = {
        "reason": _posted(posted, "reason").strip(),
        "to_step_id": _posted(posted, "to_step_id"),
    }

    def act() -> None:
        _check_lock(step, posted)
        if len(values["reason"]) < 2:
            raise ValidationFailed(
                "give a reason", errors=[FieldError("reason", "Give the reason for the return.")]
            )
        service.return_step(
            session=session,
            principal=who,
            step_id=step.id,
            lock_version=step.lock_version,
            to_step_id=_int_or_none(values["to_step_id"]) or 0,
            reason=values["reason"],
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="return",
        step_id=step.id,
        values=values,
        action=act,
        success=_case_url(case.number, "return"),
    )


@router.post("/cases/{number}/steps/{step_id}/correction", response_class=HTMLResponse)
def correction_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    values = {"reason": _posted(posted, "reason").strip(), "kind": _posted(posted, "kind", 20)}

    def act() -> None:
        _check_lock(step, posted)
        if len(values["reason"]) < 2:
            raise ValidationFailed(
                "say what is missing",
                errors=[FieldError("reason", "Say what the applicant must correct or add.")],
            )
        kind = values["kind"] if values["kind"] in SUSPENSION_LABELS else "correction"
        service.request_correction(
            session=session, principal=who, step_id=step.id, reason=values["reason"], kind=kind
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="correction",
        step_id=step.id,
        values=values,
        action=act,
        success=_case_url(case.number, "correction"),
    )


@router.post("/cases/{number}/steps/{step_id}/delegate", response_class=HTMLResponse)
def delegate_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    values = {
        "reason": _posted(posted, "reason").strip(),
        "to_department": _posted(posted, "to_department", 40).strip(),
    }

    def act() -> None:
        _check_lock(step, posted)
        errors = []
        if not values["to_department"]:
            errors.append(FieldError("to_department", "Choose a department."))
        if len(values["reason"]) < 2:
            errors.append(FieldError("reason", "Give the reason for the delegation."))
        if errors:
            raise ValidationFailed("the delegation is incomplete", errors=errors)
        service.delegate(
            session=session,
            principal=who,
            step_id=step.id,
            to_department=values["to_department"],
            reason=values["reason"],
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="delegate",
        step_id=step.id,
        values=values,
        action=act,
        success=_case_url(case.number, "delegate", step.id),
    )


def _fen(text: str) -> int | None:
    """Yuan as typed (``1500`` or ``1,500.50``) in fen; None when it is not an amount."""
    cleaned = text.replace(",", "").replace("¥", "").strip()
    if not re.fullmatch(r"\d{1,13}(\.\d{1,2})?", cleaned):
        return None
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern already rules it out
        return None


@router.post("/cases/{number}/steps/{step_id}/pay", response_class=HTMLResponse)
def pay_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    values = {"amount": _posted(posted, "amount", 30).strip()}

    def act() -> None:
        _check_lock(step, posted)
        amount: int | None = None
        if values["amount"]:
            amount = _fen(values["amount"])
            if amount is None:
                raise ValidationFailed(
                    "not an amount",
                    errors=[FieldError("amount", "Enter an amount in yuan, e.g. 1500 or 1500.50.")],
                )
        service.pay(
            session=session,
            principal=who,
            step_id=step.id,
            lock_version=step.lock_version,
            amount_fen=amount,
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="pay",
        step_id=step.id,
        values=values,
        action=act,
        success=_case_url(case.number, "pay", step.id),
    )


@router.post("/cases/{number}/resume", response_class=HTMLResponse)
def resume_action(
    number: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case = service.get_case_row(session=session, principal=who, number=number)
    values = {"note": _posted(posted, "note").strip()}

    def act() -> None:
        if _int_or_none(_posted(posted, "lock_version", 20)) != case.lock_version:
            raise Conflict(f"case {case.number} was changed after you opened the page; reload it")
        service.resume(session=session, principal=who, number=case.number, note=values["note"])

    return _run(
        request,
        session,
        who,
        case.number,
        form="resume",
        step_id=None,
        values=values,
        action=act,
        success=_case_url(case.number, "resume"),
    )


@router.post("/cases/{number}/uploads", response_class=HTMLResponse)
def upload_action(
    number: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case = service.get_case_row(session=session, principal=who, number=number)
    values = {"purpose": _posted(posted, "purpose", 60).strip()}
    chosen = _files(posted, "file")

    def act() -> None:
        errors = []
        if not values["purpose"]:
            errors.append(FieldError("purpose", "Say what the file is."))
        if not chosen:
            errors.append(FieldError("file", "Choose a file."))
        if errors:
            raise ValidationFailed("nothing was uploaded", errors=errors)
        read, message = _read_file(chosen[0], values["purpose"])
        if read is None:
            raise ValidationFailed("nothing was uploaded", errors=[FieldError("file", message)])
        service.upload(
            session=session,
            principal=who,
            number=case.number,
            attachment=read,
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="upload",
        step_id=None,
        values=values,
        action=act,
        success=_case_url(case.number, "upload") + "#uploads",
    )


# ---------------------------------------------------------------- 5. the committee's page


@dataclass(frozen=True)
class VoteRow:
    name: str
    username: str
    choice: str
    at: str


def _decision_context(
    session: Session, who: Principal, case: Case, step: CaseStep, problem: Problem | None
) -> dict[str, Any]:
    if step.kind != "collective_decision":
        raise NotFound(f"step {step.id} is not a collective decision")
    dept_id = step.responsible_department_id or 0
    members = session.execute(
        select(User.username, User.display_name)
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == Role.COMMITTEE_MEMBER.value, RoleGrant.department_id == dept_id)
        .distinct()
        .order_by(User.username)
    ).all()
    size = service.committee_size(session, dept_id)
    needed = service.quorum(size)
    cast = repository.votes(session, step.id)
    names = _user_names(session, [v.user_id for v in cast])
    usernames = (
        {
            i: u
            for i, u in session.execute(
                select(User.id, User.username).where(User.id.in_([v.user_id for v in cast]))
            ).all()
        }
        if cast
        else {}
    )
    votes = [
        VoteRow(names.get(v.user_id, ""), usernames.get(v.user_id, ""), v.choice, local_time(v.at))
        for v in cast
    ]
    minutes = list(
        session.scalars(
            select(Upload)
            .where(Upload.step_id == step.id, Upload.purpose == "minutes")
            .order_by(Upload.id)
        )
    )
    is_open = case.status == CaseStatus.IN_PROGRESS.value and step.status == "ready"
    is_member = _may(session, who, step, (Role.COMMITTEE_MEMBER,))
    mine = next((v for v in cast if v.user_id == who.user_id), None)
    blockers: list[str] = []
    if len(cast) < needed:
        blockers.append("quorum")
    if not minutes:
        blockers.append("minutes")
    departments, by_id = _department_names(session)
    out = views.step_out(step, case.number, views._names(session))
    return {
        "case": case,
        "step": out,
        "subject": _subject_name(session, who, case),
        "department": by_id.get(dept_id, ""),
        "departments": departments,
        "members": members,
        "size": size,
        "needed": needed,
        "votes": votes,
        "counts": {c: sum(1 for v in cast if v.choice == c) for c in VOTE_LABELS},
        "minutes": minutes,
        "is_open": is_open,
        "may_vote": is_open and is_member and mine is None,
        "my_vote": mine.choice if mine else "",
        "may_upload": is_open and (is_member or _may(session, who, step, (Role.OFFICER,))),
        "may_close": is_open and is_member,
        "blockers": blockers,
        "due": due_of(
            out.due_date,
            out.due_provisional,
            out.calendar_version,
            _today(),
            closed=not is_open,
        ),
        "problem": problem,
    }


def _decision_url(number: str, step_id: int, done: str) -> str:
    return f"/cases/{quote(number)}/steps/{step_id}/decision?done={done}"


@router.get("/cases/{number}/steps/{step_id}/decision", response_class=HTMLResponse)
def decision_page(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    context = _decision_context(session, who, case, step, None)
    context["notice"] = done
    return _page(request, "cases/decision.html", context)


@router.post("/cases/{number}/steps/{step_id}/vote", response_class=HTMLResponse)
def vote_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    values = {"choice": _posted(posted, "choice", 10)}

    def act() -> None:
        _check_lock(step, posted)
        if values["choice"] not in VOTE_LABELS:
            raise ValidationFailed(
                "choose a vote", errors=[FieldError("choice", "Choose approve, reject or abstain.")]
            )
        service.vote(session=session, principal=who, step_id=step.id, choice=values["choice"])

    return _run(
        request,
        session,
        who,
        case.number,
        form="vote",
        step_id=step.id,
        values=values,
        action=act,
        success=_decision_url(case.number, step.id, "vote"),
        template="cases/decision.html",
        context_for=lambda c, p: _decision_context(session, who, c, step, p),
    )


@router.post("/cases/{number}/steps/{step_id}/minutes", response_class=HTMLResponse)
def minutes_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    chosen = _files(posted, "file")

    def act() -> None:
        _check_lock(step, posted)
        if step.kind != "collective_decision":
            raise NotFound(f"step {step.id} is not a collective decision")
        if not chosen:
            raise ValidationFailed(
                "no file", errors=[FieldError("file", "Choose the minutes (a PDF file).")]
            )
        read, message = _read_file(chosen[0], "minutes")
        if read is None or read.content_type != "application/pdf":
            raise ValidationFailed(
                "not a PDF",
                errors=[FieldError("file", message or "The minutes must be a PDF file.")],
            )
        if not _may(session, who, step, (Role.COMMITTEE_MEMBER, Role.OFFICER)):
            raise PermissionDenied("only the committee attaches its minutes")
        service.upload(
            session=session,
            principal=who,
            number=case.number,
            attachment=read,
            step_id=step.id,
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="minutes",
        step_id=step.id,
        values={},
        action=act,
        success=_decision_url(case.number, step.id, "minutes"),
        template="cases/decision.html",
        context_for=lambda c, p: _decision_context(session, who, c, step, p),
    )


@router.post("/cases/{number}/steps/{step_id}/close", response_class=HTMLResponse)
def close_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)

    def act() -> None:
        _check_lock(step, posted)
        service.close_decision(
            session=session, principal=who, step_id=step.id, lock_version=step.lock_version
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="close",
        step_id=step.id,
        values={},
        action=act,
        success=_decision_url(case.number, step.id, "closed"),
        template="cases/decision.html",
        context_for=lambda c, p: _decision_context(session, who, c, step, p),
    )


# ---------------------------------------------------------------- 6. the signing page


@dataclass(frozen=True)
class SignatureRow:
    party: str
    name: str
    username: str
    at: str
    sha256: str
    matches: bool


def _sign_context(
    session: Session, who: Principal, case: Case, step: CaseStep, problem: Problem | None
) -> dict[str, Any]:
    if step.kind != "e_signature":
        raise NotFound(f"step {step.id} is not a signing step")
    text = service.agreement_text(case, step)
    digest = hashlib.sha256(text.encode()).hexdigest()
    signed = list(
        session.scalars(
            select(Signature).where(Signature.step_id == step.id).order_by(Signature.id)
        )
    )
    users = (
        {
            u.id: u
            for u in session.scalars(select(User).where(User.id.in_([s.user_id for s in signed])))
        }
        if signed
        else {}
    )
    rows = [
        SignatureRow(
            s.party,
            users[s.user_id].display_name if s.user_id in users else "",
            users[s.user_id].username if s.user_id in users else "",
            local_time(s.at),
            s.document_sha256,
            s.document_sha256 == digest,
        )
        for s in signed
    ]
    is_open = case.status == CaseStatus.IN_PROGRESS.value and step.status == "ready"
    parties_done = {s.party for s in signed}
    signed_by_me = any(s.user_id == who.user_id for s in signed)
    may: dict[str, bool] = {
        "applicant": is_open
        and "applicant" not in parties_done
        and not signed_by_me
        and _may(session, who, step, (Role.FRONT_DESK, Role.OFFICER)),
        "department": is_open
        and "department" not in parties_done
        and not signed_by_me
        and _may(session, who, step, (Role.OFFICER,)),
    }
    departments, by_id = _department_names(session)
    out = views.step_out(step, case.number, views._names(session))
    return {
        "case": case,
        "step": out,
        "subject": _subject_name(session, who, case),
        "text": text,
        "digest": digest,
        "signatures": rows,
        "parties_done": parties_done,
        "may": may,
        "signed_by_me": signed_by_me,
        "is_open": is_open,
        "departments": departments,
        "department": by_id.get(step.responsible_department_id or 0, ""),
        "problem": problem,
    }


@router.get("/cases/{number}/steps/{step_id}/sign", response_class=HTMLResponse)
def sign_page(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    done: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    context = _sign_context(session, who, case, step, None)
    context["notice"] = done
    return _page(request, "cases/sign.html", context)


@router.post("/cases/{number}/steps/{step_id}/sign", response_class=HTMLResponse)
def sign_action(
    number: str,
    step_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    values = {
        "party": _posted(posted, "party", 20),
        "identity_checked": _posted(posted, "identity_checked", 10),
        "document_sha256": _posted(posted, "document_sha256", 64),
    }

    def act() -> None:
        _check_lock(step, posted)
        party = values["party"]
        if party not in PARTY_LABELS:
            raise ValidationFailed(
                "choose a party", errors=[FieldError("party", "Choose who signs.")]
            )
        current = hashlib.sha256(service.agreement_text(case, step).encode()).hexdigest()
        if values["document_sha256"] != current:
            raise Conflict("the agreement changed after you opened the page; read it again")
        if party == "applicant" and values["identity_checked"] != "yes":
            raise ValidationFailed(
                "identity not checked",
                errors=[
                    FieldError(
                        "identity_checked",
                        "Confirm that you checked the applicant's identity document.",
                    )
                ],
            )
        service.sign(
            session=session,
            principal=who,
            step_id=step.id,
            party=party,
            lock_version=step.lock_version,
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form=f"sign-{values['party']}",
        step_id=step.id,
        values=values,
        action=act,
        success=f"/cases/{quote(case.number)}/steps/{step.id}/sign?done={values['party']}",
        template="cases/sign.html",
        context_for=lambda c, p: _sign_context(session, who, c, step, p),
    )
