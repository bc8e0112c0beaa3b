"""The case pages as people use them: apply, follow, the workbench, the case page with its
actions, the committee's page and the signing page (through the HTML forms, with CSRF)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.cases.test_cases_api import PDF, _steps, _submit, _world
from tests.factories import ELEMENTS, assert_refused, item, login
from tongban.bundles import service as bundle_service
from tongban.bundles.schemas import BundleDocument
from tongban.cases import service
from tongban.cases.models import Case, CaseEvent, CaseStep, Upload
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.config import get_settings
from tongban.db import utcnow
from tongban.kit import workdays

GOOD_ID = "11010519491231002X"
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32


def _signing_item() -> dict[str, Any]:
    return item(
        "QX-RSJ-20",
        "QX-RSJ",
        name="公共设施移交",
        steps=[
            {
                "code": "S1",
                "kind": "acceptance",
                "name_zh": "受理",
                "name_en": "Accept",
                "responsible": "QX-RSJ",
                "limit_days": 1,
            },
            {
                "code": "S2",
                "kind": "e_signature",
                "name_zh": "在线签订交接书",
                "name_en": "Sign the handover agreement",
                "responsible": "QX-RSJ",
                "limit_days": 1,
            },
        ],
    )


def _big_world(session: Session) -> None:
    """The engine tests' world, plus an item with a signing step and a bundle with a question."""
    _world(session)
    elements = [
        *ELEMENTS,
        {"code": "DE.BANK_ACCOUNT", "name_zh": "银行账号", "name_en": "Account", "max_length": 32},
    ]
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {
                "elements": elements,
                "items": [_signing_item(), item("QX-ZJJ-1", "QX-ZJJ", name="施工许可")],
            }
        ),
    )
    bundle = {
        "code": "handover",
        "name_zh": "移交一件事",
        "name_en": "Handover in one go",
        "kind": "business_event",
        "lead_department": "QX-RSJ",
        "partners": ["QX-ZJJ"],
        "questions": [
            {
                "code": "permit",
                "text_zh": "是否需要施工许可？",
                "text_en": "Is a building permit needed?",
                "answers": [
                    {"code": "yes", "zh": "是", "en": "Yes"},
                    {"code": "no", "zh": "否", "en": "No"},
                ],
            }
        ],
        "members": [
            {"item": "QX-RSJ-20"},
            {"item": "QX-ZJJ-1", "when": {"permit": ["yes"]}},
        ],
    }
    bundle_service.import_bundles(
        session=session, document=BundleDocument.model_validate({"bundles": [bundle]})
    )
    session.commit()


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return unescape(found.group(1))


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Case)) or 0


def _application_form(page: str, **override: str) -> dict[str, str]:
    data = {
        "csrf_token": _hidden(page, "csrf_token"),
        "idempotency_key": _hidden(page, "idempotency_key"),
        "item": "QX-RSJ-10",
        "channel": "window",
        "applicant.name": "张三",
        "applicant.id_no": GOOD_ID,
        "applicant.phone": "13800138000",
        "applicant.jurisdiction": "990123001",
        "form.DE.NAME": "张三",
        "form.DE.ID": GOOD_ID,
        "form.DE.BANK_ACCOUNT": "6222000011112222",
    }
    data.update(override)
    return data


def _error_next_to(html: str, input_id: str) -> str:
    """The error shown next to an input, found through its aria-describedby."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*id="{re.escape(input_id)}"[^>]*>', html)
    assert tag, f"no input {input_id}"
    assert 'aria-invalid="true"' in tag.group(0)
    error = re.search(
        rf'<small class="field-error" id="{re.escape(input_id)}-error"[^>]*>(.*?)</small>',
        html,
        re.S,
    )
    assert error, f"no error next to {input_id}"
    return unescape(error.group(1)).strip()


def _step_id(client: TestClient, number: str, kind: str) -> int:
    return int(next(s["id"] for s in _steps(client, number) if s["kind"] == kind))


def _lock(client: TestClient, number: str, step_id: int) -> str:
    return str(next(s["lock_version"] for s in _steps(client, number) if s["id"] == step_id))


def _post(client: TestClient, url: str, data: dict[str, str], **kwargs: Any) -> Any:
    return client.post(url, data=data, follow_redirects=False, **kwargs)


def _submitted(client: TestClient, done: Any) -> str:
    """The case number a submission made, read from the confirmation page it leads to."""
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/apply/done?t="), done.headers["location"]
    page = client.get(done.headers["location"])
    assert page.status_code == 200, page.text
    found = re.search(r'data-testid="case-number">([^<]+)<', page.text)
    assert found, page.text
    return found.group(1)


def _complete_on_page(client: TestClient, number: str, step: int, **fields: str) -> Any:
    """Send a step's "complete" form as the case page draws it now (its token, its lock)."""
    page = client.get(f"/cases/{number}")
    form = {
        "csrf_token": _hidden(page.text, "csrf_token"),
        "lock_version": _lock(client, number, step),
        **fields,
    }
    return _post(client, f"/cases/{number}/steps/{step}/complete", form)


