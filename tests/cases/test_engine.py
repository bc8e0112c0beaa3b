"""The engine's hot path (prepared statements on the session's or a bare connection): joins wait
for every input, clocks start when a step becomes ready, rows read back as the ORM wrote them,
objects already loaded see the change, and a stale chain head is refused."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, select
from sqlalchemy.orm import Session

from tests.factories import ELEMENTS, item, make_org, principal_of
from tongban.auth.principal import Principal
from tongban.bundles import service as bundle_service
from tongban.bundles.schemas import BundleDocument
from tongban.cases import events, service, statements
from tongban.cases.models import Case, CaseEvent, CaseStep
from tongban.cases.schemas import ApplicationIn
from tongban.cases.service import engine
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.db import make_engine, utcnow
from tongban.errors import Conflict, NotFound, PermissionDenied
from tongban.kit import workdays
from tongban.migrate import upgrade

ID_NO = "11010519491231002X"


def _review(code: str, days: int) -> dict[str, Any]:
    return {
        "code": code,
        "kind": "review",
        "name_zh": "审查",
        "name_en": "Review",
        "responsible": "QX-RSJ",
        "limit_days": days,
    }


def _world(session: Session) -> None:
    """Three members of one bundle: A and B in parallel, C after both."""
    make_org(session)
    items = [
        item("QX-RSJ-A", "QX-RSJ", steps=[_review("S1", 2)]),
        item("QX-RSJ-B", "QX-RSJ", steps=[_review("S1", 3)]),
        item("QX-RSJ-C", "QX-RSJ", steps=[_review("S1", 4)]),
        item("QX-RSJ-D", "QX-RSJ"),  # acceptance, then a review
        item("QX-RSJ-P", "QX-RSJ", steps=[_review("S1", 1)]),
        item("QX-RSJ-Q", "QX-RSJ", steps=[_review("S1", 1), _review("S2", 1)]),
        item("QX-RSJ-R", "QX-RSJ", steps=[_review("S1", 1)]),
        item("QX-RSJ-W", "QX-RSJ", steps=[_review("S1", 1)]),
        item(
            "QX-RSJ-K",
            "QX-RSJ",
            steps=[
                {**_review("S1", 1), "kind": "acceptance"},
                {**_review("S2", 1), "kind": "automatic_check"},
                _review("S3", 2),
            ],
        ),
    ]
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate({"elements": ELEMENTS, "items": items}),
    )
    bundle = {
        "code": "join",
        "name_zh": "汇合",
        "name_en": "Join",
        "kind": "life_event",
        "lead_department": "QX-RSJ",
        "members": [
            {"item": "QX-RSJ-A", "stage": 1, "depends_on": []},
            {"item": "QX-RSJ-B", "stage": 1, "depends_on": []},
            {"item": "QX-RSJ-C", "stage": 2, "depends_on": ["QX-RSJ-A", "QX-RSJ-B"]},
        ],
    }
    fork = {
        "code": "fork",
        "name_zh": "分叉",
        "name_en": "Fork",
        "kind": "life_event",
        "lead_department": "QX-RSJ",
        "members": [
            {"item": "QX-RSJ-P", "stage": 1, "depends_on": []},
            {"item": "QX-RSJ-W", "stage": 1, "depends_on": []},
            {"item": "QX-RSJ-Q", "stage": 2, "depends_on": ["QX-RSJ-P"]},
            {"item": "QX-RSJ-R", "stage": 2, "depends_on": ["QX-RSJ-P", "QX-RSJ-W"]},
        ],
    }
    bundle_service.import_bundles(
        session=session, document=BundleDocument.model_validate({"bundles": [bundle, fork]})
    )
    session.commit()


def _submit(session: Session, who: Principal, key: str, **subject: str) -> Case:
    application = ApplicationIn.model_validate(
        {
            **subject,
            "applicant": {"name": "张三", "id_no": ID_NO, "jurisdiction": "990123001"},
            "form": {"DE.NAME": "张三", "DE.ID": ID_NO},
            "idempotency_key": key,
        }
    )
    case = service.submit_application(session=session, principal=who, application=application)
    session.commit()
    return case


def _steps(session: Session, case_id: int) -> dict[str, tuple[str, int, Any]]:
    """code → (status, waits_for, due date), read fresh."""
    rows = session.execute(
        select(CaseStep.code, CaseStep.status, CaseStep.waits_for, CaseStep.due_date).where(
            CaseStep.case_id == case_id
        )
    ).all()
    return {code: (status, waits, due) for code, status, waits, due in rows}


def _complete(session: Session, who: Principal, case_id: int, code: str, **kw: Any) -> None:
    step = session.scalars(
        select(CaseStep).where(CaseStep.case_id == case_id, CaseStep.code == code)
    ).one()
    service.complete_step(
        session=session, principal=who, step_id=step.id, lock_version=step.lock_version, **kw
    )
    session.commit()


@pytest.fixture
def world(session: Session) -> Session:
    _world(session)
    return session


def test_a_join_waits_for_every_input_and_starts_its_clock_when_the_last_is_done(
    world: Session,
) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "join-key-1", bundle="join")
    steps = _steps(world, case.id)
    (a,) = [c for c in steps if c.startswith("QX-RSJ-A")]
    (b,) = [c for c in steps if c.startswith("QX-RSJ-B")]
    (c,) = [c for c in steps if c.startswith("QX-RSJ-C")]
    assert steps[c][:2] == ("waiting", 2)

    for code, status in steps.items():
        if status[0] == "ready" and code not in (a, b):
            _complete(world, officer, case.id, code)  # the bundle's single acceptance
    assert _steps(world, case.id)[a][0] == "ready"
    assert _steps(world, case.id)[b][0] == "ready"

    _complete(world, officer, case.id, a)
    status, waits, due = _steps(world, case.id)[c]
    assert (status, waits, due) == ("waiting", 1, None)

    _complete(world, officer, case.id, b)
    status, waits, due = _steps(world, case.id)[c]
    today = workdays.local_date(world.get(Case, case.id).submitted_at)  # type: ignore[union-attr]
    assert (status, waits) == ("ready", 0)
    assert due == workdays.add_workdays(today, 4).date
    stamped = world.scalars(select(CaseStep).where(CaseStep.code == c)).one()
    assert stamped.calendar_version == workdays.calendar_version()
    assert stamped.ready_at is not None
    assert stamped.ready_at.tzinfo is not None


def test_a_returned_step_does_not_release_the_other_successors_of_its_target_twice(
    world: Session,
) -> None:
    """P feeds Q and R; R also waits for W. Q is returned to P (退回) and P is done again: R
    must still wait for W, not become ready because P was counted twice."""
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "fork-key-1", bundle="fork")
    _complete(world, officer, case.id, "QX-RSJ-P#S1")
    steps = _steps(world, case.id)
    assert steps["QX-RSJ-Q#S1"][:2] == ("ready", 0)
    assert steps["QX-RSJ-R#S1"][:2] == ("waiting", 1)
    returned = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.code == "QX-RSJ-Q#S1")
    ).one()
    target = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.code == "QX-RSJ-P#S1")
    ).one()
    service.return_step(
        session=world,
        principal=officer,
        step_id=returned.id,
        lock_version=returned.lock_version,
        to_step_id=target.id,
        reason="材料需重新审查",
    )
    world.commit()
    world.expire_all()
    steps = _steps(world, case.id)
    assert steps["QX-RSJ-P#S1"][0] == "ready"
    assert steps["QX-RSJ-Q#S1"][:2] == ("waiting", 1)
    assert steps["QX-RSJ-R#S1"][:2] == ("waiting", 2)
    _complete(world, officer, case.id, "QX-RSJ-P#S1")  # done again
    steps = _steps(world, case.id)
    assert steps["QX-RSJ-Q#S1"][:2] == ("ready", 0)
    assert steps["QX-RSJ-R#S1"][:2] == ("waiting", 1)  # still waits for W
    _complete(world, officer, case.id, "QX-RSJ-W#S1")
    assert _steps(world, case.id)["QX-RSJ-R#S1"][:2] == ("ready", 0)


@pytest.mark.parametrize(
    ("seen", "waits_now", "expected"),
    [
        # As read, and as it is: the join counts down (no other statement needed).
        (("waiting", 2), 2, ("waiting", 1)),
        # A stale read (PostgreSQL: another writer of the case counted it down while this one
        # waited for the case row): "not the last input" is wrong, the row decides: ready.
        (("waiting", 3), 1, ("ready", 0)),
        # Stale the other way (a return made it wait again meanwhile): "the last input" is
        # wrong, the row decides: counted down, still waiting.
        (("waiting", 1), 2, ("waiting", 1)),
        (("ready", 0), 1, ("ready", 0)),  # stale "not waiting" either way: still decided by the row
    ],
)
def test_a_successor_read_stale_is_released_by_its_row(
    world: Session, seen: tuple[str, int], waits_now: int, expected: tuple[str, int]
) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, f"stale-{seen[0]}-{seen[1]}-{waits_now}", bundle="join")
    join = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.code.startswith("QX-RSJ-C"))
    ).one()
    join.waits_for = waits_now  # as it is now
    world.flush()
    cursor, sql = statements.hot(world)
    now = utcnow()
    became_ready = engine.release(
        cursor,
        sql,
        engine.Successor(join.id, join.limit_days, seen[1], seen[0], join.kind),
        now,
        workdays.local_date(now),
    )
    world.expire_all()
    row = world.get(CaseStep, join.id)
    assert row is not None
    assert (row.status, row.waits_for) == expected
    assert became_ready is (expected[0] == "ready")
    if expected[0] == "ready":
        assert row.due_date == workdays.add_workdays(workdays.local_date(now), 4).date


def test_the_last_step_closes_the_case_and_the_chain_verifies(world: Session) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "join-key-2", bundle="join")
    while True:
        ready = [code for code, (s, _, _) in _steps(world, case.id).items() if s == "ready"]
        if not ready:
            break
        _complete(world, officer, case.id, ready[0], outcome={"opinion": "同意，材料齐全"})
    world.expire_all()
    closed = world.get(Case, case.id)
    assert closed is not None
    assert closed.status == "completed"
    assert closed.finished_at is not None
    chain = list(events.events_of(world, case.id))
    assert [e.action for e in chain][-1] == "completed"
    assert events.verify_case(closed, chain) is None
    done = world.scalars(select(CaseStep).where(CaseStep.case_id == case.id)).all()
    # What the prepared statements wrote reads back through the ORM's types.
    assert {s.outcome["opinion"] for s in done} == {"同意，材料齐全"}
    assert all(s.acted_at is not None and s.acted_at.tzinfo is not None for s in done)
    assert {s.acted_by_id for s in done} == {officer.user_id}


def test_objects_already_loaded_see_the_completion(world: Session) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "join-key-3", item="QX-RSJ-D")
    first = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "ready")
    ).one()
    seq = case.event_seq
    service.complete_step(
        session=world, principal=officer, step_id=first.id, lock_version=first.lock_version
    )
    assert first.status == "done"
    assert case.event_seq == seq + 1
    with pytest.raises(Conflict, match="not ready") as late:  # a second officer, too late
        service.complete_step(
            session=world, principal=officer, step_id=first.id, lock_version=first.lock_version - 1
        )
    assert late.value.code == "step_not_ready"
    second = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "ready")
    ).one()
    with pytest.raises(Conflict, match="changed by someone else") as stale:  # read before
        service.complete_step(
            session=world,
            principal=officer,
            step_id=second.id,
            lock_version=second.lock_version - 1,
        )
    assert stale.value.code == "stale_version"


def test_completion_on_a_bare_connection_runs_automatic_checks_in_its_transaction(
    world: Session,
) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "join-key-4", item="QX-RSJ-K")
    acceptance = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.code == "QX-RSJ-K#S1")
    ).one()
    connection = world.connection()
    service.complete_step(
        connection=connection,
        principal=officer,
        step_id=acceptance.id,
        lock_version=acceptance.lock_version,
    )
    world.expire_all()
    steps = _steps(world, case.id)
    assert steps["QX-RSJ-K#S2"][0] == "done"  # the form is complete: the check passed itself
    assert steps["QX-RSJ-K#S3"][0] == "ready"
    check = world.scalars(select(CaseEvent).where(CaseEvent.action == "automatic_check")).one()
    assert check.data["outcome"]["rule"] == "form_complete"
    assert check.actor_id is None


def test_someone_else_on_a_bare_connection_is_refused_and_a_stranger_learns_nothing(
    world: Session,
) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "join-key-5", item="QX-RSJ-A")
    step = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "ready")
    ).one()
    connection = world.connection()
    with pytest.raises(NotFound) as unseen:
        service.complete_step(
            connection=connection,
            principal=principal_of(world, "officer.zjj"),
            step_id=step.id,
            lock_version=step.lock_version,
        )
    assert unseen.value.code == "step_not_found"
    with pytest.raises(NotFound) as missing:
        service.complete_step(
            connection=connection, principal=officer, step_id=999_999_999, lock_version=1
        )
    assert missing.value.code == "step_not_found"
    assert _steps(world, case.id)[step.code][0] == "ready"


def test_a_front_desk_sees_the_case_but_may_not_review(world: Session) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "join-key-6", item="QX-RSJ-A")
    step = world.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.status == "ready")
    ).one()
    with pytest.raises(PermissionDenied) as refused:
        service.complete_step(
            session=world,
            principal=principal_of(world, "frontdesk"),
            step_id=step.id,
            lock_version=step.lock_version,
        )
    assert refused.value.code == "not_yours"


def test_a_chain_whose_head_moved_meanwhile_is_refused(world: Session) -> None:
    officer = principal_of(world, "officer.rsj")
    case = _submit(world, officer, "join-key-7", item="QX-RSJ-A")
    cursor, sql = statements.hot(world)
    stale = events.Chain.read(cursor, sql, case.id)
    events.append(world, case_id=case.id, action="note", data={"text": "一"})
    stale.add("note", data={"text": "二"})
    with pytest.raises(Conflict):
        stale.write(cursor, sql)


def test_two_officers_at_once_on_sqlite_wait_for_each_other_instead_of_failing(
    tmp_path: Path,
) -> None:
    """SQLite has one writer: a transaction that read first and wrote later failed at once
    ("database is locked") when another had written meanwhile. Every transaction now begins
    IMMEDIATE, so the second waits. Twelve threads finish twelve cases step by step, each step
    its own committed transaction, as twelve officers' requests would."""
    engine = make_engine(f"sqlite:///{tmp_path / 'two.sqlite3'}")
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        _world(session)
        officer = principal_of(session, "officer.rsj")
        cases = [
            _submit(session, officer, f"two-officers-{i}", item="QX-RSJ-D").id for i in range(12)
        ]
    failures: list[BaseException] = []

    def finish(case_id: int) -> None:
        try:
            for _ in range(20):
                with engine.begin() as connection:
                    ready = connection.execute(
                        select(CaseStep.id, CaseStep.lock_version).where(
                            CaseStep.case_id == case_id, CaseStep.status == "ready"
                        )
                    ).first()
                    if ready is None:
                        return
                    service.complete_step(
                        connection=connection,
                        principal=officer,
                        step_id=ready.id,
                        lock_version=ready.lock_version,
                    )
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=finish, args=(c,)) for c in cases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Session(engine) as session:
        statuses = session.scalars(select(Case.status).where(Case.id.in_(cases))).all()
    assert statuses == ["completed"] * len(cases)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database of this test alone (its commits stay out of the shared test database):
    a SQLite file, or a PostgreSQL database made and dropped next to the test database."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'own.sqlite3'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    url = os.environ.get("TONGBAN_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL runs when TONGBAN_TEST_DATABASE_URL names one")
    base = make_url(url)
    name = f"tongban_own_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


