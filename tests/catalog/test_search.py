"""Catalogue search (decision 0005) through the API and the page, on either database."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import item, login, make_catalog, make_org
from tongban.catalog import service
from tongban.catalog.search import text as search_text

LONG_CODE = "511A0138000000-511602000000-000-1151"


def _items() -> list[dict[str, Any]]:
    return [
        item("QX-SW-1", "QX-ZJJ", name="税收居民身份证明开具"),
        item("QX-GA-1", "QX-RSJ", name="居民身份证申领"),
        item("QX-GA-2", "QX-RSJ", name="居民身份证换领"),
        item("QX-SC-1", "QX-ZJJ", name="企业设立登记"),
        item("QX-SC-2", "QX-ZJJ", name="外商投资企业设立登记"),
        item("QX-SB-1", "QX-RSJ", name="社会保险登记", materials=[]),
        item("QX-XSS", "QX-RSJ", name="<script>alert(1)</script>身份证补领"),
        item(LONG_CODE, "QX-RSJ", name="职工退休审批"),
        item("BS-RSJ-1", "BS-RSJ", name="白石就业登记"),
        item("QX-RSJ-1", "QX-RSJ", name="就业登记"),
    ]


@pytest.fixture
def world(session: Session) -> None:
    make_org(session)
    make_catalog(session, _items())


def _search(client: TestClient, q: str, **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/items", params={"q": q, "limit": 100, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _codes(client: TestClient, q: str, **params: str) -> list[str]:
    return [i["implementation_code"] for i in _search(client, q, **params)["items"]]


def test_resident_id_items_come_before_the_tax_certificate(client: TestClient, world: None) -> None:
    codes = _codes(client, "身份证")
    assert codes[0] in {"QX-GA-1", "QX-GA-2"}
    assert codes.index("QX-SW-1") > codes.index("QX-GA-1")
    assert codes.index("QX-SW-1") > codes.index("QX-GA-2")


@pytest.mark.parametrize("q", ["shenfenzheng", "sfz", "shenfenzh", "ShenFenZheng"])
def test_pinyin_and_initials_find_the_resident_id_items(
    client: TestClient, world: None, q: str
) -> None:
    codes = _codes(client, q)
    assert {"QX-GA-1", "QX-GA-2"} <= set(codes[:4])
    first = _search(client, q)["items"][0]
    assert first["marks_zh"], "the pinyin match is marked on the Chinese name"


def test_synonyms_find_registration_for_business_licence(client: TestClient, world: None) -> None:
    assert {"QX-SC-1", "QX-SC-2"} <= set(_codes(client, "营业执照"))
    assert "QX-SB-1" in _codes(client, "社保")


@pytest.mark.parametrize("q", ["%", '"', "*", "NEAR(", "'", "%%", "a' OR 1=1 --", '" OR "', "^"])
def test_query_syntax_neither_breaks_nor_matches_everything(
    client: TestClient, world: None, q: str
) -> None:
    body = _search(client, q)
    assert body["total"] < len(_items())


def test_a_pasted_code_finds_its_item_first(client: TestClient, world: None) -> None:
    assert _codes(client, LONG_CODE)[0] == LONG_CODE
    assert _codes(client, "QX-SC-1")[0] == "QX-SC-1"
    assert _codes(client, "B.QX-SC-2")[0] == "QX-SC-2"


def test_names_with_markup_are_escaped_in_the_highlighted_page(
    client: TestClient, world: None
) -> None:
    page = client.get("/catalog", params={"q": "身份证"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<mark>身份证</mark>" in page.text


def test_the_jurisdiction_filter_separates_the_counties(client: TestClient, world: None) -> None:
    assert _codes(client, "就业登记") == ["QX-RSJ-1", "BS-RSJ-1"]
    assert _codes(client, "就业登记", jurisdiction="990124") == ["BS-RSJ-1"]
    assert _codes(client, "就业登记", jurisdiction="990123") == ["QX-RSJ-1"]
    rows = _search(client, "就业登记")["items"]
    assert {r["jurisdiction"] for r in rows} == {"990123", "990124"}
    assert all(r["jurisdiction_name_zh"] for r in rows)
    assert _codes(client, "", jurisdiction="990999") == []
    page = client.get("/catalog", params={"q": "就业登记"})
    for row in rows:
        assert row["jurisdiction_name_zh"] in page.text


def test_a_reform_office_sees_its_own_county_by_default(client: TestClient, world: None) -> None:
    login(client, "reform.baishi")
    body = _search(client, "")
    assert body["jurisdiction"] == "990124"
    assert [i["implementation_code"] for i in body["items"]] == ["BS-RSJ-1"]
    assert len(_codes(client, "", jurisdiction="all")) == len(_items())
    assert "BS-RSJ-1" in client.get("/catalog").text
    assert "QX-RSJ-1" not in client.get("/catalog").text
    assert "QX-RSJ-1" in client.get("/catalog", params={"jurisdiction": "all"}).text


def test_paging_counts_pages_and_jumps(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(
        session, [item(f"QX-P-{i:03d}", "QX-RSJ", name=f"登记事项{i}") for i in range(120)]
    )
    page = client.get("/catalog", params={"q": "登记", "page": "3"})
    assert page.status_code == 200
    assert "第 3 / 3 页" in page.text or "Page 3 of 3" in page.text
    assert page.text.count('<tr data-code="QX-P-') == 20
    assert 'aria-current="page"' in page.text
    first = _codes(client, "登记", limit="50")
    second = _codes(client, "登记", limit="50", offset="50")
    assert not set(first) & set(second)


def test_synonyms_are_edited_with_audit(client: TestClient, world: None, session: Session) -> None:
    assert "QX-SC-1" not in _codes(client, "开公司")
    row = service.save_synonym(
        session=session, principal=None, terms=["开公司", "企业设立"], as_system=True
    )
    assert "QX-SC-1" in _codes(client, "开公司")
    service.delete_synonym(session=session, principal=None, synonym_id=row.id, as_system=True)
    assert "QX-SC-1" not in _codes(client, "开公司")


def test_an_edited_draft_is_found_by_its_new_name(client: TestClient, world: None) -> None:
    token = login(client, "reform")
    response = client.patch(
        "/api/v1/items/QX-RSJ-1/draft",
        json={"changes": {"name_zh": "灵活就业人员登记"}},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200, response.text
    assert "QX-RSJ-1" in _codes(client, "灵活")
    client.post("/logout", headers={"X-CSRF-Token": token})


def test_query_tokens_hold_no_syntax() -> None:
    query = search_text.parse("a\"b NEAR(x, y) *c %d'e", [])
    for alt in query.alternatives:
        for group in alt.groups:
            for branch in group.branches:
                assert all(t.isalnum() for t in branch.terms)


def test_a_bulk_import_on_postgresql_gathers_the_planners_statistics(session: Session) -> None:
    """Without statistics PostgreSQL plans the search as for empty tables (seconds a query at
    10,000 items); a bulk import analyses the catalogue's tables."""
    from sqlalchemy import text

    from tongban.catalog.search.index import ANALYZE_AFTER_ROWS

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL runs when TONGBAN_TEST_DATABASE_URL names one")
    make_org(session)
    session.execute(text("ANALYZE item_version"))  # the statistics of the table as it is now
    before = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'item_version'"))
    assert before is not None
    assert before < 100
    count = ANALYZE_AFTER_ROWS
    make_catalog(session, [item(f"QX-RSJ-{n:05d}", "QX-RSJ") for n in range(count)])
    # ANALYZE counts the rows it sees (this transaction's own too); the test database's tables
    # are otherwise nearly empty between tests.
    rows = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'item_version'"))
    assert rows is not None
    assert rows >= count


