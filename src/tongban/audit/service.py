"""Append an audit event to the hash chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.audit.models import AuditEvent
from tongban.kit.hashchain import chain_hash, lock_chain

#: name of the audit log's chain (its advisory-lock key on PostgreSQL)
CHAIN = "audit"


def record(
    *,
    session: Session,
    actor_user_id: int | None,
    action: str,
    object_type: str,
    object_key: str,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    lock_chain(session, CHAIN)
    prev = session.scalars(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).one_or_none()
    payload = {
        "actor": actor_user_id,
        "action": action,
        "object_type": object_type,
        "object_key": object_key,
        "detail": detail or {},
    }
    event = AuditEvent(
        actor_user_id=actor_user_id,
        action=action,
        object_type=object_type,
        object_key=object_key,
        detail=detail or {},
        prev_hash=prev,
        hash=chain_hash(prev, payload),
    )
    session.add(event)
    session.flush()
    return event


def events_for(*, session: Session, object_type: str, object_key: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_key == object_key)
            .order_by(AuditEvent.id)
        )
    )
