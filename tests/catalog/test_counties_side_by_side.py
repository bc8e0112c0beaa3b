"""Two counties side by side in the catalogue's remaining lists: a data element's uses name the
county of each item and filter by jurisdiction, on the page and in the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import assert_refused, make_catalog, make_org


@pytest.fixture
def world(session: Session) -> None:
    make_org(session)
    make_catalog(session)


def test_an_elements_uses_show_the_county_and_filter_by_it(client: TestClient, world: None) -> None:
    both = client.get("/api/v1/elements/DE.ID").json()["used_by"]
    assert {(u["implementation_code"], u["jurisdiction"]) for u in both} == {
        ("QX-RSJ-1", "990123"),
        ("QX-ZJJ-1", "990123"),
        ("BS-RSJ-1", "990124"),
    }
    assert {u["jurisdiction_name_zh"] for u in both} == {"青溪县", "白石县"}

    baishi = client.get("/api/v1/elements/DE.ID", params={"jurisdiction": "990124"}).json()
    assert [u["implementation_code"] for u in baishi["used_by"]] == ["BS-RSJ-1"]
    # The city holds both counties; an unknown division finds nothing rather than everything.
    city = client.get("/api/v1/elements/DE.ID", params={"jurisdiction": "990100"}).json()
    assert len(city["used_by"]) == 3
    unknown = client.get("/api/v1/elements/DE.ID", params={"jurisdiction": "123456"}).json()
    assert unknown["used_by"] == []

    client.get("/lang/en")
    page = client.get("/elements/DE.ID", params={"jurisdiction": "990123"})
    assert page.status_code == 200
    assert 'data-code="QX-RSJ-1"' in page.text
    assert 'data-code="BS-RSJ-1"' not in page.text
    assert "Qingxi County" in page.text
    assert '<option value="990123" selected>' in page.text


def test_a_jurisdiction_filter_is_bounded(client: TestClient, world: None) -> None:
    response = client.get("/api/v1/elements/DE.ID", params={"jurisdiction": "9" * 13})
    assert response.status_code == 422


def test_an_items_page_names_its_county(client: TestClient, world: None) -> None:
    page = client.get("/catalog/BS-RSJ-1")
    assert 'data-testid="jurisdiction" data-code="990124"' in page.text
    assert "白石县" in page.text


def test_a_version_number_is_bounded(client: TestClient, world: None) -> None:
    assert client.get("/catalog/BS-RSJ-1", params={"version": 2**40}).status_code == 422


def test_the_export_takes_one_county(client: TestClient, world: None) -> None:
    every = client.get("/api/v1/catalog/export").json()["items"]
    assert {i["implementation_code"] for i in every} == {"QX-RSJ-1", "QX-ZJJ-1", "BS-RSJ-1"}
    baishi = client.get("/api/v1/catalog/export", params={"jurisdiction": "990124"}).json()
    assert [i["implementation_code"] for i in baishi["items"]] == ["BS-RSJ-1"]
    as_yaml = client.get(
        "/api/v1/catalog/export", params={"jurisdiction": "990123", "format": "yaml"}
    )
    assert "QX-RSJ-1" in as_yaml.text
    assert "BS-RSJ-1" not in as_yaml.text
    assert_refused(
        client.get("/api/v1/catalog/export", params={"jurisdiction": "123456"}),
        422,
        "unknown_jurisdiction",
    )
