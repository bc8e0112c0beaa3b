"""The notification port: what is sent (``Notification``), who sends it (``Notifier``), and the
texts of each event (``compose``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tongban.errors import AppError

Channel = Literal["email", "sms"]
CHANNELS: tuple[str, ...] = ("email", "sms")
_EMAIL = re.compile(r"^[^@\s<>]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


class DeliveryFailed(AppError):
    """A notification was not delivered; ``retryable`` says whether trying again may help."""

    status = 502
    default_code = "delivery_failed"

    def __init__(self, reason: str, retryable: bool, *, code: str = "") -> None:
        super().__init__(reason, code=code)
        self.reason = reason
        self.retryable = retryable


def normalize_phone(value: str) -> str:
    """A mainland mobile number as 11 digits (``+86``/``86`` and spaces/dashes dropped)."""
    m = _PHONE.match(re.sub(r"[\s-]", "", value))
    if not m:
        raise ValueError(f"not a mainland mobile number: {value!r}")
    return m.group(1)


@dataclass(frozen=True)
class Notification:
    key: str
    channel: Channel
    to: str
    subject: str
    body: str
    locale: str = "zh_CN"

    def __post_init__(self) -> None:
        if not self.key or len(self.key) > 200 or any(c.isspace() for c in self.key):
            raise ValueError("key must be 1-200 characters without spaces")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.channel == "email":
            if not _EMAIL.match(self.to):
                raise ValueError(f"not an e-mail address: {self.to!r}")
        else:
            object.__setattr__(self, "to", normalize_phone(self.to))
        if not self.body:
            raise ValueError("body is empty")
        if self.locale not in ("zh_CN", "en"):
            raise ValueError(f"unknown locale {self.locale!r}")


class Notifier(Protocol):
    def send(self, message: Notification) -> None:
        """Deliver ``message`` or raise ``DeliveryFailed``."""


_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "accepted": {
        "zh_CN": (
            "您的申请已受理（{case_number}）",
            "您的申请已受理，受理编号 {case_number}。我们将依法审查，"
            "承诺于 {due_date} 前办结；如需补正材料会另行通知。",
        ),
        "en": (
            "Your application is accepted ({case_number})",
            "Your application has been accepted under number {case_number}. It will now be "
            "examined; we promise a decision by {due_date}. If anything must be corrected we "
            "will tell you.",
        ),
    },
    "corrections": {
        "zh_CN": (
            "请补正申请材料（{case_number}）",
            "您的申请 {case_number} 需要补正：{what}。请补正后重新提交。",
        ),
        "en": (
            "Corrections needed ({case_number})",
            "Your application {case_number} needs corrections: {what}. "
            "Please correct it and submit again.",
        ),
    },
    "approved": {
        "zh_CN": ("您的申请已批准（{case_number}）", "您的申请 {case_number} 已批准。{reason}"),
        "en": (
            "Your application is approved ({case_number})",
            "Your application {case_number} is approved. {reason}",
        ),
    },
    "rejected": {
        "zh_CN": (
            "您的申请未予批准（{case_number}）",
            "您的申请 {case_number} 未予批准，理由：{reason}。如不服本决定，可以自收到之日起"
            "60日内依法申请行政复议，或者6个月内依法提起行政诉讼。",
        ),
        "en": (
            "Your application is refused ({case_number})",
            "Your application {case_number} is refused. Reason: {reason}. If you disagree you "
            "may apply for administrative reconsideration within 60 days of receiving this "
            "decision, or bring an administrative lawsuit within 6 months.",
        ),
    },
    "escalation": {
        "zh_CN": (
            "督办（第{level}级）：{case_number} {step}",
            "案件 {case_number} 的环节「{step}」已超期 {overdue}，现为第 {level} 级督办，"
            "请尽快处理。",
        ),
        "en": (
            "Escalation level {level}: {case_number} {step}",
            "Step '{step}' of case {case_number} is overdue by {overdue}; this is escalation "
            "level {level}. Please act on it.",
        ),
    },
}
EVENTS: tuple[str, ...] = tuple(_TEXTS)


def compose(event: str, locale: str, **facts: Any) -> tuple[str, str]:
    """(subject, body) of ``event`` in ``locale`` (``zh_CN`` or ``en``) from ``facts``; a
    missing fact raises ``KeyError`` naming it."""
    texts = _TEXTS.get(event)
    if texts is None:
        raise KeyError(f"unknown event {event!r}")
    subject, body = texts["en" if locale.startswith("en") else "zh_CN"]
    facts.setdefault("reason", "")
    return subject.format(**facts), body.format(**facts).strip()
