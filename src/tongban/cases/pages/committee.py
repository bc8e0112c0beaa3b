"""The committee's page: members, quorum, votes, minutes, and closing the collective decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.auth import repository as auth_repository
from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.cases import repository, service, views
from tongban.cases.models import (
    Case,
    CaseStatus,
    CaseStep,
    Upload,
)
from tongban.cases.pages.apply import (
    _read_file,
)
from tongban.cases.pages.case import (
    Problem,
    _case_and_step,
    _check_lock,
    _posted_step,
    _run,
)
from tongban.cases.pages.common import (
    VOTE_LABELS,
    _department_names,
    _files,
    _page,
    _posted,
    _subject_name,
    _today,
    _user_names,
    due_of,
)
from tongban.errors import (
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.kit.bounds import RowId
from tongban.web.deps import CurrentPrincipal, DbSession, PostedForm
from tongban.web.format import local_time

router = APIRouter(include_in_schema=False)


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
        raise NotFound(
            "step %(step)s is not a collective decision",
            params={"step": step.id},
            code="wrong_step_kind",
        )
    dept_id = step.responsible_department_id or 0
    members = [
        (u.username, u.display_name)
        for u in auth_repository.holders_of(session, Role.COMMITTEE_MEMBER.value, dept_id)
    ]
    size = service.committee_size(session, dept_id)
    needed = service.quorum(size)
    cast = repository.votes(session, step.id)
    names = _user_names(session, [v.user_id for v in cast])
    usernames = auth_repository.usernames(session, [v.user_id for v in cast])
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
    is_member = service.may_act(session, who, step, "vote")
    mine = next((v for v in cast if v.user_id == who.user_id), None)
    votes_now = service.tally(session, step)
    blockers: list[str] = []
    if len(cast) < needed:
        blockers.append("quorum")
    if not minutes:
        blockers.append("minutes")
    if votes_now.result == "tied":
        blockers.append("tied")
    departments, by_id = _department_names(session)
    out = views.step_out(
        step,
        case.number,
        views.names_for(session, [step]),
        shifted=bool(views.shifted_steps(session, [step.id])),
    )
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
        "may_upload": is_open and service.may_act(session, who, step, "attach_minutes"),
        "may_close": is_open and is_member,
        "blockers": blockers,
        "tally": votes_now,
        "rule": service.DECISION_RULE,
        "not_voted": [(u, n) for u, n in members if u not in {v.username for v in votes}],
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
    step_id: RowId,
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
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
    values = {"choice": _posted(posted, "choice", 10)}

    def act() -> None:
        _check_lock(step, posted)
        if values["choice"] not in VOTE_LABELS:
            raise ValidationFailed(
                "choose a vote",
                errors=[FieldError("choice", "Choose approve, reject or abstain.")],
                code="choice_required",
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
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
    chosen = _files(posted, "file")

    def act() -> None:
        _check_lock(step, posted)
        if step.kind != "collective_decision":
            raise NotFound(
                "step %(step)s is not a collective decision",
                params={"step": step.id},
                code="wrong_step_kind",
            )
        if not chosen:
            raise ValidationFailed(
                "no file",
                errors=[FieldError("file", "Choose the minutes (a PDF file).")],
                code="file_required",
            )
        read, message = _read_file(chosen[0], "minutes")
        if read is None or read.content_type != "application/pdf":
            raise ValidationFailed(
                "not a PDF",
                errors=[FieldError("file", message or "The minutes must be a PDF file.")],
                code="file_not_pdf",
            )
        if not service.may_act(session, who, step, "attach_minutes"):
            raise PermissionDenied("only the committee attaches its minutes", code="committee_only")
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
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)

    reasons = str(posted.get("reasons", ""))[:4000]
    confirmed = posted.get("confirm") == "yes"

    def act() -> None:
        _check_lock(step, posted)
        service.close_decision(
            session=session,
            principal=who,
            step_id=step.id,
            lock_version=step.lock_version,
            reasons=reasons,
            confirmed=confirmed,
        )

    return _run(
        request,
        session,
        who,
        case.number,
        form="close",
        step_id=step.id,
        values={"reasons": reasons},
        action=act,
        success=_decision_url(case.number, step.id, "closed"),
        template="cases/decision.html",
        context_for=lambda c, p: _decision_context(session, who, c, step, p),
    )
