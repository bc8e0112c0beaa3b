"""The data element dictionary (with its value check) and the organisation page."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Snap
from tongban.kit.ids import resident_id_check_char

pytestmark = pytest.mark.browser


def test_element_dictionary_filter_detail_and_value_check(
    page: Page, snap: Snap, api: httpx.Client
) -> None:
    elements = api.get("/elements").json()
    id_element = next(e for e in elements if e["validator"] == "resident_id")
    code = id_element["code"]

    page.goto("/elements")
    expect(page.get_by_test_id("elements-table").locator("tbody tr")).to_have_count(len(elements))
    expect(page.locator("nav a[aria-current=page]")).to_have_text("数据元")
    snap("1-list")

    page.get_by_label("编码、名称或说明").fill("公民身份号码")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"/elements\?q="))
    rows = page.get_by_test_id("elements-table").locator("tbody tr")
    expect(rows.filter(has_text=code)).to_have_count(1)
    shown = set(rows.locator("th[scope=row]").all_inner_texts())
    by_name = {e["code"] for e in elements if "公民身份号码" in e["name_zh"]}
    assert by_name <= shown  # names match; a description may match too
    assert len(shown) < len(elements)
    snap("2-filtered")

    rows.filter(has_text=code).get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/elements/{re.escape(code)}$"))
    expect(page.get_by_test_id("element-name")).to_have_text(id_element["name_zh"])
    expect(page.get_by_text("公民身份号码（GB 11643）")).to_be_visible()
    snap("3-detail")

    first17 = "11010119900307457"
    valid = first17 + resident_id_check_char(first17)
    wrong = first17 + ("0" if valid[-1] != "0" else "1")
    page.get_by_label("待校验的值").fill(wrong)
    page.get_by_label("待校验的值").press("Enter")
    result = page.get_by_test_id("check-result")
    expect(result).to_have_attribute("data-valid", "false")
    expect(result).to_contain_text("无效")
    expect(page.get_by_label("待校验的值")).to_have_value(wrong)
    snap("4-invalid")

    page.get_by_label("待校验的值").fill(valid)
    page.get_by_role("button", name="校验").click()
    expect(result).to_have_attribute("data-valid", "true")
    expect(result).to_contain_text("有效")
    snap("5-valid")


def test_organisation_tree_departments_and_modules(
    page: Page, snap: Snap, api: httpx.Client
) -> None:
    jurisdictions = api.get("/jurisdictions").json()
    modules = api.get("/modules").json()
    page.goto("/org")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("组织架构")

    tree = page.get_by_test_id("jurisdiction-tree")
    expect(tree.locator("li")).to_have_count(len(jurisdictions))
    root = next(j for j in jurisdictions if j["parent"] is None)
    expect(tree.locator(f"li[data-code='{root['code']}']").first).to_contain_text(root["name_zh"])
    county = next(j for j in jurisdictions if j["level"] == "county")
    county_node = tree.locator(f"li[data-code='{county['code']}']")
    expect(county_node).to_contain_text("县")
    # Nested: the county sits inside its parent's list.
    expect(
        tree.locator(f"li[data-code='{county['parent']}'] li[data-code='{county['code']}']")
    ).to_have_count(1)
    snap("1-org")

    matrix = page.get_by_test_id("module-matrix")
    expect(matrix.locator("thead th[scope=col]")).to_have_count(len(modules) + 1)
    marks = sum(len(m["departments"]) for m in modules)
    expect(matrix.locator("td.mark span[aria-hidden=true]")).to_have_count(marks)
    for module in modules:
        expect(matrix.locator("thead")).to_contain_text(module["name_zh"])
    # The wide matrix scrolls inside its box; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

    page.locator("details.dropdown summary").click()
    page.locator("a[data-lang=en]").click()
    page.wait_for_url(re.compile(r"/org$"))
    expect(page.get_by_role("heading", name="Application modules", exact=True)).to_be_visible()
    expect(county_node).to_contain_text("County")
    expect(matrix.locator("thead")).to_contain_text(modules[0]["name_en"])
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    snap("2-org-english")
