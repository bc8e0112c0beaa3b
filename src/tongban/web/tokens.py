"""Signed, time-limited tokens for what the server hands out and must trust when it comes back
(an applicant's confirmation link, the files carried from the form to the check page).

Signed with ``TONGBAN_SECRET_KEY`` (itsdangerous), each purpose with its own salt, so a token
made for one purpose is worthless for another. A token that was altered, made with another key
or is older than its ``max_age`` is refused as :class:`BadToken`.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from tongban.config import get_settings


class BadToken(ValueError):
    """The token was altered, signed with another key, or is too old."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt=f"tongban.{purpose}")


def sign(purpose: str, payload: Any) -> str:
    """A URL-safe token carrying ``payload`` (JSON-serialisable) for ``purpose``."""
    return str(_serializer(purpose).dumps(payload))


def unsign(purpose: str, token: str, *, max_age: int) -> Any:
    """The payload of a token made by :func:`sign` for ``purpose`` at most ``max_age`` seconds
    ago."""
    if not token or len(token) > 20_000:
        raise BadToken("no token, or one far too long")
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise BadToken(str(exc)) from None
