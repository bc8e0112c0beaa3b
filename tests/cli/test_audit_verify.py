"""``tongban audit verify`` checks every registered chain: a clean database passes, a row
tampered with in SQL is named (table, key, row id) and the exit code is 1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import tongban.db
from tests.cases.test_engine import _submit, _world
from tests.factories import principal_of
from tongban.audit import service as audit
from tongban.audit.models import AuditEvent
from tongban.cases.models import CaseEvent
from tongban.cli.main import app
from tongban.db import make_engine, set_engine


@pytest.fixture
def filled(committing_database: str) -> Iterator[tuple[Engine, int]]:
    """An audit log and a case with events, committed; the app pointed at that database."""
    before = tongban.db._engine
    engine = make_engine(committing_database)
    with Session(engine, expire_on_commit=False) as session:
        _world(session)
        case_id = _submit(
            session, principal_of(session, "officer.rsj"), "verify-cli-1", item="QX-RSJ-A"
        ).id
        audit.record(
            session=session, actor_user_id=None, action="test", object_type="t", object_key="k"
        )
        session.commit()
    set_engine(engine)
    yield engine, case_id
    if before is not None:
        set_engine(before)
    engine.dispose()


def _verify() -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify"])
    return result.exit_code, result.stdout


def test_a_clean_database_passes(filled: tuple[Engine, int]) -> None:
    code, out = _verify()
    assert code == 0, out
    assert "audit: " in out
    assert "case_event: " in out
    assert out.count(": OK") == 2


def test_a_tampered_audit_row_is_named(filled: tuple[Engine, int]) -> None:
    engine, _ = filled
    with engine.begin() as connection:
        row_id = connection.scalar(select(AuditEvent.id).order_by(AuditEvent.id).limit(1))
        connection.execute(
            text("UPDATE audit_event SET object_key = 'forged' WHERE id = :id"), {"id": row_id}
        )
    code, out = _verify()
    assert code == 1
    assert f"audit_event, row id {row_id} (position 1): its hash does not match" in out
    assert "case_event: " in out
    assert out.count(": OK") == 1


def test_a_tampered_case_event_is_named(filled: tuple[Engine, int]) -> None:
    engine, case_id = filled
    with engine.begin() as connection:
        row_id = connection.scalar(
            select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.seq == 1)
        )
        connection.execute(
            text('UPDATE case_event SET data = \'{"subject": "forged"}\' WHERE id = :id'),
            {"id": row_id},
        )
    code, out = _verify()
    assert code == 1
    assert f"case_event key {case_id}, row id {row_id} (position 1): its hash" in out
    assert "audit: " in out
    assert out.count(": OK") == 1


def test_a_removed_newest_case_event_is_named(filled: tuple[Engine, int]) -> None:
    engine, case_id = filled
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM case_event WHERE case_id = :c"), {"c": case_id})
    code, out = _verify()
    assert code == 1
    assert f"case_event key {case_id}, no row (position 0): the chain ends at row 0" in out
