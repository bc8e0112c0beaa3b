"""HTML pages of one-thing bundles (一件事): the list, the citizen's page (questions → one
personalised form and the materials to bring), the reduction ledger with its chart, and the
reform office's composer (pick items, set dependencies and questions, watch the ledger).

Labels of the domain's enumerations are English message ids here; templates translate them.
Every POST checks the session's CSRF token; every rule (who may compose, what is valid) is the
service's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.bundles import service
from tongban.bundles.compose import Ledger
from tongban.bundles.schemas import BundleIn
from tongban.catalog import service as catalog_service
from tongban.catalog.pages import NECESSITY_LABELS, STEP_LABELS, UNIT_LABELS
from tongban.catalog.repository import ItemFilter
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.org import service as org_service
from tongban.web.deps import (
    CurrentPrincipal,
    DbSession,
    PostedForm,
    attempt,
    check_csrf,
    pick_locale,
    see_other,
)
from tongban.web.i18n import translations
from tongban.web.templating import render

router = APIRouter(include_in_schema=False)

TEXT_MAX = 5000
BLANK_MEMBER_ROWS = 2
BLANK_QUESTION_ROWS = 1
# Stands in for a code or a name not typed yet, so that a new bundle previews at once.
PREVIEW_CODE = "preview"

KIND_LABELS = {"life_event": "Life event", "business_event": "Business event"}
STATUS_LABELS = {"draft": "Draft", "published": "Published", "retired": "Retired"}
RULE_LABELS = {
    "one_form": "One unified form",
    "same_element": "Same data element asked once",
    "member_output": "Produced by another member",
    "e_licence": "Electronic licence",
    "shared_data": "Shared data",
    "same_material": "Same material submitted once",
    "single_window_acceptance": "Single-window acceptance",
    "single_delivery": "Single delivery",
    "single_window_visit": "One trip to the single window",
    "parallel_review": "Parallel review",
}
REMOVED_LABELS = {
    "forms": "Forms folded into the unified form",
    "fields": "Form fields asked once",
    "materials": "Materials no longer submitted",
    "steps": "Steps replaced",
    "visits": "Trips saved",
    "days": "Working days saved",
}
LINT_LABELS = {
    "dependency_cycle": "Dependency cycle",
    "unknown_reference": "Unknown reference",
    "unpublished_member": "Member not published",
    "unsupplied_input": "Input nothing supplies",
    "no_responsible_unit": "Step with no responsible unit",
    "limit_above_legal": "Step longer than the legal limit",
    "promised_above_legal": "Promised limit above the legal one",
    "conflicting_field": "Conflicting field definitions",
    "composition": "Cannot be composed",
}
CONFLICT_LABELS = {"definition": "Conflicting definitions", "duplicate": "Defined twice"}
DAY_KIND_LABELS = {"legal": "Legal time limit", "promised": "Promised time limit"}
RESPONSIBLE_LABELS = {**UNIT_LABELS, "single_window": "Single window"}
FIELD_LABELS = {
    "code": "Code",
    "name_zh": "Chinese name",
    "name_en": "English name",
    "kind": "Kind",
    "lead_department": "Lead department",
    "partners": "Partner departments",
    "description": "Description",
    "members": "Members",
    "questions": "Questions",
}
LABELS: dict[str, dict[str, str]] = {
    "kind": KIND_LABELS,
    "status": STATUS_LABELS,
    "rule": RULE_LABELS,
    "removed": REMOVED_LABELS,
    "lint": LINT_LABELS,
    "conflict": CONFLICT_LABELS,
    "necessity": NECESSITY_LABELS,
    "step": STEP_LABELS,
    "day_kind": DAY_KIND_LABELS,
    "responsible": RESPONSIBLE_LABELS,
    "field": FIELD_LABELS,
}


def _page(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return render(request, template, {"labels": LABELS, **context}, status_code=status_code)


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get(
        "hx-history-restore-request"
    )


# ---------------------------------------------------------------- figures and names


@dataclass(frozen=True)
class FigureRow:
    """One figure of the ledger, before and after."""

    key: str
    label: str  # a message id
    before: int
    after: int

    @property
    def saved(self) -> int:
        return self.before - self.after

    @property
    def percent(self) -> int:
        return round(100 * self.saved / self.before) if self.before else 0


def figure_rows(ledger: Ledger) -> list[FigureRow]:
    b, a = ledger.before, ledger.after
    return [
        FigureRow("forms", "Forms", b.forms, a.forms),
        FigureRow("fields", "Fields to fill in", b.fields, a.fields),
        FigureRow("materials", "Materials", b.materials, a.materials),
        FigureRow("steps", "Steps", b.steps, a.steps),
        FigureRow("visits", "Visits", b.visits, a.visits),
        FigureRow("legal_days", "Legal working days", b.days["legal"], a.days["legal"]),
        FigureRow("promised_days", "Promised working days", b.days["promised"], a.days["promised"]),
    ]


def chart_data(request: Request, rows: list[FigureRow]) -> dict[str, Any]:
    """What the chart draws, with its words already translated (the JSON block of the page)."""
    gettext = translations(pick_locale(request)).gettext
    return {
        "title": gettext("Before and after the bundle"),
        "before": gettext("Before"),
        "after": gettext("After"),
        "categories": [gettext(r.label) for r in rows],
        "before_values": [r.before for r in rows],
        "after_values": [r.after for r in rows],
    }


@dataclass(frozen=True)
class Name:
    zh: str
    en: str


def _department_names(session: Session) -> dict[str, Name]:
    return {
        str(d["code"]): Name(str(d["name_zh"]), str(d["name_en"]))
        for d in org_service.department_rows(session=session)
    }


def _item_names(session: Session, codes: list[str]) -> dict[str, Name]:
    items = catalog_service.published_items(session=session, codes=sorted(set(codes)))
    return {code: Name(i.name_zh, i.name_en) for code, i in items.items()}


def _ledger_context(request: Request, session: Session, ledger: Ledger) -> dict[str, Any]:
    rows = figure_rows(ledger)
    return {
        "ledger": ledger,
        "figures": rows,
        "chart": chart_data(request, rows),
        "item_names": _item_names(session, ledger.members),
    }


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


# ---------------------------------------------------------------- the composer's form


@dataclass
class MemberRow:
    item: str = ""
    stage: str = "1"
    depends_on: list[str] = field(default_factory=list)
    when: str = ""  # "question=answer,answer; question=answer"


@dataclass
class QuestionRow:
    code: str = ""
    text_zh: str = ""
    text_en: str = ""
    answers: str = ""  # one "code|中文|English" a line


def when_text(when: dict[str, list[str]]) -> str:
    return "; ".join(f"{q}={','.join(answers)}" for q, answers in when.items())


def parse_when(text: str) -> tuple[dict[str, list[str]], bool]:
    """``has_gas=yes; event=recruitment,transfer_in`` → a ``when`` dict; False when malformed."""
    when: dict[str, list[str]] = {}
    ok = True
    for part in re.split(r"[;\n；]", text):
        part = part.strip()
        if not part:
            continue
        question, sep, answers = part.partition("=")
        values = [a.strip() for a in re.split(r"[,，]", answers) if a.strip()]
        if not sep or not question.strip() or not values:
            ok = False
            continue
        when.setdefault(question.strip(), []).extend(values)
    return when, ok


@dataclass
class ComposerForm:
    """What the composer shows: the stored definition, or exactly what the user typed."""

    code: str = ""
    name_zh: str = ""
    name_en: str = ""
    kind: str = "life_event"
    lead_department: str = ""
    partners: list[str] = field(default_factory=list)
    description: str = ""
    members: list[MemberRow] = field(default_factory=list)
    questions: list[QuestionRow] = field(default_factory=list)
    lock_version: str = ""

    @classmethod
    def from_bundle(cls, bundle: BundleIn, lock_version: int) -> ComposerForm:
        return cls(
            code=bundle.code,
            name_zh=bundle.name_zh,
            name_en=bundle.name_en,
            kind=bundle.kind.value,
            lead_department=bundle.lead_department,
            partners=list(bundle.partners),
            description=bundle.description,
            members=[
                MemberRow(m.item, str(m.stage), list(m.depends_on), when_text(m.when))
                for m in bundle.members
            ],
            questions=[
                QuestionRow(
                    q.code,
                    q.text_zh,
                    q.text_en,
                    "\n".join(f"{a.code}|{a.zh}|{a.en}" for a in q.answers),
                )
                for q in bundle.questions
            ],
            lock_version=str(lock_version),
        )

    @classmethod
    def from_form(cls, form: FormData) -> ComposerForm:
        def text(name: str, default: str = "") -> str:
            value = form.get(name)
            return value[:TEXT_MAX] if isinstance(value, str) else default

        def texts(name: str) -> list[str]:
            return [v[:TEXT_MAX] for v in form.getlist(name) if isinstance(v, str)]

        members: list[MemberRow] = []
        for i in range(_row_count(form, "m")):
            members.append(
                MemberRow(
                    item=text(f"m-{i}-item").strip(),
                    stage=text(f"m-{i}-stage").strip(),
                    depends_on=texts(f"m-{i}-dep"),
                    when=text(f"m-{i}-when"),
                )
            )
        questions: list[QuestionRow] = []
        for i in range(_row_count(form, "q")):
            questions.append(
                QuestionRow(
                    code=text(f"q-{i}-code"),
                    text_zh=text(f"q-{i}-text_zh"),
                    text_en=text(f"q-{i}-text_en"),
                    answers=text(f"q-{i}-answers"),
                )
            )
        return cls(
            code=text("code"),
            name_zh=text("name_zh"),
            name_en=text("name_en"),
            kind=text("kind"),
            lead_department=text("lead_department"),
            partners=texts("partners"),
            description=text("description"),
            members=members,
            questions=questions,
            lock_version=text("lock_version"),
        )

    def definition(self) -> tuple[dict[str, Any], list[int], list[int], list[FieldError]]:
        """The service's definition, the form row of each member and question sent (so that
        errors land on the row the user typed in), and the errors of the page's own text
        formats (``when`` and the answer lines)."""
        errors: list[FieldError] = []
        members: list[dict[str, Any]] = []
        member_rows: list[int] = []
        for row_no, row in enumerate(self.members):
            if not row.item:
                continue
            when, ok = parse_when(row.when)
            if not ok:
                errors.append(FieldError(f"members.{len(members)}.when", WHEN_SYNTAX))
            stage = row.stage.strip()
            members.append(
                {
                    "item": row.item,
                    "stage": int(stage) if re.fullmatch(r"\d{1,3}", stage) else stage,
                    "depends_on": [d for d in row.depends_on if d],
                    "when": when,
                }
            )
            member_rows.append(row_no)
        questions: list[dict[str, Any]] = []
        question_rows: list[int] = []
        for row_no, q in enumerate(self.questions):
            if not (q.code.strip() or q.text_zh.strip() or q.text_en.strip() or q.answers.strip()):
                continue
            answers: list[dict[str, str]] = []
            for line_no, line in enumerate(q.answers.splitlines(), start=1):
                if not line.strip():
                    continue
                parts = [p.strip() for p in line.split("|")]
                if len(parts) != 3:
                    errors.append(
                        FieldError(f"questions.{len(questions)}.answers#{line_no}", ANSWER_SYNTAX)
                    )
                    continue
                answers.append({"code": parts[0], "zh": parts[1], "en": parts[2]})
            questions.append(
                {"code": q.code, "text_zh": q.text_zh, "text_en": q.text_en, "answers": answers}
            )
            question_rows.append(row_no)
        data: dict[str, Any] = {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "kind": self.kind,
            "description": self.description,
            "lead_department": self.lead_department,
            "partners": [p for p in self.partners if p],
            "questions": questions,
            "members": members,
        }
        return data, member_rows, question_rows, errors


def _row_count(form: FormData, prefix: str) -> int:
    """How many rows of a repeated group were sent (``m-3-item`` → at least 4)."""
    count = 0
    pattern = re.compile(rf"^{prefix}-(\d{{1,3}})-")
    for key in form:
        found = pattern.match(key)
        if found:
            count = max(count, int(found.group(1)) + 1)
    return count


WHEN_SYNTAX = "Write conditions as question=answer,answer; separate questions with ';'."
ANSWER_SYNTAX = "Write each answer as code|中文|English."

# Messages of the validators, said plainly (and translatable) next to the field.
_PLAIN_MESSAGES: tuple[tuple[str, str], ...] = (
    ("String should have at least 1 character", "This field is required."),
    ("Input should be a valid integer", "Enter a whole number."),
    ("Input should be greater than or equal to", "Enter a number that is not negative."),
    ("Input should be less than or equal to", "The number is too large."),
    ("String should have at most", "The text is too long."),
    ("String should match pattern", "Use only letters, digits, '.', '_' and '-'."),
    ("List should have at least 1 item", "Add at least one."),
    ("Input should be '", "Choose one of the listed values."),
    ("Field required", "This field is required."),
)
_SIMPLE_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "kind",
    "lead_department",
    "partners",
    "description",
)


def _plain(message: str) -> str:
    for needle, plain in _PLAIN_MESSAGES:
        if needle in message:
            return plain
    return message.removeprefix("Value error, ")


@dataclass(frozen=True)
class FieldMessage:
    """An error shown on the form: a message id, the answer line it names, and where it is."""

    message: str
    line: int | None = None
    loc: str = ""


def place_errors(
    errors: list[FieldError],
    member_rows: list[int],
    question_rows: list[int],
    members: list[MemberRow] | None = None,
) -> tuple[dict[str, list[FieldMessage]], list[FieldMessage]]:
    """Sort the service's errors onto the composer's fields and rows; the rest goes on top."""
    by_field: dict[str, list[FieldMessage]] = {}
    general: list[FieldMessage] = []
    for error in errors:
        loc = re.sub(r"\[(\d+)\]", r".\1", error.loc).removeprefix("bundle.")
        loc, _, line_text = loc.partition("#")
        line = int(line_text) if line_text.isdigit() else None
        parts = loc.split(".")
        message = FieldMessage(_plain(error.message), line=line, loc=loc)
        target: str | None = None
        if parts[0] in _SIMPLE_FIELDS:
            target = parts[0]
        elif parts[0] == "members" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            target = f"member-{member_rows[index] if index < len(member_rows) else index}"
        elif parts[0] == "questions" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            target = f"question-{question_rows[index] if index < len(question_rows) else index}"
        else:
            # A message about the members as a whole that names one member goes on its row.
            named = re.match(
                r"(?:Value error, )?(?:member |item ')([A-Za-z0-9_.\-]+)", error.message
            )
            rows = [m.item for m in members or []]
            if parts[0] in {"members", "bundle", ""} and named and named.group(1) in rows:
                target = f"member-{rows.index(named.group(1))}"
            elif parts[0] in {"members", "questions"}:
                target = parts[0]
            elif "question code appears twice" in error.message:
                target = "questions"
        if target is None:
            general.append(message)
        else:
            by_field.setdefault(target, []).append(message)
    return by_field, general


def _require_composer(principal: Principal | None) -> Principal:
    who = require_principal(principal)
    if not who.has_role(Role.REFORM_OFFICE):
        raise PermissionDenied("only the reform office composes bundles")
    return who


def _editable(session: Session, principal: Principal | None, code: str) -> service.BundleDetail:
    who = _require_composer(principal)
    detail = service.get_bundle(session=session, principal=who, code=code)
    if not detail.can_edit:
        raise PermissionDenied("you may not edit bundle '%(code)s'", params={"code": code})
    return detail


def _posted(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None


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
    saved: int = 0,
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
            raise ValidationFailed("the bundle is invalid; nothing was saved", errors=errors)
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


# ---------------------------------------------------------------- the ledger


@router.get("/bundles/{code}/ledger", response_class=HTMLResponse)
def bundle_ledger(
    code: str,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    published: int = 0,
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
