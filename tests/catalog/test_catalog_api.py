"""The catalogue through the API: search, visibility by role and scope, drafts, publishing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import ELEMENTS, assert_refused, item, login, make_catalog, make_org
from tongban.audit.models import AuditEvent
from tongban.catalog import service as catalog_service
from tongban.catalog.models import ItemVersion, ServiceItem
from tongban.catalog.schemas import CatalogDocument
from tongban.errors import ValidationFailed


def _codes(client: TestClient, **params: str) -> list[str]:
    body = client.get("/api/v1/items", params=params).json()
    return [i["implementation_code"] for i in body["items"]]


def test_public_sees_only_published_items(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    assert _codes(client) == ["BS-RSJ-1", "QX-RSJ-1", "QX-ZJJ-1"]
    assert_refused(client.get("/api/v1/items/QX-RSJ-2"), 404, "item_not_found")


def test_search_by_name_department_module_and_type(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    assert _codes(client, q="就业") == [
        "QX-RSJ-1",
        "BS-RSJ-1",
    ]  # by relevance: the shorter name first
    assert _codes(client, q="item qx-zjj") == ["QX-ZJJ-1"]
    assert _codes(client, department="QX-ZJJ") == ["QX-ZJJ-1"]
    assert _codes(client, module="approval") == ["QX-RSJ-1", "QX-ZJJ-1"]
    assert _codes(client, type="public_service") == []
    body = client.get("/api/v1/items", params={"q": "就业"}).json()
    assert body["total"] == 2


def test_drafts_visible_only_within_scope(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    login(client, "reform.baishi")
    assert "QX-RSJ-2" not in _codes(client)
    assert_refused(client.get("/api/v1/items/QX-RSJ-2"), 404, "item_not_found")
    client.cookies.clear()
    login(client, "officer.rsj")
    assert "QX-RSJ-2" in _codes(client)
    assert client.get("/api/v1/items/QX-RSJ-2").json()["status"] == "draft"
    client.cookies.clear()
    login(client, "observer")
    assert "QX-RSJ-2" not in _codes(client)


def test_item_detail_carries_everything(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    body = client.get("/api/v1/items/QX-RSJ-1").json()
    data = body["item"]
    assert data["legal_basis"][0]["article"] == "第四十二条"
    assert data["materials"][0]["source"] == "shared_data"
    assert [f["element"] for f in data["form"]] == ["DE.NAME", "DE.ID"]
    assert [s["kind"] for s in data["steps"]] == ["acceptance", "review"]
    assert data["time_limit"] == {"legal": 20, "promised": 5}
    assert data["fees"][0]["amount_fen"] == 1250
    assert body["can_edit"] is False


def test_editing_a_published_item_makes_a_new_draft_then_publish(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    make_catalog(session)
    csrf = login(client, "reform")
    headers = {"X-CSRF-Token": csrf}
    before = client.get("/api/v1/items/QX-RSJ-1").json()
    assert before["can_edit"]
    assert before["can_publish"]
    saved = client.patch(
        "/api/v1/items/QX-RSJ-1/draft",
        json={
            "changes": {"time_limit": {"legal": 20, "promised": 3}},
            "lock_version": before["lock_version"],
        },
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    draft = saved.json()
    assert (draft["version_no"], draft["status"]) == (2, "draft")
    assert draft["item"]["time_limit"]["promised"] == 3
    # The public still sees version 1 until it is published.
    client_public = TestClient(client.app)
    assert client_public.get("/api/v1/items/QX-RSJ-1").json()["item"]["time_limit"]["promised"] == 5

    published = client.post(
        "/api/v1/items/QX-RSJ-1/publish",
        json={"lock_version": draft["lock_version"]},
        headers=headers,
    )
    assert published.status_code == 200, published.text
    assert [(v["version_no"], v["status"]) for v in published.json()["versions"]] == [
        (1, "retired"),
        (2, "published"),
    ]
    assert client_public.get("/api/v1/items/QX-RSJ-1").json()["item"]["time_limit"]["promised"] == 3
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_key == "QX-RSJ-1").order_by(AuditEvent.id)
    ).all()
    assert actions == ["item.save_draft", "item.publish"]


def test_stale_lock_version_is_refused(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    csrf = login(client, "reform")
    headers = {"X-CSRF-Token": csrf}
    first = client.patch(
        "/api/v1/items/QX-RSJ-2/draft",
        json={"changes": {"visits": 0}, "lock_version": 1},
        headers=headers,
    )
    assert first.status_code == 200
    second = client.patch(
        "/api/v1/items/QX-RSJ-2/draft",
        json={"changes": {"visits": 2}, "lock_version": 1},
        headers=headers,
    )
    assert second.status_code == 409
    assert second.json()["code"] == "stale_version"
    assert client.get("/api/v1/items/QX-RSJ-2").json()["item"]["visits"] == 0


def test_out_of_scope_users_cannot_edit_or_publish(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    csrf = login(client, "officer.rsj")
    headers = {"X-CSRF-Token": csrf}
    own = client.patch(
        "/api/v1/items/QX-RSJ-1/draft", json={"changes": {"visits": 0}}, headers=headers
    )
    assert own.status_code == 200
    # An officer drafts but does not publish.
    assert_refused(
        client.post("/api/v1/items/QX-RSJ-1/publish", json={}, headers=headers),
        403,
        "item_publish_denied",
    )
    other = client.patch(
        "/api/v1/items/QX-ZJJ-1/draft", json={"changes": {"visits": 0}}, headers=headers
    )
    assert_refused(other, 403, "item_edit_denied")
    assert other.json()["message"] == "you may not edit item 'QX-ZJJ-1'"  # the API in English
    page = client.get("/catalog/QX-ZJJ-1/edit")
    assert_refused(page, 403, "item_edit_denied")
    assert "您无权编辑事项“QX-ZJJ-1”" in page.text  # the page in the reader's language
    english = client.get("/catalog/QX-ZJJ-1/edit?lang=en")
    assert "you may not edit item &#39;QX-ZJJ-1&#39;" in english.text
    # Nor may the officer move their item into another department.
    moved = client.patch(
        "/api/v1/items/QX-RSJ-1/draft", json={"changes": {"department": "QX-ZJJ"}}, headers=headers
    )
    assert_refused(moved, 403, "item_move_denied")
    client.cookies.clear()
    csrf = login(client, "reform.baishi")
    denied = client.patch(
        "/api/v1/items/QX-RSJ-1/draft",
        json={"changes": {"visits": 0}},
        headers={"X-CSRF-Token": csrf},
    )
    assert_refused(denied, 403, "item_edit_denied")
    anonymous = TestClient(client.app).patch("/api/v1/items/QX-RSJ-1/draft", json={"changes": {}})
    assert_refused(anonymous, 401, "login_required")


def test_bad_drafts_name_the_field_and_change_nothing(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    headers = {"X-CSRF-Token": login(client, "reform")}
    cases = [
        ({"time_limit": {"legal": 5, "promised": 9}}, "time_limit", "exceeds the legal one"),
        ({"name_zh": "长" * 201}, "name_zh", "at most 200"),
        ({"department": "QX-NOPE"}, "item.department", "unknown department code 'QX-NOPE'"),
        ({"type": "magic"}, "type", "Input should be"),
        (
            {"form": [{"code": "F", "label_zh": "x", "label_en": "x", "element": "DE.NOPE"}]},
            "item.form[0].element",
            "unknown data element 'DE.NOPE'",
        ),
    ]
    for changes, loc, message in cases:
        response = client.patch(
            "/api/v1/items/QX-RSJ-1/draft", json={"changes": changes}, headers=headers
        )
        assert response.status_code == 422, changes
        assert response.json()["code"] == "item_invalid", response.text
        errors = response.json()["errors"]
        assert any(e["loc"].startswith(loc) and message in e["message"] for e in errors), errors
    assert session.scalar(select(func.count()).select_from(ItemVersion)) == 4


def test_import_api_rejects_a_bad_document_whole(client: TestClient, session: Session) -> None:
    make_org(session)
    headers = {"X-CSRF-Token": login(client, "reform")}
    document = {
        "elements": ELEMENTS,
        "items": [item("QX-RSJ-9", "QX-RSJ"), item("QX-ZJJ-9", "QX-NOPE")],
    }
    response = client.post("/api/v1/catalog/import", json=document, headers=headers)
    assert_refused(response, 422, "catalog_invalid")
    assert response.json()["errors"] == [
        {"loc": "items[1] (QX-ZJJ-9).department", "message": "unknown department code 'QX-NOPE'"},
        {
            "loc": "items[1] (QX-ZJJ-9).steps[0].responsible",
            "message": "unknown department code 'QX-NOPE'",
        },
        {
            "loc": "items[1] (QX-ZJJ-9).steps[1].responsible",
            "message": "unknown department code 'QX-NOPE'",
        },
    ]
    assert session.scalar(select(func.count()).select_from(ServiceItem)) == 0


def test_import_needs_the_reform_office(client: TestClient, session: Session) -> None:
    make_org(session)
    headers = {"X-CSRF-Token": login(client, "officer.rsj")}
    document = {"elements": ELEMENTS, "items": [item("QX-RSJ-9", "QX-RSJ")]}
    assert_refused(
        client.post("/api/v1/catalog/import", json=document, headers=headers),
        403,
        "reform_office_only",
    )


def test_export_json_round_trips_through_import(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    headers = {"X-CSRF-Token": login(client, "reform")}
    exported = client.get("/api/v1/catalog/export").json()
    assert {i["implementation_code"] for i in exported["items"]} >= {"QX-RSJ-1", "QX-RSJ-2"}
    again = client.post("/api/v1/catalog/import", json=exported, headers=headers).json()
    assert again["versions_created"] == 0
    assert again["unchanged"] == len(exported["items"])


def test_element_check_runs_the_validator(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session)
    ok = client.post("/api/v1/elements/DE.ID/check", json={"value": "11010519491231002X"}).json()
    assert ok == {"valid": True, "message": ""}
    bad = client.post("/api/v1/elements/DE.ID/check", json={"value": "110105194912310021"}).json()
    assert bad["valid"] is False
    assert "check" in bad["message"]
    used = client.get("/api/v1/elements/DE.ID").json()["used_by"]
    assert {u["implementation_code"] for u in used} == {"QX-RSJ-1", "QX-ZJJ-1", "BS-RSJ-1"}
    assert {(u["field_label"], u["field_label_en"]) for u in used} == {("身份证号", "ID number")}
    assert "Item QX-RSJ-1" in {u["item_name_en"] for u in used}
    english = client.get("/elements/DE.ID?lang=en")
    assert english.status_code == 200
    assert "Item QX-RSJ-1" in english.text
    assert_refused(client.get("/api/v1/elements/DE.NOPE"), 404, "element_not_found")


def test_markup_is_stored_as_text_and_shown_escaped(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(session, [item("QX-RSJ-7", "QX-RSJ", name="<script>alert(1)</script>登记")])
    assert client.get("/api/v1/items/QX-RSJ-7").json()["item"]["name_zh"].startswith("<script>")
    page = client.get("/catalog/QX-RSJ-7")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;登记" in page.text


def test_a_main_item_lists_its_sub_items_that_the_reader_may_see(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    make_catalog(
        session,
        [
            item("QX-RSJ-1", "QX-RSJ", name="就业登记"),
            item("QX-RSJ-1-01", "QX-RSJ", name="就业登记（首次）", parent="QX-RSJ-1"),
            item(
                "QX-RSJ-1-02", "QX-RSJ", status="draft", name="就业登记（变更）", parent="QX-RSJ-1"
            ),
            item("QX-ZJJ-1", "QX-ZJJ", name="施工许可"),
        ],
    )
    public = client.get("/catalog/QX-RSJ-1")
    listed = public.text.split('data-testid="sub-items"', 1)[1].split("</dd>", 1)[0]
    assert "QX-RSJ-1-01" in listed
    assert "QX-RSJ-1-02" not in listed  # a draft stays with those who may see drafts
    assert 'data-testid="sub-items"' not in client.get("/catalog/QX-ZJJ-1").text
    sub = client.get("/catalog/QX-RSJ-1-01")
    assert 'data-testid="parent-link"' in sub.text
    assert 'data-testid="sub-items"' not in sub.text
    login(client, "reform")
    staff = client.get("/catalog/QX-RSJ-1")
    listed = staff.text.split('data-testid="sub-items"', 1)[1].split("</dd>", 1)[0]
    assert "QX-RSJ-1-02" in listed
    assert "草稿" in listed


def test_anonymous_export_holds_no_draft_in_any_format(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    make_catalog(session)
    for fmt in ("json", "yaml", "cpsv-jsonld"):
        response = client.get("/api/v1/catalog/export", params={"format": fmt})
        assert response.status_code == 200
        assert "QX-RSJ-1" in response.text  # published
        assert "QX-RSJ-2" not in response.text, fmt  # a draft stays with those who may see it


def test_only_an_explicit_system_caller_exports_drafts(session: Session) -> None:
    from tongban.catalog import service

    make_org(session)
    make_catalog(session)
    anonymous = service.export_catalog(session=session, principal=None)
    system = service.export_catalog(session=session, principal=None, as_system=True)
    assert "QX-RSJ-2" not in {i.implementation_code for i in anonymous.items}
    assert "QX-RSJ-2" in {i.implementation_code for i in system.items}


def test_a_draft_saved_on_the_web_is_checked_like_an_import(
    client: TestClient, session: Session
) -> None:
    """A material's ITEM#OUTPUT was checked on import only: the editor could save (and then
    publish) a reference to an output that does not exist, or an e-licence that is not one."""
    make_org(session)
    make_catalog(session)
    csrf = login(client, "reform")
    before = client.get("/api/v1/items/QX-RSJ-1").json()
    materials = [
        {
            "code": "M9",
            "name_zh": "许可证",
            "name_en": "Permit",
            "source": "item_output",
            "source_ref": "QX-ZJJ-1#NOPE",
        },
        {
            "code": "M8",
            "name_zh": "证照",
            "name_en": "Licence",
            "source": "e_licence",
            "source_ref": "QX-ZJJ-1#NOPE",
        },
    ]
    saved = client.patch(
        "/api/v1/items/QX-RSJ-1/draft",
        json={"changes": {"materials": materials}, "lock_version": before["lock_version"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert_refused(saved, 422, "item_invalid")
    messages = " ".join(e["message"] for e in saved.json()["errors"])
    assert "has no output 'NOPE'" in messages
    assert "is not an e-licence type" in messages


def test_a_cycle_of_main_items_and_sub_items_is_refused_wherever_a_parent_is_set(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    headers = {"X-CSRF-Token": login(client, "reform")}
    # In one file (the API import): A under B, B under A.
    document = {
        "elements": ELEMENTS,
        "items": [
            item("QX-RSJ-7", "QX-RSJ", parent="QX-RSJ-8"),
            item("QX-RSJ-8", "QX-RSJ", parent="QX-RSJ-7"),
        ],
    }
    refused = client.post("/api/v1/catalog/import", json=document, headers=headers)
    assert_refused(refused, 422, "parent_cycle")
    assert [e["loc"] for e in refused.json()["errors"]] == [
        "items[0] (QX-RSJ-7).parent",
        "items[1] (QX-RSJ-8).parent",
    ]
    assert "QX-RSJ-7 → QX-RSJ-8 → QX-RSJ-7" in refused.json()["errors"][0]["message"]
    assert session.scalar(select(func.count()).select_from(ServiceItem)) == 0
    # Through an item already in the database (the CLI imports with references_checked).
    make_catalog(
        session,
        [item("QX-RSJ-7", "QX-RSJ"), item("QX-RSJ-8", "QX-RSJ", parent="QX-RSJ-7")],
    )
    closing = CatalogDocument.model_validate(
        {"elements": ELEMENTS, "items": [item("QX-RSJ-7", "QX-RSJ", parent="QX-RSJ-8")]}
    )
    with pytest.raises(ValidationFailed) as caught:
        catalog_service.import_catalog(session=session, document=closing, references_checked=True)
    assert caught.value.code == "parent_cycle"
    assert caught.value.errors[0].loc == "items[0] (QX-RSJ-7).parent"
    # Through the edit API: a draft that makes the main item a sub-item of its sub-item.
    draft = client.patch(
        "/api/v1/items/QX-RSJ-7/draft",
        json={"changes": {"parent": "QX-RSJ-8"}},
        headers=headers,
    )
    assert_refused(draft, 422, "parent_cycle")
    assert draft.json()["errors"][0]["loc"] == "item.parent"
    # A parent that makes no cycle is set by the draft.
    moved = client.patch(
        "/api/v1/items/QX-RSJ-8/draft", json={"changes": {"parent": None}}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    assert client.get("/api/v1/items/QX-RSJ-8").json()["item"]["parent"] is None
