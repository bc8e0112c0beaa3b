"""Money in fen inside and yuan outside, exactly (no float ever in between)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.kit.money import MAX_FEN, format_yuan, parse_yuan, yuan_decimal


@pytest.mark.parametrize(
    ("fen", "shown", "plain"),
    [
        (0, "¥0.00", "0.00"),
        (5, "¥0.05", "0.05"),
        (1250, "¥12.50", "12.50"),
        (150_000_000, "¥1,500,000.00", "1500000.00"),
        (-1250, "-¥12.50", "-12.50"),
        # beyond a float's 2**53: fen / 100 would print digits that were never there
        (9_007_199_254_740_993, "¥90,071,992,547,409.93", "90071992547409.93"),
    ],
)
def test_fen_are_shown_as_yuan_exactly(fen: int, shown: str, plain: str) -> None:
    assert format_yuan(fen) == shown
    assert yuan_decimal(fen) == plain
    assert f"{fen / 100:,.2f}" != shown.removeprefix("¥") or fen < 2**53  # why floats are out


def test_the_unit_can_follow_the_amount() -> None:
    assert format_yuan(150_000_050, unit="元") == "1,500,000.50 元"


@pytest.mark.parametrize(
    ("typed", "fen"),
    [
        ("1500", 150_000),
        ("1,500,000", 150_000_000),
        ("1,500.5", 150_050),
        ("¥12.50", 1250),
        ("12.05元", 1205),
        (" 0.01 ", 1),
    ],
)
def test_typed_yuan_become_fen(typed: str, fen: int) -> None:
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["", "abc", "1.234", "-5", "1,50", "1e3", "12.5.0", "٣"])
def test_what_is_not_an_amount_is_named(typed: str) -> None:
    with pytest.raises(ValueError, match="not an amount"):
        parse_yuan(typed)


def test_an_amount_too_large_to_store_is_refused() -> None:
    with pytest.raises(ValueError, match="largest amount"):
        parse_yuan("999999999999999999999")


def test_a_float_is_not_money() -> None:
    with pytest.raises(TypeError):
        format_yuan(12.5)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_shown_yuan_read_back_as_the_same_fen(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen
    assert parse_yuan(yuan_decimal(fen)) == fen
