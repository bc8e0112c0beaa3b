"""Imported years of the official holiday arrangement. Every import is kept (history): the
row with a year's highest version is the one in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tongban.db import Base, utcnow


class CalendarYear(Base):
    """One import of one year: its listed days (``[{"date", "name", "off"}]``, sorted by
    date) and where they came from."""

    __tablename__ = "calendar_year"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    days: Mapped[list[Any]] = mapped_column(default=list)
    papers: Mapped[list[Any]] = mapped_column(default=list)
    source_filename: Mapped[str] = mapped_column(String(200))
    source_format: Mapped[str] = mapped_column(String(12))  # holiday-cn | yaml
    sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: the calendar_version() in force after this import, as stamped on due dates
    calendar_version: Mapped[str] = mapped_column(String(60), default="")
