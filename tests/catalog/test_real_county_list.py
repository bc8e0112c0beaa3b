"""A real district's list, as it is published, loaded beside the demo county: national codes and
types, Chinese names only, no materials, time limits or steps — stored as it is, every gap said
("not yet recorded"), reported per department, and kept out of bundles and applications."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import assert_refused, item, login, make_catalog, make_org
from tongban.org import service as org_service
from tongban.org.schemas import OrgDocument

# 广安区 (511602), with the unified social credit codes of three of its departments
# (GB 32100 check characters correct).
GUANG_AN = {
    "jurisdictions": [
        {
            "code": "510000",
            "name_zh": "四川省",
            "children": [
                {
                    "code": "511600",
                    "name_zh": "广安市",
                    "children": [{"code": "511602", "name_zh": "广安区"}],
                }
            ],
        }
    ],
    "departments": [
        {"code": "GA-FGJ", "name_zh": "广安区发展和改革局", "jurisdiction": "511602",
         "uscc": "11511602MB1A2B3C4P"},
        {"code": "GA-SCJ", "name_zh": "广安区市场监督管理局", "jurisdiction": "511602",
         "uscc": "11511602MB0D5E6F7K"},
        {"code": "GA-MZJ", "name_zh": "广安区民政局", "jurisdiction": "511602",
         "uscc": "12511602MB0X8Y9W1G"},
    ],
}  # fmt: skip

APPROVAL = "511A0138000000-511602000000-000-11511602MB1A2B3C4P-1-00"
FOOD = "511A0104000000-511602000000-000-11511602MB0D5E6F7K-1-00"
FOOD_NEW = "511A0104000000-511602000000-000-11511602MB0D5E6F7K-1-01"
FOOD_CHANGE = "511A0104000000-511602000000-000-11511602MB0D5E6F7K-1-02"
PENALTY = "511B0201000000-511602000000-000-11511602MB0D5E6F7K-1-00"
MARRIAGE = "5120010300000-511602000000-000-12511602MB0X8Y9W1G-1-00"

# The list as a county converts it: code, name, type as the source writes it, department.
LIST = f"""\
format: tongban-catalog/1
items:
  - implementation_code: {APPROVAL}
    name_zh: 企业投资项目核准
    type: 行政许可
    department: GA-FGJ
  - implementation_code: {FOOD}
    name_zh: 食品经营许可
    type: 1A
    department: GA-SCJ
  - implementation_code: {FOOD_NEW}
    parent: {FOOD}
    name_zh: 食品经营许可（新办）
    type: 1A
    department: GA-SCJ
  - implementation_code: {FOOD_CHANGE}
    parent: {FOOD}
    name_zh: 食品经营许可（变更）
    type: XK
    department: GA-SCJ
  - implementation_code: {PENALTY}
    name_zh: 对未取得食品经营许可从事食品经营活动的行政处罚
    type: CF
    department: GA-SCJ
  - implementation_code: {MARRIAGE}
    name_zh: 婚姻登记咨询
    type: 公共服务
    department: GA-MZJ
