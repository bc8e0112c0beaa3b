"""Legal time limits counted in Chinese working days (工作日).

The official calendar (statutory holidays and the adjusted working weekends, 调休) comes from
the maintained package ``chinesecalendar`` (import name ``chinese_calendar``).  See
``docs/decisions/0002-working-days.md`` for the decision record.

Counting rule
-------------

* The day of acceptance (or any other start event) is day 0 and is not counted
  (受理当日不计入).
* Counting begins on the next calendar day (自次日起算).
* Only working days count: statutory holidays are skipped (法定节假日不计) and adjusted
  working weekends count (调休上班日计入).
* ``add_workdays(start, n)`` with ``n >= 1`` returns the date of the n-th working day after
  ``start``; the time limit expires at the end of that day.
* ``add_workdays(start, 0)`` returns ``start`` itself when it is a working day, otherwise the
  first working day after it ("same working day").
* ``workdays_between(start, end)`` counts the working days in the half-open range
  ``(start, end]``, so ``workdays_between(s, add_workdays(s, n).date).count == n`` for n >= 1.

Coverage: the module refuses to guess
-------------------------------------

The package only knows the years for which the State Council has published the holiday
arrangement (for v1.11.0: 2004..2026).  For a day outside those years the module falls back
to "Monday to Friday are working days" so that the user still gets a date, but every result
whose answer depended on such a day carries ``provisional=True``.  The strict predicate
:func:`is_workday` raises :class:`CalendarNotCovered` instead of guessing.

Imported years
--------------

A year published before the package's next release can be imported (``tongban calendar
import``); the calendar domain (``tongban.calendar.service``) reads the imported years from the
database and hands them to :func:`set_imported_years`.  An imported year replaces the package
for that year, counts as covered, and appears in :func:`calendar_version`
(``chinesecalendar 1.11.0+2027.v1``).  This module never touches the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = [
    "MAX_DAYS",
    "SHANGHAI",
    "VERSION_MAX",
    "CalendarNotCovered",
    "ImportedYear",
    "WorkdayCount",
    "WorkdayResult",
    "add_workdays",
    "calendar_version",
    "covered",
    "differences_from_package",
    "due_at",
    "first_covered_year",
    "imported_years",
    "is_workday",
    "last_covered_year",
    "local_date",
    "set_imported_years",
    "shanghai_today",
    "workdays_between",
]

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
"""The single time zone of the platform; all legal dates are Shanghai (Beijing time) dates."""

MAX_DAYS: Final = 10_000
"""Upper bound for a time limit in working days (about 40 years); larger values are errors."""

VERSION_MAX: Final = 60
"""Longest :func:`calendar_version` (the width of ``case_step.calendar_version``)."""

_ONE_DAY: Final = dt.timedelta(days=1)
_PACKAGE: Final = "chinesecalendar"


class CalendarNotCovered(ValueError):
    """The official holiday calendar has no data for the requested day."""


@dataclass(frozen=True, slots=True)
class WorkdayResult:
    """A computed date.

    ``provisional`` is True when the answer depended on at least one day outside the years
    covered by the installed calendar (those days were assumed to follow Monday to Friday).
    """

    date: dt.date
    provisional: bool
    calendar_version: str


@dataclass(frozen=True, slots=True)
class WorkdayCount:
    """A number of working days, with the same ``provisional`` meaning as WorkdayResult."""

    count: int
    provisional: bool
    calendar_version: str


@dataclass(frozen=True, slots=True)
class ImportedYear:
    """One year's official arrangement, imported: the listed days off (holidays, also those
    that fall on a weekend) and the adjusted working days (调休上班日, always a weekend day);
    every other day follows Monday to Friday.  ``version`` counts the imports of the year."""

    year: int
    version: int
    off_days: frozenset[dt.date]
    working_days: frozenset[dt.date]

    def __post_init__(self) -> None:
        for day in self.off_days | self.working_days:
            if day.year != self.year:
                raise ValueError(f"{day.isoformat()} is not in {self.year}")
        if self.off_days & self.working_days:
            raise ValueError(f"{self.year}: a day cannot be both off and a working day")
        if self.version < 1:
            raise ValueError(f"{self.year}: version must be at least 1, got {self.version}")

    def is_workday(self, day: dt.date) -> bool:
        if day in self.off_days:
            return False
        return day in self.working_days or day.weekday() < 5


@dataclass(frozen=True, eq=False, slots=True)
class _Calendar:
    """The calendar in force: the imported years over the package.  Replaced as a whole (never
    changed), and a cache key by identity, so an answer cached under one calendar is never
    returned under the next."""

    imported: Mapping[int, ImportedYear]


_in_force = _Calendar(MappingProxyType({}))


def set_imported_years(years: Mapping[int, ImportedYear]) -> None:
    """Put these imported years in force (replacing any set before); called by the calendar
    service when the process starts and after each import."""
    global _in_force
    for year, imported in years.items():
        if year != imported.year:
            raise ValueError(f"imported year {imported.year} given under the key {year}")
    _in_force = _Calendar(MappingProxyType(dict(years)))


def differences_from_package(imported: ImportedYear) -> list[dt.date]:
    """Days of a year the package covers on which ``imported`` says otherwise (none for a
    year the package does not cover)."""
    first, last = _covered_years()
    if not first <= imported.year <= last:
        return []
    day, found = dt.date(imported.year, 1, 1), []
    while day.year == imported.year:
        if imported.is_workday(day) != bool(chinese_calendar.is_workday(day)):
            found.append(day)
        day += _ONE_DAY
    return found


def imported_years() -> Mapping[int, ImportedYear]:
    """The imported years in force (read-only)."""
    return _in_force.imported


@functools.cache
def _covered_years() -> tuple[int, int]:
    # Mirrors the package's own rule: a year is covered when it has holiday entries.
    years = {day.year for day in chinese_calendar.holidays}
    return min(years), max(years)


def first_covered_year() -> int:
    """First year for which the installed package has official data (imports aside)."""
    return _covered_years()[0]


def last_covered_year() -> int:
    """Last year for which the installed package has official data (imports aside)."""
    return _covered_years()[1]


@functools.cache
def _package_version() -> str:
    try:
        return metadata.version(_PACKAGE)
    except metadata.PackageNotFoundError:  # pragma: no cover - vendored/unusual installs
        return str(getattr(chinese_calendar, "__version__", "unknown"))


def calendar_version() -> str:
    """Calendar identity stamped on every result: ``"chinesecalendar 1.11.0 (2004-2026)"``
    for the package alone, ``"chinesecalendar 1.11.0+2026.v2+2027.v1"`` with imported years.
    A stamp never exceeds :data:`VERSION_MAX` characters: with too many imported years to
    list, it names how many and a digest of their versions
    (``"chinesecalendar 1.11.0+5y#3f9a0c12d4e8"``)."""
    return _version_of(_in_force)


@functools.lru_cache(maxsize=8)
def _version_of(calendar: _Calendar) -> str:
    if not calendar.imported:
        first, last = _covered_years()
        return f"{_PACKAGE} {_package_version()} ({first}-{last})"
    years = sorted(calendar.imported.values(), key=lambda y: y.year)
    listed = f"{_PACKAGE} {_package_version()}" + "".join(f"+{y.year}.v{y.version}" for y in years)
    if len(listed) <= VERSION_MAX:
        return listed
    digest = hashlib.sha256(listed.encode()).hexdigest()[:12]
    return f"{_PACKAGE} {_package_version()}+{len(years)}y#{digest}"


def shanghai_today() -> dt.date:
    """Today's date in Shanghai."""
    return dt.datetime.now(SHANGHAI).date()


