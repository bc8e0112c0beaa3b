"""E-mail over SMTP (standard library ``smtplib``)."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from tongban.notify.port import DeliveryFailed, Notification


def message_id(key: str, domain: str) -> str:
    """The same key gives the same Message-ID, so a resend is recognisable."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


class SmtpNotifier:
    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password, self.timeout = (
            starttls,
            username,
            password,
            timeout,
        )

    def build(self, message: Notification) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = message.to
        msg["Subject"] = message.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id(message.key, self.sender.rpartition("@")[2] or "tongban")
        msg["Content-Language"] = "zh-CN" if message.locale == "zh_CN" else "en"
        msg.set_content(message.body, charset="utf-8")
        return msg

    def send(self, message: Notification) -> None:
        if message.channel != "email":
            raise DeliveryFailed(
                f"SMTP cannot send {message.channel}", retryable=False, code="channel_unsupported"
            )
        msg = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [c for c, _ in e.recipients.values()]
            raise DeliveryFailed(
                f"recipient refused: {e.recipients}",
                retryable=all(400 <= c < 500 for c in codes),
                code="recipient_refused",
            ) from e
        except smtplib.SMTPResponseException as e:
            raise DeliveryFailed(
                f"SMTP {e.smtp_code}: {e.smtp_error!r}",
                retryable=400 <= e.smtp_code < 500,
                code="smtp_refused",
            ) from e
        except (TimeoutError, smtplib.SMTPException, OSError) as e:
            raise DeliveryFailed(
                f"SMTP unreachable: {e}", retryable=True, code="smtp_unreachable"
            ) from e
