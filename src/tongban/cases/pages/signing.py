"""The signing page: the generated agreement, its hash, each party's signature."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.auth import repository as auth_repository
from tongban.auth.access import require_principal
from tongban.auth.principal import Principal
from tongban.cases import service, views
from tongban.cases.models import (
    Case,
    CaseStatus,
    CaseStep,
    Signature,
)
from tongban.cases.pages.case import (
    Problem,
    _case_and_step,
    _check_lock,
    _posted_step,
    _run,
)
from tongban.cases.pages.common import (
    PARTY_LABELS,
    _department_names,
    _page,
    _posted,
    _subject_name,
)
from tongban.errors import (
    Conflict,
    FieldError,
    NotFound,
    ValidationFailed,
)
from tongban.kit.bounds import RowId
from tongban.web.deps import CurrentPrincipal, DbSession, PostedForm
from tongban.web.format import local_time

router = APIRouter(include_in_schema=False)


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
        raise NotFound(
            "step %(step)s is not a signing step", params={"step": step.id}, code="wrong_step_kind"
        )
    text = service.agreement_text(case, step)
    digest = hashlib.sha256(text.encode()).hexdigest()
    signed = list(
        session.scalars(
            select(Signature).where(Signature.step_id == step.id).order_by(Signature.id)
        )
    )
    users = auth_repository.users_by_id(session, [s.user_id for s in signed])
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
        and service.may_act(session, who, step, "sign_applicant"),
        "department": is_open
        and "department" not in parties_done
        and not signed_by_me
        and service.may_act(session, who, step, "sign_department"),
    }
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
    step_id: RowId,
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
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
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
                "choose a party",
                errors=[FieldError("party", "Choose who signs.")],
                code="party_required",
            )
        current = hashlib.sha256(service.agreement_text(case, step).encode()).hexdigest()
        if values["document_sha256"] != current:
            raise Conflict(
                "the agreement changed after you opened the page; read it again",
                code="agreement_changed",
            )
        if party == "applicant" and values["identity_checked"] != "yes":
            raise ValidationFailed(
                "identity not checked",
                errors=[
                    FieldError(
                        "identity_checked",
                        "Confirm that you checked the applicant's identity document.",
                    )
                ],
                code="identity_not_checked",
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
