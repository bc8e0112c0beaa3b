"""Audit events: append-only rows, each carrying the hash of its predecessor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tongban.db import Base, utcnow
from tongban.kit.hashchain import Chain, Field, register_chain


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(100), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


#: one chain over the whole table; the names and order of the hashed fields are those every
#: stored hash was computed with
AUDIT_LOG = register_chain(
    Chain(
        name="audit",
        model=AuditEvent,
        fields=(
            Field("actor", "actor_user_id"),
            Field("action", "action"),
            Field("object_type", "object_type"),
            Field("object_key", "object_key"),
            Field("detail", "detail"),
        ),
    )
)
