"""One item's page shows everything the item has, in Chinese and in English."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Snap

pytestmark = pytest.mark.browser


def _rich_disability_item(api: httpx.Client) -> dict[str, Any]:
    """A published item about disability with a legal basis, materials and steps."""
    found = api.get("/items", params={"q": "残疾", "limit": 500}).json()["items"]
    for summary in found:
        detail: dict[str, Any] = api.get(f"/items/{summary['implementation_code']}").json()
        item = detail["item"]
        if item["legal_basis"] and item["materials"] and item["steps"]:
            return detail
    pytest.fail("the demo has no disability item with legal basis, materials and steps")


def test_item_page_shows_legal_basis_materials_steps_and_time_limits(
    page: Page, snap: Snap, api: httpx.Client
) -> None:
    detail = _rich_disability_item(api)
    item = detail["item"]
    code = item["implementation_code"]

    page.goto("/catalog?q=残疾")
    page.locator(f"tr[data-code='{code}'] .item-name a").click()
    page.wait_for_url(re.compile(rf"/catalog/{re.escape(code)}$"))
    expect(page.get_by_test_id("item-name")).to_have_text(item["name_zh"])
    expect(page.get_by_test_id("implementation-code")).to_have_text(code)
    snap("1-detail")

    legal = page.get_by_test_id("legal-basis")
    expect(legal.get_by_role("heading", name="适用依据")).to_be_visible()
    for basis in item["legal_basis"]:
        expect(legal).to_contain_text(basis["law"])
        if basis["article"]:
            expect(legal).to_contain_text(basis["article"])

    materials = page.get_by_test_id("materials")
    expect(materials.locator("tbody tr")).to_have_count(len(item["materials"]))
    for material in item["materials"]:
        expect(materials).to_contain_text(material["name_zh"])
        for element in material["elements"]:
            expect(materials.locator(f"a[href='/elements/{element}']").first).to_be_visible()

    steps = page.get_by_test_id("steps")
    expect(steps.locator("tbody tr")).to_have_count(len(item["steps"]))
    for step in item["steps"]:
        expect(steps).to_contain_text(step["name_zh"])

    expect(page.get_by_test_id("legal-limit")).to_have_text(
        f"{item['time_limit']['legal']} 个工作日"
    )
    expect(page.get_by_test_id("promised-limit")).to_have_text(
        f"{item['time_limit']['promised']} 个工作日"
    )
    for fee in item["fees"]:
        fen = fee["amount_fen"]
        expect(page.get_by_text(f"¥{fen // 100:,}.{fen % 100:02d}")).to_be_visible()
    if not item["fees"]:
        expect(page.get_by_test_id("no-fees")).to_have_text("不收费。")
    versions = page.get_by_test_id("versions").locator("tbody tr")
    expect(versions).to_have_count(len(detail["versions"]))
    # An anonymous reader sees no editing controls.
    expect(page.get_by_test_id("edit-link")).to_have_count(0)
    expect(page.get_by_test_id("publish-button")).to_have_count(0)

    # A data element link leads to the dictionary entry.
    first_element = next((m["elements"][0] for m in item["materials"] if m["elements"]), None)
    if first_element:
        materials.locator(f"a[href='/elements/{first_element}']").first.click()
        page.wait_for_url(re.compile(rf"/elements/{re.escape(first_element)}$"))
        expect(page.get_by_role("heading", name="使用情况")).to_be_visible()
        snap("2-element")


def test_language_switch_to_english_and_back(page: Page, snap: Snap, api: httpx.Client) -> None:
    item = _rich_disability_item(api)["item"]
    code = item["implementation_code"]
    page.goto(f"/catalog/{code}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="适用依据")).to_be_visible()
    snap("1-chinese")

    page.locator("details.dropdown summary").click()
    page.locator("a[data-lang=en]").click()
    page.wait_for_url(re.compile(rf"/catalog/{re.escape(code)}$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("item-name")).to_have_text(item["name_en"])
    expect(page.get_by_role("heading", name="Legal basis")).to_be_visible()
    expect(page.get_by_role("heading", name="Materials")).to_be_visible()
    expect(page.get_by_role("heading", name="Process")).to_be_visible()
    expect(page.get_by_test_id("legal-limit")).to_have_text(
        f"{item['time_limit']['legal']} working days"
    )
    expect(page.get_by_role("link", name="Catalogue").first).to_be_visible()
    snap("2-english")

    # The choice is remembered on other pages.
    page.goto("/catalog")
    expect(page.get_by_role("heading", name="Service item catalogue")).to_be_visible()
    expect(page.get_by_label("Name or code")).to_be_visible()
    snap("3-english-list")

    page.locator("details.dropdown summary").click()
    page.locator("a[data-lang=zh_CN]").click()
    page.wait_for_url(re.compile(r"/catalog$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="政务服务事项清单")).to_be_visible()
    page.goto(f"/catalog/{code}")
    expect(page.get_by_test_id("item-name")).to_have_text(item["name_zh"])
    snap("4-chinese-again")
