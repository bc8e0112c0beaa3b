"""The case page: facts, steps, timeline, and the means its actions share (``_run``, the lock
check); the actions themselves are in ``steps``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.cases import repository, service, views
from tongban.cases.models import (
    Case,
    CaseStatus,
    CaseStep,
    Delegation,
    EscalationLevel,
    StepStatus,
    Upload,
)
from tongban.cases.pages.casemap import map_of
from tongban.cases.pages.common import (
    CHANNEL_LABELS,
    DECISION_LABELS,
    DIRECTION_LABELS,
    EVENT_LABELS,
    FACT_LABELS,
    PARTY_LABELS,
    STAFF,
    SUSPENSION_LABELS,
    VOTE_LABELS,
    Due,
    Name,
    _case_due,
    _department_names,
    _display_names,
    _int_or_none,
    _page,
    _posted,
    _subject_name,
    _today,
    _user_names,
    due_of,
    labelled,
    plain,
)
from tongban.cases.schemas import EventOut, StepOut
from tongban.catalog import service as catalog_service
from tongban.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.kit.ids import mask_resident_id
from tongban.org.models import Jurisdiction
from tongban.web.deps import CurrentPrincipal, DbSession, attempt, check_csrf, see_other
from tongban.web.format import format_yuan

router = APIRouter(include_in_schema=False)


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
    """What went wrong with an action, shown on top and next to the form it came from.
    ``message`` is a message id, translated on the page with ``params`` (whose status and kind
    values are message ids too)."""

    status: int
    message: str
    form: str
    step_id: int | None = None
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    #: the refusal's code (docs/errors.md), shown with the message
    code: str = ""

    @property
    def kind(self) -> str:
        return {409: "conflict", 403: "denied"}.get(self.status, "invalid")


def _step_actions(
    session: Session, who: Principal, case: Case, step: CaseStep, has_back: bool
) -> list[str]:
    """The actions this person may take on the step: the funnel's own rule
    (``service.may_act``), so a button is shown exactly when the action would be allowed."""
    if case.status != CaseStatus.IN_PROGRESS.value or step.status != StepStatus.READY.value:
        return []

    def may(action: str) -> bool:
        return service.may_act(session, who, step, action)

    actions: list[str] = []
    if step.kind not in service.SPECIAL_KINDS and may("complete"):
        actions.append("complete")
    if may("pay"):
        actions.append("pay")
    if step.kind == "e_signature":
        actions.append("sign")
    if step.kind == "collective_decision":
        actions.append("decide")
    if step.kind != "automatic_check" and may("return"):
        if has_back:
            actions.append("return")
        actions.append("correction")
    if step.kind != "automatic_check" and may("delegate"):
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
                    stopped=case.status == CaseStatus.SUSPENDED.value,
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
    form_elements = [
        e for e in catalog_service.list_elements(session=session) if e.code in out.form
    ]
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
        "element_names": {e.code: Name(e.name_zh, e.name_en) for e in form_elements},
        "money_elements": {e.code for e in form_elements if e.data_type == "money"},
        "id_elements": {e.code for e in form_elements if e.validator == "resident_id"},
        "mask_id": mask_resident_id,
        "legal_due": _case_due(case.legal_due, today, closed),
        "promised_due": _case_due(case.promised_due, today, closed),
        "suspension": repository.open_suspension(session, case.id),
        "may_resume": may_resume,
        "may_upload": who.has_role(*STAFF),
        "may_open_files": who.has_role(*service.FILE_READER_ROLES),
        "problem": problem,
        "shifts": sum(1 for s in out.steps if s.duty_shift),
        "any_provisional": any(v.due is not None and v.due.provisional for v in steps),
        "map": map_of(session, case.id),
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
    reveal: Annotated[str, Query(max_length=8)] = "",
) -> HTMLResponse:
    who = require_principal(principal)
    case = service.get_case_row(session=session, principal=who, number=number)
    context = _case_context(session, who, case)
    context["revealed"] = reveal == "id" and service.reveal_applicant_id(
        session=session, principal=who, number=number
    )
    context["may_reveal"] = who.has_role(*service.ID_REVEALER_ROLES)
    context["notice"] = NOTICES.get("submitted" if submitted == "1" else done, "")
    return _page(request, "cases/case.html", context)


@router.get("/cases/{number}/files/{upload_id}", response_model=None)
def case_file(
    number: str,
    upload_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    session: DbSession,
    principal: CurrentPrincipal,
) -> Response:
    """One file of the case, for its handlers (access checked and audited): shown in the browser
    (PDF, PNG or JPEG, the only kinds accepted and checked by their first bytes), never sniffed,
    never cached, and sandboxed in case a viewer would run anything in it."""
    row, data = service.open_upload(
        session=session, principal=principal, number=number, upload_id=upload_id
    )
    return Response(
        data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(row.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )


def _case_and_step(
    session: Session, who: Principal, number: str, step_id: int
) -> tuple[Case, CaseStep]:
    case = service.get_case_row(session=session, principal=who, number=number)
    step = repository.step(session, step_id)
    if step is None or step.case_id != case.id:
        raise NotFound(
            "case %(case)s has no step %(step)s",
            params={"case": number, "step": step_id},
            code="step_not_in_case",
        )
    return case, step


def _posted_step(
    request: Request,
    session: Session,
    principal: Principal | None,
    posted: FormData,
    number: str,
    step_id: int,
) -> tuple[Principal, Case, CaseStep]:
    """The prologue of every form posted on a step: the form's token, the person, and the step
    of the case they may see."""
    check_csrf(request, _posted(posted, "csrf_token"))
    who = require_principal(principal)
    case, step = _case_and_step(session, who, number, step_id)
    return who, case, step


def _check_lock(step: CaseStep, posted: FormData) -> None:
    if _int_or_none(_posted(posted, "lock_version", 20)) != step.lock_version:
        raise Conflict(
            "step %(step)s was changed by someone else after you opened the page; reload it",
            params={"step": step.id},
            code="stale_version",
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
        with attempt(session):
            action()
    except (ValidationFailed, Conflict, PermissionDenied) as exc:
        problem = Problem(
            exc.status,
            exc.template,
            form,
            step_id,
            values=values,
            params=labelled(exc.params),
            code=exc.code,
        )
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
    return see_other(success)
