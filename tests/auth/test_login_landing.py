"""After logging in (from the login link, with no page to return to) each person lands where
their work is (issue 12, point 11)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_org


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("frontdesk", "/workbench"),
        ("officer.rsj", "/workbench"),
        ("township", "/workbench"),
        ("committee.a", "/workbench"),
        ("reform", "/catalog"),
        ("observer", "/cases/overview"),
        ("sysadmin", "/admin/jobs"),
    ],
)
def test_each_role_lands_on_its_work(
    client: TestClient, session: Session, username: str, landing: str
) -> None:
    make_org(session)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == landing


def test_a_page_that_sent_someone_to_log_in_gets_them_back(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    form = client.get("/login", params={"next": "/catalog/completeness"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    response = client.post(
        "/login",
        data={
            "username": "frontdesk",
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "/catalog/completeness",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/catalog/completeness"