def local_date(moment: dt.datetime) -> dt.date:
    """Shanghai calendar date of an aware datetime; naive datetimes are rejected."""
    if not isinstance(moment, dt.datetime):
        raise ValueError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone; refusing to guess")
    return moment.astimezone(SHANGHAI).date()


def _check_day(value: object, name: str) -> dt.date:
    # datetime is a subclass of date; a datetime here is almost always a time zone bug.
    if isinstance(value, dt.datetime):
        raise ValueError(f"{name} must be a date, not a datetime; convert it with local_date()")
    if not isinstance(value, dt.date):
        raise ValueError(f"{name} must be a date, got {type(value).__name__}")
    return value


def covered(day: dt.date) -> bool:
    """True when the calendar in force (package or an imported year) has official data for
    the year of ``day``."""
    year = _check_day(day, "day").year
    first, last = _covered_years()
    return first <= year <= last or year in _in_force.imported


def _status(day: dt.date, calendar: _Calendar | None = None) -> tuple[bool, bool]:
    """Return ``(is_working_day, provisional)``; never raises for a valid date."""
    imported = (calendar or _in_force).imported.get(day.year)
    if imported is not None:
        return imported.is_workday(day), False
    first, last = _covered_years()
    if first <= day.year <= last:
        return bool(chinese_calendar.is_workday(day)), False
    return day.weekday() < 5, True


