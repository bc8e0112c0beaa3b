"""The audit log's hash chain under concurrent writers (SQLite and PostgreSQL): no two events
share a previous hash; rows stored by the code before the shared chain still verify."""

from __future__ import annotations

import threading

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.audit.models import AUDIT_LOG, AuditEvent
from tongban.db import make_engine, utcnow
from tongban.kit import hashchain
from tongban.kit.hashchain import verify_chain

WRITERS, EVENTS = 8, 25


def test_concurrent_writers_do_not_fork_the_chain(committing_database: str) -> None:
    engine = make_engine(committing_database)
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait(10)
            for n in range(EVENTS):
                with Session(engine) as session:
                    audit.record(
                        session=session,
                        actor_user_id=None,
                        action="test.write",
                        object_type="test",
                        object_key=f"{writer}-{n}",
                    )
                    session.commit()
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert failures == []
    with Session(engine) as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    engine.dispose()
    assert len(events) == WRITERS * EVENTS
    previous = [e.prev_hash for e in events]
    assert len(set(previous)) == len(previous), "two events name the same previous hash"
    rows = [
        (
            e.prev_hash,
            {
                "actor": e.actor_user_id,
                "action": e.action,
                "object_type": e.object_type,
                "object_key": e.object_key,
                "detail": e.detail,
            },
            e.hash,
        )
        for e in events
    ]
    assert verify_chain(rows) is None
    with Session(engine) as session:
        report = hashchain.verify(session, AUDIT_LOG)
    assert (report.rows, report.breaks) == (WRITERS * EVENTS, [])


def test_rows_written_before_the_shared_chain_still_verify(session: Session) -> None:
    """Two rows as the audit log stored them before ``kit.hashchain.Chain`` (hashes computed by
    that code), then one appended now: the chain holds across them."""
    old = [
        (
            "item.published",
            "item",
            "QX-1",
            '{"version": 2, "名": "张三"}',
            None,
            "8cb91b364bd06ea173c086c2987dbff79ad165dcafd59a5de1a45dbd2bd17f8c",
        ),
        (
            "login",
            "user",
            "frontdesk",
            "{}",
            "8cb91b364bd06ea173c086c2987dbff79ad165dcafd59a5de1a45dbd2bd17f8c",
            "bd1b4d8840e10552baeaa6e9830233b0932c347bf973cb0083251b115ce174e2",
        ),
    ]
    session.execute(text("DELETE FROM audit_event"))
    for action, object_type, key, detail, prev, digest in old:
        session.execute(
            text(
                "INSERT INTO audit_event (at, action, object_type, object_key, detail,"
                " prev_hash, hash) VALUES (:at, :a, :t, :k, :d, :p, :h)"
            ),
            {
                "at": utcnow(),
                "a": action,
                "t": object_type,
                "k": key,
                "d": detail,
                "p": prev,
                "h": digest,
            },
        )
    row = audit.record(
        session=session, actor_user_id=None, action="now", object_type="t", object_key="k"
    )
    assert row["prev_hash"] == old[-1][-1]
    report = hashchain.verify(session, AUDIT_LOG)
    assert (report.rows, report.breaks) == (3, [])
    session.execute(text("UPDATE audit_event SET object_key = 'QX-2' WHERE object_key = 'QX-1'"))
    [broken] = hashchain.verify(session, AUDIT_LOG).breaks
    assert (broken.position, broken.kind) == (1, "altered")
