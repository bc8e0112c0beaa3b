"""Automatic checks: rules over the form and shared data. Each rule has an id and a version; a
check records both and the inputs it saw, so a decision can be traced and replayed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    rule: str
    version: str
    passed: bool
    explanation: str
    inputs: dict[str, Any]


Rule = Callable[[Mapping[str, Any]], CheckResult]


def form_complete(required: list[str]) -> Rule:
    def rule(form: Mapping[str, Any]) -> CheckResult:
        missing = [e for e in required if form.get(e) in (None, "")]
        return CheckResult(
            "form_complete",
            "1",
            not missing,
            "all required data present" if not missing else "missing: " + ", ".join(missing),
            {e: form.get(e) for e in required},
        )

    return rule


AWARD_CAP_FEN = 200_000_000  # 2,000,000 yuan


def renovation_award(form: Mapping[str, Any]) -> CheckResult:
    """企业技术改造奖补 (demo policy): production-equipment investment of at least 5 million
    yuan and tax paid; the award is 10 % of the investment, at most 2 million yuan."""
    invest = form.get("DE.EQUIP_INVEST")
    tax = form.get("DE.TAX_PAID")
    reasons = []
    if not isinstance(invest, int) or isinstance(invest, bool) or invest < 500_000_000:
        reasons.append("equipment investment below 5,000,000 yuan")
    if not isinstance(tax, int) or isinstance(tax, bool) or tax <= 0:
        reasons.append("no tax paid on record")
    award = min(invest // 10, AWARD_CAP_FEN) if not reasons and isinstance(invest, int) else 0
    return CheckResult(
        "renovation_award",
        "2026.1",
        not reasons,
        "; ".join(reasons) or f"award {award} fen (10% of the investment, capped)",
        {"DE.EQUIP_INVEST": invest, "DE.TAX_PAID": tax, "award_fen": award},
    )


RULES_BY_ITEM: dict[str, Rule] = {"QX-JXJ-0101": renovation_award}


def rule_for(item_code: str | None, required: list[str]) -> Rule:
    return RULES_BY_ITEM.get(item_code or "", form_complete(required))
