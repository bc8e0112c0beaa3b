"""Turning case rows into the API's shapes (shared by the API and the pages)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.auth import repository as auth_repository
from tongban.cases import events, repository
from tongban.cases.models import Case, CaseEvent, CaseStep
from tongban.cases.schemas import CaseOut, EventOut, StepOut
from tongban.db import utcnow
from tongban.kit import workdays
from tongban.org import repository as org_repository

Names = tuple[dict[int, str], dict[int, str], dict[int, str]]


def names_for(
    session: Session, steps: Iterable[CaseStep], user_ids: Iterable[int | None] = ()
) -> Names:
    """The codes of the departments and jurisdictions and the usernames these steps (and
    these other users) name: read for them only, not the whole organisation."""
    rows = list(steps)
    departments = org_repository.department_codes(
        session,
        [s.responsible_department_id for s in rows] + [s.acted_department_id for s in rows],
    )
    jurisdictions = org_repository.jurisdiction_codes(
        session, [s.responsible_jurisdiction_id for s in rows]
    )
    users = auth_repository.usernames(session, [*(s.acted_by_id for s in rows), *user_ids])
    return departments, jurisdictions, users


def shifted_steps(session: Session, step_ids: Iterable[int]) -> set[int]:
    """The steps whose duty shift the event log recorded: the log decides, not a second
    reading of the step's columns (which would call a signature at the window a shift)."""
    wanted = list(step_ids)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(CaseEvent.step_id).where(
                CaseEvent.action == "duty_shift", CaseEvent.step_id.in_(wanted)
            )
        )
    )


def step_out(
    step: CaseStep,
    number: str,
    names: Names,
    today: date | None = None,
    *,
    shifted: bool = False,
) -> StepOut:
    """A step as the API and the pages show it; ``shifted`` as the event log says
    (:func:`shifted_steps`)."""
    departments, jurisdictions, users = names
    today = today or workdays.local_date(utcnow())
    return StepOut(
        id=step.id,
        case_number=number,
        position=step.position,
        item_code=step.item_code,
        code=step.code,
        kind=step.kind,
        name_zh=step.name_zh,
        name_en=step.name_en,
        status=step.status,
        responsible_department=departments.get(step.responsible_department_id or 0),
        responsible_jurisdiction=jurisdictions.get(step.responsible_jurisdiction_id, ""),
        limit_days=step.limit_days,
        ready_at=step.ready_at,
        due_date=step.due_date,
        due_provisional=step.due_provisional,
        calendar_version=step.calendar_version,
        acted_by=users.get(step.acted_by_id or 0),
        acted_department=departments.get(step.acted_department_id or 0),
        acted_at=step.acted_at,
        duty_shift=shifted,
        outcome=step.outcome or {},
        lock_version=step.lock_version,
        overdue=step.status == "ready" and step.due_date is not None and step.due_date < today,
    )


def case_out(session: Session, case: Case) -> CaseOut:
    steps = repository.steps_of(session, case.id)
    log = events.events_of(session, case.id)
    names = names_for(session, steps, [e.actor_id for e in log])
    users = names[2]
    place = org_repository.jurisdiction_codes(session, [case.applicant_jurisdiction_id])
    shifted = {e.step_id for e in log if e.action == "duty_shift"}
    return CaseOut(
        number=case.number,
        subject_kind=case.subject_kind,
        subject_code=case.subject_code,
        status=case.status,
        applicant_name=case.applicant_name,
        applicant_jurisdiction=place.get(case.applicant_jurisdiction_id, ""),
        submitted_at=case.submitted_at,
        finished_at=case.finished_at,
        legal_due=case.legal_due,
        promised_due=case.promised_due,
        form=case.form_data,
        steps=[step_out(s, case.number, names, shifted=s.id in shifted) for s in steps],
        events=[
            EventOut(
                seq=e.seq,
                at=e.at,
                actor=users.get(e.actor_id or 0),
                action=e.action,
                step_id=e.step_id,
                data=e.data,
                hash=e.hash,
            )
            for e in log
        ],
        suspended=case.status == "suspended",
        lock_version=case.lock_version,
    )


def workbench_out(session: Session, rows: list[tuple[CaseStep, str]]) -> list[StepOut]:
    names = names_for(session, [step for step, _ in rows])
    shifted = shifted_steps(session, [step.id for step, _ in rows])
    return [step_out(step, number, names, shifted=step.id in shifted) for step, number in rows]
