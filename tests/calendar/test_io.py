"""The calendar files: both formats read, and each kind of mistake refused with its message."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from tongban.calendar import io
from tongban.errors import ValidationFailed

HOLIDAY_CN = Path("/work/shared/data/holiday-cn")


def _refusal(filename: str, data: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        io.parse_calendar(filename, data)
    return caught.value


def _yaml(year: int, days: str) -> bytes:
    return f"year: {year}\ndays:\n{days}".encode()


GOOD_2027 = """\
  - {date: 2027-01-01, name: 元旦, off: true}
  - {date: 2027-02-06, name: 春节, off: false}
  - {date: 2027-02-08, name: 春节, off: true}
"""


def test_the_yaml_format_reads_sorted_and_fingerprinted() -> None:
    data = _yaml(2027, GOOD_2027)
    found = io.parse_calendar("2027.yaml", data)
    assert found.year == 2027
    assert found.source_format == "yaml"
    assert found.off_days == {dt.date(2027, 1, 1), dt.date(2027, 2, 8)}
    assert found.working_days == {dt.date(2027, 2, 6)}
    assert [d.date for d in found.days] == sorted(d.date for d in found.days)
    assert len(found.sha256) == 64
    again = io.parse_calendar("2027.yml", io.to_yaml(found).encode())
    assert again.days == found.days


@pytest.mark.skipif(not HOLIDAY_CN.is_dir(), reason="the holiday-cn files are not here")
def test_the_holiday_cn_files_read_and_weekend_days_off_are_kept() -> None:
    found = io.parse_calendar("2026.json", (HOLIDAY_CN / "2026.json").read_bytes())
    assert found.source_format == "holiday-cn"
    assert found.year == 2026
    assert dt.date(2026, 1, 3) in found.off_days  # a Saturday inside the New Year holiday
    assert found.weekend_off_days > 0
    assert dt.date(2026, 1, 4) in found.working_days  # Sunday worked


@pytest.mark.skipif(not HOLIDAY_CN.is_dir(), reason="the holiday-cn files are not here")
def test_a_year_not_published_yet_is_refused() -> None:
    # holiday-cn's 2027.json has "days": [] until the State Council publishes 2027.
    exc = _refusal("2027.json", (HOLIDAY_CN / "2027.json").read_bytes())
    assert exc.code == "calendar_file_invalid"
    assert "not published yet" in exc.errors[0].message


def test_a_date_listed_twice_is_refused_naming_both_entries() -> None:
    exc = _refusal(
        "x.yaml", _yaml(2027, GOOD_2027 + "  - {date: 2027-01-01, name: 元旦, off: true}\n")
    )
    assert exc.code == "calendar_file_invalid"
    assert [(e.loc, e.message) for e in exc.errors] == [
        ("days.3.date", "2027-01-01 is listed twice (also days.0)")
    ]


def test_a_date_outside_the_year_is_refused() -> None:
    exc = _refusal(
        "x.yaml", _yaml(2027, GOOD_2027 + "  - {date: 2028-01-03, name: 元旦, off: true}\n")
    )
    assert exc.code == "calendar_file_invalid"
    assert exc.errors[0].loc == "days.3.date"
    assert exc.errors[0].message == "2028-01-03 is not in 2027"


@pytest.mark.parametrize("year", [1899, 2201])
def test_a_year_out_of_range_is_refused(year: int) -> None:
    exc = _refusal("x.yaml", _yaml(year, "  - {date: 2027-01-01, name: a, off: true}\n"))
    assert exc.code == "calendar_file_invalid"
    assert exc.errors[0].loc == "year"
    assert "between 1900 and 2200" in exc.errors[0].message


def test_a_working_day_on_a_weekday_is_refused() -> None:
    # 2027-02-05 is a Friday: "working" on it changes nothing, so the date is mistyped.
    exc = _refusal(
        "x.yaml", _yaml(2027, GOOD_2027 + "  - {date: 2027-02-05, name: 春节, off: false}\n")
    )
    assert exc.code == "calendar_file_invalid"
    assert exc.errors[0].loc == "days.3.off"
    assert "2027-02-05 (Friday) is a weekday" in exc.errors[0].message
    assert "Saturday or Sunday" in exc.errors[0].message


def test_a_day_off_on_a_weekend_is_accepted() -> None:
    found = io.parse_calendar(
        "x.yaml", _yaml(2027, GOOD_2027 + "  - {date: 2027-01-02, name: 元旦, off: true}\n")
    )
    assert found.weekend_off_days == 1
    assert dt.date(2027, 1, 2) in found.off_days


def test_an_oversized_file_is_refused_before_it_is_parsed() -> None:
    exc = _refusal("x.json", b" " * (io.MAX_BYTES + 1))
    assert exc.code == "calendar_file_too_large"
    assert exc.params == {"file": "x.json", "limit": io.MAX_BYTES}


@pytest.mark.parametrize(
    ("filename", "data", "says"),
    [
        ("x.json", b"{not json", "not JSON: Expecting property name"),
        ("x.yaml", b"year: [2027\n", "while parsing a flow sequence starting on line 1"),
        ("x.json", b"\xff\xfe garbage", "not UTF-8"),
        ("x.yaml", b"a: &a [1]\nb: *a\n", "anchors (&a) are not allowed in a calendar file"),
        (
            "x.yaml",
            b"year: !!python/object:os.system 2027\n",
            "the tag !!python/object:os.system is not allowed in a calendar file",
        ),
        ("x.yaml", b"year: 2027\nyear: 2028\n", "duplicate key 'year' (first on line 1)"),
        ("x.txt", b"year: 2027", "unknown file type '.txt'"),
        ("x.json", b"[" * 100_000, "nested too deeply"),
    ],
)
def test_garbage_is_refused_saying_why(filename: str, data: bytes, says: str) -> None:
    exc = _refusal(filename, data)
    assert exc.code == "calendar_file_unreadable"
    assert says in exc.errors[0].message


@pytest.mark.parametrize(
    ("document", "loc"),
    [
        ([1, 2], "(file)"),
        ({"year": "2027", "days": []}, "year"),
        (
            {"year": 2027, "days": [{"name": "a", "date": "2027-13-01", "isOffDay": True}]},
            "days.0.date",
        ),
        (
            {"year": 2027, "days": [{"name": "a", "date": "2027-01-01", "isOffDay": "yes"}]},
            "days.0.isOffDay",
        ),
        (
            {"year": 2027, "days": [{"name": "", "date": "2027-01-01", "isOffDay": True}]},
            "days.0.name",
        ),
    ],
)
def test_a_wrong_shape_names_the_field(document: object, loc: str) -> None:
    exc = _refusal("x.json", json.dumps(document).encode())
    assert exc.code == "calendar_file_invalid"
    assert exc.errors[0].loc == loc


def test_the_yaml_is_read_by_the_shared_loader_with_its_line_and_column() -> None:
    exc = _refusal(
        "x.yaml", _yaml(2027, GOOD_2027 + "  - {date: 2027-02-30, name: 春节, off: true}\n")
    )
    assert exc.code == "calendar_file_unreadable"
    assert exc.params == {"file": "x.yaml"}
    assert [(e.loc, e.message) for e in exc.errors] == [
        ("x.yaml: line 6 column 12", "'2027-02-30' is not a valid date")
    ]


def test_off_is_a_key_and_must_be_a_real_boolean() -> None:
    # YAML 1.2: the key `off` stays "off", and `yes` is a string, not a boolean.
    found = io.parse_calendar("x.yaml", _yaml(2027, GOOD_2027))
    assert {d.date: d.off for d in found.days}[dt.date(2027, 2, 6)] is False
    for word in ("yes", "no", "on", "off", "y", "n"):
        exc = _refusal(
            "x.yaml", _yaml(2027, f"  - {{date: 2027-01-01, name: 元旦, off: {word}}}\n")
        )
        assert exc.code == "calendar_file_invalid"
        assert [e.loc for e in exc.errors] == ["days.0.off"]
        assert exc.errors[0].message == "Input should be a valid boolean"
    uppercase = _yaml(2027, "  - {date: 2027-01-01, name: 元旦, off: TRUE}\n")
    assert io.parse_calendar("x.yaml", uppercase).off_days == {dt.date(2027, 1, 1)}
