"""The per-case event log: append-only, each row chained to the case's previous one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.cases.models import CASE_EVENTS, Case, CaseEvent
from tongban.cases.statements import Statements
from tongban.db import utcnow
from tongban.errors import Conflict
from tongban.kit import hashchain
from tongban.kit.hashchain import Break, Links


class Chain:
    """Appends to one case's log on the engine's hot path (prepared statements): the head read
    once (or given), each event numbered and chained by :class:`kit.hashchain.Links` (the one
    implementation of every chain), then the head moved once, only if nobody moved it
    meanwhile."""

    __slots__ = ("links",)

    def __init__(self, case_id: int, seq: int, head: str | None) -> None:
        self.links = Links(CASE_EVENTS, case_id, seq, head)

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
        self.links.add(
            {
                "at": at or utcnow(),
                "actor_id": actor_id,
                "step_id": step_id,
                "action": action,
                "data": data or {},
            }
        )

    def write(self, cursor: Any, sql: Statements) -> None:
        """Move the head first, only from where it was read: a writer who appended meanwhile
        makes this a Conflict before anything is inserted."""
        links = self.links
        if not links.rows:
            return
        moved = sql.move_head.execute(
            cursor,
            case_id=links.key,
            from_seq=links.from_count,
            to_seq=links.count,
            last_event_hash=links.head,
        )
        if moved.rowcount != 1:
            raise Conflict(
                "the case was changed by someone else just now; try again",
                data={"case_id": links.key},
            )
        rows = links.take()
        if len(rows) == 1:
            sql.event.execute(cursor, **rows[0])
        else:
            sql.event.execute_many(cursor, rows)


def forget_head(session: Session, case_id: int) -> None:
    """A Case already loaded in this session reloads its chain head when next read."""
    hashchain.forget_head(session, CASE_EVENTS, case_id)


def append(
    session: Session,
    *,
    case_id: int,
    action: str,
    actor_id: int | None = None,
    step_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append one event (:func:`kit.hashchain.append`): the head is read FOR UPDATE from the
    case row on PostgreSQL, which serialises writers of this case only; the conditional move
    and unique (case_id, seq) back it up."""
    hashchain.append(
        session,
        CASE_EVENTS,
        {
            "at": utcnow(),
            "actor_id": actor_id,
            "step_id": step_id,
            "action": action,
            "data": data or {},
        },
        key=case_id,
    )


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
        )
    )


def describe(broken: Break) -> str:
    """A break of a case's chain in the words of the case log."""
    event = f"event {broken.position} (id {broken.row_id})"
    match broken.kind:
        case "missing":
            return f"event {broken.position} is missing (found seq {broken.found})"
        case "truncated":
            return f"the chain ends at event {broken.position}, the case says {broken.found}"
        case "unlinked":
            return f"{event} does not follow the event before it"
        case _:
            return f"{event} was altered"


def verify_case(case: Case, events: list[CaseEvent]) -> str | None:
    """None when the chain holds; otherwise what is wrong, naming the row."""
    columns = CASE_EVENTS.columns()
    _, broken = hashchain.check(
        CASE_EVENTS,
        ({c: getattr(e, c) for c in columns} for e in events),
        key=case.id,
        head=(case.event_seq, case.last_event_hash),
    )
    return None if broken is None else describe(broken)


def verify_all(session: Session) -> list[str]:
    """Every case's event chain, one line per broken case: ``"<case number>: <what>"``."""
    report = hashchain.verify(session, CASE_EVENTS)
    rows = session.execute(
        select(Case.id, Case.number).where(Case.id.in_([b.key for b in report.breaks]))
    )
    numbers = {case_id: number for case_id, number in rows}
    return [f"{numbers.get(b.key, b.key)}: {describe(b)}" for b in report.breaks]
