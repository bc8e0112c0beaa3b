"""Turning case rows into the API's shapes (shared by the API and the pages)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.auth.models import User
from tongban.cases import events, repository
from tongban.cases.models import Case, CaseStep
from tongban.cases.schemas import CaseOut, EventOut, StepOut
from tongban.db import utcnow
from tongban.kit import workdays
from tongban.org.models import Department, Jurisdiction


def _names(session: Session) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    departments = {d.id: d.code for d in session.scalars(select(Department))}
    jurisdictions = {j.id: j.code for j in session.scalars(select(Jurisdiction))}
    users = {u.id: u.username for u in session.scalars(select(User))}
    return departments, jurisdictions, users


def step_out(
    step: CaseStep,
    number: str,
    names: tuple[dict[int, str], dict[int, str], dict[int, str]],
    today: date | None = None,
) -> StepOut:
    departments, jurisdictions, users = names
    today = today or workdays.local_date(utcnow())
    shift = (
        step.acted_department_id is not None
        and step.responsible_department_id is not None
        and step.acted_department_id != step.responsible_department_id
        and step.kind not in ("acceptance", "delivery")
    )
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
        duty_shift=shift,
        outcome=step.outcome or {},
        lock_version=step.lock_version,
        overdue=step.status == "ready" and step.due_date is not None and step.due_date < today,
    )


def case_out(session: Session, case: Case) -> CaseOut:
    names = _names(session)
    _, jurisdictions, users = names
    return CaseOut(
        number=case.number,
        subject_kind=case.subject_kind,
        subject_code=case.subject_code,
        status=case.status,
        applicant_name=case.applicant_name,
        applicant_jurisdiction=jurisdictions.get(case.applicant_jurisdiction_id, ""),
        submitted_at=case.submitted_at,
        finished_at=case.finished_at,
        legal_due=case.legal_due,
        promised_due=case.promised_due,
        form=case.form_data,
        steps=[step_out(s, case.number, names) for s in repository.steps_of(session, case.id)],
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
            for e in events.events_of(session, case.id)
        ],
        suspended=case.status == "suspended",
        lock_version=case.lock_version,
    )


def workbench_out(session: Session, rows: list[tuple[CaseStep, str]]) -> list[StepOut]:
    names = _names(session)
    return [step_out(step, number, names) for step, number in rows]
