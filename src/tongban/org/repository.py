"""Queries for jurisdictions, departments and application modules."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tongban.org.models import ApplicationModule, Department, Jurisdiction, ServiceHall


def jurisdiction_by_code(session: Session, code: str) -> Jurisdiction | None:
    return session.scalars(select(Jurisdiction).where(Jurisdiction.code == code)).one_or_none()


def jurisdictions(session: Session) -> list[Jurisdiction]:
    return list(session.scalars(select(Jurisdiction).order_by(Jurisdiction.path)))


def department_by_code(session: Session, code: str) -> Department | None:
    return session.scalars(select(Department).where(Department.code == code)).one_or_none()


def departments_by_codes(session: Session, codes: Iterable[str]) -> dict[str, Department]:
    wanted = set(codes)
    if not wanted:
        return {}
    rows = session.scalars(select(Department).where(Department.code.in_(wanted)))
    return {d.code: d for d in rows}


def departments_with_jurisdiction(session: Session) -> list[tuple[Department, Jurisdiction]]:
    rows = session.execute(
        select(Department, Jurisdiction)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .order_by(Jurisdiction.path, Department.code)
    ).all()
    return [(d, j) for d, j in rows]


def modules_with_departments(session: Session) -> list[ApplicationModule]:
    return list(
        session.scalars(
            select(ApplicationModule)
            .options(selectinload(ApplicationModule.departments))
            .order_by(ApplicationModule.position, ApplicationModule.code)
        )
    )


def module_by_code(session: Session, code: str) -> ApplicationModule | None:
    return session.scalars(
        select(ApplicationModule)
        .where(ApplicationModule.code == code)
        .options(selectinload(ApplicationModule.departments))
    ).one_or_none()


def department_codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The codes of these departments (only those asked for: a page names a few of them)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.code).where(Department.id.in_(wanted)))
    return {i: code for i, code in rows}


def jurisdiction_codes(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The division codes of these jurisdictions."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Jurisdiction.id, Jurisdiction.code).where(Jurisdiction.id.in_(wanted))
    )
    return {i: code for i, code in rows}


def all_departments(session: Session) -> list[Department]:
    """Every department, by code (a few hundred in a county: the name tables of pages)."""
    return list(session.scalars(select(Department).order_by(Department.code)))


def departments_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Department]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def jurisdictions_by_id(session: Session, ids: Iterable[int | None]) -> dict[int, Jurisdiction]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.scalars(select(Jurisdiction).where(Jurisdiction.id.in_(wanted)))
    return {j.id: j for j in rows}


def jurisdiction_path(session: Session, jurisdiction_id: int) -> str | None:
    return session.scalar(select(Jurisdiction.path).where(Jurisdiction.id == jurisdiction_id))


def service_hall_for(session: Session, jurisdiction_id: int) -> ServiceHall | None:
    """The window of an applicant of this jurisdiction: the hall of the nearest jurisdiction at
    or above it that has one."""
    path = jurisdiction_path(session, jurisdiction_id)
    if path is None:
        return None
    codes = [c for c in path.strip("/").split("/") if c]
    halls: dict[str, ServiceHall] = {}
    for hall, code in session.execute(
        select(ServiceHall, Jurisdiction.code)
        .join(Jurisdiction, Jurisdiction.id == ServiceHall.jurisdiction_id)
        .where(Jurisdiction.code.in_(codes))
        .order_by(ServiceHall.code)
    ):
        halls.setdefault(code, hall)
    for code in reversed(codes):
        if code in halls:
            return halls[code]
    return None
