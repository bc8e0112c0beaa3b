"""Whole journeys in a real browser, in Chinese, on a phone and at desktop size (issue 12, *Done
when*): the citizen finds a one-thing, answers once, checks, submits, gets a receipt and
follows the case; the window takes an application with a missing material and prints the
one-time notice. Every page of the way is checked for sideways scroll on the phone and by
axe-core; screenshots are kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.axe import Axe
from tests.browser.conftest import DEMO_PASSWORD, SCREENSHOTS
from tests.browser.test_accessibility import VIEWPORTS
from tongban.kit.ids import resident_id_check_char

pytestmark = pytest.mark.browser

BUNDLE = "newborn-birth"


def _resident_id(body17: str) -> str:
    return body17 + resident_id_check_char(body17)


@pytest.fixture(params=["phone", "desktop"])
def sized(request: pytest.FixtureRequest, browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=server, locale="zh-CN", **VIEWPORTS[request.param])
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.size = request.param  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


class Walk:
    """Screenshots, a sideways-scroll check on the phone, and axe-core, at every page."""

    def __init__(self, page: Page, axe: Axe, name: str) -> None:
        self.page, self.axe, self.name = page, axe, name
        self.size: str = page.size  # type: ignore[attr-defined]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def at(self, step: str) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        shot = SCREENSHOTS / f"journey-{self.name}-{self.size}-{step}.png"
        page.screenshot(path=str(shot), full_page=True)
        if self.size == "phone":
            width = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert width[0] <= width[1], f"{step} scrolls sideways on a phone: {width}"
        found = self.axe.check(page, f"{self.name} {step} ({self.size})")
        assert not found, found


def test_a_citizen_applies_for_a_one_thing_and_takes_the_receipt(
    sized: Page, axe: Axe, tmp_path: Path
) -> None:
    page = sized
    walk = Walk(page, axe, "citizen")
    mother = _resident_id("99012319900101002")
    # The guide: the one-thing's page, the situation answered there.
    page.goto(f"/bundles/{BUNDLE}")
    walk.at("01-guide")
    page.locator("#q-needs_sscard-yes").check()
    page.get_by_test_id("answer-button").click()
    expect(page.get_by_test_id("personal-summary")).to_be_visible()
    walk.at("02-guide-answered")
    # Apply from the guide: the answers are carried, not asked again.
    page.get_by_test_id("apply-link").click()
    page.wait_for_url(re.compile(r"/apply\?bundle=newborn-birth.*answer\.needs_sscard=yes"))
    expect(page.locator("input[name='answer.needs_sscard']")).to_have_value("yes")
    expect(page.get_by_test_id("asked-once")).to_be_visible()
    walk.at("03-form")
    page.locator("#applicant-name").fill("林晓")
    page.locator("#applicant-id").fill(mother)
    page.locator("#applicant-phone").fill("138-0013-8000")
    page.locator("#applicant-place").select_option("990123001001")
    page.locator("#f-DE-SPOUSE_NAME").fill("陈明")
    page.locator("#f-DE-CHILD_NAME").fill("陈小林")
    page.locator("#f-DE-CHILD_BIRTH_DATE").fill("2026-11-20")
    page.locator("#f-DE-RELATION").select_option("父母")
    page.locator("#f-DE-HUKOU_ADDRESS").fill("青溪县城关街道南门社区1号")
    # A mistake first: the error summary takes the focus and links to the field.
    page.locator("#f-DE-CHILD_NAME").fill("")
    page.get_by_test_id("continue-button").click()
    summary = page.get_by_test_id("form-errors")
    expect(summary).to_be_focused()
    walk.at("04-error-summary")
    summary.locator("a[data-target='f-DE-CHILD_NAME']").click()
    expect(page.locator("#f-DE-CHILD_NAME")).to_be_focused()
    page.locator("#f-DE-CHILD_NAME").fill("陈小林")
    page.get_by_test_id("continue-button").click()
    # Check your answers, change one, check again.
    expect(page.get_by_test_id("check-title")).to_be_visible()
    expect(page.get_by_test_id("check-applicant")).to_contain_text("13800138000")
    walk.at("05-check")
    page.locator("button[name=change][value=f-DE-CHILD_NAME]").click()
    expect(page.locator("#f-DE-CHILD_NAME")).to_be_focused()
    expect(page.locator("#applicant-name")).to_have_value("林晓")
    page.locator("#f-DE-CHILD_NAME").fill("陈小溪")
    page.get_by_test_id("continue-button").click()
    expect(page.get_by_test_id("check-fields")).to_contain_text("陈小溪")
    page.get_by_test_id("submit-application").click()
    # Confirmation: the number, what happens next, the window, the receipt.
    page.wait_for_url(re.compile(r"/apply/done\?t="))
    number = page.get_by_test_id("case-number").inner_text().strip()
    expect(page.get_by_test_id("what-next")).to_contain_text("工作日")
    expect(page.get_by_test_id("window-contact")).to_contain_text("青溪县政务服务中心")
    expect(page.get_by_test_id("missing-materials")).to_be_visible()  # nothing was uploaded
    walk.at("06-confirmation")
    href = page.get_by_test_id("receipt-link").get_attribute("href")
    assert href
    receipt = page.request.get(href)
    assert receipt.status == 200
    assert receipt.headers["content-type"] == "application/pdf"
    (SCREENSHOTS / f"journey-citizen-{walk.size}-receipt.pdf").write_bytes(receipt.body())
    notice = page.request.get(page.get_by_test_id("notice-link").get_attribute("href") or "")
    assert notice.body().startswith(b"%PDF")
    # Follow the case with the number and the ID number.
    page.get_by_test_id("status-link").click()
    page.get_by_label("申请人证件号码").fill(mother)
    page.get_by_test_id("status-button").click()
    expect(page.get_by_test_id("status-result")).to_contain_text(number)
    walk.at("07-status")


def test_the_window_takes_an_application_with_a_missing_material(
    sized: Page, axe: Axe, server: str
) -> None:
    page = sized
    walk = Walk(page, axe, "window")
    page.goto("/login")
    page.get_by_label("用户名").fill("frontdesk")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"/apply?bundle={BUNDLE}&answered=1&answer.needs_sscard=no")
    page.locator("#applicant-name").fill("周岚")
    page.locator("#applicant-id").fill(_resident_id("99012319920202004"))
    page.locator("#applicant-place").select_option("990123101")
    # The form needs a phone (a required field the applicant's phone fills): said at once.
    page.get_by_test_id("continue-button").click()
    expect(page.get_by_test_id("form-errors")).to_be_focused()
    expect(page.locator("#applicant-phone")).to_have_attribute("aria-invalid", "true")
    page.locator("#applicant-phone").fill("13700990124")
    page.locator("#f-DE-SPOUSE_NAME").fill("郑凯")
    page.locator("#f-DE-CHILD_NAME").fill("郑一")
    page.locator("#f-DE-CHILD_BIRTH_DATE").fill("2026-11-25")
    page.locator("#f-DE-RELATION").select_option("父母")
    page.locator("#f-DE-HUKOU_ADDRESS").fill("青溪县白石镇白石社区2号")
    page.get_by_test_id("continue-button").click()
    expect(page.locator(".missing-material").first).to_be_visible()
    walk.at("01-check-missing")
    page.get_by_test_id("submit-application").click()
    page.wait_for_url(re.compile(r"/apply/done\?t="))
    # Baishi's own hall is the window of a Baishi applicant.
    expect(page.get_by_test_id("window-contact")).to_contain_text("白石镇便民服务中心")
    walk.at("02-confirmation")
    notice = page.request.get(page.get_by_test_id("notice-link").get_attribute("href") or "")
    assert notice.status == 200
    assert notice.body().startswith(b"%PDF")
    (SCREENSHOTS / f"journey-window-{walk.size}-notice.pdf").write_bytes(notice.body())
    page.get_by_test_id("case-link").click()
    expect(page.get_by_test_id("case-notice")).to_be_visible()
    reprint = page.request.get(page.get_by_test_id("case-receipt").get_attribute("href") or "")
    assert reprint.body().startswith(b"%PDF")
