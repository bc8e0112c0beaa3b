"""Real servers on loopback: aiosmtpd for SMTP, http.server for the SMS gateway."""

from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from tongban.notify.filelog import FileNotifier
from tongban.notify.port import DeliveryFailed, Notification, compose
from tongban.notify.service import deliver
from tongban.notify.sms import SmsNotifier
from tongban.notify.smtp import SmtpNotifier, message_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 no such user"
        if address.startswith("busy@"):
            return "451 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Any:
    handler = _Handler()
    port = _free_port()
    c = Controller(handler, hostname="127.0.0.1", port=port)
    c.start()
    yield handler, port
    c.stop()


def _mail(to: str = "zhang@example.cn", key: str = "case-1:accepted") -> Notification:
    subject, body = compose("rejected", "zh_CN", case_number="TB-2026-0001", reason="材料不全")
    return Notification(key=key, channel="email", to=to, subject=subject, body=body)


def test_smtp_delivers_utf8_with_key_message_id(smtp_server: Any) -> None:
    handler, port = smtp_server
    n = _mail()
    SmtpNotifier("127.0.0.1", port, sender="noreply@tongban.cn", timeout=3).send(n)
    assert len(handler.received) == 1
    msg = message_from_bytes(handler.received[0])
    assert str(make_header(decode_header(msg["Subject"]))) == n.subject
    assert msg["Message-ID"] == message_id(n.key, "tongban.cn")
    body = msg.get_payload(decode=True).decode(msg.get_content_charset())
    assert "材料不全" in body
    assert "60日内" in body
    assert "6个月内" in body


@pytest.mark.parametrize(
    ("to", "retryable"), [("nobody@example.cn", False), ("busy@example.cn", True)]
)
def test_smtp_refused_recipient(smtp_server: Any, to: str, retryable: bool) -> None:
    _, port = smtp_server
    with pytest.raises(DeliveryFailed) as e:
        SmtpNotifier("127.0.0.1", port, sender="noreply@tongban.cn", timeout=3).send(_mail(to))
    assert e.value.retryable is retryable
    assert e.value.code == "recipient_refused"


def test_smtp_down_is_retryable() -> None:
    with pytest.raises(DeliveryFailed) as e:
        SmtpNotifier("127.0.0.1", _free_port(), sender="a@b.cn", timeout=2).send(_mail())
    assert e.value.retryable is True
    assert e.value.code == "smtp_unreachable"


class _Gateway(BaseHTTPRequestHandler):
    mode = "ok"
    seen: ClassVar[list[tuple[dict[str, Any], str | None]]] = []

    def do_POST(self) -> None:
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((data, self.headers.get("Idempotency-Key")))
        if self.mode == "slow":
            time.sleep(2)
        code, body = {
            "ok": (200, b'{"ok": true}'),
            "5xx": (503, b"down"),
            "4xx": (400, b"bad phone"),
            "garbage": (200, b"<html>"),
            "slow": (200, b'{"ok": true}'),
        }[self.mode]
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Any:
    srv = HTTPServer(("127.0.0.1", 0), _Gateway)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    _Gateway.seen = []
    yield f"http://127.0.0.1:{srv.server_address[1]}/sms"
    srv.shutdown()
    srv.server_close()


def _sms() -> Notification:
    subject, body = compose("accepted", "en", case_number="TB-1", due_date="2026-12-20")
    return Notification(
        key="k-sms-1",
        channel="sms",
        to="+86 138-0013-8000",
        subject=subject,
        body=body,
        locale="en",
    )


@pytest.mark.parametrize(
    ("mode", "retryable"),
    [("ok", None), ("5xx", True), ("4xx", False), ("garbage", True), ("slow", True)],
)
def test_sms_gateway(gateway: str, mode: str, retryable: bool | None) -> None:
    _Gateway.mode = mode
    notifier = SmsNotifier(gateway, timeout=0.5)
    if retryable is None:
        notifier.send(_sms())
        data, key = _Gateway.seen[0]
        assert data["phone"] == "13800138000"
        assert key == "k-sms-1"
        assert "TB-1" in data["text"]
        return
    with pytest.raises(DeliveryFailed) as e:
        notifier.send(_sms())
    assert e.value.retryable is retryable


def test_filelog_once_per_key(tmp_path: Path) -> None:
    path = tmp_path / "n.jsonl"
    a, b = FileNotifier(path), FileNotifier(path)
    a.send(_mail(key="x1"))
    b.send(_mail(key="x1"))
    a.send(_mail(key="x1"))
    b.send(_mail(key="x2"))
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["key"] for x in lines] == ["x1", "x2"]


@pytest.mark.parametrize(
    ("payload", "word"),
    [
        ({"key": "k"}, "lacks"),
        ({"key": "k", "channel": "fax", "to": "x", "subject": "", "body": "b"}, "channel"),
        ({"key": "k", "channel": "sms", "to": "12345", "subject": "", "body": "b"}, "mobile"),
        ("nope", "object"),
    ],
)
def test_deliver_bad_payload_is_permanent(payload: Any, word: str, tmp_path: Path) -> None:
    with pytest.raises(DeliveryFailed) as e:
        deliver(payload, FileNotifier(tmp_path / "n.jsonl"))
    assert e.value.retryable is False
    assert e.value.code == "payload_invalid"
    assert word in e.value.message


def test_deliver_writes_file(tmp_path: Path) -> None:
    deliver(
        {"key": "k9", "channel": "sms", "to": "13900139000", "subject": "s", "body": "b"},
        FileNotifier(tmp_path / "n.jsonl"),
    )
    assert json.loads((tmp_path / "n.jsonl").read_text())["to"] == "13900139000"
