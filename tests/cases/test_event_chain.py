"""The case event chain under concurrent writers, on SQLite and PostgreSQL: writers of one case
queue on its head and never fork it; writers of different cases do not wait for each other."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from tests.cases.test_engine import _submit, _world
from tests.factories import principal_of
from tongban.cases import events
from tongban.cases.models import CASE_EVENTS, Case, CaseEvent
from tongban.db import make_engine
from tongban.kit import hashchain

WRITERS, EVENTS = 8, 10


@pytest.fixture
def engine_with_cases(committing_database: str) -> Iterator[tuple[Engine, list[int]]]:
    engine = make_engine(committing_database)
    with Session(engine, expire_on_commit=False) as session:
        _world(session)
        officer = principal_of(session, "officer.rsj")
        cases = [
            _submit(session, officer, f"chain-writers-{i}", item="QX-RSJ-A").id
            for i in range(WRITERS)
        ]
    yield engine, cases
    engine.dispose()


def _run(writers: list[Callable[[], None]]) -> list[BaseException]:
    start = threading.Barrier(len(writers))
    failures: list[BaseException] = []

    def run(write: Callable[[], None]) -> None:
        try:
            start.wait(30)
            write()
        except BaseException as exc:  # reported by the caller
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    return failures


def _writer(engine: Engine, case_id: int, writer: int) -> Callable[[], None]:
    def write() -> None:
        for n in range(EVENTS):
            with Session(engine) as session:
                events.append(session, case_id=case_id, action="note", data={"w": writer, "n": n})
                session.commit()

    return write


def _assert_intact(engine: Engine, case_id: int, appended: int) -> None:
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        chain = events.events_of(session, case_id)
        notes = [e for e in chain if e.action == "note"]
        assert len(notes) == appended
        assert [e.seq for e in chain] == list(range(1, case.event_seq + 1))
        previous = [e.prev_hash for e in chain]
        assert len(set(previous)) == len(previous), "two events name the same previous hash"
        assert events.verify_case(case, chain) is None


def test_writers_of_one_case_do_not_fork_its_chain(
    engine_with_cases: tuple[Engine, list[int]],
) -> None:
    engine, cases = engine_with_cases
    assert _run([_writer(engine, cases[0], w) for w in range(WRITERS)]) == []
    _assert_intact(engine, cases[0], WRITERS * EVENTS)
    with Session(engine) as session:
        report = hashchain.verify(session, CASE_EVENTS)
    assert report.ok, report.breaks
    assert report.keys == WRITERS


def test_writers_of_different_cases_each_keep_their_chain(
    engine_with_cases: tuple[Engine, list[int]],
) -> None:
    engine, cases = engine_with_cases
    assert _run([_writer(engine, case_id, w) for w, case_id in enumerate(cases)]) == []
    for case_id in cases:
        _assert_intact(engine, case_id, EVENTS)


def test_a_writer_of_one_case_does_not_hold_up_another_case(
    engine_with_cases: tuple[Engine, list[int]],
) -> None:
    engine, cases = engine_with_cases
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time by design")
    from psycopg.errors import LockNotAvailable  # the prepared statements run on the DBAPI

    first, second = cases[0], cases[1]
    with Session(engine) as holding:
        events.append(holding, case_id=first, action="note", data={"held": True})
        # The same case waits for the holder (here: gives up after a short lock timeout) …
        with Session(engine) as same:
            same.execute(text("SET LOCAL lock_timeout = '300ms'"))
            with pytest.raises(LockNotAvailable, match="lock timeout"):
                events.append(same, case_id=first, action="note")
        # … another case does not wait at all.
        with Session(engine) as other:
            other.execute(text("SET LOCAL lock_timeout = '300ms'"))
            events.append(other, case_id=second, action="note")
            other.commit()
        holding.commit()
    with Session(engine) as session:
        ids = {
            case_id: session.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case_id))
            for case_id in (first, second)
        }
        assert len(ids[first].all()) == len(ids[second].all())
