"""Failed logins slow down and are audited (issue 12, security): a guesser waits longer and
longer, the real person a bounded time, and every failure is in the audit log."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, assert_refused, make_org
from tongban.audit.models import AuditEvent
from tongban.web.ratelimit import FailureDelay


def _try(client: TestClient, username: str, password: str) -> Response:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )


def test_wrong_passwords_slow_down_and_are_audited(client: TestClient, session: Session) -> None:
    make_org(session)
    for _ in range(5):
        assert _try(client, "officer.rsj", "wrong-password").status_code == 401
    throttled = _try(client, "officer.rsj", PASSWORD)  # even the right one waits now
    assert_refused(throttled, 429, "login_throttled")
    assert int(throttled.headers["retry-after"]) >= 1
    assert "等待" in throttled.text
    failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed"))
    rows = list(failed)
    assert len(rows) == 5
    assert {r.object_key for r in rows} == {"officer.rsj"}
    # another account from the same client is not held up by this one's failures
    assert _try(client, "frontdesk", PASSWORD).status_code == 303


def test_the_delay_grows_and_is_capped() -> None:
    now = [0.0]
    delay = FailureDelay(free=2, window=900, cap=8, clock=lambda: now[0])
    waits = []
    for _ in range(8):
        delay.fail("someone")
        waits.append(delay.wait("someone"))
    assert waits == [0.0, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    now[0] += 8.0
    assert delay.wait("someone") == 0.0
    now[0] += 900
    delay.fail("someone")
    assert delay.wait("someone") == 0.0  # old failures have left the window
