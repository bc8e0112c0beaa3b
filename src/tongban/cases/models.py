"""Cases, their steps (one row per step, never a workflow blob), step links, the per-case
hash-chained event log, suspensions, escalations, uploads, votes, signatures and payments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tongban.db import Base, utcnow
from tongban.kit.hashchain import Chain, Field, Head, register_chain


class CaseStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    SUSPENDED = "suspended"  # waiting for corrections (补正) or an expert review
    COMPLETED = "completed"
    REJECTED = "rejected"
    ARCHIVED = "archived"


class StepStatus(StrEnum):
    WAITING = "waiting"  # its inputs are not done yet
    READY = "ready"
    DONE = "done"
    SKIPPED = "skipped"


class Case(Base):
    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    subject_kind: Mapped[str] = mapped_column(String(8))  # item | bundle
    subject_code: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_id_no: Mapped[str] = mapped_column(String(18), index=True)
    applicant_phone: Mapped[str] = mapped_column(String(20), default="")
    applicant_jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    applicant_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    form_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: data the bundle produces for its own later steps, not asked of the applicant: element →
    #: ``ITEM#OUTPUT`` of the member that produces it; the element moves into ``form_data`` when
    #: that member's officer records it (``complete_step`` with ``outcome.produced``)
    produced_pending: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel: Mapped[str] = mapped_column(String(16), default="window")
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The head of the event chain, so that removing the newest events is caught too.
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_event_hash: Mapped[str | None] = mapped_column(String(64))
    legal_due: Mapped[date | None] = mapped_column(Date)
    promised_due: Mapped[date | None] = mapped_column(Date)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012


class CaseStep(Base):
    __tablename__ = "case_step"
    __table_args__ = (
        # The workbench: a department's open steps by due date.
        Index("ix_case_step_open", "responsible_department_id", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    responsible_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    responsible_jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"))
    limit_days: Mapped[int] = mapped_column(Integer, default=0)
    waits_for: Mapped[int] = mapped_column(Integer, default=0)
    ready_at: Mapped[datetime | None]
    due_date: Mapped[date | None] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar_version: Mapped[str] = mapped_column(String(60), default="")
    acted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acted_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    acted_at: Mapped[datetime | None]
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)


class StepLink(Base):
    """``to_step`` waits for ``from_step``."""

    __tablename__ = "case_step_link"

    from_step_id: Mapped[int] = mapped_column(ForeignKey("case_step.id"), primary_key=True)
    to_step_id: Mapped[int] = mapped_column(
        ForeignKey("case_step.id"), primary_key=True, index=True
    )


class CaseEvent(Base):
    """Append-only; each row carries the hash of the case's previous event."""

    __tablename__ = "case_event"
    # (case_id, seq) is unique and also serves every "events of this case" query: no second index.
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    step_id: Mapped[int | None] = mapped_column(ForeignKey("case_step.id"))
    action: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


#: one chain per case, its head on the case row (so removing the newest events is caught too,
#: and the case row's lock serialises the writers of that case only)
CASE_EVENTS = register_chain(
    Chain(
        name="case_event",
        model=CaseEvent,
        key="case_id",
        order="seq",
        seq="seq",
        head=Head(Case, count="event_seq", hash="last_event_hash"),
        fields=(
            Field("case", "case_id"),
            Field("seq", "seq"),
            Field("at", "at", _iso),
            Field("actor", "actor_id"),
            Field("step", "step_id"),
            Field("action", "action"),
            Field("data", "data"),
        ),
    )
)


class Suspension(Base):
    """A stop of the legal clock: correction requests (补正), expert review."""

    __tablename__ = "case_suspension"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("case_step.id"))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class EscalationLevel(Base):
    """The escalation ladder, as data: fire at this share of a step's time limit."""

    __tablename__ = "escalation_level"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    percent: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(50))
    name_en: Mapped[str] = mapped_column(String(100))


class EscalationFired(Base):
    __tablename__ = "escalation_fired"

    step_id: Mapped[int] = mapped_column(ForeignKey("case_step.id"), primary_key=True)
    level_code: Mapped[str] = mapped_column(ForeignKey("escalation_level.code"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """A material or attachment, stored once by content hash."""

    __tablename__ = "case_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("case_step.id"))
    purpose: Mapped[str] = mapped_column(String(60))  # material code, "minutes", "photo", …
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Vote(Base):
    __tablename__ = "case_vote"
    __table_args__ = (UniqueConstraint("step_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("case_step.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    choice: Mapped[str] = mapped_column(String(10))  # approve | reject | abstain
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Signature(Base):
    __tablename__ = "case_signature"
    __table_args__ = (UniqueConstraint("step_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("case_step.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    party: Mapped[str] = mapped_column(String(100))
    document_sha256: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Base):
    """Exactly once: one payment per step, sent by a payment job after commit."""

    __tablename__ = "case_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("case_step.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    account: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(8), default="pay_out")  # pay_out | collect
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Delegation(Base):
    """An explicit, recorded hand-over of one step to another department."""

    __tablename__ = "case_delegation"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("case_step.id"), index=True)
    to_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    by_user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
