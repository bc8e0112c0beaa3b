"""The per-case event log: append-only, each row chained to the case's previous one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from tongban.cases import statements
from tongban.cases.models import Case, CaseEvent
from tongban.cases.statements import Statements
from tongban.db import utcnow
from tongban.errors import Conflict
from tongban.kit.hashchain import chain_hash, verify_chain


def _payload(
    case_id: int,
    seq: int,
    at: datetime,
    actor_id: int | None,
    step_id: int | None,
    action: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "case": case_id,
        "seq": seq,
        "at": at.isoformat(),
        "actor": actor_id,
        "step": step_id,
        "action": action,
        "data": data,
    }


class Chain:
    """Appends to one case's log: the head read once (or given), each event chained to the one
    before, then the head moved once, only if nobody moved it meanwhile."""

    __slots__ = ("case_id", "from_seq", "head", "rows", "seq")

    def __init__(self, case_id: int, seq: int, head: str | None) -> None:
        self.case_id = case_id
        self.from_seq = seq
        self.seq = seq
        self.head = head
        self.rows: list[dict[str, Any]] = []

    @classmethod
    def read(cls, cursor: Any, sql: Statements, case_id: int) -> Chain:
        seq, head = sql.head.execute(cursor, case_id=case_id).fetchone()
        return cls(case_id, seq, head)

    def add(
        self,
        action: str,
        *,
        actor_id: int | None = None,
        step_id: int | None = None,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        self.seq += 1
        moment = at or utcnow()
        body = data or {}
        digest = chain_hash(
            self.head, _payload(self.case_id, self.seq, moment, actor_id, step_id, action, body)
        )
        self.rows.append(
            {
                "case_id": self.case_id,
                "seq": self.seq,
                "at": moment,
                "actor_id": actor_id,
                "step_id": step_id,
                "action": action,
                "data": body,
                "prev_hash": self.head,
                "hash": digest,
            }
        )
        self.head = digest

    def write(self, cursor: Any, sql: Statements) -> None:
        """Move the head first, only from where it was read: a writer who appended meanwhile
        makes this a Conflict before anything is inserted."""
        if not self.rows:
            return
        moved = sql.move_head.execute(
            cursor,
            case_id=self.case_id,
            from_seq=self.from_seq,
            to_seq=self.seq,
            last_event_hash=self.head,
        )
        if moved.rowcount != 1:
            raise Conflict(
                "the case was changed by someone else just now; try again",
                data={"case_id": self.case_id},
            )
        if len(self.rows) == 1:
            sql.event.execute(cursor, **self.rows[0])
        else:
            sql.event.execute_many(cursor, self.rows)
        self.rows = []
        self.from_seq = self.seq


def forget_head(session: Session, case_id: int) -> None:
    """A Case already loaded in this session reloads its chain head when next read."""
    loaded = session.identity_map.get(identity_key(Case, case_id))
    if loaded is not None:
        session.expire(loaded, ["event_seq", "last_event_hash"])


def append(
    session: Session,
    *,
    case_id: int,
    action: str,
    actor_id: int | None = None,
    step_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Read the chain's head from the case row, insert the event, move the head. The head is
    read FOR UPDATE on PostgreSQL, which serialises writers of one case; the conditional move
    and unique (case_id, seq) back it up."""
    cursor, sql = statements.hot(session)
    chain = Chain.read(cursor, sql, case_id)
    chain.add(action, actor_id=actor_id, step_id=step_id, data=data)
    chain.write(cursor, sql)
    forget_head(session, case_id)


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        )
    )


def verify_case(case: Case, events: list[CaseEvent]) -> str | None:
    """None when the chain holds; otherwise what is wrong, naming the row."""
    if len(events) != case.event_seq or (events and events[-1].hash != case.last_event_hash):
        return f"the chain ends at event {len(events)}, the case says {case.event_seq}"
    for expected, event in enumerate(events, start=1):
        if event.seq != expected:
            return f"event {expected} is missing (found seq {event.seq})"
    rows = [
        (
            e.prev_hash,
            _payload(e.case_id, e.seq, e.at, e.actor_id, e.step_id, e.action, e.data),
            e.hash,
        )
        for e in events
    ]
    bad = verify_chain(rows)
    if bad is not None:
        return f"event {events[bad].seq} (id {events[bad].id}) was altered"
    return None
