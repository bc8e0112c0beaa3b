"""The search synonyms page: the reform office adds, changes and removes groups (audited), the
change reaches search at once, other staff only read, and nobody else gets in."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import assert_refused, item, login, make_catalog, make_org
from tongban.audit.models import AuditEvent
from tongban.catalog.models import SearchSynonym
from tongban.catalog.search.pages import split_terms


@pytest.fixture
def world(session: Session) -> None:
    make_org(session)
    make_catalog(session, [item("QX-SC-1", "QX-ZJJ", name="企业设立登记")])


def _codes(client: TestClient, q: str) -> list[str]:
    body = client.get("/api/v1/items", params={"q": q}).json()
    return [i["implementation_code"] for i in body["items"]]


def _group_id(session: Session, term: str) -> int:
    rows = session.scalars(select(SearchSynonym)).all()
    return next(r.id for r in rows if term in r.terms)


def test_the_reform_office_adds_changes_and_removes_a_group(
    client: TestClient, world: None, session: Session
) -> None:
    assert "QX-SC-1" not in _codes(client, "开公司")
    token = login(client, "reform")
    page = client.get("/admin/synonyms")
    assert page.status_code == 200
    assert 'action="/admin/synonyms"' in page.text
    assert 'href="/admin/synonyms"' in page.text  # in the reform office's menu

    added = client.post(
        "/admin/synonyms",
        data={"csrf_token": token, "terms": "开公司、企业设立，办企业"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/admin/synonyms?done=added"
    group = _group_id(session, "开公司")
    assert session.get(SearchSynonym, group).terms == ["开公司", "企业设立", "办企业"]  # type: ignore[union-attr]
    assert "QX-SC-1" in _codes(client, "开公司")

    changed = client.post(
        f"/admin/synonyms/{group}",
        data={"csrf_token": token, "terms": "办企业 企业设立"},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert "QX-SC-1" not in _codes(client, "开公司")
    assert "QX-SC-1" in _codes(client, "办企业")

    page = client.get("/admin/synonyms?done=saved")
    assert re.search(r'data-testid="done"[^>]*>[^<]+', page.text)
    assert 'data-confirm="' in page.text  # removal asks first

    removed = client.post(
        f"/admin/synonyms/{group}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert session.get(SearchSynonym, group) is None
    assert "QX-SC-1" not in _codes(client, "办企业")

    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_key == str(group))
    ).all()
    assert actions == ["catalog.synonym_save", "catalog.synonym_save", "catalog.synonym_delete"]


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ("开公司", "a synonym group needs at least two terms"),
        ("开公司 " + "长" * 51, "a term is at most 50 characters"),
        ("开公司 %%%", "a term holds at least one letter, digit or Chinese character"),
    ],
)
def test_a_bad_group_is_refused_with_its_reason_and_the_typed_text_kept(
    client: TestClient, world: None, session: Session, terms: str, message: str
) -> None:
    token = login(client, "reform")
    client.get("/lang/en")
    before = session.scalars(select(SearchSynonym.id)).all()
    response = client.post("/admin/synonyms", data={"csrf_token": token, "terms": terms})
    assert_refused(response, 422, "synonym_invalid")
    assert message in response.text
    assert f'value="{terms}"' in response.text
    assert session.scalars(select(SearchSynonym.id)).all() == before


def test_the_page_is_in_chinese(client: TestClient, world: None) -> None:
    login(client, "reform")
    client.get("/lang/zh_CN")
    page = client.get("/admin/synonyms")
    assert "同义词" in page.text
    assert "添加一组" in page.text


def test_other_staff_read_but_do_not_edit(client: TestClient, world: None) -> None:
    token = login(client, "officer.rsj")
    page = client.get("/admin/synonyms")
    assert page.status_code == 200
    assert 'action="/admin/synonyms"' not in page.text
    response = client.post("/admin/synonyms", data={"csrf_token": token, "terms": "甲 乙"})
    assert_refused(response, 403, "role_required")


def test_anonymous_and_unknown_groups_are_refused(
    client: TestClient, world: None, session: Session
) -> None:
    anonymous = client.get("/admin/synonyms", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/admin/synonyms"
    token = login(client, "reform")
    assert_refused(
        client.post("/admin/synonyms/999999/delete", data={"csrf_token": token}),
        404,
        "synonym_not_found",
    )
    too_big = client.post("/admin/synonyms/99999999999/delete", data={"csrf_token": token})
    assert too_big.status_code == 422


def test_anonymous_is_never_the_system(session: Session, world: None) -> None:
    from tongban.catalog import service
    from tongban.errors import NotAuthenticated

    with pytest.raises(NotAuthenticated):
        service.save_synonym(session=session, principal=None, terms=["甲", "乙"])


def test_terms_are_split_on_the_separators_people_type() -> None:
    assert split_terms(" 营业执照，企业设立登记、开公司;办企业  sfz ") == [
        "营业执照",
        "企业设立登记",
        "开公司",
        "办企业",
        "sfz",
    ]
