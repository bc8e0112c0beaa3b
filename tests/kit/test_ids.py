"""Tests for identifier validators."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tongban.kit.ids import (
    MAX_MONEY_FEN,
    division_level,
    is_division_descendant,
    normalize_resident_id,
    normalize_uscc,
    parent_division_code,
    resident_id_check_char,
    uscc_check_char,
    validate_date_text,
    validate_division_code,
    validate_money_fen,
    validate_phone,
    validate_resident_id,
    validate_uscc,
)

TODAY = dt.date(2026, 6, 1)


def _rid(first17: str) -> str:
    return first17 + resident_id_check_char(first17)


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


# --- resident ID ---------------------------------------------------------------------------

# Textbook example from GB 11643-1999: 110105 19491231 002 X.
# Hand computation: digits 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2 times weights
# 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167;
# 167 mod 11 = 2 -> "10X98765432"[2] = "X".
TEXTBOOK_RID = "11010519491231002X"


def test_textbook_resident_id_check_char() -> None:
    assert resident_id_check_char(TEXTBOOK_RID[:17]) == "X"


@pytest.mark.parametrize(
    "value",
    [
        TEXTBOOK_RID,
        TEXTBOOK_RID.lower(),  # lower-case x is accepted
        _rid("33010219800229123"),  # leap day
        _rid("44030420260601001"),  # born "today"
        _rid("65010218000101001"),  # earliest accepted birth date
        _rid("81000019900101001"),  # Hong Kong residence permit prefix
        _rid("83000019900101001"),  # Taiwan residence permit prefix
    ],
)
def test_valid_resident_ids(value: str) -> None:
    validate_resident_id(value, today=TODAY)  # raises ValueError when invalid


def test_normalize_resident_id_upper_cases_x() -> None:
    assert normalize_resident_id(TEXTBOOK_RID.lower(), today=TODAY) == TEXTBOOK_RID


def test_check_chars_cover_every_value() -> None:
    # Varying the sequence digits reaches all 11 possible check characters.
    chars = {resident_id_check_char(f"33010219800101{n:03d}") for n in range(200)}
    assert chars == set("0123456789X")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1101051949123100", "must have 18 characters, got 16"),
        (TEXTBOOK_RID + "0", "must have 18 characters, got 19"),
        ("11010519491231A02X", "must start with 17 ASCII digits"),
        ("１1010519491231002X", "must start with 17 ASCII digits"),  # full-width digit
        ("11010519491231002Y", "must end with a digit or X, got 'Y'"),
        ("110105194912310021", "check digit is 1, expected X"),
        (TEXTBOOK_RID[:17] + "0", "check digit is 0, expected X"),
        (_rid("98010519491231002"), "region code 980105 has unknown province prefix 98"),
        (_rid("00000019491231002"), "unknown province prefix 00"),
        (_rid("33010219810229123"), "birth date 19810229 is not a real calendar date"),
        (_rid("33010219801301123"), "birth date 19801301 is not a real calendar date"),
        (_rid("33010220260602001"), "birth date 2026-06-02 is in the future"),
        (_rid("33010217991231001"), "birth date 1799-12-31 is implausibly early"),
    ],
)
def test_invalid_resident_ids(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_resident_id(value, today=TODAY)


def test_resident_id_message_names_what_it_is() -> None:
    with pytest.raises(ValueError, match=r"^resident ID number check digit is 1, expected X$"):
        validate_resident_id("110105194912310021", today=TODAY)


def test_resident_id_default_today_is_shanghai_today() -> None:
    # Born in 2099: in the future whatever today is.
    with pytest.raises(ValueError, match="is in the future"):
        validate_resident_id(_rid("33010220990101001"))
    validate_resident_id(TEXTBOOK_RID)  # raises ValueError when invalid


@pytest.mark.parametrize("body", ["1101051949123100", "11010519491231002X", "1101051949123100a"])
def test_resident_id_check_char_rejects_bad_body(body: str) -> None:
    with pytest.raises(ValueError, match="body must be 17 ASCII digits"):
        resident_id_check_char(body)


def test_resident_id_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="resident ID number must be a string, got int"):
        validate_resident_id(110105194912310020, today=TODAY)  # type: ignore[arg-type]


# --- unified social credit code ------------------------------------------------------------

# Commonly cited example "91350100M000100Y43" (9 = industry & commerce, 1 = enterprise,
# 350100 = Fuzhou, organization code M000100Y4).  Hand computation with alphabet values
# 9 1 3 5 0 1 0 0 M=21 0 0 0 1 0 0 Y=30 4 and weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24
# 10 30 28: 9+3+27+135+0+26+0+0+420+0+0+0+8+0+0+900+112 = 1640; 1640 mod 31 = 28;
# 31 - 28 = 3 -> "3".
PUBLISHED_USCC = "91350100M000100Y43"


def test_published_uscc_check_char() -> None:
    assert uscc_check_char(PUBLISHED_USCC[:17]) == "3"


@pytest.mark.parametrize(
    "value",
    [
        PUBLISHED_USCC,
        PUBLISHED_USCC.lower(),
        _uscc("91330102MA2B3C4D5"),
        _uscc("12100000400000624"),  # public institution (事业单位)
        _uscc("Y1110105ABCDEFGH0"),
        _uscc("93440300000000000"),  # farmers' cooperative (93), Shenzhen
    ],
)
def test_valid_usccs(value: str) -> None:
    validate_uscc(value)  # raises ValueError when invalid


def test_uscc_check_char_zero_case() -> None:
    # All zeros: sum = 0, 31 - 0 = 31 -> mapped to "0".
    assert uscc_check_char("0" * 17) == "0"


def test_uscc_check_chars_cover_alphabet() -> None:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    chars = {uscc_check_char(f"913301020000000{a}{b}") for a in alphabet for b in alphabet}
    assert chars == set(alphabet)


def test_normalize_uscc_upper_cases() -> None:
    assert normalize_uscc(PUBLISHED_USCC.lower()) == PUBLISHED_USCC


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("91350100M000100Y4", "must have 18 characters, got 17"),
        ("91350100M000100Y42", "check character is 2, expected 3"),
        ("91350100M000100Y4A", "check character is A, expected 3"),
        ("91350100I000100Y43", "character 'I' at position 9 is not allowed"),
        ("91350100O000100Y43", "character 'O' at position 9 is not allowed"),
        ("9135010SM000100Y43", "character 'S' at position 8 is not allowed"),
        ("91350100M000100Y4Z", "character 'Z' at position 18 is not allowed"),
        ("V1350100M000100Y43", "character 'V' at position 1 is not allowed"),
        ("91350100M000100Y4-", "character '-' at position 18 is not allowed"),
        (_uscc("9135A100M000100Y4"), "positions 3-8 must be a division code, got 35A100"),
    ],
)
def test_invalid_usccs(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_uscc(value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("91350100M000100Y", "body must have 17 characters, got 16"),
        ("91350100M000100I4", "character 'I' at position 16"),
        ("91350100m000100Y4", "character 'm' at position 9"),  # helper is strict about case
    ],
)
def test_uscc_check_char_rejects_bad_body(body: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        uscc_check_char(body)


# --- division codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("330000", "province", None),
        ("110000", "province", None),
        ("820000", "province", None),
        ("330100", "city", "330000"),
        ("110100", "city", "110000"),
        ("330102", "county", "330100"),
        ("419001", "county", "419000"),  # county-level city under a province-governed group
        ("330102001", "township", "330102"),
        ("441900003", "township", "441900"),  # Dongguan: townships directly under the city
        ("330102001001", "village", "330102001"),
        ("330102001201", "village", "330102001"),
    ],
)
def test_division_levels_and_parents(code: str, level: str, parent: str | None) -> None:
    validate_division_code(code)  # raises ValueError when invalid
    assert division_level(code) == level
    assert parent_division_code(code) == parent


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("33010", "must be 6, 9 or 12 ASCII digits, got '33010'"),
        ("3301020010", "must be 6, 9 or 12 ASCII digits"),
        ("33010a", "must be 6, 9 or 12 ASCII digits"),
        ("000000", "unknown province prefix 00"),
        ("980100", "unknown province prefix 98"),
        ("830000", "unknown province prefix 83"),  # residence-permit prefix is not a division
        ("330102000", "township code 330102000 ends in 000; use the 6-digit code 330102"),
        ("330000001", "must not sit directly under a province"),
        ("330102001000", "village code 330102001000 ends in 000; use the 9-digit"),
        ("330102000001", "township code 330102000 ends in 000"),
    ],
)
def test_invalid_division_codes(code: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_division_code(code)


def test_full_ancestry_chain() -> None:
    chain = []
    code: str | None = "330102001001"
    while code is not None:
        chain.append(code)
        code = parent_division_code(code)
    assert chain == ["330102001001", "330102001", "330102", "330100", "330000"]


@pytest.mark.parametrize(
    ("child", "ancestor", "expected"),
    [
        ("330102001001", "330000", True),
        ("330102001001", "330100", True),
        ("330102001001", "330102", True),
        ("330102001001", "330102001", True),
        ("330102", "330000", True),
        ("330102", "330102", False),  # strict: a code is not its own descendant
        ("330000", "330102", False),  # the other way round
        ("330102", "330200", False),  # sibling city
        ("330102001001", "330102002", False),  # sibling township
        ("320102", "330000", False),  # other province
    ],
)
def test_is_division_descendant(child: str, ancestor: str, expected: bool) -> None:
    assert is_division_descendant(child, ancestor) is expected


def test_is_division_descendant_validates_both_codes() -> None:
    with pytest.raises(ValueError, match="unknown province prefix 98"):
        is_division_descendant("330102", "980000")
    with pytest.raises(ValueError, match="must be 6, 9 or 12 ASCII digits"):
        is_division_descendant("3301", "330000")


# --- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13800138000",
        "19912345678",
        "0571-88888888",
        "057188888888",
        "010-62345678",  # Beijing, 3-digit area code
        "020-8765432",  # 7-digit local number
        "0571-88888888-123",
        "0755-26888888-8",
    ],
)
def test_valid_phones(value: str) -> None:
    validate_phone(value)  # raises ValueError when invalid
    with pytest.raises(ValueError, match="is neither"):
        validate_phone(value + "x")  # and the match is anchored at the end


@pytest.mark.parametrize(
    "value",
    [
        "12800138000",  # second digit 2
        "1380013800",  # 10 digits
        "138001380000",  # 12 digits
        "+8613800138000",
        "138 0013 8000",
        "571-88888888",  # area code without 0
        "0571-08888888",  # local number starting with 0
        "0571-888888",  # 6-digit local number
        "0571-888888888",  # 9-digit local number
        "0571-88888888-",  # empty extension
        "0571-88888888-1234567",  # extension too long
        "１3800138000",  # full-width digit
        "",
    ],
)
def test_invalid_phones(value: str) -> None:
    with pytest.raises(ValueError, match="is neither a mainland mobile number"):
        validate_phone(value)


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 1250, 10**12, MAX_MONEY_FEN])
def test_valid_money(value: int) -> None:
    validate_money_fen(value)  # raises ValueError when invalid
    with pytest.raises(ValueError, match="must not be negative"):
        validate_money_fen(-value - 1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (12.5, "money is counted in integer fen; got 12.5"),
        (12.0, "money is counted in integer fen; got 12.0"),
        ("1250", "money is counted in integer fen; got '1250'"),
        (None, "money is counted in integer fen; got None"),
        (True, "money is counted in integer fen; got True"),
        (False, "money is counted in integer fen; got False"),
        (-1, "money amount must not be negative; got -1 fen"),
        (MAX_MONEY_FEN + 1, "exceeds the 64-bit storage limit"),
    ],
)
def test_invalid_money(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_money_fen(value)


def test_money_decimal_is_rejected() -> None:
    from decimal import Decimal

    with pytest.raises(ValueError, match=re.escape("got Decimal('12.50')")):
        validate_money_fen(Decimal("12.50"))


# --- date text ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2026-09-28", "2024-02-29", "0001-01-01", "9999-12-31"])
def test_valid_date_text(value: str) -> None:
    validate_date_text(value)  # raises ValueError when invalid
    assert dt.date.fromisoformat(value).isoformat() == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("20260928", "must be written as YYYY-MM-DD, got '20260928'"),
        ("2026-9-28", "must be written as YYYY-MM-DD"),
        ("2026-09-28T00:00", "must be written as YYYY-MM-DD"),
        (" 2026-09-28", "must be written as YYYY-MM-DD"),
        ("2026/09/28", "must be written as YYYY-MM-DD"),
        ("2026-W40-1", "must be written as YYYY-MM-DD"),
        ("２026-09-28", "must be written as YYYY-MM-DD"),
        ("2026-02-29", "date 2026-02-29 is not a real calendar date"),
        ("2026-13-01", "date 2026-13-01 is not a real calendar date"),
        ("0000-01-01", "date 0000-01-01 is not a real calendar date"),
    ],
)
def test_invalid_date_text(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        validate_date_text(value)


def test_date_text_rejects_date_object() -> None:
    with pytest.raises(ValueError, match="date must be a string, got date"):
        validate_date_text(dt.date(2026, 9, 28))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("0571-88888888", "0571-88888888"),
        ("(0571) 8888 8888", "0571-88888888"),
        ("0571 8888 8888", "0571-88888888"),
        ("0571-88888888-123", "0571-88888888-123"),
    ],
)
def test_a_phone_number_typed_with_spaces_or_dashes_is_normalised(typed: str, stored: str) -> None:
    from tongban.kit.ids import normalize_phone, validate_phone

    assert normalize_phone(typed) == stored
    validate_phone(stored)


@pytest.mark.parametrize("typed", ["12345", "138 0013 800", "+1 415 555 0100", "电话"])
def test_what_is_no_phone_number_is_still_refused(typed: str) -> None:
    from tongban.kit.ids import normalize_phone

    with pytest.raises(ValueError, match="phone number"):
        normalize_phone(typed)
