"""Editing, publishing and the rules around it, as the reform office and as an officer."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Login, Snap

pytestmark = pytest.mark.browser


def _bundle_members(api: httpx.Client) -> set[str]:
    answer = api.get("/bundles")
    if answer.status_code != 200:
        return set()
    members: set[str] = set()
    for summary in answer.json():
        bundle = api.get(f"/bundles/{summary['code']}").json()["bundle"]
        members |= {m["item"] for m in bundle["members"]}
    return members


def _editable_items(api: httpx.Client) -> list[dict[str, Any]]:
    """Published items that the other tests do not use (no disability item, no member of a
    one-thing bundle), one per department, by code; each editing test takes its own so that
    the tests do not depend on one another."""
    items = api.get("/items", params={"status": "published", "limit": 500}).json()["items"]
    in_bundles = _bundle_members(api)
    picked: dict[str, dict[str, Any]] = {}
    for item in items:
        if (
            "残疾" in item["name_zh"]
            or item["department"] in {"QX-RSJ", "QX-ZJJ", "QX-CL"}
            or item["implementation_code"] in in_bundles
        ):
            continue
        picked.setdefault(item["department"], item)
    chosen = sorted(picked.values(), key=lambda i: i["implementation_code"])
    assert len(chosen) >= 4, "the demo should have published items in several departments"
    return chosen


def _item_of(api: httpx.Client, department: str) -> dict[str, Any]:
    items = api.get("/items", params={"department": department, "limit": 500}).json()["items"]
    assert items, f"the demo should have items of {department}"
    return items[0]  # type: ignore[no-any-return]


def _version_rows(page: Page) -> dict[int, str]:
    rows = page.get_by_test_id("versions").locator("tbody tr")
    pairs = rows.evaluate_all("rs => rs.map(r => [r.dataset.version, r.dataset.status])")
    return {int(v): s for v, s in pairs}


def test_edit_a_published_item_then_publish_the_new_version(
    page: Page, snap: Snap, login: Login, api: httpx.Client
) -> None:
    code = _editable_items(api)[0]["implementation_code"]
    before = api.get(f"/items/{code}").json()
    old_no = before["version_no"]
    assert before["status"] == "published"
    login("reform")

    page.goto(f"/catalog/{code}")
    expect(page.locator(".item-meta [data-status]")).to_have_attribute("data-status", "published")
    expect(page.get_by_test_id("publish-button")).to_have_count(0)
    snap("1-published")

    page.get_by_test_id("edit-link").click()
    page.wait_for_url(re.compile(rf"/catalog/{re.escape(code)}/edit$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    legal = int(page.get_by_label("法定办结时限（工作日）").input_value())
    promised = int(page.get_by_label("承诺办结时限（工作日）").input_value())
    new_promised = legal if promised != legal else legal - 1
    assert new_promised >= 0
    page.get_by_label("承诺办结时限（工作日）").fill(str(new_promised))
    snap("2-edit-form")
    page.get_by_test_id("save-button").click()

    page.wait_for_url(re.compile(rf"/catalog/{re.escape(code)}\?saved=1$"))
    expect(page.get_by_test_id("notice")).to_have_text("草稿已保存。")
    expect(page.get_by_test_id("draft-notice")).to_contain_text(f"第 {old_no + 1} 版")
    expect(page.get_by_test_id("promised-limit")).to_have_text(f"{new_promised} 个工作日")
    expect(page.get_by_test_id("item-version")).to_have_text(f"第 {old_no + 1} 版")
    assert _version_rows(page) == {
        **{v["version_no"]: v["status"] for v in before["versions"]},
        old_no + 1: "draft",
    }
    snap("3-draft-saved")

    page.get_by_test_id("publish-open").click()
    expect(page.get_by_test_id("publish-button")).to_be_visible()
    snap("3b-publish-confirm")
    page.get_by_test_id("publish-button").click()
    page.wait_for_url(re.compile(rf"/catalog/{re.escape(code)}\?published=1$"))
    expect(page.get_by_test_id("notice")).to_contain_text("该版本已发布")
    expect(page.get_by_test_id("draft-notice")).to_have_count(0)
    expect(page.locator(".item-meta [data-status]")).to_have_attribute("data-status", "published")
    expect(page.get_by_test_id("promised-limit")).to_have_text(f"{new_promised} 个工作日")
    versions = _version_rows(page)
    assert versions[old_no] == "retired"
    assert versions[old_no + 1] == "published"
    snap("4-published")

    # The old version stays readable, marked retired.
    page.get_by_test_id("versions").get_by_role("link", name=f"第 {old_no} 版").click()
    page.wait_for_url(re.compile(rf"version={old_no}"))
    expect(page.get_by_test_id("retired-notice")).to_be_visible()
    expect(page.get_by_test_id("promised-limit")).to_have_text(f"{promised} 个工作日")
    expect(page.get_by_test_id("edit-link")).to_have_count(0)
    snap("5-old-version")

    after = api.get(f"/items/{code}").json()
    assert after["status"] == "published"
    assert after["item"]["time_limit"]["promised"] == new_promised

    # Retiring asks for a second, deliberate click.
    page.goto(f"/catalog/{code}")
    expect(page.get_by_test_id("retire-button")).to_be_hidden()
    page.get_by_text("废止…").click()
    page.get_by_test_id("retire-button").click()
    page.wait_for_url(re.compile(rf"/catalog/{re.escape(code)}\?retired=1$"))
    expect(page.get_by_test_id("notice")).to_have_text("已发布版本已废止。")
    expect(page.get_by_test_id("retired-notice")).to_be_visible()
    assert "published" not in _version_rows(page).values()
    snap("6-retired")


def test_officer_cannot_edit_another_departments_item(
    page: Page, snap: Snap, login: Login, api: httpx.Client
) -> None:
    zjj = _item_of(api, "QX-ZJJ")["implementation_code"]
    rsj = _item_of(api, "QX-RSJ")["implementation_code"]
    login("officer.rsj")

    page.goto(f"/catalog/{zjj}")
    expect(page.get_by_test_id("item-name")).to_be_visible()
    expect(page.get_by_test_id("edit-link")).to_have_count(0)
    expect(page.get_by_test_id("publish-button")).to_have_count(0)
    snap("1-other-department")

    response = page.goto(f"/catalog/{zjj}/edit")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_test_id("error")).to_have_attribute("data-status", "403")
    expect(page.get_by_role("heading", level=1)).to_have_text("您没有权限执行此操作")
    expect(page.locator("form[data-testid=edit-form]")).to_have_count(0)
    snap("2-forbidden")

    # Their own department's item: they may edit, but only the reform office publishes.
    page.goto(f"/catalog/{rsj}")
    expect(page.get_by_test_id("edit-link")).to_be_visible()
    expect(page.get_by_test_id("publish-button")).to_have_count(0)
    snap("3-own-department")


def test_bad_edit_shows_the_error_next_to_the_field_and_saves_nothing(
    page: Page, snap: Snap, login: Login, api: httpx.Client
) -> None:
    code = _editable_items(api)[1]["implementation_code"]
    before = api.get(f"/items/{code}").json()
    login("reform")
    page.goto(f"/catalog/{code}/edit")
    legal = int(page.get_by_label("法定办结时限（工作日）").input_value())
    page.get_by_label("中文名称").fill("改了名字但不会保存")
    page.get_by_label("承诺办结时限（工作日）").fill(str(legal + 5))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_test_id("save-button").click()
    assert answer.value.status == 422

    error = page.locator("#promised-error")
    expect(error).to_have_text("承诺办结时限不得超过法定办结时限。")
    promised_input = page.get_by_label("承诺办结时限（工作日）")
    expect(promised_input).to_have_attribute("aria-invalid", "true")
    expect(promised_input).to_have_value(str(legal + 5))
    expect(page.get_by_label("中文名称")).to_have_value("改了名字但不会保存")
    expect(page.get_by_test_id("form-errors")).to_be_visible()
    # The message sits with the promised-limit field, not elsewhere.
    field_box = page.locator("div", has=promised_input).last
    expect(field_box.locator("#promised-error")).to_be_visible()
    snap("1-error")

    page.goto(f"/catalog/{code}")
    expect(page.get_by_test_id("item-name")).to_have_text(before["item"]["name_zh"])
    expect(page.get_by_test_id("draft-notice")).to_have_count(0)
    snap("2-unchanged")
    after = api.get(f"/items/{code}").json()
    assert after["versions"] == before["versions"]
    assert after["item"] == before["item"]


def test_stale_edit_is_refused_with_a_clear_message(
    page: Page, snap: Snap, login: Login, api: httpx.Client
) -> None:
    code = _editable_items(api)[2]["implementation_code"]
    login("reform")
    # Make a draft first: the lock guards drafts.
    page.goto(f"/catalog/{code}/edit")
    page.get_by_test_id("save-button").click()
    page.wait_for_url(re.compile(r"\?saved=1$"))

    page.goto(f"/catalog/{code}/edit")
    other = page.context.new_page()
    other.goto(f"/catalog/{code}/edit")
    other.get_by_label("英文名称").fill("Saved by someone else first")
    other.get_by_test_id("save-button").click()
    other.wait_for_url(re.compile(r"\?saved=1$"))
    other.close()

    page.get_by_label("英文名称").fill("My late change")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_test_id("save-button").click()
    assert answer.value.status == 409
    expect(page.get_by_test_id("conflict")).to_contain_text("已有他人保存了这份草稿")
    expect(page.get_by_label("英文名称")).to_have_value("My late change")
    snap("1-conflict")
    page.goto(f"/catalog/{code}")
    expect(page.get_by_test_id("item-other-name")).to_have_text("Saved by someone else first")


def test_markup_in_a_name_is_shown_as_text(
    page: Page, snap: Snap, login: Login, api: httpx.Client
) -> None:
    code = _editable_items(api)[3]["implementation_code"]
    login("reform")
    page.goto(f"/catalog/{code}/edit")
    name = page.get_by_label("中文名称")
    hostile = name.input_value() + "<script>window.__tbXss = 1</script>"
    name.fill(hostile)
    page.get_by_label("英文名称").fill("<b>Bold</b> & <i>co</i>")
    page.get_by_test_id("save-button").click()
    page.wait_for_url(re.compile(r"\?saved=1$"))

    expect(page.get_by_test_id("item-name")).to_have_text(hostile)
    assert page.evaluate("window.__tbXss") is None
    expect(page.locator("h1 script, hgroup b, hgroup i")).to_have_count(0)
    expect(page.get_by_test_id("item-other-name")).to_have_text("<b>Bold</b> & <i>co</i>")
    snap("1-detail")

    page.goto(f"/catalog?q={code}")
    expect(page.locator(f"tr[data-code='{code}'] .item-name")).to_have_text(hostile)
    assert page.evaluate("window.__tbXss") is None
    snap("2-list")