def _attach_minutes(client: TestClient, number: str, decision: int, token: str) -> None:
    """Attach the committee's minutes (a PDF) on the decision page."""
    attached = _post(
        client,
        f"/cases/{number}/steps/{decision}/minutes",
        {"csrf_token": token, "lock_version": _lock(client, number, decision)},
        files={"file": ("minutes.pdf", PDF, "application/pdf")},
    )
    assert attached.status_code == 303


def _as(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username)


# ---------------------------------------------------------------- applying


def test_the_apply_page_lists_every_published_item_page_by_page(
    client: TestClient, session: Session
) -> None:
    _world(session)
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {"elements": ELEMENTS, "items": [item(f"QX-ZJJ-{i:02d}", "QX-ZJJ") for i in range(40)]}
        ),
    )
    session.commit()
    first = client.get("/apply")
    total = int(re.search(r"共 (\d+) 个已发布事项", first.text).group(1))  # type: ignore[union-attr]
    assert total > 40
    assert f"共 {total} 个已发布事项，显示第 1 至 30 个。" in first.text
    assert 'href="/apply?offset=30" rel="next"' in first.text
    seen = set(re.findall(r'<tr data-code="([^"]+)"', first.text))
    url = "/apply?offset=30"
    while url:
        page = client.get(url)
        seen |= set(re.findall(r'<tr data-code="([^"]+)"', page.text))
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        url = unescape(found.group(1)) if found else ""
    assert len(seen) == total  # every item reachable, none twice
    searched = client.get("/apply?q=QX-ZJJ-3&offset=0")
    assert "共 10 个已发布事项，显示第 1 至 10 个。" in searched.text
    assert 'data-testid="apply-pager"' not in searched.text


def test_apply_through_the_page_makes_one_case(client: TestClient, session: Session) -> None:
    _big_world(session)
    _as(client, "frontdesk")
    chooser = client.get("/apply?q=就业")
    assert chooser.status_code == 200
    assert 'href="/apply?item=QX-RSJ-10"' in chooser.text
    assert 'href="/apply?bundle=handover"' in chooser.text
    page = client.get("/apply?item=QX-RSJ-10")
    assert page.status_code == 200
    assert 'name="form.DE.BANK_ACCOUNT"' in page.text
    assert 'value="990123001"' in page.text  # the township in the jurisdiction select
    data = _application_form(page.text)
    first = _post(
        client,
        "/apply",
        data,
        files={"material.M1": ("id.png", PNG, "image/png")},
    )
    number = _submitted(client, first)
    # A double click or a retry with the same idempotency key: the same case, no second one.
    again = _post(client, "/apply", data)
    assert _submitted(client, again) == number
    assert _count(session) == 1
    confirmation = client.get(first.headers["location"])
    assert "申请已提交" in confirmation.text
    assert f'href="/cases/{number}"' in confirmation.text  # the window may open the case
    case_page = client.get(f"/cases/{number}")
    assert case_page.status_code == 200
    assert number in case_page.text
    upload = session.scalars(select(Case)).one()
    assert upload.channel == "window"
    assert "id.png" in case_page.text  # the material uploaded with the application
    # A fresh form has a fresh key: a second application is a second case.
    second = client.get("/apply?item=QX-RSJ-10")
    assert _hidden(second.text, "idempotency_key") != data["idempotency_key"]


def test_a_bad_id_number_is_shown_next_to_its_field(client: TestClient, session: Session) -> None:
    _big_world(session)
    _as(client, "frontdesk")
    page = client.get("/apply?item=QX-RSJ-10")
    bad = _post(
        client,
        "/apply",
        _application_form(
            page.text,
            **{"form.DE.ID": "110105194912310021", "applicant.id_no": "123", "form.DE.NAME": ""},
        ),
    )
    assert bad.status_code == 422
    assert "未提交任何内容" in bad.text
    assert _error_next_to(bad.text, "f-DE-ID") == "这不是有效的公民身份号码。"
    assert _error_next_to(bad.text, "applicant-id")
    assert _error_next_to(bad.text, "f-DE-NAME") == "此项为必填。"
    assert 'value="6222000011112222"' in bad.text  # what was typed stays in the form
    assert _count(session) == 0
    forged = _post(client, "/apply", {**_application_form(page.text), "csrf_token": "nope"})
    assert_refused(forged, 403, "csrf_failed")
    assert _count(session) == 0


