"""One-thing bundles, versioned like items: a bundle's identity and its versions' content."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tongban.db import Base, utcnow


class BundleKind(StrEnum):
    LIFE_EVENT = "life_event"  # CPSV-AP LifeEvent (个人一件事)
    BUSINESS_EVENT = "business_event"  # CPSV-AP BusinessEvent (企业一件事)


class Bundle(Base):
    __tablename__ = "bundle"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BundleVersion(Base):
    __tablename__ = "bundle_version"
    __table_args__ = (UniqueConstraint("bundle_id", "version_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundle.id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    lead_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    partner_codes: Mapped[list[Any]] = mapped_column(default=list)
    questions: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None]
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012

    bundle: Mapped[Bundle] = relationship(lazy="raise")
    members: Mapped[list[BundleMember]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="BundleMember.position"
    )


class BundleMember(Base):
    """An item in a bundle: its stage, what it waits for, and when it applies."""

    __tablename__ = "bundle_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("bundle_version.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(64))
    stage: Mapped[int] = mapped_column(Integer, default=1)
    depends_on: Mapped[list[Any]] = mapped_column(default=list)
    when: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {question: [answers]}
