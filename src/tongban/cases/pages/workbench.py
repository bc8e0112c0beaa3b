"""The officer's workbench: my open steps, by due date, overdue highlighted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from tongban.auth.access import require_principal
from tongban.cases import service, views
from tongban.cases.models import (
    Case,
    CaseStatus,
    Delegation,
)
from tongban.cases.pages.common import (
    STEP_LABELS,
    WORKBENCH_LIMIT,
    Due,
    _department_names,
    _page,
    _today,
    due_of,
)
from tongban.cases.schemas import StepOut
from tongban.kit import workdays
from tongban.web.deps import CurrentPrincipal, DbSession

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class WorkRow:
    step: StepOut
    applicant: str
    subject: str
    due: Due | None
    delegated_to: str | None


@router.get("/workbench", response_class=HTMLResponse)
def workbench_page(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    kind: Annotated[str, Query(max_length=32)] = "",
    due: Annotated[str, Query(max_length=16)] = "",
    department: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    who = require_principal(principal)
    kind = kind if kind in STEP_LABELS else ""
    due = due if due in GLANCE_LABELS else ""
    rows = service.workbench(session=session, principal=who, kind=kind, limit=WORKBENCH_LIMIT)
    steps = views.workbench_out(session, rows)
    numbers = {s.case_number for s in steps}
    cases = (
        {
            n: (a, c, st)
            for n, a, c, st in session.execute(
                select(Case.number, Case.applicant_name, Case.subject_code, Case.status).where(
                    Case.number.in_(numbers)
                )
            ).all()
        }
        if numbers
        else {}
    )
    departments, by_id = _department_names(session)
    delegated: dict[int, str] = {}
    if steps:
        for d in session.scalars(
            select(Delegation)
            .where(Delegation.step_id.in_([s.id for s in steps]))
            .order_by(Delegation.id)
        ):
            delegated[d.step_id] = by_id.get(d.to_department_id, "")
    today = _today()
    work = [
        WorkRow(
            s,
            cases.get(s.case_number, ("", "", ""))[0],
            cases.get(s.case_number, ("", "", ""))[1],
            due_of(
                s.due_date,
                s.due_provisional,
                s.calendar_version,
                today,
                stopped=cases.get(s.case_number, ("", "", ""))[2] == CaseStatus.SUSPENDED.value,
            ),
            delegated.get(s.id),
        )
        for s in steps
    ]
    present = sorted({w.step.responsible_department or "" for w in work} - {""})
    if department:
        work = [w for w in work if w.step.responsible_department == department]
    glance = _due_at_a_glance(work, kind, department)
    if due:
        # each part of the bar leads to exactly the steps it counts
        work = [w for w in work if _glance_key(w) == due]
    context = {
        "rows": work,
        "filters": {"kind": kind, "due": due, "department": department},
        "present_departments": present,
        "departments": departments,
        "overdue_count": sum(1 for w in work if w.due is not None and w.due.state == "overdue"),
        "glance": glance,
        "due_labels": GLANCE_LABELS,
        "calendar": workdays.calendar_version(),
    }
    return _page(request, "cases/workbench.html", context)


@dataclass(frozen=True)
class GlanceSegment:
    key: str  # overdue | today | soon | later
    label: str  # a message id
    count: int
    url: str


GLANCE_LABELS = {
    "overdue": "Overdue",
    "today": "Due today",
    "soon": "Within 2 working days",
    "later": "Due later",
    "stopped": "Clock stopped",
}


def _due_at_a_glance(work: list[WorkRow], kind: str, department: str) -> list[GlanceSegment]:
    """The open steps by how soon they are due, for the bar above the table; each part leads to
    the steps it counts (the list's own filters)."""
    counts = dict.fromkeys(GLANCE_LABELS, 0)
    for w in work:
        key = _glance_key(w)
        if key:
            counts[key] += 1
    kept = {"kind": kind, "department": department}
    base = {k: v for k, v in kept.items() if v}
    return [
        GlanceSegment(key, label, counts[key], "/workbench?" + urlencode({**base, "due": key}))
        for key, label in GLANCE_LABELS.items()
    ]


def _glance_key(w: WorkRow) -> str:
    """The part of the due bar a step counts in ("" for none: no date, closed, stopped)."""
    if w.due is None or w.due.state in ("closed", "stopped"):
        return "stopped" if w.due is not None and w.due.state == "stopped" else ""
    if w.due.state in ("overdue", "today"):
        return w.due.state
    return "soon" if w.due.workdays <= 2 else "later"