def test_a_bundle_asks_its_questions_first(client: TestClient, session: Session) -> None:
    _big_world(session)
    _as(client, "frontdesk")
    questions = client.get("/apply?bundle=handover")
    assert questions.status_code == 200
    assert 'name="answer.permit"' in questions.text
    unanswered = client.get("/apply?bundle=handover&answered=1")
    assert unanswered.status_code == 422
    assert 'id="q-permit-error"' in unanswered.text
    form = client.get("/apply?bundle=handover&answered=1&answer.permit=no")
    assert form.status_code == 200
    assert 'name="answer.permit" value="no"' in form.text
    data = {
        "csrf_token": _hidden(form.text, "csrf_token"),
        "idempotency_key": _hidden(form.text, "idempotency_key"),
        "bundle": "handover",
        "answer.permit": "no",
        "channel": "window",
        "applicant.name": "李四",
        "applicant.id_no": GOOD_ID,
        "applicant.jurisdiction": "990123001",
        "form.DE.NAME": "李四",
        "form.DE.ID": GOOD_ID,
    }
    done = _post(client, "/apply", data)
    assert done.status_code == 303, done.text
    case = session.scalars(select(Case)).one()
    assert (case.subject_kind, case.answers) == ("bundle", {"permit": "no"})


def test_an_online_applicant_is_sent_to_the_status_page(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    page = client.get("/apply?item=QX-RSJ-10")
    assert page.status_code == 200
    assert 'name="material.M1"' not in page.text  # it comes from shared data, not the applicant
    data = _application_form(page.text)
    data.pop("channel")
    done = _post(client, "/apply", data)
    number = _submitted(client, done)
    confirmation = client.get(done.headers["location"])
    assert f'href="/status?number={number}"' in confirmation.text
    assert 'data-testid="case-link"' not in confirmation.text  # anonymous: no case page
    assert session.scalars(select(Case)).one().channel == "online"


def test_an_online_applicant_uploads_their_materials_with_the_application(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    get_settings.cache_clear()
    _big_world(session)
    own = {
        "code": "M2",
        "name_zh": "竣工验收报告",
        "name_en": "Completion report",
        "source": "applicant",
    }
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {
                "elements": ELEMENTS,
                "items": [item("QX-ZJJ-9", "QX-ZJJ", materials=[own])],
            }
        ),
    )
    session.commit()
    page = client.get("/apply?item=QX-ZJJ-9")
    assert 'name="material.M2"' in page.text
    data = _application_form(page.text, item="QX-ZJJ-9")
    data.pop("channel")
    for name in ("form.DE.BANK_ACCOUNT",):
        data.pop(name, None)
    wrong = _post(
        client, "/apply", data, files={"material.M2": ("r.pdf", b"GIF89a", "application/pdf")}
    )
    assert wrong.status_code == 422
    assert "只接受 PDF、PNG 和 JPEG 文件。" in wrong.text
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    done = _post(
        client,
        "/apply",
        data,
        files={"material.M2": ("报告.pdf", b"%PDF-1.4 report", "application/pdf")},
    )
    assert done.status_code == 303, done.text
    case = session.scalars(select(Case)).one()
    (upload,) = session.scalars(select(Upload).where(Upload.case_id == case.id)).all()
    assert (upload.purpose, upload.filename, upload.uploaded_by_id) == ("M2", "报告.pdf", None)
    assert (tmp_path / upload.sha256[:2] / upload.sha256).read_bytes() == b"%PDF-1.4 report"
    get_settings.cache_clear()


# ---------------------------------------------------------------- the status page


def test_the_case_page_draws_its_steps_as_a_map_with_their_progress(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf)
    page = client.get(f"/cases/{number}")
    nodes = re.findall(
        r'<g class="node node-(\w+)" data-step="(\d+)" data-status="(\w+)"', page.text
    )
    steps = {str(s["id"]): s["status"] for s in _steps(client, number)}
    assert {step: status for _, step, status in nodes} == steps
    assert all(cls == status for cls, _, status in nodes)
    assert "共 5 个环节，已完成 0 个（0%）" in page.text
    step = _step_id(client, number, "acceptance")
    assert _complete_on_page(client, number, step).status_code == 303
    after = client.get(f"/cases/{number}")
    assert "共 5 个环节，已完成 1 个（20%）" in after.text
    assert f'data-step="{step}" data-status="done"' in after.text
    assert f'href="#row-{step}"' in after.text
    assert f'id="row-{step}"' in after.text


def test_the_status_page_refuses_lookups_after_five_wrong_ones(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf)
    client.cookies.clear()
    token = _hidden(client.get("/status").text, "csrf_token")
    for _ in range(5):
        wrong = {"csrf_token": token, "number": number, "id_no": "110105194912310021"}
        assert _post(client, "/status", wrong).status_code == 404
    right = {"csrf_token": token, "number": number, "id_no": GOOD_ID}
    refused = _post(client, "/status", right)
    assert refused.status_code == 429
    assert "查询次数过多。" in refused.text
    assert "请在 1 分钟后再试" in refused.text
    assert 'data-testid="status-steps"' not in refused.text
    assert int(refused.headers["Retry-After"]) == 1  # growing delays: 1, 2, 4 … seconds


