"""Queries of the case engine, through the ORM. The hot path (finishing a step, appending to the
event log) is in :mod:`tongban.cases.statements`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from tongban.cases.models import Case, CaseStep, Delegation, StepLink, Suspension, Vote
from tongban.org.models import Department, Jurisdiction


def case_by_number(session: Session, number: str) -> Case | None:
    return session.scalars(select(Case).where(Case.number == number)).one_or_none()


def case_by_key(session: Session, key: str) -> Case | None:
    return session.scalars(select(Case).where(Case.idempotency_key == key)).one_or_none()


def steps_of(session: Session, case_id: int) -> list[CaseStep]:
    return list(
        session.scalars(
            select(CaseStep).where(CaseStep.case_id == case_id).order_by(CaseStep.position)
        )
    )


def step(session: Session, step_id: int) -> CaseStep | None:
    return session.get(CaseStep, step_id)


def links_of(session: Session, case_id: int) -> list[tuple[int, int]]:
    """(from step, to step) of every link between the case's steps."""
    rows = session.execute(
        select(StepLink.from_step_id, StepLink.to_step_id)
        .join(CaseStep, CaseStep.id == StepLink.from_step_id)
        .where(CaseStep.case_id == case_id)
    ).all()
    return [(a, b) for a, b in rows]


def wait_again_for(session: Session, step_id: int, *, but: int) -> None:
    """The step's successors that are still waiting (except ``but``) count it as unfinished
    again: it is to be done once more."""
    session.execute(
        update(CaseStep)
        .where(
            CaseStep.id.in_(select(StepLink.to_step_id).where(StepLink.from_step_id == step_id)),
            CaseStep.id != but,
            CaseStep.status == "waiting",
        )
        .values(waits_for=CaseStep.waits_for + 1)
        .execution_options(synchronize_session="fetch")
    )


def predecessors(session: Session, step_id: int) -> list[int]:
    return list(
        session.scalars(select(StepLink.from_step_id).where(StepLink.to_step_id == step_id))
    )


def open_steps_of_departments(
    session: Session,
    department_ids: list[int],
    *,
    kinds: tuple[str, ...] = (),
    delegated_to: list[int] | None = None,
    limit: int,
) -> list[tuple[CaseStep, str]]:
    """Ready steps of these departments (or delegated to them), earliest due first. Written so
    that the index (responsible_department_id, status, due_date) serves it."""
    if delegated_to is not None:
        where = CaseStep.id.in_(
            select(Delegation.step_id).where(Delegation.to_department_id.in_(delegated_to))
        )
    else:
        if not department_ids:
            return []
        where = CaseStep.responsible_department_id.in_(department_ids)
    query = (
        select(CaseStep, Case.number)
        .join(Case, Case.id == CaseStep.case_id)
        .where(where, CaseStep.status == "ready")
    )
    if kinds:
        query = query.where(CaseStep.kind.in_(kinds))
    rows = session.execute(query.order_by(CaseStep.due_date, CaseStep.id).limit(limit)).all()
    return [(s, n) for s, n in rows]


def department_ids_where(session: Session, condition: ColumnElement[bool]) -> list[int]:
    return list(
        session.scalars(
            select(Department.id)
            .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
            .where(condition)
        )
    )


def open_suspension(session: Session, case_id: int) -> Suspension | None:
    return session.scalars(
        select(Suspension).where(Suspension.case_id == case_id, Suspension.ended_at.is_(None))
    ).one_or_none()


def votes(session: Session, step_id: int) -> list[Vote]:
    return list(session.scalars(select(Vote).where(Vote.step_id == step_id).order_by(Vote.id)))


def delegation_for(session: Session, step_id: int) -> Delegation | None:
    return session.scalars(
        select(Delegation)
        .where(Delegation.step_id == step_id)
        .order_by(Delegation.id.desc())
        .limit(1)
    ).one_or_none()


def due_ready_steps(session: Session) -> list[tuple[CaseStep, str]]:
    """Ready steps with a clock of cases in progress, with their case's number, for the
    escalation sweep: one query (it loaded each step's case one query at a time)."""
    from tongban.cases.models import Case, CaseStatus

    return [
        (step, number)
        for step, number in session.execute(
            select(CaseStep, Case.number)
            .join(Case, Case.id == CaseStep.case_id)
            .where(
                CaseStep.status == "ready",
                CaseStep.due_date.is_not(None),
                CaseStep.limit_days > 0,
                CaseStep.ready_at.is_not(None),
                Case.status == CaseStatus.IN_PROGRESS.value,
            )
        ).tuples()
    ]


def department_paths(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """department id → (code, jurisdiction path)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Department.id, Department.code, Jurisdiction.path)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .where(Department.id.in_(wanted))
    ).all()
    return {i: (c, p) for i, c, p in rows}


def now_ready_since(session: Session, case_id: int) -> list[CaseStep]:
    return list(
        session.scalars(
            select(CaseStep).where(and_(CaseStep.case_id == case_id, CaseStep.status == "ready"))
        )
    )
