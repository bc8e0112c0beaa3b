"""Integrity checks of the case event log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases import events
from tongban.cases.models import (
    Case,
)


def verify_all(*, session: Session) -> list[str]:
    """Every case's event chain; one line per problem."""
    problems = []
    for case in session.scalars(select(Case).order_by(Case.id)):
        problem = events.verify_case(case, events.events_of(session, case.id))
        if problem:
            problems.append(f"{case.number}: {problem}")
    return problems
