"""Known-answer tests for working-day arithmetic (answers checked against the 2026 calendar)."""

from __future__ import annotations

import datetime as dt
import re
from importlib import metadata

import chinese_calendar
import pytest

from tongban.kit import workdays
from tongban.kit.workdays import (
    MAX_DAYS,
    SHANGHAI,
    CalendarNotCovered,
    WorkdayCount,
    WorkdayResult,
    add_workdays,
    calendar_version,
    covered,
    due_at,
    first_covered_year,
    is_workday,
    last_covered_year,
    local_date,
    shanghai_today,
    workdays_between,
)

D = dt.date.fromisoformat
UTC = dt.UTC
UTC_MINUS_5 = dt.timezone(dt.timedelta(hours=-5))


# --- calendar identity ---------------------------------------------------------------------


def test_covered_years_are_derived_from_package_data() -> None:
    years = sorted({day.year for day in chinese_calendar.holidays})
    assert first_covered_year() == years[0]
    assert last_covered_year() == years[-1]
    # The installed v1.11.0 data covers 2004..2026; newer versions may only extend this.
    assert first_covered_year() <= 2004
    assert last_covered_year() >= 2026


def test_calendar_version_names_package_version_and_years() -> None:
    version = calendar_version()
    assert version == (
        f"chinesecalendar {metadata.version('chinesecalendar')} "
        f"({first_covered_year()}-{last_covered_year()})"
    )
    assert re.fullmatch(r"chinesecalendar \d+\.\d+\.\d+\S* \(\d{4}-\d{4}\)", version)


def test_shanghai_constant() -> None:
    assert str(SHANGHAI) == "Asia/Shanghai"
    assert dt.datetime(2026, 1, 1, tzinfo=SHANGHAI).utcoffset() == dt.timedelta(hours=8)


def test_shanghai_today_is_a_plain_date() -> None:
    today = shanghai_today()
    assert type(today) is dt.date
    assert abs((today - dt.datetime.now(UTC).date()).days) <= 1


# --- local_date / due_at -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 16:30 UTC is 00:30 the next day in Shanghai (UTC+8).
        (dt.datetime(2026, 9, 27, 16, 30, tzinfo=UTC), D("2026-09-28")),
        (dt.datetime(2026, 9, 27, 15, 59, 59, tzinfo=UTC), D("2026-09-27")),
        (dt.datetime(2026, 9, 28, 23, 59, tzinfo=SHANGHAI), D("2026-09-28")),
        (dt.datetime(2026, 9, 28, 9, 0, tzinfo=UTC_MINUS_5), D("2026-09-28")),
        (dt.datetime(2026, 9, 28, 12, 0, tzinfo=UTC_MINUS_5), D("2026-09-29")),
    ],
)
def test_local_date_converts_to_shanghai(moment: dt.datetime, expected: dt.date) -> None:
    assert local_date(moment) == expected


def test_local_date_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-09-28T09:00:00 has no time zone"):
        local_date(dt.datetime(2026, 9, 28, 9, 0))  # noqa: DTZ001 - the naive value is the point


def test_local_date_rejects_plain_date() -> None:
    with pytest.raises(ValueError, match="expected a datetime, got date"):
        local_date(D("2026-09-28"))  # type: ignore[arg-type]


def test_due_at_uses_shanghai_date_of_the_moment() -> None:
    # 2026-09-27 17:00 UTC is 2026-09-28 01:00 in Shanghai: start day is Monday 09-28.
    result = due_at(dt.datetime(2026, 9, 27, 17, 0, tzinfo=UTC), 5)
    assert result == WorkdayResult(D("2026-10-10"), False, calendar_version())
    # One hour earlier it is still Sunday 09-27 (a Mid-Autumn holiday) in Shanghai.
    assert due_at(dt.datetime(2026, 9, 27, 15, 0, tzinfo=UTC), 5).date == D("2026-10-09")


def test_due_at_rejects_naive_datetime() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        due_at(dt.datetime(2026, 9, 28), 5)  # noqa: DTZ001


# --- is_workday / covered ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2026-09-28", True),  # Monday
        ("2026-10-01", False),  # National Day
        ("2026-10-07", False),  # last day of the National Day holiday
        ("2026-10-10", True),  # Saturday, adjusted working day (调休上班)
        ("2026-09-20", True),  # Sunday, adjusted working day
        ("2026-10-11", False),  # ordinary Sunday
        ("2026-02-14", True),  # Saturday before Spring Festival, adjusted working day
        ("2026-02-17", False),  # Spring Festival (正月初一)
        ("2026-02-28", True),  # Saturday after Spring Festival, adjusted working day
        ("2004-01-01", False),  # first covered year, New Year's Day
        ("2004-01-02", True),
    ],
)
def test_is_workday_known_days(day: str, expected: bool) -> None:
    assert is_workday(D(day)) is expected


