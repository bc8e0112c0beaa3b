"""From the guide to the receipt (issue 12, points 1 and 2): information pages lead to applying
with the answers carried, the applicant's details are asked once, the answers are checked
before submitting (each can be changed, files chosen stay chosen), and the confirmation page
gives the case number, what happens next, the receipt and the one-time notice."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.test_case_pages import (
    GOOD_ID,
    _as,
    _big_world,
    _hidden,
    _post,
    _submitted,
)
from tests.factories import ELEMENTS, assert_refused, item
from tongban.cases.models import Case, Upload
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.errors import ValidationFailed
from tongban.org import service as org_service
from tongban.org.schemas import OrgDocument

HALL = {
    "service_halls": [
        {
            "code": "QX-HALL",
            "name_zh": "青溪县政务服务中心",
            "name_en": "Qingxi County Government Service Centre",
            "jurisdiction": "990123",
            "address_zh": "溪畔路88号",
            "address_en": "88 Xipan Road",
            "hours_zh": "工作日 9:00–17:00",
            "hours_en": "Working days 9:00–17:00",
            "phone": "0999-12345",
        }
    ]
}
PRICE = {"code": "DE.PRICE", "name_zh": "成交价格", "name_en": "Price", "type": "money"}
PHONE = {
    "code": "DE.PHONE",
    "name_zh": "联系电话",
    "name_en": "Phone",
    "validator": "phone",
    "applicant_field": "phone",
}
NAME = {**ELEMENTS[0], "applicant_field": "name"}
ID = {**ELEMENTS[1], "applicant_field": "id_no"}


def _journey_world(session: Session) -> None:
    """An item asking two materials of the applicant (one required), a price, the applicant's
    name, ID and phone (asked once), and a service hall for the county."""
    _big_world(session)
    sale = item(
        "QX-ZJJ-60",
        "QX-ZJJ",
        name="房屋交易备案",
        materials=[
            {"code": "M-CONTRACT", "name_zh": "买卖合同", "name_en": "Contract", "copies": 2},
            {
                "code": "M-PHOTO",
                "name_zh": "现场照片",
                "name_en": "Photo",
                "necessity": "optional",
            },
        ],
        form=[
            {"code": "F1", "label_zh": "姓名", "label_en": "Name", "element": "DE.NAME"},
            {"code": "F2", "label_zh": "身份证号", "label_en": "ID", "element": "DE.ID"},
            {"code": "F3", "label_zh": "电话", "label_en": "Phone", "element": "DE.PHONE"},
            {
                "code": "F4",
                "label_zh": "成交价格",
                "label_en": "Price",
                "element": "DE.PRICE",
                "required": True,
            },
        ],
    )
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {"elements": [NAME, ID, PHONE, PRICE], "items": [sale]}
        ),
    )
    org_service.load_org(session=session, document=OrgDocument.model_validate(HALL))
    session.commit()


def _form(page: str, **override: str) -> dict[str, str]:
    data = {
        "csrf_token": _hidden(page, "csrf_token"),
        "idempotency_key": _hidden(page, "idempotency_key"),
        "carried": _hidden(page, "carried"),
        "item": "QX-ZJJ-60",
        "channel": "window",
        "applicant.name": "王五",
        "applicant.id_no": GOOD_ID,
        "applicant.phone": "138 0013 8000",
        "applicant.jurisdiction": "990123001",
        "form.DE.PRICE": "1,500,000",
    }
    data.update(override)
    return data


def _hidden_inputs(html: str) -> dict[str, str]:
    """Every hidden input of a page, as the browser would send them back."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: unescape(value) for name, value in found}


def _count(session: Session) -> int:
    return len(session.scalars(select(Case)).all())


def test_the_item_page_leads_to_applying_and_a_draft_does_not(
    client: TestClient, session: Session
) -> None:
    _journey_world(session)
    page = client.get("/catalog/QX-ZJJ-60")
    assert 'href="/apply?item=QX-ZJJ-60"' in page.text
    assert "申请办理此事项" in page.text
    _as(client, "reform")
    # A draft (or an item no one applies for) offers no way to apply.
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {"elements": ELEMENTS, "items": [item("QX-ZJJ-61", "QX-ZJJ", status="draft")]}
        ),
    )
    session.commit()
    assert 'href="/apply?item=QX-ZJJ-61"' not in client.get("/catalog/QX-ZJJ-61").text


def test_the_bundle_page_carries_the_answers_to_the_form(
    client: TestClient, session: Session
) -> None:
    _journey_world(session)
    guide = client.get("/bundles/handover?answered=1&permit=no")
    assert guide.status_code == 200
    link = re.search(r'href="(/apply\?bundle=handover[^"]*)" role="button"', guide.text)
    assert link, guide.text
    url = unescape(link.group(1))
    assert "answer.permit=no" in url
    assert "answered=1" in url
    form = client.get(url)
    assert form.status_code == 200
    # the questions are not asked again: the form carries the answer
    assert 'name="answer.permit" value="no"' in form.text
    assert 'data-testid="questions-form"' not in form.text


