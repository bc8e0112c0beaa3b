"""Importing a year: it is in force at once (the package's own 2026 gives the package's
answers), it moves the provisional due dates of open steps and records each on the case,
every import is kept as a version and audited; the CLI and the system administrator's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import ELEMENTS, assert_refused, item, login, make_org, principal_of
from tongban.audit.models import AuditEvent
from tongban.calendar import service
from tongban.calendar.models import CalendarYear
from tongban.cases import events
from tongban.cases import service as cases
from tongban.cases.models import Case, CaseStep
from tongban.cases.schemas import ApplicationIn
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.db import transaction
from tongban.errors import PermissionDenied, ValidationFailed
from tongban.kit import workdays

HOLIDAY_CN = Path("/work/shared/data/holiday-cn")
ID_NO = "11010519491231002X"
SHANGHAI = workdays.SHANGHAI

#: a synthetic 2027: New Year's Day off, the Spring Festival with a working Saturday
YEAR_2027 = b"""\
year: 2027
papers: ["synthetic, for the tests"]
days:
  - {date: 2027-01-01, name: "\xe5\x85\x83\xe6\x97\xa6", off: true}
  - {date: 2027-02-06, name: Spring Festival, off: false}
  - {date: 2027-02-08, name: Spring Festival, off: true}
  - {date: 2027-02-09, name: Spring Festival, off: true}
