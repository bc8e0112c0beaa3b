"""Choosing the adapter from settings, and ``deliver`` - the job handler for ``notification``."""

from __future__ import annotations

from typing import Any

from tongban.config import get_settings
from tongban.notify.filelog import FileNotifier
from tongban.notify.port import CHANNELS, DeliveryFailed, Notification, Notifier
from tongban.notify.sms import SmsNotifier
from tongban.notify.smtp import SmtpNotifier


class ByChannel:
    """Routes e-mail to one notifier and SMS to another."""

    def __init__(self, email: Notifier, sms: Notifier) -> None:
        self.email, self.sms = email, sms

    def send(self, message: Notification) -> None:
        (self.email if message.channel == "email" else self.sms).send(message)


def notifier_from_settings() -> Notifier:
    s = get_settings()
    mode = s.notify
    if mode == "file":
        return FileNotifier(s.data_folder() / "notifications.jsonl")
    smtp = SmtpNotifier(
        s.smtp_host,
        s.smtp_port,
        sender=s.smtp_sender,
        starttls=s.smtp_starttls,
        username=s.smtp_username,
        password=s.smtp_password,
        timeout=s.notify_timeout,
    )
    sms = SmsNotifier(s.sms_url, token=s.sms_token, timeout=s.notify_timeout)
    if mode == "smtp":
        return smtp
    if mode == "sms":
        return sms
    if mode == "both":
        return ByChannel(smtp, sms)
    raise ValueError(f"TONGBAN_NOTIFY must be file, smtp, sms or both, not {mode!r}")


def notification_from_payload(payload: Any) -> Notification:
    if not isinstance(payload, dict):
        raise DeliveryFailed("payload is not an object", retryable=False, code="payload_invalid")
    missing = [k for k in ("key", "channel", "to", "subject", "body") if k not in payload]
    if missing:
        raise DeliveryFailed(
            f"payload lacks {', '.join(missing)}", retryable=False, code="payload_invalid"
        )
    bad = [
        k
        for k in ("key", "channel", "to", "subject", "body", "locale")
        if k in payload and not isinstance(payload[k], str)
    ]
    if bad:
        raise DeliveryFailed(
            f"payload fields not text: {', '.join(bad)}", retryable=False, code="payload_invalid"
        )
    if payload["channel"] not in CHANNELS:
        raise DeliveryFailed(
            f"payload channel {payload['channel']!r} unknown",
            retryable=False,
            code="payload_invalid",
        )
    try:
        return Notification(
            key=payload["key"],
            channel=payload["channel"],
            to=payload["to"],
            subject=payload["subject"],
            body=payload["body"],
            locale=payload.get("locale", "zh_CN"),
        )
    except ValueError as e:
        raise DeliveryFailed(
            f"payload invalid: {e}", retryable=False, code="payload_invalid"
        ) from e


def deliver(payload: dict[str, Any], notifier: Notifier | None = None) -> None:
    """The handler of the job kind ``notification``."""
    (notifier or notifier_from_settings()).send(notification_from_payload(payload))