"""


@pytest.fixture
def county(client: TestClient, session: Session) -> dict[str, str]:
    make_org(session)
    make_catalog(session)
    org_service.load_org(session=session, document=OrgDocument.model_validate(GUANG_AN))
    session.commit()
    headers = {"X-CSRF-Token": login(client, "reform")}
    report = client.post("/api/v1/catalog/import", json=yaml.safe_load(LIST), headers=headers)
    assert report.status_code == 200, report.text
    assert report.json()["items_created"] == 6
    return headers


def _api_codes(client: TestClient, **params: Any) -> list[str]:
    body = client.get("/api/v1/items", params=params).json()
    return [i["implementation_code"] for i in body["items"]]


def test_the_list_is_stored_as_it_is(client: TestClient, county: dict[str, str]) -> None:
    answer = client.get(f"/api/v1/items/{APPROVAL}").json()
    assert answer["gaps"] == ["legal_basis", "materials", "steps", "time_limit", "visits"]
    stored = answer["item"]
    assert stored["basic_code"] == "511A0138000000"  # taken from the national code
    assert stored["type"] == "administrative_licence"
    assert stored["name_en"] == ""
    assert stored["materials"] is None
    assert stored["time_limit"] is None
    assert stored["visits"] is None
    penalty = client.get(f"/api/v1/items/{PENALTY}").json()
    assert penalty["item"]["type"] == "administrative_penalty"
    marriage = client.get(f"/api/v1/items/{MARRIAGE}").json()
    assert marriage["item"]["type"] == "public_service"


def test_the_county_sits_beside_the_demo_county(client: TestClient, county: dict[str, str]) -> None:
    assert set(_api_codes(client, jurisdiction="511602")) == {
        APPROVAL,
        FOOD,
        FOOD_NEW,
        FOOD_CHANGE,
        PENALTY,
        MARRIAGE,
    }
    assert not {APPROVAL, FOOD} & set(_api_codes(client, jurisdiction="990123"))
    # Loading the second county's organisation kept the first one's departments.
    departments = {d["code"] for d in client.get("/api/v1/departments").json()}
    assert {"QX-RSJ", "QX-ZJJ", "GA-FGJ", "GA-SCJ"} <= departments


def test_a_pasted_national_code_finds_and_opens_its_item(
    client: TestClient, county: dict[str, str]
) -> None:
    pasted = " 511A0138000000 - 511602000000 - 000 - 11511602MB1A2B3C4P - 1 - 00 "
    # (the reform office of the demo county sees its own county by default: ask for all)
    assert _api_codes(client, q=pasted, jurisdiction="all")[0] == APPROVAL
    opened = client.get("/catalog", params={"q": pasted}, follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == f"/catalog/{APPROVAL}"
    page = client.get(f"/catalog/{APPROVAL}")
    assert 'data-testid="code-parts"' in page.text
    assert '<tr data-part="division"><th scope="row">行政区划代码</th><td><code>511602000000' in (
        page.text
    )
    assert "11511602MB1A2B3C4P" in page.text


def test_an_items_gaps_are_said_never_guessed(client: TestClient, county: dict[str, str]) -> None:
    page = client.get(f"/catalog/{APPROVAL}")
    assert 'data-testid="incomplete-notice"' in page.text
    assert 'data-gaps="legal_basis materials steps time_limit visits"' in page.text
    assert 'data-testid="materials-not-recorded"' in page.text
    assert 'data-testid="limits-not-recorded"' in page.text
    assert "无需提交材料" not in page.text
    client.get("/lang/en")
    english = client.get(f"/catalog/{APPROVAL}")
    assert "No materials are required." not in english.text
    assert '<h1 data-testid="item-name" lang="zh-CN">企业投资项目核准</h1>' in english.text
    # A public service needs no legal basis, an item nobody applies for no materials.
    service = client.get(f"/catalog/{MARRIAGE}").text
    assert 'data-gaps="materials steps time_limit visits"' in service
    penalty = client.get(f"/catalog/{PENALTY}").text
    assert 'data-gaps="legal_basis steps"' in penalty


def test_a_main_item_with_sub_items_is_a_heading(
    client: TestClient, county: dict[str, str]
) -> None:
    page = client.get(f"/catalog/{FOOD}")
    assert 'data-testid="heading-notice"' in page.text
    assert 'data-testid="incomplete-notice"' not in page.text
    assert FOOD_NEW in page.text
    assert FOOD_CHANGE in page.text


def test_the_completeness_page_reports_each_department(
    client: TestClient, county: dict[str, str]
) -> None:
    page = client.get("/catalog/completeness", params={"jurisdiction": "511602"})
    assert page.status_code == 200
    assert '<tr data-department="GA-SCJ" data-incomplete="3">' in page.text  # the heading aside
    assert '<tr data-department="GA-FGJ" data-incomplete="1">' in page.text
    assert 'data-department="QX-RSJ"' not in page.text
    listed = client.get(
        "/catalog/completeness", params={"jurisdiction": "511602", "department": "GA-SCJ"}
    )
    assert f'data-code="{FOOD_NEW}"' in listed.text
    assert f'data-code="{FOOD}"' not in listed.text

    exported = client.get(
        "/catalog/completeness", params={"jurisdiction": "511602", "format": "csv"}
    )
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["部门编码", "部门", "事项实施编码"]
    by_code = {row[2]: row for row in rows[1:]}
    assert set(by_code) == {APPROVAL, FOOD_NEW, FOOD_CHANGE, PENALTY, MARRIAGE}
    assert by_code[MARRIAGE][5] == ""  # legal basis: not needed by a public service
    assert by_code[MARRIAGE][6] == "未录入"  # materials

    workbook = client.get(
        "/catalog/completeness", params={"jurisdiction": "511602", "format": "xlsx"}
    )
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content), read_only=True).active
    assert sheet is not None
    assert len(list(sheet.iter_rows(values_only=True))) == 6


def test_the_completeness_page_is_for_staff(client: TestClient, session: Session) -> None:
    make_org(session)
    response = client.get("/catalog/completeness", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    login(client, "frontdesk")
    assert client.get("/catalog/completeness").status_code == 403


def test_an_incomplete_item_takes_no_applications_and_joins_no_bundle(
    client: TestClient, county: dict[str, str]
) -> None:
    application = {
        "item": APPROVAL,
        "applicant": {"name": "张三", "id_no": "11010519491231002X", "jurisdiction": "511602"},
        "idempotency_key": "real-county-1",
    }
    front = {"X-CSRF-Token": login(client, "frontdesk")}
    assert_refused(client.post("/api/v1/cases", json=application, headers=front), 422,
                   "item_incomplete")  # fmt: skip
    reform = {"X-CSRF-Token": login(client, "reform")}
    draft = {
        "code": "GA-FOOD",
        "name_zh": "开餐馆一件事",
        "name_en": "Opening a restaurant",
        "kind": "business_event",
        "lead_department": "GA-SCJ",
        "members": [{"item": FOOD_NEW}],
    }
    assert_refused(
        client.post("/api/v1/bundles/compose-draft", json={"bundle": draft}, headers=reform),
        422,
        "member_incomplete",
    )
    draft["members"] = [{"item": PENALTY}]
    assert_refused(
        client.post("/api/v1/bundles/compose-draft", json={"bundle": draft}, headers=reform),
        422,
        "member_not_applied_for",
    )


def test_the_export_round_trips_without_inventing_anything(
    client: TestClient, county: dict[str, str]
) -> None:
    exported = client.get("/api/v1/catalog/export", params={"jurisdiction": "511602"}).json()
    approval = next(i for i in exported["items"] if i["implementation_code"] == APPROVAL)
    assert {"materials", "steps", "time_limit", "visits", "legal_basis", "name_en"}.isdisjoint(
        k for k, v in approval.items() if v not in (None, "")
    )
    again = client.post("/api/v1/catalog/import", json=exported, headers=county).json()
    assert again["versions_created"] == 0


def test_a_wrong_part_of_a_national_code_is_named(
    client: TestClient, county: dict[str, str]
) -> None:
    wrong = APPROVAL.replace("MB1A2B3C4P", "MB1A2B3C4Q")
    body = {"items": [{**item(wrong, "GA-FGJ"), "basic_code": "511A0138000000"}]}
    response = client.post("/api/v1/catalog/import", json=body, headers=county)
    assert_refused(response, 422, "request_invalid")
    assert "implementing organisation part" in response.text
    assert "check character is Q, expected P" in response.text