def test_status_with_the_right_id_and_not_found_otherwise(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf)
    client.cookies.clear()
    page = client.get(f"/status?number={number}")
    assert f'value="{number}"' in page.text
    token = _hidden(page.text, "csrf_token")
    ok = _post(client, "/status", {"csrf_token": token, "number": number, "id_no": GOOD_ID.lower()})
    assert ok.status_code == 200
    assert 'data-testid="status-steps"' in ok.text
    assert "实地核实" in ok.text
    assert "城关镇便民服务中心" in ok.text
    assert "frontdesk" not in ok.text  # no officer names, only units
    assert "共 5 个环节，已完成 0 个（0%）" in ok.text  # the map of the steps, with its progress
    assert ok.text.count('<g class="node node-') == 5
    assert 'href="#row-' not in ok.text  # no table rows to jump to on this page
    wrong_id = _post(
        client, "/status", {"csrf_token": token, "number": number, "id_no": "110105194912310021"}
    )
    wrong_number = _post(
        client, "/status", {"csrf_token": token, "number": number + "9", "id_no": GOOD_ID}
    )
    assert wrong_id.status_code == wrong_number.status_code == 404
    for response in (wrong_id, wrong_number):
        assert "没有与该办件编号和证件号码相符的办件" in response.text
        assert 'data-testid="status-steps"' not in response.text


# ---------------------------------------------------------------- the workbench


def test_the_workbench_lists_only_the_officers_steps(client: TestClient, session: Session) -> None:
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf)
    assert client.get("/workbench").status_code == 200
    accept = _step_id(client, number, "acceptance")
    assert _complete_on_page(client, number, accept).status_code == 303

    _as(client, "officer.rsj")
    bench = client.get("/workbench")
    rows = re.findall(r'data-case="([^"]+)" data-step="\d+" data-kind="([^"]+)"', bench.text)
    assert rows == [(number, "review")]
    assert "还剩 5 个工作日" in bench.text  # review: 5 working days
    assert "chinesecalendar" in bench.text  # the calendar version, on hover and below
    assert client.get("/workbench?kind=payment").text.count("data-case=") == 0
    assert client.get("/workbench?due=overdue").text.count("data-case=") == 0
    english = client.get("/workbench?lang=en")
    assert "My workbench" in english.text
    assert "in 5 working days" in english.text

    _as(client, "officer.zjj")
    assert 'data-testid="workbench-empty"' in client.get("/workbench").text
    assert_refused(client.get(f"/cases/{number}"), 404, "case_not_found")


def test_the_workbench_shows_its_steps_by_how_soon_they_are_due(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    csrf = _as(client, "frontdesk")
    first, _second, third = (
        _submit(client, csrf, idempotency_key=f"glance-key-{i}") for i in range(3)
    )
    # The first case's acceptance was due a week ago; the third's is due today.
    today = workdays.local_date(utcnow())
    for number, due in ((first, today - timedelta(days=7)), (third, today)):
        session.execute(
            update(CaseStep)
            .where(
                CaseStep.case_id == select(Case.id).where(Case.number == number).scalar_subquery(),
                CaseStep.kind == "acceptance",
            )
            .values(due_date=due)
        )
    session.commit()
    page = client.get("/workbench")
    parts = dict(re.findall(r'data-key="(\w+)" data-count="(\d+)"', page.text))
    assert parts == {"overdue": "1", "today": "1", "soon": "1"}  # the second: due tomorrow
    assert "已超期 <strong>1</strong>" in page.text
    assert 'href="/workbench?due=overdue" data-key="overdue"' in page.text
    overdue = client.get("/workbench?due=overdue")
    assert overdue.text.count("data-case=") == 1
    assert f'data-case="{first}"' in overdue.text
    # every part of the bar leads to exactly the steps it counts
    for key, count in parts.items():
        assert f'href="/workbench?due={key}" data-key="{key}"' in page.text
        assert client.get(f"/workbench?due={key}").text.count("data-case=") == int(count), key
    due_today = client.get("/workbench?due=today")
    assert f'data-case="{third}"' in due_today.text


def test_a_suspended_case_is_not_due_today(client: TestClient, session: Session) -> None:
    """While a case waits for the applicant its clock is stopped: no step reads "due today"
    or "overdue", on the case page, the workbench or the status page."""
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf, idempotency_key="stopped-key-1")
    today = workdays.local_date(utcnow())
    case_id = select(Case.id).where(Case.number == number).scalar_subquery()
    session.execute(
        update(CaseStep)
        .where(CaseStep.case_id == case_id, CaseStep.kind == "acceptance")
        .values(due_date=today)
    )
    session.execute(update(Case).where(Case.number == number).values(status="suspended"))
    session.commit()
    page = client.get(f"/cases/{number}")
    assert 'data-state="stopped"' in page.text
    assert "今日到期" not in page.text
    bench = client.get("/workbench")
    assert 'data-key="today"' not in bench.text
    assert 'data-key="stopped"' in bench.text
    client.cookies.clear()  # the applicant
    form = client.get("/status")
    status = client.post(
        "/status",
        data={
            "number": number,
            "id_no": "11010519491231002X",
            "csrf_token": _hidden(form.text, "csrf_token"),
        },
    )
    assert status.status_code == 200, status.text
    assert 'data-state="stopped"' in status.text


