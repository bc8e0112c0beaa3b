"""The calendar in force: the ``chinesecalendar`` package plus the imported years.

An import (``tongban calendar import FILE``, or the system administrator's page) checks the
file (:mod:`tongban.calendar.io`), keeps it as the year's next version (every version stays:
the history of what was in force), audits it, puts the year in force in this process
(``workdays.set_imported_years``) and recomputes the open steps' due dates that it moves
(:mod:`tongban.cases.recalc`), all in the caller's transaction.

Other processes see an import through :func:`refresh`, which reads the table's fingerprint at
most every :data:`REFRESH_SECONDS` (the case pages and API, ``tongban tick`` and the
escalation ladder call it), so an import is in force everywhere within that time.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tongban.auth.access import require_role
from tongban.auth.models import Role, User
from tongban.auth.principal import Principal
from tongban.calendar import io
from tongban.calendar.models import CalendarYear
from tongban.errors import ValidationFailed
from tongban.kit import workdays
from tongban.kit.hashchain import lock_chain

#: how long a process trusts the imported years it loaded before it looks again
REFRESH_SECONDS = 30.0

#: the advisory lock that serialises imports (PostgreSQL; SQLite's writers queue anyway)
LOCK = "calendar"

_lock = threading.Lock()
_loaded: tuple[int, int] | None = None  # (rows, highest id) of what is in force here
_checked_at = float("-inf")


@dataclass(frozen=True, slots=True)
class ImportResult:
    year: int
    version: int
    calendar_version: str
    unchanged: bool  # the same file as the version in force: nothing was written
    weekend_off_days: int
    differs_from_package: list[str] = field(default_factory=list)  # ISO dates
    moved: list[Any] = field(default_factory=list)  # recalc.DueChange


# ---------------------------------------------------------------- in force


def _fingerprint(session: Session) -> tuple[int, int]:
    rows, highest = session.execute(
        select(func.count(CalendarYear.id), func.coalesce(func.max(CalendarYear.id), 0))
    ).one()
    return int(rows), int(highest)


def in_force_rows(session: Session) -> list[CalendarYear]:
    """The highest version of each imported year, by year."""
    latest = (
        select(CalendarYear.year, func.max(CalendarYear.version).label("version"))
        .group_by(CalendarYear.year)
        .subquery()
    )
    return list(
        session.scalars(
            select(CalendarYear)
            .join(
                latest,
                (CalendarYear.year == latest.c.year) & (CalendarYear.version == latest.c.version),
            )
            .order_by(CalendarYear.year)
        )
    )


def _imported(row: CalendarYear) -> workdays.ImportedYear:
    days = [(dt.date.fromisoformat(d["date"]), bool(d["off"])) for d in row.days]
    return workdays.ImportedYear(
        year=row.year,
        version=row.version,
        off_days=frozenset(day for day, off in days if off),
        working_days=frozenset(day for day, off in days if not off),
    )


def load(session: Session) -> str:
    """Put the imported years of the database in force in this process; returns the
    calendar version now in force."""
    global _loaded, _checked_at
    with _lock:
        workdays.set_imported_years({r.year: _imported(r) for r in in_force_rows(session)})
        _loaded, _checked_at = _fingerprint(session), time.monotonic()
    return workdays.calendar_version()


def refresh(session: Session, *, force: bool = False) -> None:
    """Load the imported years again when another process imported one (looked at most every
    REFRESH_SECONDS, or now with ``force``)."""
    global _checked_at
    if not force and time.monotonic() - _checked_at < REFRESH_SECONDS:
        return
    if _fingerprint(session) == _loaded:
        _checked_at = time.monotonic()
        return
    load(session)


def forget() -> None:
    """The next :func:`refresh` looks at the database whatever the time (after an import
    whose transaction may still roll back, and in tests)."""
    global _checked_at, _loaded
    _checked_at, _loaded = float("-inf"), None


# ---------------------------------------------------------------- importing


def import_year(
    *, session: Session, principal: Principal | None, filename: str, data: bytes
) -> ImportResult:
    """The system administrator imports a year (the page)."""
    who = require_role(principal, Role.SYSADMIN)
    return _import(session, filename, data, actor_user_id=who.user_id)


def import_year_as_operator(*, session: Session, filename: str, data: bytes) -> ImportResult:
    """``tongban calendar import``: the operator at the console (recorded without a user)."""
    return _import(session, filename, data, actor_user_id=None)


def _package_differences(calendar: io.CalendarFile) -> list[str]:
    """Days of a year the package covers on which the file says otherwise."""
    imported = workdays.ImportedYear(calendar.year, 1, calendar.off_days, calendar.working_days)
    return [day.isoformat() for day in workdays.differences_from_package(imported)]


def _import(
    session: Session, filename: str, data: bytes, *, actor_user_id: int | None
) -> ImportResult:
    from tongban.audit import service as audit
    from tongban.cases import recalc

    calendar = io.parse_calendar(filename, data)
    lock_chain(session, LOCK)
    current = session.scalars(
        select(CalendarYear)
        .where(CalendarYear.year == calendar.year)
        .order_by(CalendarYear.version.desc())
        .limit(1)
    ).one_or_none()
    differences = _package_differences(calendar)
    if current is not None and current.sha256 == calendar.sha256:
        return ImportResult(
            calendar.year,
            current.version,
            current.calendar_version,
            True,
            calendar.weekend_off_days,
            differences,
        )
    row = CalendarYear(
        year=calendar.year,
        version=(current.version + 1) if current else 1,
        days=[d.as_json() for d in calendar.days],
        papers=list(calendar.papers),
        source_filename=filename[-200:],
        source_format=calendar.source_format,
        sha256=calendar.sha256,
        imported_by_id=actor_user_id,
    )
    session.add(row)
    session.flush()
    # In force here at once (the recompute below needs it); refresh() looks again at the next
    # call, so a transaction that rolls back leaves no wrong calendar behind for long.
    version = load(session)
    forget()
    row.calendar_version = version
    moved = recalc.recompute_due_dates(session, year=calendar.year, actor_id=actor_user_id)
    audit.record(
        session=session,
        actor_user_id=actor_user_id,
        action="calendar.import",
        object_type="calendar_year",
        object_key=str(calendar.year),
        detail={
            "version": row.version,
            "sha256": calendar.sha256,
            "file": row.source_filename,
            "format": calendar.source_format,
            "off_days": len(calendar.off_days),
            "working_days": len(calendar.working_days),
            "calendar": version,
            "differs_from_package": differences,
            "due_dates_moved": len(moved),
        },
    )
    session.flush()
    return ImportResult(
        calendar.year,
        row.version,
        version,
        False,
        calendar.weekend_off_days,
        differences,
        moved,
    )


def recompute_as_operator(*, session: Session, year: int) -> list[Any]:
    """``tongban calendar recompute YEAR``: after the package was upgraded to cover ``year``,
    count the open steps it moves again, as an import does (audited)."""
    from tongban.audit import service as audit
    from tongban.cases import recalc

    if not io.FIRST_YEAR <= year <= io.LAST_YEAR:
        raise ValidationFailed(
            "the year %(year)s is not between 1900 and 2200",
            params={"year": year},
            code="calendar_year_out_of_range",
        )
    lock_chain(session, LOCK)
    version = load(session)
    moved = recalc.recompute_due_dates(session, year=year, actor_id=None)
    audit.record(
        session=session,
        actor_user_id=None,
        action="calendar.recompute",
        object_type="calendar_year",
        object_key=str(year),
        detail={"calendar": version, "due_dates_moved": len(moved)},
    )
    return moved


# ---------------------------------------------------------------- the coverage page


@dataclass(frozen=True, slots=True)
class ImportRow:
    year: int
    version: int
    in_force: bool
    source_filename: str
    source_format: str
    sha256: str
    imported_at: dt.datetime
    imported_by: str  # a username, or "" for the operator at the console
    off_days: int
    working_days: int
    calendar_version: str


@dataclass(frozen=True, slots=True)
class Coverage:
    calendar_version: str
    package_first: int
    package_last: int
    imports: list[ImportRow]  # newest year first, each year's versions newest first

    @property
    def imported_years(self) -> list[int]:
        return sorted({r.year for r in self.imports if r.in_force})


def coverage(*, session: Session, principal: Principal | None) -> Coverage:
    """Which years the calendar in force covers and from where (system administrator)."""
    require_role(principal, Role.SYSADMIN)
    refresh(session)
    in_force = {(r.year, r.version) for r in in_force_rows(session)}
    rows = session.execute(
        select(CalendarYear, User.username)
        .outerjoin(User, User.id == CalendarYear.imported_by_id)
        .order_by(CalendarYear.year.desc(), CalendarYear.version.desc())
    ).all()
    imports = [
        ImportRow(
            year=r.year,
            version=r.version,
            in_force=(r.year, r.version) in in_force,
            source_filename=r.source_filename,
            source_format=r.source_format,
            sha256=r.sha256,
            imported_at=r.imported_at,
            imported_by=username or "",
            off_days=sum(1 for d in r.days if d["off"]),
            working_days=sum(1 for d in r.days if not d["off"]),
            calendar_version=r.calendar_version,
        )
        for r, username in rows
    ]
    return Coverage(
        calendar_version=workdays.calendar_version(),
        package_first=workdays.first_covered_year(),
        package_last=workdays.last_covered_year(),
        imports=imports,
    )
