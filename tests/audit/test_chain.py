"""The audit log's hash chain under concurrent writers: no two events share a previous hash."""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.audit import service as audit
from tongban.audit.models import AuditEvent
from tongban.db import make_engine
from tongban.kit.hashchain import verify_chain

WRITERS, EVENTS = 8, 25


def test_concurrent_writers_on_postgresql_do_not_fork_the_chain(pg_database: str) -> None:
    engine = make_engine(pg_database)
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