# ---------------------------------------------------------------- the case page


def _through_verification(client: TestClient, session: Session) -> str:
    """Apply, accept, review, then the township delegates the verification to the county,
    which records it: a duty shift. Returns the case number."""
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf)
    step = _step_id(client, number, "acceptance")
    page = client.get(f"/cases/{number}")
    token = _hidden(page.text, "csrf_token")
    lock = _lock(client, number, step)
    assert (
        _post(
            client,
            f"/cases/{number}/steps/{step}/complete",
            {"csrf_token": token, "lock_version": lock},
        ).status_code
        == 303
    )
    # The same form again (a stale page): a conflict, said plainly, and nothing done twice.
    stale = _post(
        client,
        f"/cases/{number}/steps/{step}/complete",
        {"csrf_token": token, "lock_version": lock},
    )
    assert_refused(stale, 409, "stale_version")
    assert 'data-testid="problem"' in stale.text
    # The reason in the page's language, in English on an English page.
    assert f"环节 {step} 在您打开页面后已被他人处理或修改，请刷新后再操作" in stale.text
    english = _post(
        client,
        f"/cases/{number}/steps/{step}/complete?lang=en",
        {"csrf_token": token, "lock_version": lock},
    )
    assert f"step {step} was changed by someone else after you opened the page" in english.text
    # A step that is not ready yet: the engine's refusal, its status word translated too.
    _as(client, "township")
    later = _step_id(client, number, "onsite_verification")
    early = _complete_on_page(
        client, number, later, time="2026-11-30T10:00", place="城关街道", notes="现场核实"
    )
    assert_refused(early, 409, "step_not_ready")
    assert f"环节 {later} 当前为“等待前序环节”，不是待办状态" in early.text

    _as(client, "officer.rsj")
    review = _step_id(client, number, "review")
    page = client.get(f"/cases/{number}")
    assert 'data-testid="complete-form"' in page.text
    done = _post(
        client,
        f"/cases/{number}/steps/{review}/complete",
        {
            "csrf_token": _hidden(page.text, "csrf_token"),
            "lock_version": _lock(client, number, review),
            "opinion": "材料齐全",
        },
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith(f"?done=complete#step-{review}")
    verify = _step_id(client, number, "onsite_verification")
    # The county officer may not simply do the township's verification.
    refused = _post(
        client,
        f"/cases/{number}/steps/{verify}/complete",
        {
            "csrf_token": _hidden(page.text, "csrf_token"),
            "lock_version": _lock(client, number, verify),
            "time": "2026-12-01T10:00",
            "place": "南门社区",
            "notes": "属实",
        },
    )
    assert_refused(refused, 403, "not_yours")
    assert "您无权进行此操作" in refused.text

    _as(client, "township")
    page = client.get(f"/cases/{number}")
    token = _hidden(page.text, "csrf_token")
    incomplete = _post(
        client,
        f"/cases/{number}/steps/{verify}/complete",
        {
            "csrf_token": token,
            "lock_version": _lock(client, number, verify),
            "time": "2026-12-01T10:00",
        },
    )
    assert_refused(incomplete, 422, "onsite_record_missing")
    assert _error_next_to(incomplete.text, f"s{verify}-notes") == "此项为必填。"
    assert 'value="2026-12-01T10:00"' in incomplete.text
    delegated = _post(
        client,
        f"/cases/{number}/steps/{verify}/delegate",
        {
            "csrf_token": token,
            "lock_version": _lock(client, number, verify),
            "to_department": "QX-RSJ",
            "reason": "人手不足，请县局代为核实",
        },
    )
    assert delegated.status_code == 303

    _as(client, "officer.rsj")
    page = client.get(f"/cases/{number}")
    recorded = _post(
        client,
        f"/cases/{number}/steps/{verify}/complete",
        {
            "csrf_token": _hidden(page.text, "csrf_token"),
            "lock_version": _lock(client, number, verify),
            "time": "2026-12-01T10:00",
            "place": "南门社区",
            "notes": "属实",
        },
        files={"photos": ("site.png", PNG, "image/png")},
    )
    assert recorded.status_code == 303, recorded.text
    return number


def test_the_case_page_shows_the_duty_shift(client: TestClient, session: Session) -> None:
    _big_world(session)
    number = _through_verification(client, session)
    page = client.get(f"/cases/{number}")
    assert page.status_code == 200
    assert 'data-testid="duty-shift"' in page.text
    shift = re.search(r'data-testid="duty-shift-event">(.*?)</p>', page.text, re.S)
    assert shift
    text = unescape(shift.group(1))
    assert "责任单位：城关镇便民服务中心" in text
    assert "实际办理：青溪县人社局" in text
    assert "委托" in page.text
    assert "人手不足，请县局代为核实" in page.text
    assert "site.png" in page.text  # the photo, with its sha256
    actions = [e.action for e in session.scalars(select(CaseEvent).order_by(CaseEvent.id))]
    assert "duty_shift" in actions
    english = client.get(f"/cases/{number}?lang=en")
    assert "Responsible: Chengguan office · acted: Qingxi HR" in unescape(english.text)
    assert "Timeline" in english.text
    assert "Duty shift" in english.text


def test_correction_stops_the_clock_and_resume_starts_it(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    csrf = _as(client, "officer.rsj")
    number = _submit(client, csrf)
    step = _step_id(client, number, "acceptance")
    page = client.get(f"/cases/{number}")
    token = _hidden(page.text, "csrf_token")
    asked = _post(
        client,
        f"/cases/{number}/steps/{step}/correction",
        {
            "csrf_token": token,
            "lock_version": _lock(client, number, step),
            "reason": "请补充银行卡复印件",
        },
    )
    assert asked.status_code == 303
    page = client.get(f"/cases/{number}")
    assert 'data-testid="suspension"' in page.text
    assert "请补充银行卡复印件" in page.text
    assert 'data-testid="complete-form"' not in page.text
    lock = _hidden(page.text.split('data-testid="resume-form"', 1)[1], "lock_version")
    resumed = _post(client, f"/cases/{number}/resume", {"csrf_token": token, "lock_version": lock})
    assert resumed.status_code == 303
    assert 'data-testid="complete-form"' in client.get(f"/cases/{number}").text


# ---------------------------------------------------------------- the committee


def test_the_committee_votes_and_closes_then_the_payment_goes_out(
    client: TestClient, session: Session
) -> None:
    _big_world(session)
    number = _through_verification(client, session)
    decision = _step_id(client, number, "collective_decision")
    url = f"/cases/{number}/steps/{decision}/decision"
    case_page = client.get(f"/cases/{number}")
    assert f'href="{url}"' in case_page.text
    page = client.get(url)
    assert page.status_code == 200
    assert 'data-testid="close-blocked"' in page.text
    assert 'data-testid="vote-form"' not in page.text  # an officer is not a member
    for member in ("committee.a", "committee.b"):
        _as(client, member)
        page = client.get(url)
        assert 'data-testid="vote-form"' in page.text
        voted = _post(
            client,
            f"/cases/{number}/steps/{decision}/vote",
            {
                "csrf_token": _hidden(page.text, "csrf_token"),
                "lock_version": _lock(client, number, decision),
                "choice": "approve",
            },
        )
        assert voted.status_code == 303
    page = client.get(url)
    assert "已投 2 票，需 2 票" in page.text
    assert "尚未附会议纪要" in page.text  # the quorum is there, the minutes are not
    token = _hidden(page.text, "csrf_token")
    not_pdf = _post(
        client,
        f"/cases/{number}/steps/{decision}/minutes",
        {"csrf_token": token, "lock_version": _lock(client, number, decision)},
        files={"file": ("minutes.png", PNG, "image/png")},
    )
    assert_refused(not_pdf, 422, "file_not_pdf")
    assert _error_next_to(not_pdf.text, "minutes-file")
    early = _post(
        client,
        f"/cases/{number}/steps/{decision}/close",
        {"csrf_token": token, "lock_version": _lock(client, number, decision)},
    )
    assert_refused(early, 409, "minutes_missing")
    assert "请先上传会议纪要，再作出决定" in early.text
    _attach_minutes(client, number, decision, token)
    page = client.get(url)
    assert 'data-testid="close-form"' in page.text
    unconfirmed = _post(
        client,
        f"/cases/{number}/steps/{decision}/close",
        {
            "csrf_token": token,
            "lock_version": _lock(client, number, decision),
            "reasons": "符合补贴条件，同意发放",
        },
    )
    assert_refused(unconfirmed, 422, "decision_not_confirmed")
    assert "符合补贴条件，同意发放" in unconfirmed.text  # what was typed stays
    closed = _post(
        client,
        f"/cases/{number}/steps/{decision}/close",
        {
            "csrf_token": token,
            "lock_version": _lock(client, number, decision),
            "reasons": "符合补贴条件，同意发放",
            "confirm": "yes",
        },
    )
    assert closed.status_code == 303
    page = client.get(closed.headers["location"])
    assert 'data-testid="decision-outcome"' in page.text
    assert "准予批准" in page.text

    _as(client, "officer.rsj")
    pay = _step_id(client, number, "payment")
    page = client.get(f"/cases/{number}")
    token = _hidden(page.text, "csrf_token")
    # The subsidy pays out, to the account named in the application.
    assert 'data-direction="pay_out"' in page.text
    bad = _post(
        client,
        f"/cases/{number}/steps/{pay}/pay",
        {"csrf_token": token, "lock_version": _lock(client, number, pay), "amount": "十五"},
    )
    assert_refused(bad, 422, "bad_amount")
    assert _error_next_to(bad.text, f"s{pay}-amount")
    paid = _post(
        client,
        f"/cases/{number}/steps/{pay}/pay",
        {"csrf_token": token, "lock_version": _lock(client, number, pay), "amount": "1,500.50"},
    )
    assert paid.status_code == 303
    page = client.get(f"/cases/{number}")
    assert 'data-status="completed"' in page.text
    assert "¥1,500.50" in page.text
    assert "支付给申请人" in page.text
    session.expire_all()  # the engine moves the chain's head with Core updates
    assert service.verify_all(session=session) == []


# ---------------------------------------------------------------- signing


def test_both_parties_sign_on_the_signing_page(client: TestClient, session: Session) -> None:
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf, item="QX-RSJ-20", idempotency_key="key-sign-0001")
    accept = _step_id(client, number, "acceptance")
    assert _complete_on_page(client, number, accept).status_code == 303
    sign = _step_id(client, number, "e_signature")
    url = f"/cases/{number}/steps/{sign}/sign"
    assert f'href="{url}"' in client.get(f"/cases/{number}").text

    _as(client, "frontdesk")
    page = client.get(url)
    assert page.status_code == 200
    assert "案件 Case: " + number in unescape(page.text)
    digest = _hidden(page.text, "document_sha256")
    assert re.search(rf'data-testid="digest">{digest}<', page.text)
    form = {
        "csrf_token": _hidden(page.text, "csrf_token"),
        "lock_version": _lock(client, number, sign),
        "document_sha256": digest,
        "party": "applicant",
    }
    unchecked = _post(client, f"/cases/{number}/steps/{sign}/sign", form)
    assert_refused(unchecked, 422, "identity_not_checked")
    assert _error_next_to(unchecked.text, "identity-checked")
    signed = _post(
        client, f"/cases/{number}/steps/{sign}/sign", {**form, "identity_checked": "yes"}
    )
    assert signed.status_code == 303
    page = client.get(signed.headers["location"])
    assert 'data-party="applicant" data-signed="yes"' in page.text
    assert 'data-testid="nothing-to-sign"' in page.text

    _as(client, "officer.rsj")
    page = client.get(url)
    assert 'data-testid="sign-department-form"' in page.text
    assert 'data-testid="sign-applicant-form"' not in page.text  # the applicant has signed
    signed = _post(
        client,
        f"/cases/{number}/steps/{sign}/sign",
        {
            "csrf_token": _hidden(page.text, "csrf_token"),
            "lock_version": _lock(client, number, sign),
            "document_sha256": digest,
            "party": "department",
        },
    )
    assert signed.status_code == 303
    page = client.get(signed.headers["location"])
    assert page.text.count("与文书一致") == 2
    assert 'data-party="department" data-signed="yes"' in page.text
    case = client.get(f"/cases/{number}")
    assert 'data-status="completed"' in case.text
    english = client.get(f"{url}?lang=en")
    assert "Signatures" in english.text
    assert "matches the document" in english.text


def test_a_signature_finished_at_the_window_is_no_duty_shift(
    client: TestClient, session: Session
) -> None:
    """The applicant signs last, at the window: the step is finished on the single window's
    behalf, which the engine never logs as a duty shift. The page read the step's columns
    and showed one anyway; it shows what the log says."""
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf, item="QX-RSJ-20", idempotency_key="key-sign-0002")
    accept = _step_id(client, number, "acceptance")
    assert _complete_on_page(client, number, accept).status_code == 303
    sign = _step_id(client, number, "e_signature")
    csrf = _as(client, "officer.rsj")
    signed = client.post(
        f"/api/v1/steps/{sign}/sign?lock_version={_lock(client, number, sign)}",
        json={"party": "department"},
        headers={"X-CSRF-Token": csrf},
    )
    assert signed.status_code == 204, signed.text
    csrf = _as(client, "frontdesk")
    signed = client.post(
        f"/api/v1/steps/{sign}/sign?lock_version={_lock(client, number, sign)}",
        json={"party": "applicant"},
        headers={"X-CSRF-Token": csrf},
    )
    assert signed.status_code == 204, signed.text
    steps = {s["id"]: s for s in client.get(f"/api/v1/cases/{number}").json()["steps"]}
    assert steps[sign]["acted_department"] == "QX-ZWFW"  # the window finished it
    assert steps[sign]["responsible_department"] == "QX-RSJ"
    assert steps[sign]["duty_shift"] is False
    page = client.get(f"/cases/{number}")
    assert 'data-testid="duty-shift"' not in page.text
    assert 'data-testid="shift-count"' not in page.text


