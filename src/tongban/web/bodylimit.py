"""The size of every request body is bounded at the edge, before any route reads it.

An ASGI middleware: a body whose ``Content-Length`` is over its limit is refused with 413 before
a byte of it is read; a body sent without a length (chunked) is counted as it arrives and
refused the moment it passes the limit. The limits:

- ordinary forms and JSON: ``DEFAULT_LIMIT`` (1 MB);
- ``multipart/form-data`` (files): ``MULTIPART_LIMIT`` (50 MB: five materials of the 10 MB
  each one may be);
- the catalogue import (``/api/v1/catalog/import``, a province's file): ``IMPORT_LIMIT``
  (256 MB, the catalogue file's own limit), and only from a request that carries credentials (a
  session cookie or a bearer token): an anonymous one is refused (401) without reading the body.

The refusal is the error JSON (``body_too_large``, ``not_authenticated``) under ``/api/`` and a
short page elsewhere.
"""

from __future__ import annotations

import html
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from tongban.errors import AppError, NotAuthenticated, PayloadTooLarge

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_LIMIT: Final = 1024 * 1024
MULTIPART_LIMIT: Final = 50 * 1024 * 1024
IMPORT_LIMIT: Final = 256 * 1024 * 1024
IMPORT_PATHS: Final = ("/api/v1/catalog/import",)
SESSION_COOKIE: Final = b"tb_session="


class _TooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return b""


def limit_for(scope: Scope) -> int:
    path = str(scope.get("path", ""))
    if path in IMPORT_PATHS:
        return IMPORT_LIMIT
    if _header(scope, b"content-type").lower().startswith(b"multipart/form-data"):
        return MULTIPART_LIMIT
    return DEFAULT_LIMIT


def _has_credentials(scope: Scope) -> bool:
    return SESSION_COOKIE in _header(scope, b"cookie") or _header(
        scope, b"authorization"
    ).lower().startswith(b"bearer ")


async def _refuse(scope: Scope, send: Send, error: AppError) -> None:
    status = error.status
    if str(scope.get("path", "")).startswith("/api/"):
        body = json.dumps(error.as_dict()).encode()
        kind = b"application/json"
    else:
        body = (
            f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>{status}</title>'
            f'<p data-testid="error" data-code="{error.code}">{html.escape(error.message)}</p>'
            "</html>"
        ).encode()
        kind = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope)
        if scope.get("path") in IMPORT_PATHS and not _has_credentials(scope):
            await _refuse(scope, send, NotAuthenticated("log in first"))
            return
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, _too_large(limit))
            return
        received = 0
        started = exceeded = refused = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            # Whatever the route answers after the body ran over (a parse error, say), the
            # client gets the 413 instead.
            nonlocal started, refused
            if exceeded:
                if not refused and not started:
                    refused = True
                    await _refuse(scope, send, _too_large(limit))
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            pass
        if exceeded and not refused and not started:
            await _refuse(scope, send, _too_large(limit))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "the request body is larger than %(mb)s MB", params={"mb": limit // (1024 * 1024)}
    )
