"""Logging in through the page: a wrong password is refused, and the form works by keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DEMO_PASSWORD, Snap

pytestmark = pytest.mark.browser


def test_wrong_password_is_refused_then_the_right_one_logs_in(page: Page, snap: Snap) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    snap("1-form")

    page.get_by_label("用户名").fill("reform")
    page.get_by_label("密码").fill("not-the-password")
    with page.expect_response(
        lambda r: r.url.endswith("/login") and r.request.method == "POST"
    ) as answer:
        page.locator("form[action='/login'] button[type=submit]").click()
    assert answer.value.status == 401
    expect(page.get_by_test_id("login-error")).to_have_text("用户名或密码错误。")
    expect(page.get_by_test_id("who")).to_have_count(0)
    expect(page.get_by_label("用户名")).to_have_value("reform")
    assert not [c for c in page.context.cookies() if c["name"] == "tb_session"]
    snap("2-wrong-password")

    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_test_id("who")).to_be_visible()
    expect(page.get_by_test_id("who")).not_to_be_empty()
    assert [c for c in page.context.cookies() if c["name"] == "tb_session"]
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    snap("3-logged-in")


def test_login_form_works_with_the_keyboard_only(page: Page, snap: Snap) -> None:
    page.goto("/login")
    # The username field has focus on arrival; otherwise Tab gets there from the top.
    for _ in range(25):
        if page.evaluate("document.activeElement && document.activeElement.id") == "username":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "username"
    page.keyboard.type("reform")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(DEMO_PASSWORD)
    snap("1-filled")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_test_id("who")).to_be_visible()
    snap("2-logged-in")

    # The focus ring is visible on a keyboard-focused link (focus-visible outline).
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")
