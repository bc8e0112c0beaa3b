"""The catalogue list: text search, filters in the query string, counts, and no-JS use."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS, Snap

pytestmark = pytest.mark.browser


def _total_shown(page: Page, expected: int) -> None:
    count = page.get_by_test_id("result-count")
    expect(count).to_have_attribute("data-total", str(expected))


def _rows(page: Page) -> list[str]:
    codes: list[str] = page.locator("[data-testid=results-table] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.code)"
    )
    return codes


def test_search_for_disability_shows_only_matching_items_and_a_count(
    page: Page, snap: Snap, api: httpx.Client
) -> None:
    expected = api.get("/items", params={"q": "残疾", "limit": 500}).json()
    assert expected["total"] > 0
    everything = api.get("/items", params={"limit": 1}).json()["total"]
    assert everything > expected["total"], "the demo should hold items that do not match"

    page.goto("/catalog")
    _total_shown(page, everything)
    expect(page.locator("nav a[aria-current=page]")).to_have_text("事项清单")
    snap("1-all")

    page.get_by_label("名称或编码").fill("残疾")
    page.get_by_label("名称或编码").press("Enter")
    page.wait_for_url(re.compile(r"q=%E6%AE%8B%E7%96%BE"))
    _total_shown(page, expected["total"])
    expect(page.get_by_test_id("result-count")).to_contain_text(
        f"共找到 {expected['total']} 个事项"
    )
    names = page.locator("[data-testid=results-table] tbody .item-name")
    expect(names).to_have_count(min(expected["total"], 50))
    for name in names.all_inner_texts():
        assert "残疾" in name
    # By relevance, as the API ranks them (no longer by code: decision 0005).
    assert _rows(page) == [i["implementation_code"] for i in expected["items"]][:50]
    snap("2-disability")

    # The search is a shareable URL: opening it afresh shows the same results.
    page.goto(page.url)
    expect(page.get_by_label("名称或编码")).to_have_value("残疾")
    _total_shown(page, expected["total"])
    snap("3-reloaded")

    page.get_by_label("名称或编码").fill("没有这种事项zzz")
    page.get_by_label("名称或编码").press("Enter")
    _total_shown(page, 0)
    expect(page.get_by_test_id("result-count")).to_contain_text("没有符合条件的事项。")
    snap("4-nothing")


def test_filters_by_department_and_by_module(page: Page, snap: Snap, api: httpx.Client) -> None:
    page.goto("/catalog")
    department = page.get_by_label("部门", exact=True)
    department.select_option("QX-CL")
    page.wait_for_url(re.compile(r"department=QX-CL"))
    by_department = api.get("/items", params={"department": "QX-CL", "limit": 500}).json()
    assert by_department["total"] > 0
    _total_shown(page, by_department["total"])
    dept_name = department.locator("option:checked").inner_text()
    cells = page.locator("[data-testid=results-table] tbody td:nth-child(4)")
    expect(cells).to_have_count(by_department["total"])
    assert set(cells.all_inner_texts()) == {dept_name}
    snap("1-department")

    department.select_option("")
    module = page.get_by_label("应用模块")
    options = module.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) == 7, "all modules plus the six application modules"
    chosen = options[1]
    module.select_option(chosen)
    page.wait_for_url(re.compile(rf"module={chosen}"))
    by_module = api.get("/items", params={"module": chosen, "limit": 500}).json()
    members = next(m for m in api.get("/modules").json() if m["code"] == chosen)["departments"]
    _total_shown(page, by_module["total"])
    assert {i["department"] for i in by_module["items"]} <= set(members)
    query = parse_qs(urlsplit(page.url).query)
    assert query.get("module") == [chosen]
    assert not query.get("department", [""])[0]
    snap("2-module")

    # Item type filter, translated labels.
    kind = page.get_by_label("事项类型")
    expect(kind.locator("option[value=administrative_licence]")).to_have_text("行政许可")
    kind.select_option("administrative_licence")
    page.wait_for_url(re.compile(r"type=administrative_licence"))
    both = api.get(
        "/items", params={"module": chosen, "type": "administrative_licence", "limit": 500}
    ).json()
    _total_shown(page, both["total"])
    snap("3-module-and-type")


def test_search_works_without_javascript(browser: Browser, server: str) -> None:
    context = browser.new_context(base_url=server, locale="zh-CN", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/catalog")
        page.get_by_label("名称或编码").fill("残疾")
        page.get_by_label("部门", exact=True).select_option("QX-CL")
        page.get_by_role("button", name="检索").click()
        page.wait_for_url(re.compile(r"/catalog\?.*q=%E6%AE%8B%E7%96%BE.*department=QX-CL"))
        expect(page.get_by_test_id("result-count")).not_to_have_attribute("data-total", "0")
        for name in page.locator("[data-testid=results-table] tbody .item-name").all_inner_texts():
            assert "残疾" in name
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / "test_search_works_without_javascript-1-results.png"),
            full_page=True,
        )
    finally:
        context.close()


def test_pagination_keeps_the_filters(page: Page, snap: Snap, api: httpx.Client) -> None:
    total = api.get("/items", params={"limit": 1}).json()["total"]
    page.goto("/catalog?type=")
    if total <= 50:
        expect(page.get_by_role("link", name=re.compile("下一页"))).to_have_count(0)
        pytest.skip("the demo catalogue fits on one page")
    page.get_by_role("link", name=re.compile("下一页")).click()
    page.wait_for_url(re.compile(r"offset=50"))
    expect(page.get_by_test_id("result-count")).to_contain_text("51–")
    snap("1-page-2")
