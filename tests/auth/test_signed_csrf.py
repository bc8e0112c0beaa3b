"""The anonymous CSRF token (the login form's, the status page's) is signed with
TONGBAN_SECRET_KEY: the server trusts no token it has not signed, and ``tongban serve``
refuses the default key where the platform is in production."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import PASSWORD, assert_refused, make_org
from tongban.cli.main import app as cli
from tongban.config import get_settings
from tongban.web.deps import ANON_CSRF_COOKIE


def _post_login(client: TestClient, token: str) -> int:
    client.cookies.set(ANON_CSRF_COOKIE, token)
    response = client.post(
        "/login",
        data={"username": "reform", "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    return response.status_code


def test_the_login_form_token_is_signed_and_a_planted_one_is_refused(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    client.get("/login")
    issued = client.cookies[ANON_CSRF_COOKIE]
    key = get_settings().secret_key
    TimestampSigner(key, salt="tongban.anonymous-csrf").unsign(issued)  # ours, signed
    # A cookie planted by someone else, with the same value in the form: refused.
    client.cookies.clear()
    client.cookies.set(ANON_CSRF_COOKIE, "planted-by-another-site")
    refused = client.post(
        "/login",
        data={"username": "reform", "password": PASSWORD, "csrf_token": "planted-by-another-site"},
    )
    assert_refused(refused, 403, "csrf_failed")
    other_key = TimestampSigner("another-key", salt="tongban.anonymous-csrf").sign("x").decode()
    client.cookies.clear()
    assert _post_login(client, other_key) == 403

    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 13 * 3600  # past the session's 12 hours

    expired = Yesterday(key, salt="tongban.anonymous-csrf").sign("x").decode()
    client.cookies.clear()
    assert _post_login(client, expired) == 403
    client.cookies.clear()
    assert _post_login(client, issued) == 303  # the one the server signed logs in


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        ({"TONGBAN_HOST": "10.0.0.5"}, True),
        ({"TONGBAN_COOKIE_SECURE": "true"}, True),
        ({"TONGBAN_DATABASE_URL": "postgresql+psycopg://tongban@db/tongban"}, True),
        ({}, False),  # the demo on this machine
        ({"TONGBAN_HOST": "10.0.0.5", "TONGBAN_SECRET_KEY": "a-long-random-key-0123456789"}, False),
    ],
)
def test_serve_refuses_the_default_key_in_production(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], refused: bool
) -> None:
    import uvicorn

    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: served.append(k["host"]))
    for name in (
        "TONGBAN_HOST",
        "TONGBAN_COOKIE_SECURE",
        "TONGBAN_SECRET_KEY",
        "TONGBAN_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve"])
    finally:
        get_settings.cache_clear()
    if refused:
        assert result.exit_code == 1
        assert "(secret_key_default)" in result.output
        assert served == []
    else:
        assert result.exit_code == 0, result.output
        assert len(served) == 1
