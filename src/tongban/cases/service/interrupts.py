"""What interrupts the flow of a case: a return to an earlier step (退回), a request for
corrections that stops the legal clock (补正), resuming, and the explicit delegation of a step."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.cases import events, repository
from tongban.cases.models import (
    Case,
    CaseStatus,
    Delegation,
    StepStatus,
)
from tongban.cases.service.access import access_case_by_number, access_step_by_id
from tongban.cases.service.engine import make_ready, run_automatic_check, suspend
from tongban.cases.service.intake import validate_form
from tongban.db import utcnow
from tongban.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from tongban.kit import workdays
from tongban.org import repository as org_repository


def return_step(
    *,
    session: Session,
    principal: Principal | None,
    step_id: int,
    lock_version: int,
    to_step_id: int,
    reason: str,
) -> None:
    """退回: send the case back to an earlier step, which must be done again."""
    who = require_principal(principal)
    access = access_step_by_id(session=session, principal=who, step_id=step_id, action="return")
    step, case, acting = access.step, access.case, access.acting_department_id
    target = repository.step(session, to_step_id)
    if target is None or target.case_id != case.id or target.status != StepStatus.DONE.value:
        raise ValidationFailed(
            "return to a finished step of the same case",
            errors=[FieldError("to_step_id", "not a finished step of this case")],
            code="bad_return_target",
        )
    if target.id not in repository.predecessors(session, step.id):
        raise ValidationFailed(
            "a step is returned to the step just before it",
            errors=[FieldError("to_step_id", "not a direct predecessor")],
            code="bad_return_target",
        )
    if step.lock_version != lock_version:
        raise Conflict(
            "step %(step)s was changed by someone else; reload it",
            params={"step": step.id},
            code="stale_version",
        )
    step.status = StepStatus.WAITING.value
    step.waits_for = 1
    step.lock_version += 1
    target.status = StepStatus.READY.value
    target.lock_version += 1
    # The target's other successors that still wait, wait for it again: when it is done a
    # second time it counts them all down once more.
    repository.wait_again_for(session, target.id, but=step.id)
    make_ready(session, case, [target], utcnow())
    events.append(
        session,
        case_id=case.id,
        action="returned",
        actor_id=who.user_id,
        step_id=step.id,
        data={"to_step": target.id, "reason": reason, "acting_department": acting},
    )


def request_correction(
    *,
    session: Session,
    principal: Principal | None,
    step_id: int,
    reason: str,
    kind: str = "correction",
) -> None:
    """补正 (or an expert review): the legal clock stops until the case resumes."""
    who = require_principal(principal)
    access = access_step_by_id(session=session, principal=who, step_id=step_id, action="correct")
    suspend(session, access.case, access.step.id, who.user_id, kind, reason)


def resume(
    *,
    session: Session,
    principal: Principal | None,
    number: str,
    note: str = "",
    corrections: dict[str, Any] | None = None,
) -> Case:
    """The corrections arrived: the form takes the corrected data, the clock runs again, every
    due date moves by the working days the case was suspended, and a failed automatic check
    runs again on the corrected form."""
    who = require_principal(principal)
    case = access_case_by_number(session=session, principal=who, number=number)
    open_one = repository.open_suspension(session, case.id)
    if open_one is None:
        raise Conflict(
            "case %(case)s is not suspended", params={"case": case.number}, code="not_suspended"
        )
    if not who.has_role(Role.OFFICER, Role.FRONT_DESK, Role.TOWNSHIP_WORKER):
        raise PermissionDenied("only staff resume a case", code="staff_only")
    if corrections:
        validate_form(session, corrections, [])
        case.form_data = {**case.form_data, **corrections}
        session.flush()
        events.append(
            session,
            case_id=case.id,
            action="corrected",
            actor_id=who.user_id,
            data={"fields": sorted(corrections)},
        )
    now = utcnow()
    open_one.ended_at = now
    paused = workdays.workdays_between(
        workdays.local_date(open_one.started_at), workdays.local_date(now)
    )
    for step in repository.now_ready_since(session, case.id):
        if step.due_date is not None and paused.count:
            moved = workdays.add_workdays(step.due_date, paused.count)
            step.due_date, step.due_provisional = (
                moved.date,
                step.due_provisional or moved.provisional,
            )
    for attr in ("legal_due", "promised_due"):
        current = getattr(case, attr)
        if current is not None and paused.count:
            setattr(case, attr, workdays.add_workdays(current, paused.count).date)
    case.status = CaseStatus.IN_PROGRESS.value
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="resumed",
        actor_id=who.user_id,
        data={"suspended_workdays": paused.count, "note": note},
    )
    for step in repository.now_ready_since(session, case.id):
        if step.kind == "automatic_check":
            run_automatic_check(session, case, step)
    return case


def delegate(
    *, session: Session, principal: Principal | None, step_id: int, to_department: str, reason: str
) -> None:
    """Hand one step to another department, explicitly and on the record."""
    who = require_principal(principal)
    access = access_step_by_id(session=session, principal=who, step_id=step_id, action="delegate")
    step, case = access.step, access.case
    target = org_repository.department_by_code(session, to_department)
    if target is None:
        raise ValidationFailed(
            "unknown department",
            errors=[FieldError("to_department", f"no department '{to_department}'")],
            code="unknown_department",
        )
    session.add(
        Delegation(
            step_id=step.id, to_department_id=target.id, by_user_id=who.user_id, reason=reason
        )
    )
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="delegated",
        actor_id=who.user_id,
        step_id=step.id,
        data={"to_department": target.id, "reason": reason},
    )
