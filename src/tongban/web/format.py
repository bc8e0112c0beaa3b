"""Formatting shared by every page: money in fen shown as yuan, timestamps in Beijing time."""

from __future__ import annotations

from datetime import datetime

from tongban.kit.workdays import SHANGHAI


def format_yuan(fen: int) -> str:
    """Integer fen as yuan: 1250 → ¥12.50."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def local_time(moment: datetime | None) -> str:
    """A stored UTC timestamp as Beijing time, to the minute; empty when there is none."""
    if moment is None:
        return ""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