def test_the_applicants_details_are_asked_once(client: TestClient, session: Session) -> None:
    _journey_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-60")
    assert 'name="applicant.name"' in page.text
    for element in ("DE.NAME", "DE.ID", "DE.PHONE"):
        assert f'name="form.{element}"' not in page.text  # not asked a second time
    assert 'data-testid="asked-once"' in page.text
    done = _post(
        client,
        "/apply",
        _form(page.text),
        files={"material.M-CONTRACT": ("合同.pdf", b"%PDF-1.4 contract", "application/pdf")},
    )
    _submitted(client, done)
    case = session.scalars(select(Case)).one()
    assert case.form_data["DE.NAME"] == "王五"
    assert case.form_data["DE.ID"] == GOOD_ID
    assert case.form_data["DE.PHONE"] == "13800138000"  # normalised, as the applicant's own
    assert case.form_data["DE.PRICE"] == 150_000_000


def test_the_intake_api_fills_the_applicants_elements_too(
    client: TestClient, session: Session
) -> None:
    _journey_world(session)
    token = _as(client, "frontdesk")
    created = client.post(
        "/api/v1/cases",
        json={
            "item": "QX-ZJJ-60",
            "applicant": {
                "name": "王五",
                "id_no": GOOD_ID,
                "phone": "13800138000",
                "jurisdiction": "990123001",
            },
            "form": {"DE.PRICE": 100},
            "idempotency_key": "api-asked-once-1",
        },
        headers={"x-csrf-token": token},
    )
    assert created.status_code == 201, created.text
    case = session.scalars(select(Case)).one()
    assert (case.form_data["DE.NAME"], case.form_data["DE.ID"]) == ("王五", GOOD_ID)


