"""The job table: side effects and background work, written in the business transaction."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tongban.db import Base, utcnow


class JobStatus(StrEnum):
    PENDING = "pending"  # waiting for run_after, or for a handler to be registered
    RUNNING = "running"  # claimed by a runner until claimed_until (a lease)
    DONE = "done"
    DEAD = "dead"  # its last attempt failed; a system administrator may retry it


class Job(Base):
    """One message or job. ``key`` is its delivery key: the handler's effect happens once per
    key however often the job runs (a killed worker's job runs again)."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default=JobStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class PeriodicRun(Base):
    """One row per periodic task and period: whoever inserts it runs the task."""

    __tablename__ = "periodic_run"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    period: Mapped[int] = mapped_column(Integer, primary_key=True)  # seconds since 1970 / every
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    summary: Mapped[str | None] = mapped_column(Text)