"""

needs_uncovered_2027 = pytest.mark.skipif(
    workdays.last_covered_year() >= 2027, reason="the package covers 2027 itself"
)
needs_holiday_cn = pytest.mark.skipif(
    not (HOLIDAY_CN / "2026.json").is_file(), reason="the holiday-cn files are not here"
)


def _review(days: int) -> dict[str, Any]:
    return {
        "code": "S1",
        "kind": "review",
        "name_zh": "审查",
        "name_en": "Review",
        "responsible": "QX-RSJ",
        "limit_days": days,
    }


@pytest.fixture
def world(session: Session) -> Session:
    make_org(session)
    items = [
        item("QX-RSJ-L", "QX-RSJ", steps=[_review(25)], time_limit={"legal": 30, "promised": 25})
    ]
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate({"elements": ELEMENTS, "items": items}),
    )
    session.commit()
    return session


def _open_step(session: Session, *, ready: dt.datetime, key: str) -> tuple[Case, CaseStep]:
    """A case whose one step (25 working days) became ready at ``ready``, with the due date
    the engine gave it then."""
    application = ApplicationIn.model_validate(
        {
            "item": "QX-RSJ-L",
            "applicant": {"name": "张三", "id_no": ID_NO, "jurisdiction": "990123001"},
            "form": {"DE.NAME": "张三", "DE.ID": ID_NO},
            "idempotency_key": f"calendar-{key}",
        }
    )
    case = cases.submit_application(
        session=session, principal=principal_of(session, "officer.rsj"), application=application
    )
    step = session.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).one()
    due = workdays.add_workdays(workdays.local_date(ready), step.limit_days)
    step.ready_at = ready
    step.due_date, step.due_provisional, step.calendar_version = (
        due.date,
        due.provisional,
        due.calendar_version,
    )
    session.commit()
    return case, step


@needs_holiday_cn
def test_importing_the_published_2026_gives_the_packages_2026_day_by_day(
    session: Session,
) -> None:
    result = service.import_year_as_operator(
        session=session, filename="2026.json", data=(HOLIDAY_CN / "2026.json").read_bytes()
    )
    assert (result.year, result.version, result.unchanged) == (2026, 1, False)
    assert result.differs_from_package == []
    assert 2026 in workdays.imported_years()
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert workdays.is_workday(day) is chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)
    assert workdays.calendar_version() == result.calendar_version
    assert result.calendar_version.endswith("+2026.v1")
    assert len(result.calendar_version) <= workdays.VERSION_MAX


@needs_uncovered_2027
def test_an_imported_2027_moves_a_provisional_due_date_and_records_it_on_the_case(
    world: Session,
) -> None:
    session = world
    # Ready on Thursday 2026-12-03: 20 working days to the end of 2026, then 5 in 2027.
    late, late_step = _open_step(
        session, ready=dt.datetime(2026, 12, 3, 10, tzinfo=SHANGHAI), key="late"
    )
    # Ready in October: due in November 2026, counted on the package; no reason to move.
    early, early_step = _open_step(
        session, ready=dt.datetime(2026, 10, 12, 10, tzinfo=SHANGHAI), key="early"
    )
    assert late_step.due_date == dt.date(2027, 1, 7)  # Monday to Friday assumed
    assert late_step.due_provisional is True
    assert not workdays.covered(dt.date(2027, 1, 1))
    early_stamp = early_step.calendar_version

    result = service.import_year_as_operator(session=session, filename="2027.yaml", data=YEAR_2027)
    session.commit()

    assert result.calendar_version == f"chinesecalendar {_package()}+2027.v1"
    assert workdays.covered(dt.date(2027, 1, 1))
    session.refresh(late_step)
    session.refresh(early_step)
    # 2027-01-01 is off: the 25th working day is Friday 01-08, and no longer provisional.
    assert (late_step.due_date, late_step.due_provisional) == (dt.date(2027, 1, 8), False)
    assert late_step.calendar_version == result.calendar_version
    assert early_step.calendar_version == early_stamp  # untouched
    assert [(c.case_number, c.old, c.new) for c in result.moved] == [
        (late.number, dt.date(2027, 1, 7), dt.date(2027, 1, 8))
    ]
    recorded = events.events_of(session, late.id)[-1]
    assert recorded.action == "due_recomputed"
    assert recorded.step_id == late_step.id
    assert recorded.actor_id is None
    assert recorded.data == {
        "old_due": "2027-01-07",
        "new_due": "2027-01-08",
        "old_provisional": True,
        "provisional": False,
        "calendar": result.calendar_version,
        "year": 2027,
    }
    session.refresh(late)
    assert events.verify_case(late, events.events_of(session, late.id)) is None
    assert all(e.action != "due_recomputed" for e in events.events_of(session, early.id))
    # A step made ready now is counted on the calendar in force, and stamped with it.
    assert workdays.add_workdays(dt.date(2026, 12, 31), 1).date == dt.date(2027, 1, 4)

    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.import")).one()
    assert (audit.object_type, audit.object_key) == ("calendar_year", "2027")
    assert audit.detail["version"] == 1
    assert audit.detail["due_dates_moved"] == 1
    assert audit.detail["calendar"] == result.calendar_version


def _package() -> str:
    from importlib import metadata

    return metadata.version("chinesecalendar")


@needs_uncovered_2027
def test_a_reimport_is_a_new_version_and_the_same_file_again_changes_nothing(
    session: Session,
) -> None:
    first = service.import_year_as_operator(session=session, filename="a.yaml", data=YEAR_2027)
    same = service.import_year_as_operator(session=session, filename="b.yaml", data=YEAR_2027)
    assert (same.unchanged, same.version) == (True, 1)
    corrected = YEAR_2027 + b"  - {date: 2027-02-10, name: Spring Festival, off: true}\n"
    second = service.import_year_as_operator(session=session, filename="c.yaml", data=corrected)
    assert (first.version, second.version) == (1, 2)
    assert second.calendar_version.endswith("+2027.v2")
    assert not workdays.is_workday(dt.date(2027, 2, 10))
    rows = session.scalars(select(CalendarYear).order_by(CalendarYear.version)).all()
    assert [(r.year, r.version, r.source_filename) for r in rows] == [
        (2027, 1, "a.yaml"),
        (2027, 2, "c.yaml"),
    ]
    assert [r.version for r in service.in_force_rows(session)] == [2]
    # Another process (here: the same one, forgetting) loads the version in force.
    workdays.set_imported_years({})
    service.forget()
    service.refresh(session)
    assert workdays.imported_years()[2027].version == 2


def test_a_refused_file_writes_nothing(session: Session) -> None:
    bad = YEAR_2027 + b"  - {date: 2027-01-01, name: again, off: true}\n"
    with pytest.raises(ValidationFailed) as caught:
        service.import_year_as_operator(session=session, filename="bad.yaml", data=bad)
    assert caught.value.code == "calendar_file_invalid"
    assert session.scalars(select(CalendarYear)).all() == []
    assert workdays.imported_years() == {}


def test_only_the_system_administrator_imports_on_the_page_path(world: Session) -> None:
    with pytest.raises(PermissionDenied) as refused:
        service.import_year(
            session=world,
            principal=principal_of(world, "officer.rsj"),
            filename="2027.yaml",
            data=YEAR_2027,
        )
    assert refused.value.code == "role_required"


def test_too_many_imported_years_still_fit_the_stamp() -> None:
    years = {
        y: workdays.ImportedYear(y, 3, frozenset({dt.date(y, 1, 1)}), frozenset())
        for y in range(2027, 2035)
    }
    workdays.set_imported_years(years)
    stamp = workdays.calendar_version()
    assert len(stamp) <= workdays.VERSION_MAX
    assert "+8y#" in stamp
    workdays.set_imported_years(
        {**years, 2027: workdays.ImportedYear(2027, 4, frozenset(), frozenset())}
    )
    assert workdays.calendar_version() != stamp


# ---------------------------------------------------------------- the command


@pytest.fixture
def cli(session: Session, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command runs in the test's transaction (as ``command_session`` would commit)."""
    from tongban.cli import common

    def _scope() -> Iterator[Session]:
        yield from transaction(session)

    monkeypatch.setattr(common, "_scope", _scope)
    return CliRunner()