def test_check_your_answers_then_change_one_then_submit(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    _journey_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-60")
    assert 'data-testid="continue-button"' in page.text
    check = _post(
        client,
        "/apply",
        {**_form(page.text), "step": "check"},
        files={"material.M-CONTRACT": ("合同.pdf", b"%PDF-1.4 contract", "application/pdf")},
    )
    assert check.status_code == 200, check.text
    assert "提交前请核对您填写的信息" in check.text
    assert _count(session) == 0  # nothing is submitted by checking
    assert "¥1,500,000.00" in check.text  # the price read back in yuan
    assert "合同.pdf" in check.text  # the file chosen, carried
    assert 'value="applicant-name"' in check.text  # a Change button for the name
    # Change the price: back on the form, everything kept, the focus on the price.
    back = _post(client, "/apply", {**_hidden_inputs(check.text), "change": "f-DE-PRICE"})
    assert back.status_code == 200
    assert 'data-focus="f-DE-PRICE"' in back.text
    assert 'value="王五"' in back.text
    assert 'data-testid="chosen-files"' in back.text
    assert "合同.pdf" in back.text
    # the browser sends back what the form shows (the carried files in their hidden input)
    assert _hidden(back.text, "idempotency_key") == _hidden(page.text, "idempotency_key")
    again = _post(
        client, "/apply", _form(back.text, **{"form.DE.PRICE": "1,600,000", "step": "check"})
    )
    assert again.status_code == 200
    assert "¥1,600,000.00" in again.text
    assert "合同.pdf" in again.text
    done = _post(client, "/apply", {**_hidden_inputs(again.text), "step": "submit"})
    number = _submitted(client, done)
    case = session.scalars(select(Case)).one()
    assert case.number == number
    assert case.form_data["DE.PRICE"] == 160_000_000
    upload = session.scalars(select(Upload)).one()
    assert (upload.purpose, upload.filename) == ("M-CONTRACT", "合同.pdf")


def test_a_forged_file_token_carries_nothing(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The carried files are signed: a token naming another person's file by its hash (which
    staff see on case pages) attaches nothing."""
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    _journey_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-60")
    check = _post(
        client,
        "/apply",
        {**_form(page.text), "step": "check"},
        files={"material.M-CONTRACT": ("合同.pdf", b"%PDF-1.4 contract", "application/pdf")},
    )
    fields = _hidden_inputs(check.text)
    payload, _, signature = fields["carried"].rpartition(".")
    forged = {**fields, "carried": payload + "." + signature[::-1], "step": "submit"}
    done = _post(client, "/apply", forged)
    _submitted(client, done)
    assert session.scalars(select(Upload)).all() == []


def test_an_error_summary_links_to_each_field(client: TestClient, session: Session) -> None:
    _journey_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-60")
    bad = _post(
        client,
        "/apply",
        {**_form(page.text), "applicant.id_no": "123", "form.DE.PRICE": "", "step": "check"},
    )
    assert bad.status_code == 422
    summary = re.search(r'data-testid="error-links">(.*?)</ul>', bad.text, re.S)
    assert summary
    assert 'href="#applicant-id"' in summary.group(1)
    assert 'href="#f-DE-PRICE"' in summary.group(1)
    assert "data-error-summary" in bad.text  # the page script moves the focus to it


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) reads the PDF's text")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return out.stdout.decode()


def _confirmation(
    client: TestClient, session: Session, tmp_path: Path, **files: Any
) -> tuple[str, str]:
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-ZJJ-60")
    done = _post(client, "/apply", _form(page.text), files=files or None)
    number = _submitted(client, done)
    return number, done.headers["location"]


def test_the_confirmation_gives_the_number_the_window_and_what_is_missing(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    _journey_world(session)
    number, location = _confirmation(client, session, tmp_path)
    page = client.get(location)
    assert page.status_code == 200
    assert f'data-testid="case-number">{number}<' in page.text
    assert "溪畔路88号" in page.text
    assert "0999-12345" in page.text
    missing = re.search(r'data-testid="missing-materials">(.*?)</section>', page.text, re.S)
    assert missing
    assert "买卖合同" in missing.group(1)
    assert "现场照片" not in missing.group(1)  # optional: not demanded
    query = location.split("?", 1)[1]
    receipt = client.get(f"/apply/done/receipt.pdf?{query}")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"] == "application/pdf"
    assert receipt.headers["x-content-type-options"] == "nosniff"
    assert receipt.content.startswith(b"%PDF")
    text = _pdf_text(receipt.content, tmp_path)
    assert number in text
    assert "受理回执" in text
    assert "尚未提交" in text
    assert "1101**********002X" in text  # the ID masked on paper
    notice = client.get(f"/apply/done/notice.pdf?{query}")
    assert notice.status_code == 200
    text = _pdf_text(notice.content, tmp_path)
    assert "一次性告知书" in text
    assert "买卖合同" in text
    assert "第三十二条" in text
    assert "现场照片" not in text


def test_with_every_material_the_notice_says_nothing_is_missing(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    _journey_world(session)
    number, location = _confirmation(
        client,
        session,
        tmp_path,
        **{"material.M-CONTRACT": ("合同.pdf", b"%PDF-1.4 contract", "application/pdf")},
    )
    page = client.get(location)
    assert 'data-testid="missing-materials"' not in page.text
    text = _pdf_text(client.get(f"/cases/{number}/notice.pdf").content, tmp_path)
    assert "材料齐全" in text


def test_a_confirmation_link_that_was_altered_opens_nothing(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    _journey_world(session)
    _number, location = _confirmation(client, session, tmp_path)
    token = location.split("t=", 1)[1]
    client.cookies.clear()
    for url in ("/apply/done?t=", "/apply/done/receipt.pdf?t=", "/apply/done/notice.pdf?t="):
        assert_refused(client.get(url + token[:-3] + "abc"), 404, "confirmation_link_invalid")
    assert_refused(client.get("/apply/done/receipt.pdf?t="), 404, "confirmation_link_invalid")
    # the real link works without logging in: it is the applicant's
    assert client.get(location).status_code == 200


def test_staff_print_the_receipt_again_and_others_cannot(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    _journey_world(session)
    number, _ = _confirmation(client, session, tmp_path)
    case_page = client.get(f"/cases/{number}")
    assert f'href="/cases/{number}/receipt.pdf"' in case_page.text
    assert client.get(f"/cases/{number}/receipt.pdf").content.startswith(b"%PDF")
    client.cookies.clear()
    anonymous = client.get(f"/cases/{number}/receipt.pdf", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    _as(client, "reform.baishi")  # the reform office of another county sees none of its cases
    assert_refused(client.get(f"/cases/{number}/notice.pdf"), 404, "case_not_found")


def test_service_halls_and_contacts_load_from_the_org_file(session: Session) -> None:
    _journey_world(session)
    report = org_service.load_org(
        session=session,
        document=OrgDocument.model_validate(
            {
                "departments": [
                    {
                        "code": "QX-ZJJ",
                        "name_zh": "青溪县住房和城乡建设局",
                        "jurisdiction": "990123",
                        "contact": {"address_zh": "建设路1号", "phone": "0999-1"},
                    }
                ],
                "service_halls": [{**HALL["service_halls"][0], "phone": "0999-54321"}],
            }
        ),
    )
    kinds = {(c.action, c.kind, c.key) for c in report.changes}
    assert ("update", "service hall", "QX-HALL") in kinds
    assert ("update", "department", "QX-ZJJ") in kinds
    with pytest.raises(ValidationFailed) as refused:
        org_service.load_org(
            session=session,
            document=OrgDocument.model_validate(
                {
                    "service_halls": [
                        {"code": "H1", "name_zh": "甲", "jurisdiction": "990123"},
                        {"code": "H1", "name_zh": "乙", "jurisdiction": "999999"},
                    ]
                }
            ),
        )
    messages = " ".join(e.message for e in refused.value.errors)
    assert "appears twice" in messages
    assert "unknown jurisdiction '999999'" in messages
