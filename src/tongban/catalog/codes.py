"""Item codes as the national lists publish them (GB/T 39554.1-2020, 政务服务事项编码要求).

A real implementation code (实施编码) has six parts joined by hyphens::

    511A0138000000-511602000000-000-115113010833722043-1-00
    basic code     division     unit  implementing organisation  nature  business handling item

- the **basic code** (基本编码) of the item in the basic list, 6 to 24 letters and digits;
- the **division** (行政区划代码) where it is carried out, 12 digits (a GB/T 2260 code padded
  with zeros, as ``511602000000`` for the district 511602);
- a 3-digit **unit** part (``000`` in the published lists seen so far);
- the **implementing organisation** (实施机构), by its unified social credit code (18 characters,
  with its check character) or its older 9-character organisation code;
- a 1-digit **nature** of the implementing subject (实施主体性质);
- the 2-digit **business handling item** (业务办理项), ``00`` for the item itself.

Codes a county makes up for itself (``QX-ZZB-0101``) stay valid: a code is read as a national one
when it has six hyphen-separated parts or is longer than 40 characters, and only then checked
part by part. Every refusal names the part that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from tongban.kit import ids

MAX_LENGTH: Final = 64
"""Longest item code stored (a national code runs to about 55 characters)."""
LOCAL_MAX_LENGTH: Final = 40
"""Longest code that is not read as a national one."""

_LOCAL: Final = re.compile(r"^[A-Za-z0-9_.\-]+$")
_BASIC: Final = re.compile(r"^[0-9A-Z]{6,24}$")
_ORG_CODE: Final = re.compile(r"^[0-9A-Z]{8}[0-9X]$")


@dataclass(frozen=True, slots=True)
class NationalCode:
    """The six parts of a national implementation code."""

    basic: str
    division: str
    unit: str
    organisation: str
    nature: str
    handling_item: str

    @property
    def text(self) -> str:
        return "-".join(
            (
                self.basic,
                self.division,
                self.unit,
                self.organisation,
                self.nature,
                self.handling_item,
            )
        )

    def parts(self) -> list[tuple[str, str, str]]:
        """(key, Chinese name, value) of each part, in order, for the item page."""
        return [
            ("basic", "基本编码", self.basic),
            ("division", "行政区划代码", self.division),
            ("unit", "单元码", self.unit),
            ("organisation", "实施机构代码", self.organisation),
            ("nature", "实施主体性质", self.nature),
            ("handling_item", "业务办理项", self.handling_item),
        ]


def normalise(text: str) -> str:
    """A code as pasted from a web page or a spreadsheet: spaces and full-width hyphens removed,
    letters upper-cased when the code is a national one."""
    cleaned = re.sub(r"\s+", "", text).replace("－", "-").replace("—", "-").replace("–", "-")
    if looks_national(cleaned):
        return cleaned.upper()
    return cleaned


def looks_national(text: str) -> bool:
    return text.count("-") == 5 or len(text) > LOCAL_MAX_LENGTH


def _division(part: str) -> str:
    if len(part) != 12 or not part.isascii() or not part.isdigit():
        raise ValueError(f"the division part must be 12 digits, got '{part}'")
    code = part
    while len(code) > 6 and code.endswith("000"):
        code = code[:-3]
    try:
        ids.validate_division_code(code)
    except ValueError as exc:
        raise ValueError(f"the division part '{part}' is not a division code: {exc}") from None
    return part


def _organisation(part: str) -> str:
    if len(part) == 9:
        if not _ORG_CODE.match(part):
            raise ValueError(
                f"the implementing organisation part '{part}' is not an organisation code"
            )
        return part
    if len(part) != 18:
        raise ValueError(
            "the implementing organisation part must be a unified social credit code of 18 "
            f"characters (or a 9-character organisation code), got {len(part)}: '{part}'"
        )
    try:
        ids.validate_uscc(part)
    except ValueError as exc:
        raise ValueError(f"the implementing organisation part '{part}': {exc}") from None
    return part


def parse_national(text: str) -> NationalCode:
    """Split and check a national implementation code; ValueError names the wrong part."""
    parts = text.split("-")
    if len(parts) != 6:
        raise ValueError(
            "a national implementation code has six parts joined by '-' (basic code, division, "
            f"unit, implementing organisation, nature, business handling item), got {len(parts)}"
        )
    basic, division, unit, organisation, nature, handling = parts
    if not _BASIC.match(basic):
        raise ValueError(
            f"the basic code part must be 6 to 24 capital letters or digits, got '{basic}'"
        )
    _division(division)
    if not re.fullmatch(r"[0-9]{3}", unit):
        raise ValueError(f"the unit part must be 3 digits, got '{unit}'")
    _organisation(organisation)
    if not re.fullmatch(r"[0-9]", nature):
        raise ValueError(f"the nature part must be 1 digit, got '{nature}'")
    if not re.fullmatch(r"[0-9]{2}", handling):
        raise ValueError(f"the business handling item part must be 2 digits, got '{handling}'")
    return NationalCode(basic, division, unit, organisation, nature, handling)


def national_parts(text: str) -> NationalCode | None:
    """The parts of a valid national code, None for a local code (or an invalid one)."""
    if not looks_national(text):
        return None
    try:
        return parse_national(text)
    except ValueError:
        return None


def _checked(value: str, what: str, longest: int) -> str:
    text = normalise(value)
    if not text:
        raise ValueError("the code is empty")
    if len(text) > longest:
        raise ValueError(f"{what} has at most {longest} characters, got {len(text)}")
    return text


def _local(text: str) -> str:
    if not _LOCAL.match(text):
        raise ValueError("a code uses only letters, digits and '_', '.', '-'")
    return text


def check_item_code(value: str) -> str:
    """Validate an implementation code, local or national; returns it normalised."""
    text = _checked(value, "an item code", MAX_LENGTH)
    if looks_national(text):
        parse_national(text)
        return text
    return _local(text)


def check_basic_code(value: str) -> str:
    """A basic code: a local code of at most 40 characters (national ones are 6 to 24)."""
    return _local(_checked(value, "a basic code", LOCAL_MAX_LENGTH))
