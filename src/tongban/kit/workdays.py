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
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import metadata
from typing import Final
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = [
    "MAX_DAYS",
    "SHANGHAI",
    "CalendarNotCovered",
    "WorkdayCount",
    "WorkdayResult",
    "add_workdays",
    "calendar_version",
    "covered",
    "due_at",
    "first_covered_year",
    "is_workday",
    "last_covered_year",
    "local_date",
    "shanghai_today",
    "workdays_between",
]

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")
"""The single time zone of the platform; all legal dates are Shanghai (Beijing time) dates."""

MAX_DAYS: Final = 10_000
"""Upper bound for a time limit in working days (about 40 years); larger values are errors."""

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


@functools.cache
def _covered_years() -> tuple[int, int]:
    # Mirrors the package's own rule: a year is covered when it has holiday entries.
    years = {day.year for day in chinese_calendar.holidays}
    return min(years), max(years)


def first_covered_year() -> int:
    """First year for which the installed calendar has official data."""
    return _covered_years()[0]


def last_covered_year() -> int:
    """Last year for which the installed calendar has official data."""
    return _covered_years()[1]


@functools.cache
def calendar_version() -> str:
    """Human-readable calendar identity, e.g. ``"chinesecalendar 1.11.0 (2004-2026)"``."""
    try:
        version = metadata.version(_PACKAGE)
    except metadata.PackageNotFoundError:  # pragma: no cover - vendored/unusual installs
        version = str(getattr(chinese_calendar, "__version__", "unknown"))
    first, last = _covered_years()
    return f"{_PACKAGE} {version} ({first}-{last})"


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
    """True when the installed calendar has official data for the year of ``day``."""
    first, last = _covered_years()
    return first <= _check_day(day, "day").year <= last


def _status(day: dt.date) -> tuple[bool, bool]:
    """Return ``(is_working_day, provisional)``; never raises for a valid date."""
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
            f"covers {first}-{last} only; upgrade {_PACKAGE}"
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


@functools.lru_cache(maxsize=8192, typed=True)  # typed: True is not 1 here
def add_workdays(start: dt.date, days: int) -> WorkdayResult:
    """Date of the ``days``-th working day after ``start`` (start itself is day 0).

    ``days == 0`` gives ``start`` when it is a working day, else the next working day. Answers
    are remembered: they depend only on the arguments and the installed calendar, and every
    application and every step made ready on one day asks the same few questions.
    """
    current = _check_day(start, "start")
    remaining = _check_days(days)
    provisional = False
    if remaining == 0:
        working, guessed = _status(current)
        provisional = guessed
        while not working:
            current += _ONE_DAY
            working, guessed = _status(current)
            provisional = provisional or guessed
    while remaining > 0:
        current += _ONE_DAY
        working, guessed = _status(current)
        provisional = provisional or guessed
        if working:
            remaining -= 1
    return WorkdayResult(current, provisional, calendar_version())


def workdays_between(start: dt.date, end: dt.date) -> WorkdayCount:
    """Number of working days in ``(start, end]``; ``end`` before ``start`` is an error."""
    current = _check_day(start, "start")
    last = _check_day(end, "end")
    if last < current:
        raise ValueError(f"end {last.isoformat()} is before start {current.isoformat()}")
    count = 0
    provisional = False
    while current < last:
        current += _ONE_DAY
        working, guessed = _status(current)
        provisional = provisional or guessed
        count += working
    return WorkdayCount(count, provisional, calendar_version())


def due_at(start: dt.datetime, days: int) -> WorkdayResult:
    """:func:`add_workdays` from the Shanghai local date of an aware datetime."""
    return add_workdays(local_date(start), days)
