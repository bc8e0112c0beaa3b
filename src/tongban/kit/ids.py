"""Validators for identifiers used in Chinese government services.

Every ``validate_*`` function returns None for valid input and raises ``ValueError`` with an
English message that names what is wrong.  The checks are structural (format, check
characters, plausible dates and code levels); they do not look codes up in any registry.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Literal

from tongban.kit.workdays import shanghai_today

__all__ = [
    "MAX_MONEY_FEN",
    "DivisionLevel",
    "division_level",
    "is_division_descendant",
    "normalize_resident_id",
    "normalize_uscc",
    "parent_division_code",
    "resident_id_check_char",
    "uscc_check_char",
    "validate_date_text",
    "validate_division_code",
    "validate_money_fen",
    "validate_phone",
    "validate_resident_id",
    "validate_uscc",
]

DivisionLevel = Literal["province", "city", "county", "township", "village"]

# First two digits of GB/T 2260 province-level divisions (71 Taiwan, 81 Hong Kong, 82 Macao).
_PROVINCE_PREFIXES: Final = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23"}
    | {"31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54"}
    | {"61", "62", "63", "64", "65", "71", "81", "82"}
    # GB/T 2260 assigns no 9x code: "99" is kept for the fictional demo province (明江省) and
    # tests, so that no demo record can ever be mistaken for a real person or place.
    | {"99"}
)
# Residence permits for Hong Kong, Macao and Taiwan residents use 810000, 820000 and 830000.
_RESIDENT_ID_PREFIXES: Final = _PROVINCE_PREFIXES | {"83"}

_DIGITS_RE: Final = re.compile(r"[0-9]+")

# GB 11643-1999, ISO 7064 MOD 11-2.
_RID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RID_CHECK: Final = "10X98765432"
_RID_EARLIEST_BIRTH: Final = dt.date(1800, 1, 1)

# GB 32100-2015: 31 characters, without I, O, Z, S, V; weights are 3**i mod 31.
_USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUES: Final = {char: index for index, char in enumerate(_USCC_ALPHABET)}

_MOBILE_RE: Final = re.compile(r"1[3-9][0-9]{9}")
# Area code: 0 + 2 or 3 digits; local number 7-8 digits not starting with 0 or 1;
# optional "-extension" of 1-6 digits.
_LANDLINE_RE: Final = re.compile(r"0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(?:-[0-9]{1,6})?")

_ISO_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

MAX_MONEY_FEN: Final = 2**63 - 1
"""Largest amount that fits a signed 64-bit database column."""


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    return value


def _is_digits(text: str) -> bool:
    # str.isdigit() would also accept full-width and superscript digits.
    return _DIGITS_RE.fullmatch(text) is not None


# --- resident identity card number -------------------------------------------------------


def resident_id_check_char(first17: str) -> str:
    """Check character (0-9 or X) for the first 17 digits of a resident ID number."""
    _require_str(first17, "resident ID number body")
    if len(first17) != 17 or not _is_digits(first17):
        raise ValueError(f"resident ID number body must be 17 ASCII digits, got {first17!r}")
    total = sum(int(char) * weight for char, weight in zip(first17, _RID_WEIGHTS, strict=True))
    return _RID_CHECK[total % 11]


def normalize_resident_id(value: str, *, today: dt.date | None = None) -> str:
    """Validate a resident ID number and return its canonical form (upper-case X)."""
    validate_resident_id(value, today=today)
    return value.upper()


def validate_resident_id(value: str, *, today: dt.date | None = None) -> None:
    """Validate an 18-character resident ID number (GB 11643-1999).

    Layout: 6-digit region code, 8-digit birth date YYYYMMDD, 3-digit sequence, check
    character.  A lower-case ``x`` is accepted as ``X``.  The birth date must be a real date
    between 1800-01-01 and ``today`` (default: today in Shanghai).
    """
    text = _require_str(value, "resident ID number")
    if len(text) != 18:
        raise ValueError(f"resident ID number must have 18 characters, got {len(text)}")
    body, check = text[:17], text[17].upper()
    if not _is_digits(body):
        raise ValueError("resident ID number must start with 17 ASCII digits")
    if not (_is_digits(check) or check == "X"):
        raise ValueError(f"resident ID number must end with a digit or X, got {text[17]!r}")
    if body[:2] not in _RESIDENT_ID_PREFIXES:
        raise ValueError(
            f"resident ID number region code {body[:6]} has unknown province prefix {body[:2]}"
        )
    birth_text = body[6:14]
    try:
        birth = dt.date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise ValueError(
            f"resident ID number birth date {birth_text} is not a real calendar date"
        ) from None
    reference = today if today is not None else shanghai_today()
    if birth > reference:
        raise ValueError(f"resident ID number birth date {birth.isoformat()} is in the future")
    if birth < _RID_EARLIEST_BIRTH:
        raise ValueError(f"resident ID number birth date {birth.isoformat()} is implausibly early")
    expected = resident_id_check_char(body)
    if check != expected:
        raise ValueError(f"resident ID number check digit is {check}, expected {expected}")


# --- unified social credit code ---------------------------------------------------------


def uscc_check_char(first17: str) -> str:
    """Check character for the first 17 characters of a unified social credit code."""
    _require_str(first17, "unified social credit code body")
    if len(first17) != 17:
        raise ValueError(
            f"unified social credit code body must have 17 characters, got {len(first17)}"
        )
    total = 0
    for position, (char, weight) in enumerate(zip(first17, _USCC_WEIGHTS, strict=True), 1):
        if char not in _USCC_VALUES:
            raise ValueError(_uscc_bad_char(char, position))
        total += _USCC_VALUES[char] * weight
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _uscc_bad_char(char: str, position: int) -> str:
    return (
        f"unified social credit code character {char!r} at position {position} is not allowed; "
        f"allowed are {_USCC_ALPHABET} (no I, O, Z, S, V)"
    )


def normalize_uscc(value: str) -> str:
    """Validate a unified social credit code and return it in upper case."""
    validate_uscc(value)
    return value.upper()


def validate_uscc(value: str) -> None:
    """Validate an 18-character unified social credit code (GB 32100-2015).

    Lower-case letters are accepted as their upper-case forms.  Positions 3-8 hold the
    administrative division code and must be digits.
    """
    text = _require_str(value, "unified social credit code").upper()
    if len(text) != 18:
        raise ValueError(f"unified social credit code must have 18 characters, got {len(text)}")
    for position, char in enumerate(text, 1):
        if char not in _USCC_VALUES:
            raise ValueError(_uscc_bad_char(char, position))
    if not _is_digits(text[2:8]):
        raise ValueError(
            f"unified social credit code positions 3-8 must be a division code, got {text[2:8]}"
        )
    expected = uscc_check_char(text[:17])
    if text[17] != expected:
        raise ValueError(
            f"unified social credit code check character is {text[17]}, expected {expected}"
        )


# --- administrative division codes ------------------------------------------------------


def division_level(code: str) -> DivisionLevel:
    """Level of a division code: 6 digits (province, city, county), 9 (township), 12 (village).

    Province codes end in ``0000``, city codes in ``00``.  Township codes are a 6-digit
    county (or city, for cities without counties) code plus 3 digits; village codes are a
    township code plus 3 digits.
    """
    text = _require_str(code, "division code")
    if len(text) not in (6, 9, 12) or not _is_digits(text):
        raise ValueError(f"division code must be 6, 9 or 12 ASCII digits, got {text!r}")
    if text[:2] not in _PROVINCE_PREFIXES:
        raise ValueError(f"division code {text} has unknown province prefix {text[:2]}")
    if len(text) == 12:
        if text[9:] == "000":
            raise ValueError(
                f"village code {text} ends in 000; use the 9-digit township code {text[:9]}"
            )
        division_level(text[:9])
        return "village"
    if len(text) == 9:
        if text[6:] == "000":
            raise ValueError(f"township code {text} ends in 000; use the 6-digit code {text[:6]}")
        if text[2:6] == "0000":
            raise ValueError(f"township code {text} must not sit directly under a province")
        return "township"
    if text[2:] == "0000":
        return "province"
    if text[4:] == "00":
        return "city"
    return "county"


def validate_division_code(value: str) -> None:
    """Validate a GB/T 2260 division code or its 9/12-digit statistical extension."""
    division_level(value)


def parent_division_code(code: str) -> str | None:
    """Structural parent of a division code; None for a province.

    ``"330102001001"`` -> ``"330102001"`` -> ``"330102"`` -> ``"330100"`` -> ``"330000"``.
    """
    level = division_level(code)
    if level == "village":
        return code[:9]
    if level == "township":
        return code[:6]
    if level == "county":
        return code[:4] + "00"
    if level == "city":
        return code[:2] + "0000"
    return None


def is_division_descendant(child: str, ancestor: str) -> bool:
    """True when ``ancestor`` is a strict structural ancestor of ``child``."""
    division_level(ancestor)
    parent = parent_division_code(child)
    while parent is not None:
        if parent == ancestor:
            return True
        parent = parent_division_code(parent)
    return False


# --- phone numbers, money, dates --------------------------------------------------------


def validate_phone(value: str) -> None:
    """Validate a mainland mobile number (11 digits) or a landline such as 0571-88888888.

    Landlines: area code of 3-4 digits starting with 0, optional dash, 7-8 digit local
    number, optional ``-extension`` of 1-6 digits.  No spaces, no ``+86`` prefix.
    """
    text = _require_str(value, "phone number")
    if _MOBILE_RE.fullmatch(text) or _LANDLINE_RE.fullmatch(text):
        return
    raise ValueError(
        f"phone number {text!r} is neither a mainland mobile number (1[3-9] + 9 digits) "
        "nor a landline like 0571-88888888"
    )


_PHONE_SEPARATORS = re.compile(r"[\s\-–—.()（）]+")


def normalize_phone(value: str) -> str:
    """A phone number as people type it — ``138 0013 8000``, ``138-0013-8000``, ``+86 138 0013
    8000``, ``(0571) 8888 8888`` — in the one form that ``validate_phone`` accepts: a mobile as
    11 digits, a landline as ``0571-88888888`` (an extension kept as ``-123``); ValueError
    naming the number when it is neither."""
    text = _require_str(value, "phone number").strip()
    if text.startswith(("+86", "0086")):
        text = text.removeprefix("+86").removeprefix("0086")
    digits = _PHONE_SEPARATORS.sub("", text)
    if _MOBILE_RE.fullmatch(digits):
        return digits
    # a landline: area code 0 + 2–3 digits, local number of 7–8 digits, then an extension
    parts = [p for p in _PHONE_SEPARATORS.split(text) if p]
    if parts and parts[0].startswith("0") and len(parts[0]) in (3, 4) and len(parts) >= 2:
        local = "".join(parts[1:3]) if len(parts) >= 3 and len(parts[1]) < 7 else parts[1]
        rest = parts[3:] if len(parts) >= 3 and len(parts[1]) < 7 else parts[2:]
        candidate = f"{parts[0]}-{local}" + (f"-{''.join(rest)}" if rest else "")
        if _LANDLINE_RE.fullmatch(candidate):
            return candidate
    validate_phone(text)  # the number as typed, or the message that names it
    return text


def validate_money_fen(value: object) -> None:
    """Validate a money amount: a non-negative int (not bool) counted in fen (分)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"money is counted in integer fen; got {value!r}")
    if value < 0:
        raise ValueError(f"money amount must not be negative; got {value} fen")
    if value > MAX_MONEY_FEN:
        raise ValueError(f"money amount {value} fen exceeds the 64-bit storage limit")


def validate_date_text(value: str) -> None:
    """Validate an ISO calendar date written exactly as YYYY-MM-DD."""
    text = _require_str(value, "date")
    if _ISO_DATE_RE.fullmatch(text) is None:
        raise ValueError(f"date must be written as YYYY-MM-DD, got {text!r}")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text} is not a real calendar date") from None


def mask_resident_id(value: str) -> str:
    """A resident ID number as staff see it by default: the first four and the last four
    characters, ``1101**********002X`` (anything else, a credit code, is returned as it is)."""
    if len(value) == 18 and value[:17].isdigit():
        return value[:4] + "*" * 10 + value[14:]
    return value