def test_is_workday_agrees_with_package_for_all_of_2026() -> None:
    day = D("2026-01-01")
    while day.year == 2026:
        assert is_workday(day) is chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)


@pytest.mark.parametrize("day", ["2027-01-04", "2003-12-31", "1999-10-01", "2100-06-01"])
def test_is_workday_refuses_to_guess_outside_coverage(day: str) -> None:
    assert not covered(D(day))
    with pytest.raises(CalendarNotCovered, match=rf"no official holiday calendar for {day}"):
        is_workday(D(day))


def test_calendar_not_covered_is_a_value_error() -> None:
    assert issubclass(CalendarNotCovered, ValueError)


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2004-01-01", True), ("2026-12-31", True), ("2003-12-31", False), ("2027-01-01", False)],
)
def test_covered_boundaries(day: str, expected: bool) -> None:
    # These boundaries hold for chinesecalendar 1.11.0; skip when a newer package is installed.
    if last_covered_year() != 2026 or first_covered_year() != 2004:
        pytest.skip("boundary test written for chinesecalendar data 2004-2026")
    assert covered(D(day)) is expected


@pytest.mark.parametrize(
    "func", [is_workday, covered, lambda d: add_workdays(d, 1), lambda d: workdays_between(d, d)]
)
def test_datetime_instead_of_date_is_rejected(func: object) -> None:
    moment = dt.datetime(2026, 9, 28, 9, 0, tzinfo=SHANGHAI)
    with pytest.raises(ValueError, match="must be a date, not a datetime; convert it with local"):
        func(moment)  # type: ignore[operator]


def test_non_date_is_rejected() -> None:
    with pytest.raises(ValueError, match="start must be a date, got str"):
        add_workdays("2026-09-28", 1)  # type: ignore[arg-type]


# --- add_workdays: known answers ----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # National Day 2026. Start Monday 09-28 (day 0, not counted):
        # day1 = 09-29 Tue, day2 = 09-30 Wed, 10-01..10-07 holiday,
        # day3 = 10-08 Thu, day4 = 10-09 Fri, day5 = 10-10 Sat (adjusted working day).
        ("2026-09-28", 5, "2026-10-10"),
        ("2026-09-28", 2, "2026-09-30"),
        ("2026-09-28", 3, "2026-10-08"),
        # day6 skips Sunday 10-11 -> Monday 10-12.
        ("2026-09-28", 6, "2026-10-12"),
        # Mid-Autumn 2026: Fri 09-18 -> Sat 09-19 rest, Sun 09-20 adjusted working day.
        ("2026-09-18", 1, "2026-09-20"),
        # Start on a rest day (Sat 09-19): counting still starts the next day.
        ("2026-09-19", 1, "2026-09-20"),
        # Mon 09-21 .. Thu 09-24 are days 1-4 from 09-20; 09-25..09-27 holiday; day5 = 09-28.
        ("2026-09-20", 5, "2026-09-28"),
        # Spring Festival 2026 (holiday 02-15..02-23; Sat 02-14 and Sat 02-28 are working days).
        # Fri 02-13 -> day1 = Sat 02-14.
        ("2026-02-13", 1, "2026-02-14"),
        # Fri 02-13 -> day1 = 02-14, then 9 days of holiday, day2 = Tue 02-24.
        ("2026-02-13", 2, "2026-02-24"),
        # Thu 02-12 -> 02-13, 02-14, 02-24, 02-25, day5 = Thu 02-26.
        ("2026-02-12", 5, "2026-02-26"),
        # Mon 02-23 (last holiday day) -> 02-24 .. 02-27 are days 1-4, Sat 02-28 is day5.
        ("2026-02-23", 5, "2026-02-28"),
        # A plain week: Mon 03-09 -> Tue..Fri are days 1-4, next Monday 03-16 is day5.
        ("2026-03-09", 5, "2026-03-16"),
        ("2026-03-13", 1, "2026-03-16"),  # Friday + 1 = Monday
        ("2026-03-09", 10, "2026-03-23"),
        # Start exactly on a holiday (National Day 10-01): day1 = 10-08.
        ("2026-10-01", 1, "2026-10-08"),
        ("2026-10-01", 3, "2026-10-10"),
        # New Year 2026: holiday 01-01..01-03, Sun 01-04 is an adjusted working day.
        ("2025-12-31", 1, "2026-01-04"),
        # Spring Festival 2025: holiday 01-28..02-04, Sat 02-08 adjusted working day.
        ("2025-01-27", 4, "2025-02-08"),
        # The very first covered day is a holiday; the start day itself is never examined.
        ("2003-12-31", 1, "2004-01-02"),
    ],
)
def test_add_workdays_known_answers(start: str, days: int, expected: str) -> None:
    result = add_workdays(D(start), days)
    assert result == WorkdayResult(D(expected), False, calendar_version())


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-09-28", "2026-09-28"),  # working day: the same day
        ("2026-10-10", "2026-10-10"),  # adjusted working Saturday: the same day
        ("2026-10-01", "2026-10-08"),  # holiday: next working day
        ("2026-10-07", "2026-10-08"),
        ("2026-03-14", "2026-03-16"),  # Saturday: Monday
        ("2026-02-15", "2026-02-24"),  # Spring Festival: first working day after it
    ],
)
def test_add_zero_workdays_is_same_or_next_working_day(start: str, expected: str) -> None:
    assert add_workdays(D(start), 0) == WorkdayResult(D(expected), False, calendar_version())


