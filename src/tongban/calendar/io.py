"""The two calendar file formats, read and checked (no database here).

* **holiday-cn JSON** (``*.json``), the files of github.com/NateScarlet/holiday-cn::

      {"year": 2026, "papers": ["https://www.gov.cn/…"],
       "days": [{"name": "元旦", "date": "2026-01-01", "isOffDay": true}, …]}

* **tongban YAML** (``*.yaml``/``*.yml``), the same content in our own words::

      year: 2027
      papers: ["https://www.gov.cn/…"]     # optional: the State Council notice
      days:
        - {date: 2027-01-01, name: 元旦, off: true}     # a day off (法定节假日)
        - {date: 2027-02-06, name: 春节, off: false}    # an adjusted working day (调休上班)

  It is read by the hardened loader of every file format, ``tongban.kit.safeyaml``, whose
  booleans are YAML 1.2's ``true``/``false`` only (PyYAML alone would read ``off``, ``on``,
  ``yes``, ``no`` as booleans too, the key ``off`` among them); ``off`` must be a real boolean
  (``off: yes`` is refused).

Both list only the days that differ from, or belong to, the arrangement: holidays and
adjusted working days. Every other day follows Monday to Friday.

Checks (all problems of a file are reported at once, each naming the entry):

* the file is at most :data:`MAX_BYTES`, UTF-8, well-formed JSON/YAML (``kit.safeyaml``
  refuses YAML anchors, aliases, merge keys, unsafe tags, nesting beyond 64 levels and duplicate
  keys, with their line and column: a calendar needs none, and anchors are how "billion laughs"
  files blow up);
* ``year`` is 1900..2200 and every date lies in it; no date is listed twice;
* an adjusted working day (``off: false``) falls on a Saturday or Sunday: on a weekday it would
  change nothing, so it is a typing error (refused);
* a day off on a Saturday or Sunday is accepted and kept: holiday-cn lists every day of a
  holiday block, weekend days included, as the package does; it changes no count;
* at least one day off falls on a weekday: an empty list is a year not published yet
  (holiday-cn's file for such a year has ``"days": []``), not a year without holidays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from tongban.errors import FieldError, ValidationFailed
from tongban.kit.safeyaml import YamlRefused, load_yaml

MAX_BYTES = 1024 * 1024
"""Largest calendar file accepted (a real year is about 5 KiB)."""

FIRST_YEAR, LAST_YEAR = 1900, 2200
MAX_DAYS_LISTED = 366
MAX_NAME = 50

FORMATS = {".json": "holiday-cn", ".yaml": "yaml", ".yml": "yaml"}
WHAT = "calendar file"
"""How the YAML loader's messages name the file (``anchors (&a) are not allowed in a …``)."""


@dataclass(frozen=True, slots=True)
class Day:
    date: dt.date
    name: str
    off: bool

    def as_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "name": self.name, "off": self.off}


