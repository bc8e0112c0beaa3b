"""Reading cases: a case by number through the funnel, my workbench, the applicant's status."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from tongban.auth.access import require_principal
from tongban.auth.principal import Principal
from tongban.cases import repository
from tongban.cases.models import Case, CaseStep
from tongban.cases.service.access import WINDOW_KINDS, access_case_by_number, step_scopes
from tongban.errors import NotFound


def get_case_row(*, session: Session, principal: Principal | None, number: str) -> Case:
    """A case the principal may see, by its number (the funnel: :func:`access_case_by_number`)."""
    return access_case_by_number(session=session, principal=principal, number=number)


def workbench(
    *,
    session: Session,
    principal: Principal | None,
    kind: str = "",
    limit: int = 50,
    offset: int = 0,
) -> list[tuple[CaseStep, str]]:
    """My open steps by due date. The funnel's conditions (``step_scopes``, the same that
    ``visible_steps`` joins) are applied as three index-friendly queries: my departments'
    steps, the single window's steps of its subtree, and steps delegated to my departments;
    merged by due date."""
    who = require_principal(principal)
    scopes = step_scopes(who)
    own = repository.department_ids_where(session, scopes.own)
    window = (
        repository.department_ids_where(session, scopes.window) if scopes.window is not None else []
    )
    wanted = offset + limit
    kinds = (kind,) if kind else ()
    rows = repository.open_steps_of_departments(session, own, kinds=kinds, limit=wanted)
    if window:
        window_kinds = tuple(k for k in WINDOW_KINDS if not kind or k == kind)
        if window_kinds:
            rows += repository.open_steps_of_departments(
                session, window, kinds=window_kinds, limit=wanted
            )
    if scopes.held:
        rows += repository.open_steps_of_departments(
            session, [], kinds=kinds, delegated_to=list(scopes.held), limit=wanted
        )
    unique = {step.id: (step, number) for step, number in rows}
    ordered = sorted(unique.values(), key=lambda r: (r[0].due_date or date.max, r[0].id))
    return ordered[offset : offset + limit]


def public_status(*, session: Session, number: str, id_no: str) -> Case:
    """The applicant follows their case with its number and their ID number; anyone else learns
    nothing, not even whether the number exists."""
    case = repository.case_by_number(session, number)
    if case is None or case.applicant_id_no.upper() != id_no.strip().upper():
        raise NotFound("no case with this number and ID number", code="case_not_found")
    return case