def test_two_officers_finish_the_parallel_members_of_one_case_at_the_same_moment(
    own_database: Engine,
) -> None:
    """A and B run in parallel and C waits for both. Two officers finish A and B at the same
    moment, in two transactions: both succeed, C becomes ready once, and the case's chain has
    every event once, in order. (PostgreSQL: the second waits for the case row the first
    locked; SQLite: for the write lock.)"""
    engine = own_database
    with Session(engine, expire_on_commit=False) as session:
        _world(session)
        officer = principal_of(session, "officer.rsj")
        cases = [_submit(session, officer, f"parallel-{i:04d}", bundle="join").id for i in range(8)]
        pairs = [_ready(session, case_id) for case_id in cases]
    assert all(len(pair) == 2 for pair in pairs)
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def officer_finishes(which: int) -> None:
        for pair in pairs:
            step_id, version = pair[which]
            start.wait()
            try:
                with engine.begin() as connection:
                    service.complete_step(
                        connection=connection,
                        principal=officer,
                        step_id=step_id,
                        lock_version=version,
                    )
            except BaseException as exc:
                failures.append(exc)

    threads = [threading.Thread(target=officer_finishes, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Session(engine) as session:
        for case_id in cases:
            (join,) = session.scalars(
                select(CaseStep).where(CaseStep.case_id == case_id, CaseStep.status == "ready")
            ).all()
            assert join.code.startswith("QX-RSJ-C")
            assert join.waits_for == 0
            case = session.get(Case, case_id)
            assert case is not None
            chain = list(events.events_of(session, case_id))
            assert [e.seq for e in chain] == list(range(1, case.event_seq + 1))
            assert events.verify_case(case, chain) is None
            assert sum(e.action == "step_done" for e in chain) == 2


def _ready(session: Session, case_id: int) -> list[tuple[int, int]]:
    rows = session.execute(
        select(CaseStep.id, CaseStep.lock_version)
        .where(CaseStep.case_id == case_id, CaseStep.status == "ready")
        .order_by(CaseStep.position)
    ).all()
    return [(i, v) for i, v in rows]
