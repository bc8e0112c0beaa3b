"""``tongban org import`` through the command line, on a database of the test's own that
commits for real (SQLite, and PostgreSQL when configured): the second county merges into the
modules, ``--dry-run`` writes nothing, a removal is audited, and each refusal names the file's
line and writes nothing."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import tongban.db
from tests.factories import ORG
from tests.org.test_org_merge import SECOND_COUNTY
from tongban.audit.models import AuditEvent
from tongban.cli.main import app
from tongban.db import make_engine, set_engine
from tongban.org import repository
from tongban.org.models import Department


@pytest.fixture
def database(committing_database: str, tmp_path: Path) -> Iterator[Engine]:
    """The test factory's organisation, imported through the command line."""
    before = tongban.db._engine
    engine = make_engine(committing_database)
    set_engine(engine)
    code, output = _import(tmp_path / "org.yaml", ORG)
    assert code == 0, output
    yield engine
    if before is not None:
        set_engine(before)
    engine.dispose()


def _write(path: Path, data: dict[str, Any] | str) -> Path:
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def _import(path: Path, data: dict[str, Any] | str, *options: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["org", "import", str(_write(path, data)), *options])
    return result.exit_code, result.output


def _modules(engine: Engine) -> dict[str, set[str]]:
    with Session(engine) as session:
        return {
            m.code: {d.code for d in m.departments}
            for m in repository.modules_with_departments(session)
        }


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_second_county_merges_into_the_modules(database: Engine, tmp_path: Path) -> None:
    before = _modules(database)
    code, output = _import(tmp_path / "org-shimen.yaml", SECOND_COUNTY)
    assert code == 0, output
    assert "added module department approval: SM-ZWFW" in output
    # the county, 2 departments, 2 module places, a user and its grant; the module's new name_en
    assert "7 added, 1 updated, 0 removed" in output
    after = _modules(database)
    assert after["approval"] == before["approval"] | {"SM-ZWFW", "SM-SCJ"}
    assert after["grassroots"] == before["grassroots"]


def test_a_dry_run_prints_the_changes_and_writes_nothing(database: Engine, tmp_path: Path) -> None:
    data = copy.deepcopy(SECOND_COUNTY)
    data["remove"] = {"module_departments": [{"module": "approval", "department": "QX-RSJ"}]}
    departments, events = _count(database, Department), _count(database, AuditEvent)
    code, output = _import(tmp_path / "org.yaml", data, "--dry-run")
    assert code == 0, output
    assert "would add department SM-ZWFW" in output
    assert "would remove module department approval: QX-RSJ" in output
    assert "(dry run: nothing written)" in output
    assert _count(database, Department) == departments
    assert _count(database, AuditEvent) == events
    assert _modules(database)["approval"] == {"QX-RSJ", "QX-ZJJ"}


def test_a_removal_through_the_command_line_is_audited(database: Engine, tmp_path: Path) -> None:
    remove = {"remove": {"module_departments": [{"module": "approval", "department": "QX-ZJJ"}]}}
    code, output = _import(tmp_path / "org.yaml", remove)
    assert code == 0, output
    assert "removed module department approval: QX-ZJJ" in output
    assert _modules(database)["approval"] == {"QX-RSJ"}
    with Session(database) as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert "org.module_department_removed" in actions


def test_removing_a_department_in_use_is_refused(database: Engine, tmp_path: Path) -> None:
    text = "format: tongban-org/1\nremove:\n  departments:\n    - QX-RSJ\n"
    code, output = _import(tmp_path / "org.yaml", text)
    assert code == 1, output
    assert "(department_in_use)" in output
    assert "org.yaml: remove.departments[0] (line 4): department 'QX-RSJ' is still" in output
    assert "grants of users committee.a, committee.b, committee.c, officer.rsj" in output
    assert _modules(database)["approval"] == {"QX-RSJ", "QX-ZJJ"}


BAD_USCC = """\
format: tongban-org/1
departments:
  - code: QX-NEW
    name_zh: 新局
    name_en: New office
    jurisdiction: '990123'
    uscc: '119901230000000013'  # the check character is 0
"""
DUPLICATE_DEPARTMENT = """\
format: tongban-org/1
departments:
  - {code: QX-NEW, name_zh: 新局, name_en: New office, jurisdiction: '990123'}
  - {code: QX-NEW, name_zh: 新局二, name_en: New office 2, jurisdiction: '990123'}
"""
UNKNOWN_JURISDICTION = """\
format: tongban-org/1
departments:
  - {code: QX-NEW, name_zh: 新局, name_en: New office, jurisdiction: '990123'}
  - code: XX-NEW
    name_zh: 某局
    name_en: Somewhere
    jurisdiction: '990199'
"""


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        (
            BAD_USCC,
            "org_file_invalid",
            "org.yaml: departments.0.uscc (line 7): unified social credit code check character",
        ),
        (
            DUPLICATE_DEPARTMENT,
            "org_invalid",
            "org.yaml: departments[1].code (line 4): department 'QX-NEW' appears twice",
        ),
        (
            UNKNOWN_JURISDICTION,
            "org_invalid",
            "org.yaml: departments[1].jurisdiction (line 7): unknown jurisdiction '990199'",
        ),
    ],
    ids=["bad-uscc", "duplicate-department", "unknown-jurisdiction"],
)
def test_a_bad_file_is_refused_with_its_line(
    database: Engine, tmp_path: Path, text: str, code: str, line: str
) -> None:
    departments = _count(database, Department)
    exit_code, output = _import(tmp_path / "org.yaml", text)
    assert exit_code == 1, output
    assert f"({code})" in output
    assert line in output
    assert _count(database, Department) == departments