@dataclass(frozen=True, slots=True)
class CalendarFile:
    """A checked file: one year, its listed days sorted by date, and its fingerprint."""

    year: int
    days: tuple[Day, ...]
    papers: tuple[str, ...]
    source_format: str
    sha256: str

    @property
    def off_days(self) -> frozenset[dt.date]:
        return frozenset(d.date for d in self.days if d.off)

    @property
    def working_days(self) -> frozenset[dt.date]:
        return frozenset(d.date for d in self.days if not d.off)

    @property
    def weekend_off_days(self) -> int:
        """Days off listed on a Saturday or Sunday: kept, though they change no count."""
        return sum(1 for d in self.days if d.off and d.date.weekday() >= 5)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _HolidayCnDay(_Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    date: dt.date
    isOffDay: StrictBool


class _HolidayCnFile(BaseModel):
    # "$schema" and "$id" (and anything holiday-cn adds later at the top) are ignored.
    model_config = ConfigDict(extra="ignore")
    year: StrictInt
    papers: list[str] = Field(default_factory=list, max_length=20)
    days: list[_HolidayCnDay] = Field(max_length=MAX_DAYS_LISTED)


class _YamlDay(_Strict):
    date: dt.date
    name: str = Field(min_length=1, max_length=MAX_NAME)
    off: StrictBool


class _YamlFile(_Strict):
    year: StrictInt
    papers: list[str] = Field(default_factory=list, max_length=20)
    days: list[_YamlDay] = Field(max_length=MAX_DAYS_LISTED)


def _unreadable(filename: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        "the calendar file %(file)s cannot be read",
        params={"file": filename},
        errors=[FieldError(filename, message)],
        code="calendar_file_unreadable",
    )


def _invalid(filename: str, errors: list[FieldError]) -> ValidationFailed:
    return ValidationFailed(
        "the calendar file %(file)s is not a valid year",
        params={"file": filename},
        errors=errors,
        code="calendar_file_invalid",
    )


def format_of(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    found = FORMATS.get(suffix)
    if found is None:
        raise _unreadable(
            filename,
            f"unknown file type {suffix or '(none)'!r}: use .json (holiday-cn) or .yaml/.yml",
        )
    return found


def _text(filename: str, data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            "the calendar file %(file)s is larger than %(limit)s bytes",
            params={"file": filename, "limit": MAX_BYTES},
            errors=[FieldError(filename, f"more than {MAX_BYTES} bytes")],
            code="calendar_file_too_large",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _unreadable(filename, f"not UTF-8 (byte {exc.start})") from None


def _load_json(filename: str, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _unreadable(
            filename, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise _unreadable(filename, "not a calendar: nested too deeply") from None


def _load_yaml(filename: str, data: bytes) -> Any:
    """The YAML through the hardened loader every file format shares (``kit.safeyaml``): YAML
    1.2 booleans, and anchors, aliases, merge keys, unsafe tags, deep nesting and duplicate keys
    refused, each row naming its line and column (``x.yaml: line 3 column 9``)."""
    try:
        return load_yaml(data, filename, max_bytes=MAX_BYTES, what=WHAT).data
    except YamlRefused as exc:
        raise ValidationFailed(
            "the calendar file %(file)s cannot be read",
            params={"file": filename},
            errors=list(exc.errors),
            code="calendar_file_unreadable",
        ) from None


def _shape(filename: str, source_format: str, raw: Any) -> tuple[int, list[Day], list[str]]:
    if not isinstance(raw, dict):
        raise _invalid(filename, [FieldError("(file)", "expected a mapping with year and days")])
    try:
        if source_format == "holiday-cn":
            cn = _HolidayCnFile.model_validate(raw)
            days = [Day(d.date, d.name, d.isOffDay) for d in cn.days]
            return cn.year, days, cn.papers
        own = _YamlFile.model_validate(raw)
        return own.year, [Day(d.date, d.name, d.off) for d in own.days], own.papers
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "(file)", e["msg"])
            for e in exc.errors()
        ]
        raise _invalid(filename, errors) from None


def _check(year: int, days: list[Day]) -> list[FieldError]:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return [FieldError("year", f"{year} is not between {FIRST_YEAR} and {LAST_YEAR}")]
    errors: list[FieldError] = []
    seen: dict[dt.date, int] = {}
    for index, day in enumerate(days):
        loc = f"days.{index}"
        iso = day.date.isoformat()
        if day.date.year != year:
            errors.append(FieldError(f"{loc}.date", f"{iso} is not in {year}"))
        if day.date in seen:
            errors.append(
                FieldError(f"{loc}.date", f"{iso} is listed twice (also days.{seen[day.date]})")
            )
        else:
            seen[day.date] = index
        if not day.off and day.date.weekday() < 5:
            errors.append(
                FieldError(
                    f"{loc}.off",
                    f"{iso} ({day.date.strftime('%A')}) is a weekday: an adjusted working day "
                    "(off: false) must be a Saturday or Sunday",
                )
            )
    if not errors and not any(d.off and d.date.weekday() < 5 for d in days):
        errors.append(
            FieldError(
                "days",
                f"no holiday on a weekday in {year}: the arrangement is not published yet "
                "(or the file is empty)",
            )
        )
    return errors


def parse_calendar(filename: str, data: bytes) -> CalendarFile:
    """Read and check one calendar file; :class:`ValidationFailed` names everything wrong
    (codes ``calendar_file_too_large``, ``calendar_file_unreadable``,
    ``calendar_file_invalid``)."""
    name = PurePath(filename).name or "(file)"
    source_format = format_of(name)
    text = _text(name, data)
    raw = _load_json(name, text) if source_format == "holiday-cn" else _load_yaml(name, data)
    year, days, papers = _shape(name, source_format, raw)
    errors = _check(year, days)
    if errors:
        raise _invalid(name, errors)
    return CalendarFile(
        year=year,
        days=tuple(sorted(days, key=lambda d: d.date)),
        papers=tuple(papers),
        source_format=source_format,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def to_yaml(calendar: CalendarFile) -> str:
    """The year in the tongban YAML format (for ``tongban calendar export``, and tests)."""
    document = {
        "year": calendar.year,
        "papers": list(calendar.papers),
        "days": [{"date": d.date, "name": d.name, "off": d.off} for d in calendar.days],
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