# The order of a search is the same on both databases (``catalog.search.rank``): these lists are
# exact, and the suite runs them on PostgreSQL too (TONGBAN_TEST_DATABASE_URL).


def _licence_world(session: Session) -> None:
    make_org(session)
    licence = [
        {"code": "M1", "name_zh": "营业执照副本", "name_en": "Licence", "source": "applicant"}
    ]
    make_catalog(
        session,
        [
            item("QX-L-1", "QX-ZJJ", name="企业设立登记"),
            item("QX-L-2", "QX-ZJJ", name="营业执照遗失补领"),
            item("QX-L-3", "QX-ZJJ", name="企业变更登记", materials=licence),
            item("QX-L-4", "QX-ZJJ", name="营业执照变更"),
            item("QX-L-5", "QX-ZJJ", name="外商投资企业设立登记"),
            item("QX-L-6", "QX-ZJJ", name="企业注销登记", materials=licence),
            item("QX-L-7", "QX-ZJJ", name="个体工商户营业执照核发"),
        ],
    )


def test_a_name_with_the_words_typed_ranks_first_then_the_synonym_then_the_materials(
    client: TestClient, session: Session
) -> None:
    _licence_world(session)
    assert _codes(client, "营业执照") == [
        "QX-L-4",  # 营业执照 covers 4 of its 6 characters
        "QX-L-2",  # 4 of 8, at the start
        "QX-L-7",  # 4 of 10, later
        "QX-L-1",  # the synonym 企业设立登记, the whole name
        "QX-L-5",
        "QX-L-3",  # only its material holds 营业执照
        "QX-L-6",
    ]
    assert _search(client, "营业执照")["total"] == 7


