"""Security headers on every response: a strict Content-Security-Policy (no inline script, no
inline style, nothing from elsewhere; no framing) and ``X-Frame-Options: DENY`` for browsers
that predate ``frame-ancestors``.

The pages keep working under it: their scripts are files under ``/static/`` (``tongban.js``
asks the confirmations of ``form[data-confirm]`` and sizes ``[data-grow]``), and no template has
an inline ``<script>``, ``on*=`` handler or ``style=`` attribute (``tests/web/test_headers.py``
checks the templates). The one exception is the API's own documentation (``/api/docs``,
FastAPI's Swagger UI), which loads its script from a CDN and starts it inline: it gets a policy
that allows exactly that, and holds no data of anyone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
DOCS_CSP: Final = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
DOCS_PATHS: Final = ("/api/docs", "/docs/oauth2-redirect")


class SecurityHeaders:
    """ASGI middleware: adds the headers to every HTTP response (errors included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = CSP if scope.get("path") not in DOCS_PATHS else DOCS_CSP
        extra = [
            (b"content-security-policy", policy.encode()),
            (b"x-frame-options", b"DENY"),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {bytes(k).lower() for k, _ in message.get("headers", ())}
                headers = list(message.get("headers", ()))
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
