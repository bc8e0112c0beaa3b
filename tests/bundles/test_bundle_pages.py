"""Bundle pages through the test client: the list, the citizen's page, the ledger, the composer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2 import Template
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.bundles.test_bundles_api import _bundle
from tests.factories import assert_refused, item, login, make_org
from tongban.bundles import service
from tongban.bundles.models import BundleVersion
from tongban.bundles.pages import ANSWER_SYNTAX, WHEN_SYNTAX
from tongban.bundles.schemas import BundleDocument
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.web import templating
from tongban.web.i18n import translations

TEMPLATES = Path(templating.PACKAGE_DIR) / "bundles" / "templates" / "bundles"
ELEMENTS: list[dict[str, Any]] = [
    {"code": "DE.NAME", "name_zh": "姓名", "name_en": "Name", "max_length": 50},
    {
        "code": "DE.ID",
        "name_zh": "公民身份号码",
        "name_en": "Resident ID number",
        "validator": "resident_id",
        "max_length": 18,
        "source_department": "QX-GAJ",
    },
    {"code": "DE.SITE", "name_zh": "场所地址", "name_en": "Site address", "max_length": 200},
]


def zh(msgid: str, **params: Any) -> str:
    """A message as the Chinese page shows it (translated by the merged catalogue, escaped)."""
    text = translations("zh_CN").gettext(msgid)
    return str(escape(text % params if params else text))


def _world(session: Session) -> None:
    """The API tests' world (a permit, hiring that needs the permit, a safety record), with one
    material that the applicant still brings for each of hiring and safety, and a site field."""
    make_org(session)
    permit = item(
        "QX-ZJJ-1",
        "QX-ZJJ",
        name="施工许可",
        outputs=[
            {
                "code": "PERMIT",
                "name_zh": "施工许可证",
                "name_en": "Permit",
                "kind": "licence",
                "e_licence": True,
                "elements": ["DE.NAME"],
            }
        ],
    )
    hire = item(
        "QX-RSJ-1",
        "QX-RSJ",
        name="用工备案",
        materials=[
            {
                "code": "M-PERMIT",
                "name_zh": "施工许可证",
                "name_en": "Permit",
                "source": "item_output",
                "source_ref": "QX-ZJJ-1#PERMIT",
            },
            {"code": "M-CONTRACT", "name_zh": "劳动合同", "name_en": "Labour contract"},
        ],
    )
    safety = item(
        "QX-GAJ-1",
        "QX-GAJ",
        name="治安备案",
        type="public_service",
        materials=[{"code": "M-PLAN", "name_zh": "场所平面图", "name_en": "Site plan"}],
        form=[
            {"code": "F1", "label_zh": "姓名", "label_en": "Name", "element": "DE.NAME"},
            {
                "code": "F3",
                "label_zh": "场所地址",
                "label_en": "Site address",
                "element": "DE.SITE",
            },
        ],
    )
    draft = item("QX-RSJ-2", "QX-RSJ", status="draft", name="草稿事项")
    document = CatalogDocument.model_validate(
        {"elements": ELEMENTS, "items": [permit, hire, safety, draft]}
    )
    catalog_service.import_catalog(session=session, document=document)
    bundles = BundleDocument.model_validate({"bundles": [_bundle()]})
    service.import_bundles(session=session, document=bundles)
    session.commit()


def _section(html: str, testid: str) -> str:
    """The markup of the element with this data-testid, up to its matching closing tag."""
    start = re.search(rf'<(\w+)[^>]*data-testid="{re.escape(testid)}"', html)
    assert start, f"no data-testid={testid}"
    tag = start.group(1)
    depth = 0
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", html[start.start() :]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return html[start.start() : start.start() + found.end()]
    raise AssertionError(f"<{tag} data-testid={testid}> is not closed")


def _versions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(BundleVersion)) or 0


def _composer_form(csrf: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "code": "hire",
        "name_zh": "招工一件事",
        "name_en": "Hiring as one thing",
        "kind": "business_event",
        "lead_department": "QX-ZJJ",
        "partners": ["QX-RSJ"],
        "description": "用工一次办",
        "m-0-item": "QX-ZJJ-1",
        "m-0-stage": "1",
        "m-0-when": "",
        "m-1-item": "QX-RSJ-1",
        "m-1-stage": "2",
        "m-1-dep": ["QX-ZJJ-1"],
        "m-1-when": "hires=yes",
        "m-2-item": "",
        "m-2-stage": "1",
        "q-0-code": "hires",
        "q-0-text_zh": "是否用工？",
        "q-0-text_en": "Hiring?",
        "q-0-answers": "yes|是|Yes\nno|否|No",
        "q-1-code": "",
        "q-1-text_zh": "",
        "q-1-text_en": "",
        "q-1-answers": "",
    }
    data.update(extra)
    return data


# ---------------------------------------------------------------- list


def test_list_shows_bundles_and_the_new_button_only_to_the_reform_office(
    client: TestClient, session: Session
) -> None:
    _world(session)
    page = client.get("/bundles")
    assert page.status_code == 200
    row = _section(page.text, "bundles-table")
    assert "开工一件事" in row
    assert "<code>build</code>" in row
    assert zh("Business event") in row  # kind, translated
    assert "青溪县住建局" in row  # lead department
    assert 'data-status="published"' in row
    assert re.search(r'data-testid="members-count">3<', row)
    assert 'data-testid="new-bundle"' not in page.text

    login(client, "officer.rsj")
    assert 'data-testid="new-bundle"' not in client.get("/bundles").text
    client.cookies.clear()
    login(client, "reform")
    assert 'href="/bundles/new"' in client.get("/bundles").text


def test_pages_speak_chinese_and_english(client: TestClient, session: Session) -> None:
    _world(session)
    zh_list = client.get("/bundles").text
    en = client.get("/bundles?lang=en").text
    assert f"<h1>{zh('One-thing bundles')}</h1>" in zh_list
    assert zh("Business event") in zh_list
    assert "<h1>One-thing bundles</h1>" in en
    assert "Business event" in en
    assert "Start building" in en  # the bundle's English name
    ledger_en = client.get("/bundles/build/ledger?lang=en").text
    assert "Produced by another member" in ledger_en
    assert "One unified form" in ledger_en
    assert "Fields to fill in" in json.loads(_json_block(ledger_en))["categories"]
    page_en = client.get("/bundles/build?lang=en&answered=1&hires=no").text
    assert "Your one form" in page_en
    assert "Authoritative source: Qingxi Police" in page_en
    assert "Prefilled" not in page_en  # nothing prefills it yet: the page must not say so
    assert 'name="lang" value="en"' in page_en  # answering again keeps the language
    page_zh = client.get("/bundles/build?answered=1&hires=no").text
    assert zh("Your one form") in page_zh
    assert zh("Authoritative source: %(department)s", department="青溪县公安局") in page_zh


# ---------------------------------------------------------------- the citizen's page


def test_citizen_page_asks_the_questions(client: TestClient, session: Session) -> None:
    _world(session)
    page = client.get("/bundles/build")
    assert page.status_code == 200
    assert '<h1 data-testid="bundle-name">开工一件事</h1>' in page.text
    assert 'type="radio" id="q-hires-yes" name="hires" value="yes"' in page.text
    assert '<label for="q-hires-no">' in page.text
    assert 'data-testid="personal-hint"' in page.text
    assert 'data-testid="unified-form"' not in page.text
    form = _section(page.text, "questions-form")
    assert 'method="get"' in form
    assert 'name="answered" value="1"' in form


def test_answers_give_the_personal_form_materials_and_members(
    client: TestClient, session: Session
) -> None:
    _world(session)
    page = client.get("/bundles/build", params={"answered": "1", "hires": "no"})
    assert page.status_code == 200
    assert 'value="no" checked' in page.text
    members = _section(page.text, "members")
    assert 'href="/catalog/QX-ZJJ-1"' in members
    assert "施工许可" in members
    assert 'href="/catalog/QX-GAJ-1"' in members
    assert "QX-RSJ-1" not in members  # hiring does not apply: no hires
    form = _section(page.text, "unified-form")
    labels = re.findall(r'<label for="(pf-\d+)">([^<]+)', form)
    assert [text.strip() for _, text in labels] == ["姓名", "身份证号", "场所地址"]
    for field_id, _ in labels:
        assert f'<input id="{field_id}" type="text" readonly' in form
    assert form.count('aria-required="true"') == 3
    # The police hold the ID number by law; nothing fetches it yet, so nothing claims a prefill.
    assert zh("Authoritative source: %(department)s", department="青溪县公安局") in form
    assert "自动填写" not in form
    materials = _section(page.text, "materials")
    assert "场所平面图" in materials
    assert "劳动合同" not in materials
    assert "身份证" not in materials
    figures = _section(page.text, "figures-table")
    assert re.search(
        r'data-figure="forms">.*?data-value="before">2<.*?data-value="after">1<', figures, re.S
    )

    hiring = client.get("/bundles/build?answered=1&hires=yes")
    members = _section(hiring.text, "members")
    assert 'href="/catalog/QX-RSJ-1"' in members
    materials = _section(hiring.text, "materials")
    assert "劳动合同" in materials
    assert "场所平面图" in materials
    assert "施工许可证" not in materials  # produced by the permit, a member


def test_wrong_or_missing_answers_show_the_error_next_to_the_question(
    client: TestClient, session: Session
) -> None:
    _world(session)
    wrong = client.get("/bundles/build?answered=1&hires=maybe")
    assert wrong.status_code == 422
    error = _section(wrong.text, "answer-button")  # the form still offers to answer again
    assert error
    assert re.search(
        r'<fieldset class="question" data-question="hires" aria-invalid="true" '
        r'aria-describedby="q-hires-error">',
        wrong.text,
    )
    assert re.search(
        'id="q-hires-error" role="alert" data-error-for="hires">'
        + re.escape(zh("This is not one of the answers; choose one of those listed.")),
        wrong.text,
    )
    assert 'data-testid="unified-form"' not in wrong.text

    missing = client.get("/bundles/build?answered=1")
    assert missing.status_code == 422
    assert f'data-error-for="hires">{zh("Please choose an answer.")}' in missing.text
    assert_refused(client.get("/bundles/nope"), 404, "bundle_not_found")


def test_bundle_names_are_escaped(client: TestClient, session: Session) -> None:
    _world(session)
    hostile = "<script>alert(1)</script>"
    document = BundleDocument.model_validate(
        {"bundles": [_bundle(code="xss", name_zh="开工" + hostile, name_en="Start " + hostile)]}
    )
    service.import_bundles(session=session, document=document)
    session.commit()
    for url in ("/bundles", "/bundles/xss", "/bundles/xss/ledger"):
        text = client.get(url).text
        assert hostile not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# ---------------------------------------------------------------- the ledger


def _json_block(html: str) -> str:
    found = re.search(
        r'<script type="application/json" id="ledger-data">(.*?)</script>', html, re.S
    )
    assert found, "no ledger-data JSON block"
    return found.group(1)


def test_ledger_page_has_the_chart_data_rules_and_lines(
    client: TestClient, session: Session
) -> None:
    _world(session)
    page = client.get("/bundles/build/ledger")
    assert page.status_code == 200
    whole = client.post("/api/v1/bundles/build/compose", json={}).json()
    data = json.loads(_json_block(page.text))
    assert data["categories"] == [
        zh("Forms"),
        zh("Fields to fill in"),
        zh("Materials"),
        zh("Steps"),
        zh("Visits"),
        zh("Legal working days"),
        zh("Promised working days"),
    ]
    before, after = whole["before"], whole["after"]
    keys = ("forms", "fields", "materials", "steps", "visits")
    assert data["before_values"] == [*(before[k] for k in keys), *before["days"].values()]
    assert data["after_values"] == [*(after[k] for k in keys), *after["days"].values()]
    assert 'data-ledger-chart="ledger-data"' in page.text
    assert 'src="/static/vendor/echarts.min.js"' in page.text
    assert 'src="/static/bundles.js"' in page.text
    # No script code on the page but the JSON block (and the script files).
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.text)
    assert inline == [' type="application/json" id="ledger-data"']

    english = _section(client.get("/bundles/build/ledger?lang=en").text, "removed-steps")
    assert "<td>Acceptance</td>" in english  # the removed step named in English
    assert "<td>受理</td>" in _section(page.text, "removed-steps")  # and in Chinese
    materials = _section(page.text, "removed-materials")
    assert 'data-rule="member_output"' in materials
    assert zh("Produced by another member") in materials
    assert 'data-rule="shared_data"' in materials
    assert zh("Shared data") in materials
    assert 'href="/catalog/QX-RSJ-1"' in materials
    assert "由成员事项 QX-ZJJ-1#PERMIT 产生" in materials  # the reason, in Chinese
    assert zh("One unified form") in _section(page.text, "removed-forms")
    assert zh("Same data element asked once") in _section(page.text, "removed-fields")
    assert zh("Single-window acceptance") in _section(page.text, "removed-steps")
    assert "BUNDLE#acceptance" in _section(page.text, "added-steps")
    assert 'data-testid="no-conflicts"' in page.text
    critical = _section(page.text, "critical-path")
    assert 'href="/catalog/QX-ZJJ-1"' in critical
    assert 'href="/api/v1/bundles/build/bpmn"' in page.text
    assert 'href="/bundles/build"' in page.text
    assert 'data-testid="edit-link"' not in page.text  # only for the reform office
    figures = _section(page.text, "figures-table")
    assert figures.count("<tr data-figure=") == 7


def test_every_rule_has_a_translated_label() -> None:
    from tongban.bundles.compose import MERGED_STEP_KINDS
    from tongban.bundles.pages import RULE_LABELS
    from tongban.bundles.pages.common import REASON_TEXTS
    from tongban.web.i18n import translations

    rules = {
        "one_form",
        "same_element",
        "member_output",
        "e_licence",
        "shared_data",
        "same_material",
        "single_window_visit",
        "parallel_review",
        *MERGED_STEP_KINDS.values(),
    }
    assert rules <= set(RULE_LABELS)
    zh = translations("zh_CN")
    for msgid in RULE_LABELS.values():
        assert zh.gettext(msgid) != msgid, msgid
    # every reason of every rule of every kind is said in Chinese too
    for reason_id, msgid in REASON_TEXTS.items():
        assert reason_id.split(":", 1)[1] in RULE_LABELS, reason_id
        assert zh.gettext(msgid) != msgid, msgid


def test_the_ledger_gives_its_reasons_in_chinese(client: TestClient, session: Session) -> None:
    _world(session)
    page = client.get("/bundles/build/ledger")
    assert page.status_code == 200
    removed = page.text.split('data-testid="removed"', 1)[1].split("</section>\n</section>", 1)[0]
    assert "data-reason=" in removed
    untranslated = re.findall(r'<span lang="en">([^<]+)</span>', removed)
    assert untranslated == []


# ---------------------------------------------------------------- the composer


def test_composer_is_for_the_reform_office_only(client: TestClient, session: Session) -> None:
    _world(session)
    anonymous = client.get("/bundles/new", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    csrf = login(client, "officer.rsj")
    before = _versions(session)
    for url in ("/bundles/new", "/bundles/build/edit"):
        denied = client.get(url)
        assert_refused(denied, 403, "reform_office_only")
        assert 'data-testid="error"' in denied.text
    posted = client.post("/bundles/new", data=_composer_form(csrf), follow_redirects=False)
    assert_refused(posted, 403, "reform_office_only")
    preview = client.post("/bundles/preview", data=_composer_form(csrf))
    assert_refused(preview, 403, "reform_office_only")
    assert_refused(
        client.post("/bundles/build/publish", data={"csrf_token": csrf}), 403, "reform_office_only"
    )
    assert _versions(session) == before


def test_reform_office_saves_a_draft_through_the_form(client: TestClient, session: Session) -> None:
    _world(session)
    csrf = login(client, "reform")
    page = client.get("/bundles/new")
    assert page.status_code == 200
    form = _section(page.text, "composer-form")
    assert 'action="/bundles/new"' in form
    assert 'name="csrf_token"' in form
    assert '<label for="m-0-item">' in form
    assert '<label for="q-0-answers">' in form
    assert '<option value="QX-ZJJ-1">' in form  # published items to pick
    assert '<option value="QX-RSJ-2">' not in form  # not a draft item
    assert 'data-testid="preview-empty"' in page.text

    no_token = client.post("/bundles/new", data=_composer_form(""), follow_redirects=False)
    assert no_token.status_code == 403
    assert 'data-code="csrf_failed"' in no_token.text

    saved = client.post("/bundles/new", data=_composer_form(csrf), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/bundles/hire/edit?saved=1"
    client_view = client.get("/api/v1/bundles/hire").json()
    assert (client_view["status"], client_view["version_no"]) == ("draft", 1)
    bundle = client_view["bundle"]
    assert [m["item"] for m in bundle["members"]] == ["QX-ZJJ-1", "QX-RSJ-1"]
    assert bundle["members"][1] == {
        "item": "QX-RSJ-1",
        "stage": 2,
        "depends_on": ["QX-ZJJ-1"],
        "when": {"hires": ["yes"]},
    }
    assert bundle["questions"][0]["answers"] == [
        {"code": "yes", "zh": "是", "en": "Yes"},
        {"code": "no", "zh": "否", "en": "No"},
    ]
    assert bundle["partners"] == ["QX-RSJ"]

    edit = client.get("/bundles/hire/edit?saved=1")
    assert edit.status_code == 200
    assert 'data-testid="notice"' in edit.text
    assert 'value="hires=yes"' in edit.text
    assert "yes|是|Yes\nno|否|No</textarea>" in edit.text
    assert 'data-testid="publish-button"' in edit.text
    assert 'id="ledger-data"' in edit.text  # the saved definition's ledger at once
    # Saving again with the page's lock version keeps the same draft.
    lock = re.search(r'name="lock_version" value="(\d+)"', edit.text)
    assert lock
    again = client.post(
        "/bundles/hire/edit",
        data=_composer_form(csrf, lock_version=lock.group(1), name_en="Hiring, once"),
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert client.get("/api/v1/bundles/hire").json()["bundle"]["name_en"] == "Hiring, once"
    stale = client.post(
        "/bundles/hire/edit",
        data=_composer_form(csrf, lock_version=lock.group(1), name_en="Too late"),
        follow_redirects=False,
    )
    assert stale.status_code == 409
    assert 'data-testid="conflict"' in stale.text
    assert 'value="Too late"' in stale.text


def test_a_bad_draft_shows_errors_on_its_rows_and_writes_nothing(
    client: TestClient, session: Session
) -> None:
    _world(session)
    csrf = login(client, "reform")
    before = _versions(session)
    bad = _composer_form(
        csrf,
        name_zh="",
        **{
            "m-0-item": "QX-NOPE-1",
            "m-1-when": "hires",
            "q-0-answers": "yes|是|Yes\nno|否",
        },
    )
    response = client.post("/bundles/new", data=bad, follow_redirects=False)
    assert response.status_code == 422
    text = response.text
    assert 'data-testid="form-errors"' in text
    assert f'data-error-for="name_zh">{zh("This field is required.")}' in text
    assert 'aria-describedby="name_zh-error"' in text
    assert f'data-error-for="member-1">{zh(WHEN_SYNTAX)}' in text
    assert f'data-error-for="question-0">{zh("Line %(n)s", n=2)}: {zh(ANSWER_SYNTAX)}' in text
    assert 'value="QX-NOPE-1"' in text or "QX-NOPE-1" in text  # what was typed stays
    assert 'value="hires"' in text
    assert _versions(session) == before

    # The form is well formed but names an unknown item: the service says so, on its row.
    unknown = client.post("/bundles/new", data=_composer_form(csrf, **{"m-2-item": "QX-NOPE-1"}))
    assert unknown.status_code == 422
    assert 'data-error-for="member-2">unknown item &#39;QX-NOPE-1&#39;' in unknown.text
    # A cycle names the members.
    cycle = client.post(
        "/bundles/new",
        data=_composer_form(csrf, **{"m-0-dep": ["QX-RSJ-1"]}),
    )
    assert cycle.status_code == 422
    assert 'data-error-for="members">dependency cycle' in cycle.text
    # A lead department outside the office's county is refused, on that field.
    elsewhere = client.post("/bundles/new", data=_composer_form(csrf, lead_department="BS-RSJ"))
    assert elsewhere.status_code == 403
    assert 'data-error-for="lead_department">' in elsewhere.text
    # The code of an existing bundle is refused when making a new one.
    taken = client.post("/bundles/new", data=_composer_form(csrf, code="build"))
    assert taken.status_code == 422
    assert f'data-error-for="code">{zh("A bundle with this code already exists.")}' in taken.text
    assert _versions(session) == before


def test_preview_recomposes_the_unsaved_definition(client: TestClient, session: Session) -> None:
    _world(session)
    csrf = login(client, "reform")
    partial = client.post(
        "/bundles/preview", data=_composer_form(csrf), headers={"HX-Request": "true"}
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text
    data = json.loads(_json_block(partial.text))
    assert data["before_values"][0] == 2
    assert data["after_values"][0] == 1
    assert 'data-testid="preview-summary"' in partial.text
    # Hiring that does not wait for the permit it needs: a lint, shown with the preview.
    lint = client.post(
        "/bundles/preview",
        data=_composer_form(csrf, **{"m-1-dep": []}),
        headers={"HX-Request": "true"},
    )
    lints = _section(lint.text, "preview-lints")
    assert 'data-rule="unsupplied_input"' in lints
    assert zh("Input nothing supplies") in lints
    broken = client.post(
        "/bundles/preview",
        data=_composer_form(csrf, **{"m-2-item": "QX-RSJ-2"}),  # a draft item
        headers={"HX-Request": "true"},
    )
    errors = _section(broken.text, "preview-errors")
    assert f"{zh('Member %(n)s', n=3)}: item &#39;QX-RSJ-2&#39; is not published" in errors
    # Without JavaScript the same button gives the whole composer, with the preview and the
    # form as typed, and empty rows to add more.
    full = client.post("/bundles/preview", data=_composer_form(csrf, name_zh="试一试"))
    assert full.status_code == 200
    assert "<html" in full.text
    assert 'value="试一试"' in full.text
    assert 'id="ledger-data"' in full.text
    assert 'name="m-3-item"' in full.text
    no_token = client.post("/bundles/preview", data=_composer_form("x"))
    assert_refused(no_token, 403, "csrf_failed")


def test_publish_lists_the_lints_then_publishes(client: TestClient, session: Session) -> None:
    _world(session)
    csrf = login(client, "reform")
    # A draft of the bundle in which hiring forgets that it waits for the permit.
    form = _composer_form(csrf, code="build", **{"m-1-dep": []})
    assert client.post("/bundles/build/edit", data=form, follow_redirects=False).status_code == 303
    edit = client.get("/bundles/build/edit")
    lints = _section(edit.text, "lints")
    assert 'data-rule="unsupplied_input"' in lints
    assert "members[1] (QX-RSJ-1).materials[0]" in unescape(lints)
    refused = client.post("/bundles/build/publish", data={"csrf_token": csrf})
    assert refused.status_code == 422
    assert "[unsupplied_input]" in _section(refused.text, "publish-errors")
    assert client.get("/api/v1/bundles/build").json()["status"] == "draft"

    fixed = _composer_form(csrf, code="build")
    assert client.post("/bundles/build/edit", data=fixed, follow_redirects=False).status_code == 303
    assert 'data-testid="no-lints"' in client.get("/bundles/build/edit").text
    assert_refused(client.post("/bundles/build/publish", data={}), 403, "csrf_failed")  # no token
    published = client.post(
        "/bundles/build/publish", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert published.status_code == 303
    assert published.headers["location"] == "/bundles/build/ledger?published=1"
    page = client.get(published.headers["location"])
    assert 'data-testid="notice"' in page.text
    assert 'data-testid="edit-link"' in page.text
    assert client.get("/api/v1/bundles/build").json()["versions"] == [
        [1, "retired"],
        [2, "published"],
    ]


# ---------------------------------------------------------------- every template


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    names: set[str] = set()
    original = templating.env.get_template

    def recording(name: str | Template, *args: Any, **kwargs: Any) -> Template:
        names.add(str(name))
        return original(name, *args, **kwargs)

    monkeypatch.setattr(templating.env, "get_template", recording)
    return names


def test_every_template_is_rendered(
    client: TestClient, session: Session, rendered: set[str]
) -> None:
    _world(session)
    csrf = login(client, "reform")
    for url in (
        "/bundles",
        "/bundles/build",
        "/bundles/build?answered=1&hires=yes",
        "/bundles/build/ledger",
        "/bundles/new",
        "/bundles/build/edit",
    ):
        assert client.get(url).status_code == 200, url
    client.post("/bundles/preview", data=_composer_form(csrf), headers={"HX-Request": "true"})
    expected = {f"bundles/{p.name}" for p in TEMPLATES.glob("*.html")}
    assert expected, TEMPLATES
    assert expected <= rendered, sorted(expected - rendered)
