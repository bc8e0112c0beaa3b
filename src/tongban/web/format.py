"""Formatting shared by every page: money in fen shown as yuan, timestamps in Beijing time."""

from __future__ import annotations

from datetime import datetime

from tongban.kit.money import format_yuan
from tongban.kit.workdays import SHANGHAI

__all__ = ["format_yuan", "local_time"]


def local_time(moment: datetime | None) -> str:
    """A stored UTC timestamp as Beijing time, to the minute; empty when there is none."""
    if moment is None:
        return ""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
