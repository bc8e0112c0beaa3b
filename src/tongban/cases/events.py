"""The per-case event log: append-only, each row chained to the case's previous one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from tongban.cases.models import Case, CaseEvent
from tongban.db import utcnow
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


def append(
    session: Session,
    *,
    case_id: int,
    action: str,
    actor_id: int | None = None,
    step_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Read the chain's head from the case row, insert the event, move the head. The UPDATE of
    the case row also serialises writers of one case; unique (case_id, seq) backs it up."""
    head = session.execute(
        select(Case.event_seq, Case.last_event_hash).where(Case.id == case_id)
    ).one()
    seq = head[0] + 1
    prev = head[1]
    at = utcnow()
    body = data or {}
    digest = chain_hash(prev, _payload(case_id, seq, at, actor_id, step_id, action, body))
    session.execute(
        insert(CaseEvent).values(
            case_id=case_id,
            seq=seq,
            at=at,
            actor_id=actor_id,
            step_id=step_id,
            action=action,
            data=body,
            prev_hash=prev,
            hash=digest,
        )
    )
    session.execute(
        update(Case)
        .where(Case.id == case_id)
        .values(event_seq=seq, last_event_hash=digest)
        # Keep a Case already loaded in this session in step with the row.
        .execution_options(synchronize_session="evaluate")
    )


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
