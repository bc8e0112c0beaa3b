"""SMS through an HTTP gateway: JSON POST ``{"phone", "text"}`` with ``Idempotency-Key``."""

from __future__ import annotations

import httpx

from tongban.notify.port import DeliveryFailed, Notification


class SmsNotifier:
    def __init__(self, url: str, *, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Notification) -> None:
        if message.channel != "sms":
            raise DeliveryFailed(
                f"the SMS gateway cannot send {message.channel}",
                retryable=False,
                code="channel_unsupported",
            )
        headers = {"Idempotency-Key": message.key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        text = f"{message.subject}：{message.body}" if message.subject else message.body
        try:
            r = httpx.post(
                self.url,
                json={"phone": message.to, "text": text},
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as e:
            raise DeliveryFailed(
                f"SMS gateway timed out: {e}", retryable=True, code="sms_gateway_timeout"
            ) from e
        except httpx.HTTPError as e:
            raise DeliveryFailed(
                f"SMS gateway unreachable: {e}", retryable=True, code="sms_gateway_unreachable"
            ) from e
        if r.status_code >= 500 or r.status_code == 429:
            raise DeliveryFailed(
                f"SMS gateway answered {r.status_code}", retryable=True, code="sms_gateway_busy"
            )
        if r.status_code >= 400:
            raise DeliveryFailed(
                f"SMS gateway refused ({r.status_code}): {r.text[:200]}",
                retryable=False,
                code="sms_gateway_refused",
            )
        try:
            answer = r.json()
        except ValueError as e:
            raise DeliveryFailed(
                f"SMS gateway answer is not JSON: {r.text[:200]!r}",
                True,
                code="sms_gateway_bad_answer",
            ) from e
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            raise DeliveryFailed(
                f"SMS gateway answer not ok: {r.text[:200]!r}",
                retryable=True,
                code="sms_gateway_bad_answer",
            )
