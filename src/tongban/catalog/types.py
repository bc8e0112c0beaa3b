"""The national item types (事项类型) and the rules that follow each type.

The ten kinds of administrative power and public service of the national lists, plus internal
matters of the organs themselves (机关内部事项). One table says for each type its names, the
codes source lists carry for it, whether it is an administrative power (and so needs a legal basis
to be published: an organ may exercise a power only where a law grants it — 职权法定), and whether
anyone applies for it (only such items join a one-thing bundle or take applications: nobody
applies for a penalty or an inspection).

Codes accepted in files, besides the enum value and the Chinese name:
- the two-letter codes of the power lists (权责清单): XK 许可, CF 处罚, QZ 强制, ZS 征收,
  JF 给付, JC 检查, QR 确认, JL 奖励, CJ 裁决, QT 其他;
- the event type codes of the Sichuan government-service network (四川政务服务网, ``eventType``):
  1A 许可, 1B 处罚, 1C 强制, 1D 征收, 1E 裁决, 1F 确认, 1G 给付, 1H 奖励, 1I 检查, 1Z 其他.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tongban.catalog.models import ItemType


@dataclass(frozen=True, slots=True)
class TypeRule:
    type: ItemType
    zh: str
    en: str
    codes: tuple[str, ...]
    power: bool
    """An administrative power (行政权力): publishing it needs a legal basis."""
    applied_for: bool
    """Someone applies for it: it may join a bundle and take applications."""


_RULES: Final = (
    TypeRule(ItemType.ADMINISTRATIVE_LICENCE, "行政许可", "Administrative licence",
             ("XK", "1A"), True, True),
    TypeRule(ItemType.ADMINISTRATIVE_PENALTY, "行政处罚", "Administrative penalty",
             ("CF", "1B"), True, False),
    TypeRule(ItemType.ADMINISTRATIVE_COERCION, "行政强制", "Administrative coercion",
             ("QZ", "1C"), True, False),
    TypeRule(ItemType.ADMINISTRATIVE_LEVY, "行政征收", "Administrative levy",
             ("ZS", "1D"), True, False),
    TypeRule(ItemType.ADMINISTRATIVE_PAYMENT, "行政给付", "Administrative payment",
             ("JF", "1G"), True, True),
    TypeRule(ItemType.ADMINISTRATIVE_INSPECTION, "行政检查", "Administrative inspection",
             ("JC", "1I"), True, False),
    TypeRule(ItemType.ADMINISTRATIVE_CONFIRMATION, "行政确认", "Administrative confirmation",
             ("QR", "1F"), True, True),
    TypeRule(ItemType.ADMINISTRATIVE_REWARD, "行政奖励", "Administrative reward",
             ("JL", "1H"), True, True),
    TypeRule(ItemType.ADMINISTRATIVE_ADJUDICATION, "行政裁决", "Administrative adjudication",
             ("CJ", "1E"), True, True),
    TypeRule(ItemType.OTHER, "其他行政权力", "Other administrative power",
             ("QT", "1Z"), True, True),
    TypeRule(ItemType.PUBLIC_SERVICE, "公共服务", "Public service", (), False, True),
    TypeRule(ItemType.INTERNAL_MATTER, "机关内部事项", "Internal matter", (), False, True),
)  # fmt: skip

RULES: Final[dict[ItemType, TypeRule]] = {rule.type: rule for rule in _RULES}

_BY_NAME: Final[dict[str, ItemType]] = {}
for _rule in _RULES:
    for _name in (_rule.type.value, _rule.zh, _rule.en.lower(), *_rule.codes):
        _BY_NAME[_name.upper() if _name.isascii() else _name] = _rule.type
_BY_NAME["其他"] = ItemType.OTHER


def rule(value: str | ItemType) -> TypeRule:
    return RULES[ItemType(value)]


def parse(value: object) -> object:
    """A type as a file gives it (enum value, Chinese or English name, national code) as the enum
    value; anything else is returned unchanged for the schema to refuse with the list of types."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    found = _BY_NAME.get(text.upper() if text.isascii() else text)
    return found.value if found is not None else value


def label(value: str, lang: str) -> str:
    try:
        found = rule(value)
    except ValueError:
        return value
    return found.zh if lang.startswith("zh") else found.en


def needs_legal_basis(value: str) -> bool:
    return rule(value).power


def applied_for(value: str) -> bool:
    return rule(value).applied_for
