"""The clocks: the escalation ladder fires each level once per step, however many sweeps run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from tongban.cases import events, repository
from tongban.cases.models import (
    CaseStep,
    EscalationFired,
    EscalationLevel,
    StepStatus,
)
from tongban.db import utcnow
from tongban.jobs import service as jobs
from tongban.kit import workdays


@dataclass
class TickReport:
    checked: int = 0
    fired: int = 0


def tick(*, session: Session, now: datetime | None = None) -> TickReport:
    """The escalation sweep: each level of the ladder fires once per step."""
    moment = now or utcnow()
    today = workdays.local_date(moment)
    ladder = list(session.scalars(select(EscalationLevel).order_by(EscalationLevel.percent)))
    report = TickReport()
    open_steps = repository.due_ready_steps(session)
    # Only the open steps' fired levels, not the whole history of the table.
    fired: set[tuple[int, str]] = set(
        session.execute(
            select(EscalationFired.step_id, EscalationFired.level_code)
            .join(CaseStep, CaseStep.id == EscalationFired.step_id)
            .where(CaseStep.status == StepStatus.READY.value)
        ).all()
    )
    for step, number in open_steps:
        assert step.ready_at is not None  # the query asks for it
        report.checked += 1
        used = workdays.workdays_between(workdays.local_date(step.ready_at), today).count
        share = used * 100 // max(step.limit_days, 1)
        for level in ladder:
            if share >= level.percent and (step.id, level.code) not in fired:
                # Once per step and level however many sweeps run at once: the row's key
                # decides, and a sweep that lost the race leaves the level to the winner.
                if not fire_once(session, step.id, level.code, moment):
                    continue
                jobs.defer(
                    session,
                    kind="escalation",
                    key=f"escalation:{step.id}:{level.code}",
                    payload={
                        "case": number,
                        "step": step.id,
                        "level": level.code,
                        "department": step.responsible_department_id,
                        "used_workdays": used,
                        "limit": step.limit_days,
                    },
                )
                events.append(
                    session,
                    case_id=step.case_id,
                    action="escalated",
                    step_id=step.id,
                    data={"level": level.code, "used_workdays": used, "limit": step.limit_days},
                )
                report.fired += 1
    session.flush()
    return report


def fire_once(session: Session, step_id: int, level_code: str, at: datetime) -> bool:
    """Record that a level fired for a step; False when another sweep recorded it first."""
    dialect = session.connection().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        session.execute(
            insert(EscalationFired)
            .values(step_id=step_id, level_code=level_code, at=at)
            .on_conflict_do_nothing()
            .returning(EscalationFired.step_id)
        ).scalar_one_or_none()
        is not None
    )
