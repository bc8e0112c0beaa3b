"""Open steps' due dates recomputed when the calendar in force changes (an imported year).

A due date is what the engine would have computed under today's calendar: the step's
limit in working days from the day it became ready (``add_workdays``, as ``_due`` does),
moved by the working days of every suspension that ended while it was ready (as ``resume``
moves it). Each date that changes is written with an event ``due_recomputed`` on the
case's chain (old date, new date, calendar version); a step whose date stays gets the new
calendar stamp only.

Called by ``tongban.calendar.service`` after ``workdays.set_imported_years``; the calendar
domain is the one caller, so this module reads the cases' tables itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from tongban.cases import events
from tongban.cases.models import Case, CaseStep, StepStatus, Suspension
from tongban.kit import workdays


@dataclass(frozen=True, slots=True)
class DueChange:
    case_number: str
    step_id: int
    step_code: str
    old: dt.date
    new: dt.date
    old_provisional: bool
    provisional: bool


def _touches(year: int) -> list[ColumnElement[bool]]:
    """Ready steps whose count could have read a day of ``year``: ready before its end, and
    due in it or later (or provisional: a date past an uncovered year)."""
    end = dt.datetime(year + 1, 1, 1, tzinfo=workdays.SHANGHAI)
    return [
        CaseStep.status == StepStatus.READY.value,
        CaseStep.due_date.is_not(None),
        CaseStep.ready_at.is_not(None),
        CaseStep.ready_at < end,
        or_(CaseStep.due_provisional.is_(True), CaseStep.due_date >= dt.date(year, 1, 1)),
    ]


def _replay(step: CaseStep, suspensions: list[Suspension]) -> tuple[dt.date, bool]:
    assert step.ready_at is not None
    due = workdays.add_workdays(workdays.local_date(step.ready_at), step.limit_days)
    day, provisional = due.date, due.provisional
    for stop in suspensions:
        if stop.ended_at is None or stop.ended_at < step.ready_at:
            continue
        paused = workdays.workdays_between(
            workdays.local_date(stop.started_at), workdays.local_date(stop.ended_at)
        )
        if paused.count:
            moved = workdays.add_workdays(day, paused.count)
            day, provisional = moved.date, provisional or moved.provisional
    return day, provisional


def recompute_due_dates(session: Session, *, year: int, actor_id: int | None) -> list[DueChange]:
    """Recompute the due dates of open steps that the year's calendar can move; returns the
    changed ones. Each case is locked (``FOR UPDATE``) before its steps are read, as every
    writer of a case does."""
    version = workdays.calendar_version()
    case_ids = sorted(set(session.scalars(select(CaseStep.case_id).where(*_touches(year)))))
    changes: list[DueChange] = []
    for case_id in case_ids:
        case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
        assert case is not None
        steps = list(
            session.scalars(
                select(CaseStep)
                .where(CaseStep.case_id == case_id, *_touches(year))
                .order_by(CaseStep.position)
                .execution_options(populate_existing=True)
            )
        )
        suspensions = list(
            session.scalars(
                select(Suspension)
                .where(Suspension.case_id == case_id)
                .order_by(Suspension.started_at, Suspension.id)
            )
        )
        moved: list[DueChange] = []
        for step in steps:
            assert step.due_date is not None
            day, provisional = _replay(step, suspensions)
            if day != step.due_date or provisional != step.due_provisional:
                moved.append(
                    DueChange(
                        case.number,
                        step.id,
                        step.code,
                        step.due_date,
                        day,
                        step.due_provisional,
                        provisional,
                    )
                )
            step.due_date, step.due_provisional, step.calendar_version = day, provisional, version
        session.flush()
        for change in moved:
            events.append(
                session,
                case_id=case_id,
                action="due_recomputed",
                actor_id=actor_id,
                step_id=change.step_id,
                data={
                    "old_due": change.old.isoformat(),
                    "new_due": change.new.isoformat(),
                    "old_provisional": change.old_provisional,
                    "provisional": change.provisional,
                    "calendar": version,
                    "year": year,
                },
            )
        changes.extend(moved)
    return changes
