"""Money: integer fen (分) inside, yuan (元) on every page and form, never through floats.

A float holds 2**53 exactly; beyond that (and in the cents of many smaller sums) ``fen / 100``
gives digits that were never there. Every conversion here is integer arithmetic or
``Decimal``."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

__all__ = ["MAX_FEN", "format_yuan", "parse_yuan", "yuan_decimal"]

MAX_FEN: Final = 2**63 - 1
"""The largest amount the database stores (a signed 64-bit integer of fen)."""

_TYPED: Final = re.compile(r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]{1,2}))?")


def _parts(fen: int) -> tuple[str, int, int]:
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"money is counted in integer fen, not {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return sign, whole, cents


def yuan_decimal(fen: int) -> str:
    """The exact yuan amount as a plain decimal string: 1250 → ``"12.50"`` (for exports)."""
    sign, whole, cents = _parts(fen)
    return f"{sign}{whole}.{cents:02d}"


def format_yuan(fen: int, *, unit: str = "¥") -> str:
    """Yuan for people, with thousands separators: 150000050 → ``¥1,500,000.50``; with
    ``unit="元"`` the unit follows: ``1,500,000.50 元``."""
    sign, whole, cents = _parts(fen)
    amount = f"{whole:,}.{cents:02d}"
    return f"{sign}{amount} 元" if unit == "元" else f"{sign}{unit}{amount}"


def parse_yuan(text: str) -> int:
    """Yuan as a person types it (``1500``, ``1,500.5``, ``¥1,500.50``, ``1500元``) in fen;
    ValueError naming what is wrong. Negative amounts and more than two decimals are refused."""
    cleaned = text.strip().removeprefix("¥").removeprefix("￥").removesuffix("元").strip()
    match = _TYPED.fullmatch(cleaned)
    if match is None:
        raise ValueError(
            f"'{text}' is not an amount in yuan (digits, optional thousands commas, at most "
            "two decimals)"
        )
    fen = int(Decimal(match.group(1).replace(",", "") + "." + (match.group(2) or "0")) * 100)
    if fen > MAX_FEN:
        raise ValueError(f"'{text}' is larger than the largest amount that can be stored")
    return fen
