"""Queries for jurisdictions, departments and application modules."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tongban.org.models import ApplicationModule, Department, Jurisdiction


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