# --- add_workdays: beyond coverage ---------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected", "provisional"),
    [
        # Mon 12-28 -> 12-29, 12-30, 12-31 (covered) then 2027-01-01 *assumed* working
        # (Friday) and 2027-01-04 Monday: no 2027 data, so the answer is provisional.
        ("2026-12-28", 5, "2027-01-04", True),
        ("2026-12-28", 3, "2026-12-31", False),  # stays inside 2026: not provisional
        ("2026-12-31", 1, "2027-01-01", True),
        ("2026-12-31", 0, "2026-12-31", False),
        ("2027-01-02", 0, "2027-01-04", True),  # Saturday, guessed rest day
        ("2027-06-01", 5, "2027-06-08", True),
        ("2003-12-29", 1, "2003-12-30", True),  # before 2004: the same rule
        ("2003-12-29", 3, "2004-01-02", True),
    ],
)
def test_add_workdays_beyond_coverage_is_provisional(
    start: str, days: int, expected: str, provisional: bool
) -> None:
    if last_covered_year() != 2026 or first_covered_year() != 2004:
        pytest.skip("coverage test written for chinesecalendar data 2004-2026")
    result = add_workdays(D(start), days)
    assert result.date == D(expected)
    assert result.provisional is provisional
    assert result.calendar_version == calendar_version()


def test_results_are_frozen() -> None:
    result = add_workdays(D("2026-03-09"), 1)
    with pytest.raises(AttributeError):
        result.date = D("2026-03-11")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (-1, "days must not be negative, got -1"),
        (MAX_DAYS + 1, f"days must be at most {MAX_DAYS}, got {MAX_DAYS + 1}"),
        (1.5, "days must be an integer, got 1.5"),
        (True, "days must be an integer, got True"),
        ("5", "days must be an integer, got '5'"),
    ],
)
def test_add_workdays_rejects_bad_days(days: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        add_workdays(D("2026-03-09"), days)  # type: ignore[arg-type]


# --- workdays_between ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        ("2026-09-28", "2026-10-10", 5),  # 09-29, 09-30, 10-08, 10-09, 10-10
        ("2026-09-28", "2026-09-28", 0),  # empty range
        ("2026-09-30", "2026-10-07", 0),  # only holiday days
        # 10-08..10-10 (3, incl. adjusted Sat) + weeks 10-12..10-30 (15); Sat 10-31 rests.
        ("2026-10-01", "2026-10-31", 18),
        ("2026-03-09", "2026-03-16", 5),
        ("2026-02-13", "2026-02-24", 2),  # 02-14 (adjusted) and 02-24
    ],
)
def test_workdays_between_known_answers(start: str, end: str, count: int) -> None:
    assert workdays_between(D(start), D(end)) == WorkdayCount(count, False, calendar_version())


def test_workdays_between_whole_year_2026() -> None:
    # Counted independently from the package: every covered day it calls a working day.
    expected = sum(
        1
        for offset in range(365)
        if chinese_calendar.is_workday(D("2026-01-01") + dt.timedelta(days=offset))
    )
    assert workdays_between(D("2025-12-31"), D("2026-12-31")).count == expected


def test_workdays_between_beyond_coverage_is_provisional() -> None:
    if last_covered_year() != 2026:
        pytest.skip("coverage test written for chinesecalendar data up to 2026")
    # 12-29, 12-30, 12-31 known; 2027-01-01 (Fri) and 2027-01-04 (Mon) guessed.
    assert workdays_between(D("2026-12-28"), D("2027-01-04")) == WorkdayCount(
        5, True, calendar_version()
    )


def test_workdays_between_rejects_reversed_range() -> None:
    with pytest.raises(ValueError, match="end 2026-09-27 is before start 2026-09-28"):
        workdays_between(D("2026-09-28"), D("2026-09-27"))


@pytest.mark.parametrize(
    "start", ["2026-09-25", "2026-09-28", "2026-01-01", "2026-02-10", "2025-04-30", "2026-12-20"]
)
@pytest.mark.parametrize("days", [1, 2, 3, 5, 7, 10, 15, 20, 30])
def test_add_and_count_are_inverse(start: str, days: int) -> None:
    result = add_workdays(D(start), days)
    counted = workdays_between(D(start), result.date)
    assert counted.count == days
    assert counted.provisional is result.provisional
    # The due date is itself a working day (under the same, possibly guessed, rule).
    assert workdays._status(result.date)[0]
