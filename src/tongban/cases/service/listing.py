"""The case list, its export and the overview: every case a person may see, searched, paged,
counted.

What a person may see is the funnel's rule (``access.case_visible``) as one SQL condition
(:func:`visible_cases`): the reform office, observers and the single window see every case of
their subtree (by the applicant's place); staff see a case one of whose steps is theirs. The
list, the export and the overview's figures all read through it, so none of them shows a case
that its page would refuse.

On time or late follows the case's legal due date (counted in working days at submission): a
finished case is *on time* when it finished on or before it, *late* otherwise; an open case is
*overdue* once the date has passed. A suspended case (waiting for the applicant) is counted as
such, since its clock is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from tongban.audit import service as audit
from tongban.auth.access import require_principal
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.cases.models import Case, CaseStatus, CaseStep
from tongban.cases.service.access import OVERSIGHT_ROLES, STAFF_ROLES, visible_steps
from tongban.errors import PermissionDenied, ValidationFailed
from tongban.kit import workdays
from tongban.org.models import Department, Jurisdiction

#: who has a case list at all (an applicant follows their own case on the status page)
LIST_ROLES = (*STAFF_ROLES, *OVERSIGHT_ROLES, Role.FRONT_DESK)
#: the most rows one export writes (a county's year is about this; narrow the search for more)
EXPORT_LIMIT = 10_000
PAGE_SIZE = 50
FINISHED = (CaseStatus.COMPLETED.value, CaseStatus.REJECTED.value, CaseStatus.ARCHIVED.value)


@dataclass(frozen=True)
class CaseFilter:
    text: str = ""  # a case number (or its start), an applicant's name, an ID number, a code
    status: str = ""
    subject: str = ""  # an item's implementation code or a bundle's code
    department: str = ""  # a department that handles a step of the case, by code
    township: str = ""  # the applicant's township (or anything within it), by division code
    submitted_from: date | None = None
    submitted_to: date | None = None
    timeliness: str = ""  # on_time | late | overdue | open
    limit: int = PAGE_SIZE
    offset: int = 0


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """The cases a person may see, as one condition on ``Case``."""
    place = aliased(Jurisdiction)
    oversight = [
        place.path.startswith(s.jurisdiction_path, autoescape=True)
        for s in principal.scopes_for(*OVERSIGHT_ROLES, Role.FRONT_DESK)
    ]
    parts: list[ColumnElement[bool]] = []
    if oversight:
        parts.append(exists().where(place.id == Case.applicant_jurisdiction_id, or_(*oversight)))
    parts.append(
        exists(
            select(CaseStep.id)
            .join(Department, Department.id == CaseStep.responsible_department_id)
            .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
            .where(CaseStep.case_id == Case.id, visible_steps(principal))
        )
    )
    return or_(*parts)


def _today() -> date:
    return workdays.shanghai_today()


def timeliness_of(status: str, finished_at: datetime | None, legal_due: date | None) -> str:
    """``on_time``, ``late``, ``overdue``, ``open`` or ``suspended`` (see the module's text)."""
    if status == CaseStatus.SUSPENDED.value:
        return "suspended"
    if status in FINISHED:
        if finished_at is None or legal_due is None:
            return "on_time"
        return "on_time" if workdays.local_date(finished_at) <= legal_due else "late"
    if legal_due is not None and legal_due < _today():
        return "overdue"
    return "open"


def _start_of(day: date) -> datetime:
    """The UTC instant a Beijing calendar day starts."""
    return datetime.combine(day, time.min, tzinfo=workdays.SHANGHAI)


def _conditions(session: Session, principal: Principal, flt: CaseFilter) -> list[Any]:
    where: list[Any] = [visible_cases(principal)]
    text = flt.text.strip()
    if text:
        where.append(
            or_(
                Case.number.startswith(text, autoescape=True),
                Case.applicant_name.contains(text, autoescape=True),
                Case.applicant_id_no == text.upper(),
                Case.subject_code == text,
            )
        )
    if flt.status:
        where.append(Case.status == flt.status)
    if flt.subject:
        where.append(Case.subject_code == flt.subject)
    if flt.department:
        where.append(
            exists(
                select(CaseStep.id)
                .join(Department, Department.id == CaseStep.responsible_department_id)
                .where(CaseStep.case_id == Case.id, Department.code == flt.department)
            )
        )
    if flt.township:
        place = aliased(Jurisdiction)
        where.append(
            exists().where(
                place.id == Case.applicant_jurisdiction_id,
                place.path.contains(f"/{flt.township}/", autoescape=True),
            )
        )
    if flt.submitted_from is not None:
        where.append(Case.submitted_at >= _start_of(flt.submitted_from))
    if flt.submitted_to is not None:
        where.append(Case.submitted_at < _start_of(flt.submitted_to + timedelta(days=1)))
    today = _today()
    finished = Case.status.in_(FINISHED)
    if flt.timeliness == "overdue":
        where += [~finished, Case.status != CaseStatus.SUSPENDED.value, Case.legal_due < today]
    elif flt.timeliness == "open":
        where += [~finished, Case.status != CaseStatus.SUSPENDED.value]
        where.append(or_(Case.legal_due.is_(None), Case.legal_due >= today))
    elif flt.timeliness in ("on_time", "late"):
        # the finishing day in Beijing against the due date is decided per row
        # (:func:`timeliness_of`) on these candidates
        where.append(finished)
    return where


def check_filter(flt: CaseFilter) -> None:
    if flt.status and flt.status not in {s.value for s in CaseStatus}:
        raise ValidationFailed(
            "unknown case status '%(status)s'",
            params={"status": flt.status},
            code="unknown_case_status",
        )
    if flt.timeliness and flt.timeliness not in ("on_time", "late", "overdue", "open"):
        raise ValidationFailed(
            "unknown timeliness '%(value)s' (on_time, late, overdue, open)",
            params={"value": flt.timeliness},
            code="unknown_timeliness",
        )
    if flt.submitted_from and flt.submitted_to and flt.submitted_from > flt.submitted_to:
        raise ValidationFailed("the first day comes after the last", code="date_range_reversed")


def _may_list(principal: Principal | None) -> Principal:
    who = require_principal(principal)
    if not who.has_role(*LIST_ROLES):
        raise PermissionDenied("only staff have a case list", code="staff_only")
    return who


def search_cases(
    *, session: Session, principal: Principal | None, flt: CaseFilter
) -> tuple[list[Case], int]:
    """One page of the cases the person may see, newest first, and how many match."""
    who = _may_list(principal)
    check_filter(flt)
    where = _conditions(session, who, flt)
    order = (Case.submitted_at.desc(), Case.id.desc())
    query = select(Case).where(*where).order_by(*order)
    if flt.timeliness in ("on_time", "late"):
        candidates = session.execute(
            select(Case.id, Case.status, Case.finished_at, Case.legal_due)
            .where(*where)
            .order_by(*order)
        )
        ids = [
            row.id
            for row in candidates
            if timeliness_of(row.status, row.finished_at, row.legal_due) == flt.timeliness
        ]
        wanted = ids[flt.offset : flt.offset + flt.limit]
        by_id = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(wanted)))}
        return [by_id[i] for i in wanted], len(ids)
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    page = list(session.scalars(query.limit(flt.limit).offset(flt.offset)))
    return page, total