def test_the_material_alone_does_not_count_as_the_name(
    client: TestClient, session: Session
) -> None:
    """The name's tier is not matched by the same characters in a material: on PostgreSQL the
    lexemes carry their column (the weights they had before never held: no positions)."""
    from sqlalchemy import select

    from tongban.catalog.search import index as search_index

    _licence_world(session)
    query = service.parsed_query(session, "执照副本")
    found = {}
    for strong in (True, False):
        tier = search_index.tier_source(session, query, strong)
        assert tier is not None
        found[strong] = session.scalars(
            select(tier.version_id).select_from(search_index.SEARCH_TABLE).where(tier.match)
        ).all()
    assert found[True] == []
    assert len(found[False]) == 2
    assert _codes(client, "执照副本") == ["QX-L-3", "QX-L-6"]
    assert _search(client, "执照副本")["items"][0]["marks_zh"] == []


def test_a_household_move_is_found_with_its_synonym(client: TestClient, session: Session) -> None:
    make_org(session)
    make_catalog(
        session,
        [
            item("QX-H-1", "QX-RSJ", name="户籍迁移登记"),
            item("QX-H-2", "QX-RSJ", name="户口迁移"),
            item("QX-H-3", "QX-RSJ", name="户口迁入"),
            item("QX-H-4", "QX-RSJ", name="省内户口迁移（迁出）"),
            item("QX-H-5", "QX-RSJ", name="迁移户口", status="draft"),
        ],
    )
    assert _codes(client, "户口迁移") == ["QX-H-2", "QX-H-4", "QX-H-1"]
    assert _codes(client, "hukouqianyi") == ["QX-H-2", "QX-H-4"]
    assert _codes(client, "hkqy") == ["QX-H-2", "QX-H-4"]
    assert _codes(client, "迁移") == ["QX-H-2", "QX-H-1", "QX-H-4"]


def test_the_resident_id_order(client: TestClient, world: None) -> None:
    # (every item of the factory asks for the material 身份证: the names come first)
    assert _codes(client, "身份证")[:4] == ["QX-GA-1", "QX-GA-2", "QX-SW-1", "QX-XSS"]
    assert _codes(client, "sfz") == ["QX-GA-1", "QX-GA-2", "QX-SW-1", "QX-XSS"]


def test_a_common_word_counts_to_the_cap_and_says_so(client: TestClient, session: Session) -> None:
    from tongban.catalog.repository import SEARCH_CAP

    make_org(session)
    make_catalog(
        session,
        [item(f"QX-C-{i:04d}", "QX-RSJ", name=f"登记事项{i}") for i in range(SEARCH_CAP + 5)],
    )
    body = _search(client, "登记")
    assert body["total"] == SEARCH_CAP
    assert body["total_capped"] is True
    assert len(body["items"]) == 100
