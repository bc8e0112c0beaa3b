"""Staff open the files of a case they handle (issue 12, point 5): the right content type,
inline with the file's name, never sniffed or cached, access checked and audited; others get
nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_case_pages import PNG, _application_form, _as, _big_world, _post, _submitted
from tests.factories import assert_refused
from tongban.audit.models import AuditEvent
from tongban.cases.models import Upload


def _case_with_a_file(client: TestClient, session: Session) -> tuple[str, int]:
    _big_world(session)
    session.commit()
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-RSJ-10")
    done = _post(
        client,
        "/apply",
        _application_form(page.text),
        files={"material.M1": ("身份证 正面.png", PNG, "image/png")},
    )
    number = _submitted(client, done)
    upload = session.scalars(select(Upload)).one()
    return number, upload.id


def test_the_window_opens_the_file_it_took_in(client: TestClient, session: Session) -> None:
    number, upload_id = _case_with_a_file(client, session)
    page = client.get(f"/cases/{number}")
    assert f'href="/cases/{number}/files/{upload_id}"' in page.text
    opened = client.get(f"/cases/{number}/files/{upload_id}")
    assert opened.status_code == 200
    assert opened.content == PNG
    assert opened.headers["content-type"] == "image/png"
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert opened.headers["content-disposition"] == (
        "inline; filename*=UTF-8''%E8%BA%AB%E4%BB%BD%E8%AF%81%20%E6%AD%A3%E9%9D%A2.png"
    )
    assert "no-store" in opened.headers["cache-control"]
    assert opened.headers["content-security-policy"].startswith("sandbox")
    logged = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "case.file_opened")
    ).all()
    assert [e.object_key for e in logged] == [number]
    assert logged[0].detail["upload_id"] == upload_id


def test_who_may_not_open_a_file_does_not(client: TestClient, session: Session) -> None:
    number, upload_id = _case_with_a_file(client, session)
    client.cookies.clear()
    anonymous = client.get(f"/cases/{number}/files/{upload_id}", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    _as(client, "observer")
    assert_refused(client.get(f"/cases/{number}/files/{upload_id}"), 403, "files_for_handlers_only")
    assert 'data-testid="open-file"' not in client.get(f"/cases/{number}").text
    _as(client, "reform.baishi")  # another county: the case is not there for them
    assert_refused(client.get(f"/cases/{number}/files/{upload_id}"), 404, "case_not_found")
    _as(client, "frontdesk")
    assert_refused(client.get(f"/cases/{number}/files/{upload_id + 99}"), 404, "upload_not_found")
    assert client.get(f"/cases/{number}/files/{2**40}").status_code == 422
    opened = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.file_opened"))
    assert list(opened) == []