def is_workday(day: dt.date) -> bool:
    """Strict predicate: is ``day`` an official working day?

    Raises :class:`CalendarNotCovered` (a ValueError) for days outside the covered years.
    """
    _check_day(day, "day")
    if not covered(day):
        first, last = _covered_years()
        raise CalendarNotCovered(
            f"no official holiday calendar for {day.isoformat()}: {calendar_version()} "
            f"covers {first}-{last} only; upgrade {_PACKAGE} or import the year "
            "(tongban calendar import)"
        )
    return _status(day)[0]


def _check_days(days: object) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError(f"days must be an integer, got {days!r}")
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    if days > MAX_DAYS:
        raise ValueError(f"days must be at most {MAX_DAYS}, got {days}")
    return days


def add_workdays(start: dt.date, days: int) -> WorkdayResult:
    """Date of the ``days``-th working day after ``start`` (start itself is day 0).

    ``days == 0`` gives ``start`` when it is a working day, else the next working day. Answers
    are remembered: they depend only on the arguments and the calendar in force (part of the
    cache key, so an import is seen at once), and every application and every step made ready
    on one day asks the same few questions.
    """
    return _add_workdays(start, days, _in_force)


@functools.lru_cache(maxsize=8192, typed=True)  # typed: True is not 1 here
def _add_workdays(start: dt.date, days: int, calendar: _Calendar) -> WorkdayResult:
    current = _check_day(start, "start")
    remaining = _check_days(days)
    provisional = False
    if remaining == 0:
        working, guessed = _status(current, calendar)
        provisional = guessed
        while not working:
            current += _ONE_DAY
            working, guessed = _status(current, calendar)
            provisional = provisional or guessed
    while remaining > 0:
        current += _ONE_DAY
        working, guessed = _status(current, calendar)
        provisional = provisional or guessed
        if working:
            remaining -= 1
    return WorkdayResult(current, provisional, _version_of(calendar))


def workdays_between(start: dt.date, end: dt.date) -> WorkdayCount:
    """Number of working days in ``(start, end]``; ``end`` before ``start`` is an error."""
    calendar = _in_force
    current = _check_day(start, "start")
    last = _check_day(end, "end")
    if last < current:
        raise ValueError(f"end {last.isoformat()} is before start {current.isoformat()}")
    count = 0
    provisional = False
    while current < last:
        current += _ONE_DAY
        working, guessed = _status(current, calendar)
        provisional = provisional or guessed
        count += working
    return WorkdayCount(count, provisional, _version_of(calendar))


def due_at(start: dt.datetime, days: int) -> WorkdayResult:
    """:func:`add_workdays` from the Shanghai local date of an aware datetime."""
    return add_workdays(local_date(start), days)