# ---------------------------------------------------------------- languages


def test_pages_speak_english_with_lang_en(client: TestClient, session: Session) -> None:
    _big_world(session)
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf)
    expectations = {
        "/apply?lang=en": ["Apply", "One-thing bundles", "Service items"],
        "/apply?item=QX-RSJ-10&lang=en": [
            "The applicant",
            "ID number",
            "Continue: check your answers",
        ],
        "/apply?bundle=handover&lang=en": ["Continue to the form", "Is a building permit needed?"],
        "/status?lang=en": ["Follow your application", "Case number", "Show the status"],
        "/workbench?lang=en": ["My workbench", "Kind of step", "All, overdue first"],
        f"/cases/{number}?lang=en": [
            "Timeline",
            "Responsible unit",
            "Acting unit",
            "Legal due date",
        ],
    }
    for url, words in expectations.items():
        page = client.get(url)
        assert page.status_code == 200, url
        for word in words:
            assert word in page.text, (url, word)
    chinese = client.get(f"/cases/{number}")
    assert "办理记录" in chinese.text
    assert "责任单位" in chinese.text


ERRORS = {"Conflict", "NotFound", "PermissionDenied", "ValidationFailed", "TooManyRequests"}


def _raised_messages(paths: list[Path]) -> list[str | None]:
    """The first argument of every error built in these files (None where it is not a literal;
    a variable passed through, such as ``_insert_once``'s, is skipped)."""
    import ast

    found: list[str | None] = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id == "insert_once" and len(node.args) == 4:
                first = node.args[2]
            elif node.func.id in ERRORS and node.args:
                first = node.args[0]
            else:
                continue
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
            elif isinstance(first, ast.JoinedStr):
                found.append(None)
    return found


