"""Append an audit event to the hash chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.audit.models import AUDIT_LOG, AuditEvent
from tongban.kit import hashchain

#: name of the audit log's chain (its advisory-lock key on PostgreSQL)
CHAIN = AUDIT_LOG.name


def record(
    *,
    session: Session,
    actor_user_id: int | None,
    action: str,
    object_type: str,
    object_key: str,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one event to the audit chain (:func:`kit.hashchain.append`: the chain's lock,
    the newest hash, the new one); the row written, by column name."""
    return hashchain.append(
        session,
        AUDIT_LOG,
        {
            "actor_user_id": actor_user_id,
            "action": action,
            "object_type": object_type,
            "object_key": object_key,
            "detail": detail or {},
        },
    )


def events_for(*, session: Session, object_type: str, object_key: str) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_key == object_key)
            .order_by(AuditEvent.id)
        )
    )
