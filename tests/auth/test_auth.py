"""Login, logout, sessions, CSRF and API tokens, through the pages and the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, assert_refused, login, make_org
from tongban.auth.models import LoginSession, User


def test_login_sets_session_and_me_answers(client: TestClient, session: Session) -> None:
    make_org(session)
    login(client, "officer.rsj")
    me = client.get("/api/v1/me").json()
    assert me["username"] == "officer.rsj"
    assert [s["role"] for s in me["scopes"]] == ["officer"]
    assert me["scopes"][0]["jurisdiction_path"] == "/990000/990100/990123/"


def test_wrong_password_is_refused_without_a_session(client: TestClient, session: Session) -> None:
    make_org(session)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": "reform", "password": "nope-nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "tb_session" not in response.cookies
    assert_refused(client.get("/api/v1/me"), 401, "login_required")
    assert session.scalar(select(LoginSession.id)) is None


def test_unknown_user_gets_the_same_message(client: TestClient, session: Session) -> None:
    make_org(session)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    a = client.post("/login", data={"username": "nobody", "password": "x" * 9, "csrf_token": token})
    b = client.post("/login", data={"username": "reform", "password": "x" * 9, "csrf_token": token})
    assert a.status_code == b.status_code == 401
    assert 'data-testid="login-error"' in a.text
    assert 'data-testid="login-error"' in b.text


def test_login_without_csrf_token_is_refused(client: TestClient, session: Session) -> None:
    make_org(session)
    response = client.post("/login", data={"username": "reform", "password": PASSWORD})
    assert_refused(response, 403, "csrf_failed")
    assert_refused(client.get("/api/v1/me"), 401, "login_required")


def test_logout_ends_the_session_for_good(client: TestClient, session: Session) -> None:
    make_org(session)
    csrf = login(client, "reform")
    cookie = client.cookies.get("tb_session")
    assert cookie
    response = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    # Replaying the old cookie does not bring the session back.
    client.cookies.set("tb_session", cookie)
    assert_refused(client.get("/api/v1/me"), 401, "login_required")


def test_logout_needs_csrf(client: TestClient, session: Session) -> None:
    make_org(session)
    login(client, "reform")
    assert_refused(client.post("/logout", data={"csrf_token": "forged"}), 403, "csrf_failed")
    assert client.get("/api/v1/me").status_code == 200


def test_passwords_are_argon2_hashes(session: Session) -> None:
    make_org(session)
    user = session.scalars(select(User).where(User.username == "reform")).one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_api_token_lifecycle(client: TestClient, session: Session) -> None:
    make_org(session)
    csrf = login(client, "reform")
    # A cookie-authenticated API call that changes state needs the CSRF header.
    assert_refused(client.post("/api/v1/tokens", json={"name": "etl"}), 403, "csrf_failed")
    created = client.post("/api/v1/tokens", json={"name": "etl"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("tb_")

    machine = TestClient(client.app)
    assert_refused(machine.get("/api/v1/me"), 401, "login_required")
    auth = {"Authorization": f"Bearer {secret}"}
    assert machine.get("/api/v1/me", headers=auth).json()["username"] == "reform"
    listed = client.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["etl"]
    assert "token" not in listed[0]
    token_id = listed[0]["id"]
    assert (
        client.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRF-Token": csrf}).status_code
        == 204
    )
    assert_refused(machine.get("/api/v1/me", headers=auth), 401, "login_required")


def test_a_bad_bearer_token_is_not_a_login(client: TestClient, session: Session) -> None:
    make_org(session)
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer tb_forged"})
    assert response.status_code == 401
    assert response.json()["code"] == "login_required"


def test_next_parameter_cannot_redirect_off_site(client: TestClient, session: Session) -> None:
    make_org(session)
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={
            "username": "reform",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/catalog"


def _staff(client: TestClient) -> set[tuple[str, str]]:
    return {(r["username"], r["role"]) for r in client.get("/api/v1/staff").json()}


def test_staff_list_follows_role_and_scope(client: TestClient, session: Session) -> None:
    make_org(session)
    assert_refused(client.get("/api/v1/staff"), 401, "login_required")
    login(client, "reform")
    # The county's reform office sees the county's staff, not the neighbouring county's.
    county = _staff(client)
    assert ("officer.rsj", "officer") in county
    assert ("township", "township_worker") in county  # a township of the county is in scope
    assert ("reform.baishi", "reform_office") not in county
    client.cookies.clear()
    login(client, "reform.baishi")
    assert _staff(client) == {("reform.baishi", "reform_office")}
    client.cookies.clear()
    login(client, "observer")
    # An observer is not a staff administrator: only themself.
    assert _staff(client) == {("observer", "observer")}


def test_a_token_records_its_use_at_most_once_a_minute(
    client: TestClient, session: Session
) -> None:
    """Twenty clients sharing a token serialised on its row: every request rewrote it."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from tongban.auth.models import ApiToken
    from tongban.db import utcnow

    make_org(session)
    csrf = login(client, "reform")
    secret = client.post(
        "/api/v1/tokens", json={"name": "etl"}, headers={"X-CSRF-Token": csrf}
    ).json()["token"]
    machine = TestClient(client.app)
    auth = {"Authorization": f"Bearer {secret}"}
    writes: list[str] = []

    def count_writes(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKEN"):
            writes.append(statement)

    from sqlalchemy import event

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", count_writes)
    try:
        assert machine.get("/api/v1/me", headers=auth).status_code == 200
        assert machine.get("/api/v1/me", headers=auth).status_code == 200
        assert len(writes) == 1  # the first use is recorded, the second within a minute is not
        session.execute(update(ApiToken).values(last_used_at=utcnow() - timedelta(minutes=2)))
        writes.clear()
        assert machine.get("/api/v1/me", headers=auth).status_code == 200
        assert len(writes) == 1
    finally:
        event.remove(bind, "before_cursor_execute", count_writes)
    used = session.scalars(select(ApiToken.last_used_at)).one()
    assert used is not None
    assert used > utcnow() - timedelta(minutes=1)