def export_cases(*, session: Session, principal: Principal | None, flt: CaseFilter) -> list[Case]:
    """Every case of the search, for a CSV or XLSX file (at most ``EXPORT_LIMIT``), audited."""
    who = _may_list(principal)
    rows, total = search_cases(
        session=session,
        principal=who,
        flt=CaseFilter(**{**flt.__dict__, "limit": EXPORT_LIMIT, "offset": 0}),
    )
    if total > EXPORT_LIMIT:
        raise ValidationFailed(
            "the search finds %(total)s cases, more than the %(limit)s one file holds: narrow it "
            "(a date range, a status, a township)",
            params={"total": total, "limit": EXPORT_LIMIT},
            code="export_too_large",
        )
    audit.record(
        session=session,
        actor_user_id=who.user_id,
        action="case.list_exported",
        object_type="case_list",
        object_key=str(len(rows)),
        detail={k: str(v) for k, v in flt.__dict__.items() if v not in ("", None, 0)},
    )
    return rows


@dataclass(frozen=True)
class Overview:
    total: int
    by_status: dict[str, int]
    by_timeliness: dict[str, int]
    by_department: list[tuple[str, str, str, int]]  # code, zh, en, cases with a step there
    by_township: list[tuple[str, str, str, int]]  # code, zh, en, cases of its applicants


def overview(*, session: Session, principal: Principal | None) -> Overview:
    """The figures of every case the person may see."""
    who = _may_list(principal)
    visible = visible_cases(who)
    by_status = {
        status: count
        for status, count in session.execute(
            select(Case.status, func.count()).where(visible).group_by(Case.status)
        )
    }
    by_timeliness: dict[str, int] = {}
    for status, finished_at, due in session.execute(
        select(Case.status, Case.finished_at, Case.legal_due).where(visible)
    ):
        key = timeliness_of(status, finished_at, due)
        by_timeliness[key] = by_timeliness.get(key, 0) + 1
    departments = [
        (code, zh, en, count)
        for code, zh, en, count in session.execute(
            select(
                Department.code,
                Department.name_zh,
                Department.name_en,
                func.count(func.distinct(CaseStep.case_id)),
            )
            .join(CaseStep, CaseStep.responsible_department_id == Department.id)
            .join(Case, Case.id == CaseStep.case_id)
            .where(visible)
            .group_by(Department.code, Department.name_zh, Department.name_en)
            .order_by(func.count(func.distinct(CaseStep.case_id)).desc(), Department.code)
        )
    ]
    place = aliased(Jurisdiction)
    town = aliased(Jurisdiction)
    townships = [
        (code, zh, en, count)
        for code, zh, en, count in session.execute(
            select(town.code, town.name_zh, town.name_en, func.count(Case.id))
            .join(place, place.id == Case.applicant_jurisdiction_id)
            .join(
                town,
                and_(
                    town.level == "township",
                    or_(place.id == town.id, place.parent_id == town.id),
                ),
            )
            .where(visible)
            .group_by(town.code, town.name_zh, town.name_en)
            .order_by(func.count(Case.id).desc(), town.code)
        )
    ]
    total = sum(by_status.values())
    return Overview(total, by_status, by_timeliness, departments, townships)


__all__ = [
    "EXPORT_LIMIT",
    "LIST_ROLES",
    "PAGE_SIZE",
    "CaseFilter",
    "Overview",
    "export_cases",
    "overview",
    "search_cases",
    "timeliness_of",
    "visible_cases",
]
