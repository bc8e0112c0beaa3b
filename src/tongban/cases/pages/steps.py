"""The actions on a case's steps (complete, return, ask for a correction, delegate, pay) and
on the case (resume, upload): each checks the step's ``lock_version``, runs the engine's action
through ``case._run`` and answers with a 303 or the case page with the reason."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tongban.auth.access import require_principal
from tongban.cases import service
from tongban.cases.pages.apply import _read_file
from tongban.cases.pages.case import (
    _check_lock,
    _posted_step,
    _run,
)
from tongban.cases.pages.common import (
    DECISION_LABELS,
    SUSPENSION_LABELS,
    _files,
    _int_or_none,
    _posted,
)
from tongban.errors import (
    Conflict,
    FieldError,
    ValidationFailed,
)
from tongban.kit import money
from tongban.kit.bounds import RowId
from tongban.web.deps import CurrentPrincipal, DbSession, PostedForm, check_csrf

router = APIRouter(include_in_schema=False)


def _case_url(number: str, done: str, step_id: int | None = None) -> str:
    anchor = f"#step-{step_id}" if step_id else ""
    return f"/cases/{quote(number)}?done={done}{anchor}"


@router.post("/cases/{number}/steps/{step_id}/complete", response_class=HTMLResponse)
def complete_action(
    number: str,
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
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
            raise ValidationFailed(
                "the outcome is incomplete; nothing was done",
                errors=errors,
                code="outcome_incomplete",
            )
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
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
    values = {
        "reason": _posted(posted, "reason").strip(),
        "to_step_id": _posted(posted, "to_step_id"),
    }

    def act() -> None:
        _check_lock(step, posted)
        if len(values["reason"]) < 2:
            raise ValidationFailed(
                "give a reason",
                errors=[FieldError("reason", "Give the reason for the return.")],
                code="reason_required",
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
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
    values = {"reason": _posted(posted, "reason").strip(), "kind": _posted(posted, "kind", 20)}

    def act() -> None:
        _check_lock(step, posted)
        if len(values["reason"]) < 2:
            raise ValidationFailed(
                "say what is missing",
                errors=[FieldError("reason", "Say what the applicant must correct or add.")],
                code="reason_required",
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
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
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
            raise ValidationFailed(
                "the delegation is incomplete", errors=errors, code="delegation_incomplete"
            )
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
    try:
        return money.parse_yuan(text)
    except ValueError:
        return None


@router.post("/cases/{number}/steps/{step_id}/pay", response_class=HTMLResponse)
def pay_action(
    number: str,
    step_id: RowId,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    posted: PostedForm,
) -> Response:
    who, case, step = _posted_step(request, session, principal, posted, number, step_id)
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
                    code="bad_amount",
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
            raise Conflict(
                "case %(case)s was changed after you opened the page; reload it",
                params={"case": case.number},
                code="stale_version",
            )
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
            raise ValidationFailed("nothing was uploaded", errors=errors, code="file_required")
        read, message = _read_file(chosen[0], values["purpose"])
        if read is None:
            raise ValidationFailed(
                "nothing was uploaded", errors=[FieldError("file", message)], code="file_required"
            )
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