@needs_uncovered_2027
def test_the_command_imports_a_year_and_says_what_moved(
    world: Session, cli: CliRunner, tmp_path: Path
) -> None:
    from tongban.cli.main import app

    case, _ = _open_step(world, ready=dt.datetime(2026, 12, 3, 10, tzinfo=SHANGHAI), key="cli")
    path = tmp_path / "2027.yaml"
    path.write_bytes(YEAR_2027)
    done = cli.invoke(app, ["calendar", "import", str(path)], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert "imported 2027 as v1 from 2027.yaml" in done.output
    assert "+2027.v1" in done.output
    assert "1 open step(s) had their due date moved" in done.output
    assert case.number in done.output
    again = cli.invoke(app, ["calendar", "import", str(path)])
    assert again.exit_code == 0
    assert "nothing imported" in again.output
    shown = cli.invoke(app, ["calendar", "show"])
    assert "imported 2027 v1: 2027.yaml" in shown.output


def test_the_command_refuses_a_bad_file_with_exit_1(cli: CliRunner, tmp_path: Path) -> None:
    from tongban.cli.main import app

    path = tmp_path / "2027.yaml"
    path.write_bytes(YEAR_2027 + b"  - {date: 2027-02-05, name: x, off: false}\n")
    done = cli.invoke(app, ["calendar", "import", str(path)])
    assert done.exit_code == 1
    assert "is not a valid year" in done.output
    assert "2027-02-05 (Friday) is a weekday" in done.output


# ---------------------------------------------------------------- the page


@needs_uncovered_2027
def test_the_calendar_page_is_the_system_administrators(client: TestClient, world: Session) -> None:
    anonymous = client.get("/admin/calendar", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    login(client, "officer.rsj")
    assert_refused(client.get("/admin/calendar"), 403, "role_required")
    assert 'href="/admin/calendar"' not in client.get("/catalog").text
    client.post("/logout", data={"csrf_token": ""})
    client.cookies.clear()
    csrf = login(client, "sysadmin")

    page = client.get("/admin/calendar", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "工作日历" in page.text
    assert "尚未导入任何年份" in page.text
    assert 'href="/admin/calendar"' in page.text  # in the sysadmin's menu

    refused = client.post(
        "/admin/calendar/import",
        data={"csrf_token": csrf},
        files={"file": ("2027.yaml", b"year: [", "application/yaml")},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422
    assert 'data-code="calendar_file_unreadable"' in refused.text
    assert "2027.yaml: line " in refused.text  # the YAML loader's place of the error
    assert "while parsing a flow node" in refused.text

    done = client.post(
        "/admin/calendar/import",
        data={"csrf_token": csrf},
        files={"file": ("2027.yaml", YEAR_2027, "application/yaml")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/calendar?imported=2027.v1"
    english = client.get("/admin/calendar?imported=2027.v1", headers={"Accept-Language": "en"})
    assert "Working-day calendar" in english.text
    assert 'data-testid="imported-year-2027"' in english.text
    assert 'data-testid="import-2027-v1"' in english.text
    assert "sysadmin" in english.text  # who imported it
    assert "+2027.v1" in english.text
    row = world.scalars(select(CalendarYear)).one()
    assert row.imported_by_id == principal_of(world, "sysadmin").user_id


def test_the_upload_needs_the_forms_token(client: TestClient, world: Session) -> None:
    login(client, "sysadmin")
    refused = client.post(
        "/admin/calendar/import",
        data={"csrf_token": "forged"},
        files={"file": ("2027.yaml", YEAR_2027, "application/yaml")},
    )
    assert_refused(refused, 403, "csrf_failed")
    assert world.scalars(select(CalendarYear)).all() == []


@needs_uncovered_2027
def test_recompute_after_a_package_upgrade_moves_what_the_year_moves(
    world: Session, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tongban.cli.main import app

    case, step = _open_step(world, ready=dt.datetime(2026, 12, 3, 10, tzinfo=SHANGHAI), key="up")
    # As if the package now knew 2027 (New Year's Day off): stand-in for an upgrade.
    upgraded = workdays.ImportedYear(2027, 1, frozenset({dt.date(2027, 1, 1)}), frozenset())
    monkeypatch.setattr(service, "load", lambda session: _in_force(upgraded))
    done = cli.invoke(app, ["calendar", "recompute", "2027"])
    assert done.exit_code == 0, done.output
    assert f"{case.number} {step.code}: 2027-01-07 -> 2027-01-08" in done.output
    world.refresh(step)
    assert (step.due_date, step.due_provisional) == (dt.date(2027, 1, 8), False)
    refused = cli.invoke(app, ["calendar", "recompute", "1800"])
    assert refused.exit_code == 1
    assert "not between 1900 and 2200" in refused.output


def _in_force(year: workdays.ImportedYear) -> str:
    workdays.set_imported_years({year.year: year})
    return workdays.calendar_version()


def test_a_year_the_package_covers_names_the_days_a_file_changes(session: Session) -> None:
    year_2026 = b"""\
year: 2026
days:
  - {date: 2026-01-01, name: x, off: true}
  - {date: 2026-01-02, name: x, off: true}
"""
    result = service.import_year_as_operator(session=session, filename="x.yaml", data=year_2026)
    # The package also has 01-04 worked (Sunday) and the other holidays: all differ now.
    assert "2026-01-04" in result.differs_from_package
    assert "2026-01-01" not in result.differs_from_package
    assert workdays.is_workday(dt.date(2026, 1, 4)) is False
