"""Resident ID numbers are masked for every staff role by default; a handler of the case
reveals them, and the reveal is logged (issue 12, point 10)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_case_pages import (
    GOOD_ID,
    _application_form,
    _as,
    _big_world,
    _post,
    _submitted,
)
from tongban.audit.models import AuditEvent

MASKED = GOOD_ID[:4] + "*" * 10 + GOOD_ID[14:]


def _case(client: TestClient, session: Session) -> str:
    _big_world(session)
    session.commit()
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-RSJ-10")
    done = _post(client, "/apply", _application_form(page.text))
    number = _submitted(client, done)
    return number


def _reveals(session: Session) -> list[AuditEvent]:
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.id_revealed"))
    return list(rows)


def test_staff_see_a_masked_number_and_a_handler_reveals_it(
    client: TestClient, session: Session
) -> None:
    number = _case(client, session)
    page = client.get(f"/cases/{number}").text
    assert GOOD_ID not in page  # neither as the applicant's nor as a form value
    assert MASKED in page
    assert 'data-testid="reveal-id"' in page
    revealed = client.get(f"/cases/{number}", params={"reveal": "id"}).text
    assert GOOD_ID in revealed
    assert [e.object_key for e in _reveals(session)] == [number]


def test_an_observer_never_sees_the_full_number(client: TestClient, session: Session) -> None:
    number = _case(client, session)
    _as(client, "observer")
    page = client.get(f"/cases/{number}", params={"reveal": "id"}).text
    assert GOOD_ID not in page
    assert MASKED in page
    assert 'data-testid="reveal-id"' not in page
    assert _reveals(session) == []