def test_cases_po_translates_every_message_of_the_case_pages() -> None:
    """Every message id of the case templates and of the label tables and plain messages of
    the case pages has a translation in cases.po that keeps the placeholders."""
    from pathlib import Path

    from babel.messages.pofile import read_po
    from jinja2.ext import babel_extract

    from tongban.cases import pages
    from tongban.cases.pages import case, common
    from tongban.cases.service import access
    from tongban.web.i18n import LOCALE_DIR

    wanted: set[str] = set()
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    templates = Path(pages.__file__).resolve().parents[1] / "templates" / "cases"
    for path in sorted(templates.glob("*.html")):
        with path.open("rb") as handle:
            for _line, _func, message, _comments in babel_extract(
                handle, ["_", "gettext", "ngettext"], [], options
            ):
                first = message[0] if isinstance(message, tuple) else message
                if first:
                    wanted.add(first)
    wanted |= {m for table in common.LABELS.values() for m in table.values()}
    wanted |= set(common.FACT_LABELS.values()) | set(case.NOTICES.values())
    wanted |= {said for _needle, said in common._PLAIN}
    # Every refusal the engine and the pages raise is a message id (its variable parts in
    # params), so that the pages can say it in Chinese.
    cases_dir = Path(pages.__file__).resolve().parents[1]
    sources = [cases_dir / "archive.py", *sorted((cases_dir / "service").glob("*.py"))]
    sources += sorted(Path(pages.__file__).resolve().parent.glob("*.py"))
    raised = _raised_messages(sources)
    assert [m for m in raised if m is None] == [], "a message built with an f-string"
    wanted |= {m for m in raised if m}
    wanted |= set(access._WRONG_KIND.values())  # raised through the funnel's table
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "cases.po").open("rb") as handle:
        catalog = read_po(handle, locale="zh_CN")
    translated: dict[str, list[str]] = {}
    for m in catalog:
        if not m.id:
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        translated[key] = [m.string] if isinstance(m.string, str) else list(m.string or ())
    missing = sorted(w for w in wanted if not any(translated.get(w, [])))
    assert missing == []
    placeholder = re.compile(r"%\((\w+)\)s")
    for key, strings in translated.items():
        for text in strings:
            assert set(placeholder.findall(text)) == set(placeholder.findall(key)), key
