"""The case engine through the API: intake, the workbench, every step kind, clocks, integrity."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from tests.factories import ELEMENTS, assert_refused, item, login, make_org
from tongban.cases import repository, service, storage
from tongban.cases.models import Case, CaseEvent, CaseStep, Suspension, Upload
from tongban.config import get_settings
from tongban.db import utcnow
from tongban.jobs.models import Job
from tongban.kit import workdays
from tongban.kit.ids import resident_id_check_char

PDF = b"%PDF-1.4\n% minutes\n"
OTHER_ID = "11010519800101001" + resident_id_check_char("11010519800101001")


def _world(session: Session) -> None:
    make_org(session)
    subsidy = item(
        "QX-RSJ-10",
        "QX-RSJ",
        name="就业补贴",
        outputs=[{"code": "PAY", "name_zh": "补贴资金", "name_en": "Subsidy", "kind": "payment"}],
        form=[
            {"code": "F1", "label_zh": "姓名", "label_en": "Name", "element": "DE.NAME"},
            {"code": "F2", "label_zh": "身份证号", "label_en": "ID", "element": "DE.ID"},
            {
                "code": "F3",
                "label_zh": "银行账号",
                "label_en": "Account",
                "element": "DE.BANK_ACCOUNT",
            },
        ],
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
                "kind": "review",
                "name_zh": "审核",
                "name_en": "Review",
                "responsible": "QX-RSJ",
                "limit_days": 5,
            },
            {
                "code": "S3",
                "kind": "onsite_verification",
                "name_zh": "实地核实",
                "name_en": "On site",
                "responsible": "township",
                "limit_days": 3,
            },
            {
                "code": "S4",
                "kind": "collective_decision",
                "name_zh": "集体研究",
                "name_en": "Committee",
                "responsible": "QX-RSJ",
                "limit_days": 2,
            },
            {
                "code": "S5",
                "kind": "payment",
                "name_zh": "拨付",
                "name_en": "Pay",
                "responsible": "QX-RSJ",
                "limit_days": 2,
            },
        ],
    )
    elements = [
        *ELEMENTS,
        {"code": "DE.BANK_ACCOUNT", "name_zh": "银行账号", "name_en": "Account", "max_length": 32},
    ]
    from tongban.catalog import service as catalog_service
    from tongban.catalog.schemas import CatalogDocument

    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate({"elements": elements, "items": [subsidy]}),
    )
    session.commit()


def _application(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "item": "QX-RSJ-10",
        "applicant": {
            "name": "张三",
            "id_no": "11010519491231002X",
            "phone": "13800138000",
            "jurisdiction": "990123001",
        },
        "form": {
            "DE.NAME": "张三",
            "DE.ID": "11010519491231002X",
            "DE.BANK_ACCOUNT": "6222000011112222",
        },
        "idempotency_key": "key-0000001",
    }
    data.update(extra)
    return data


def _submit(client: TestClient, csrf: str, **extra: Any) -> str:
    response = client.post(
        "/api/v1/cases", json=_application(**extra), headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def _steps(client: TestClient, number: str) -> list[dict[str, Any]]:
    return list(client.get(f"/api/v1/cases/{number}").json()["steps"])


def _act(client: TestClient, csrf: str, path: str, body: dict[str, Any]) -> int:
    return client.post(path, json=body, headers={"X-CSRF-Token": csrf}).status_code


def test_intake_is_idempotent_and_due_dates_are_working_days(
    client: TestClient, session: Session
) -> None:
    _world(session)
    csrf = login(client, "frontdesk")
    number = _submit(client, csrf)
    assert number.startswith("990123-")
    assert _submit(client, csrf) == number  # a retried submission
    other = client.post(
        "/api/v1/cases",
        json=_application(
            item="QX-RSJ-10",
            applicant={
                "name": "李四",
                "id_no": OTHER_ID,
                "jurisdiction": "990123001",
            },
        ),
        headers={"X-CSRF-Token": csrf},
    )
    assert other.status_code in (409, 422)
    assert other.json()["code"] == "idempotency_key_reused", other.text
    assert session.scalar(select(func.count()).select_from(Case)) == 1
    steps = _steps(client, number)
    assert [s["status"] for s in steps] == ["ready", "waiting", "waiting", "waiting", "waiting"]
    first = steps[0]
    today = workdays.local_date(utcnow())
    assert first["due_date"] == workdays.add_workdays(today, 1).date.isoformat()
    assert first["calendar_version"].startswith("chinesecalendar")
    assert steps[2]["responsible_department"] == "QX-T001"  # the applicant's township


def test_bad_applications_name_the_field_and_write_nothing(
    client: TestClient, session: Session
) -> None:
    _world(session)
    csrf = login(client, "frontdesk")
    cases = [
        (_application(form={"DE.NAME": "张三"}), "form.DE.ID", "form_invalid"),
        (
            _application(
                form={"DE.NAME": "张三", "DE.ID": "110105194912310021", "DE.BANK_ACCOUNT": "1"}
            ),
            "form.DE.ID",
            "form_invalid",
        ),
        (
            _application(applicant={"name": "x", "id_no": "123", "jurisdiction": "990123001"}),
            "applicant.id_no",
            "request_invalid",
        ),
        (_application(item="QX-NOPE-1"), None, "item_not_found"),
    ]
    for body, loc, code in cases:
        response = client.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code in (404, 422), response.text
        assert response.json()["code"] == code, response.text
        if loc:
            assert any(
                e["loc"].endswith(loc) or e["loc"] == loc for e in response.json()["errors"]
            ), response.json()
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_full_run_with_duty_shift_committee_and_payment(
    client: TestClient, session: Session
) -> None:
    _world(session)
    csrf = login(client, "frontdesk")
    number = _submit(client, csrf)
    s = _steps(client, number)
    # The single window sees the acceptance in its workbench, though it belongs to QX-RSJ.
    window = client.get("/api/v1/workbench").json()
    assert [(w["case_number"], w["kind"], w["responsible_department"]) for w in window] == [
        (number, "acceptance", "QX-RSJ")
    ]
    # The single window accepts for the department.
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[0]['id']}/complete",
            {"lock_version": s[0]["lock_version"] + 1},
        )
        == 409
    )
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[0]['id']}/complete",
            {"lock_version": s[0]["lock_version"]},
        )
        == 204
    )
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[0]['id']}/complete",
            {"lock_version": s[0]["lock_version"]},
        )
        == 409
    )

    client.cookies.clear()
    csrf = login(client, "officer.zjj")
    assert client.get("/api/v1/workbench").json() == []
    assert_refused(client.get(f"/api/v1/cases/{number}"), 404, "case_not_found")
    client.cookies.clear()
    csrf = login(client, "officer.rsj")
    mine = client.get("/api/v1/workbench").json()
    assert [(w["case_number"], w["kind"]) for w in mine] == [(number, "review")]
    s = _steps(client, number)
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[1]['id']}/complete",
            {"lock_version": s[1]["lock_version"]},
        )
        == 204
    )
    # The township is responsible for the verification: the county officer may not just do it.
    s = _steps(client, number)
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[2]['id']}/complete",
            {
                "lock_version": s[2]["lock_version"],
                "outcome": {"time": "t", "place": "p", "notes": "n"},
            },
        )
        == 403
    )
    client.cookies.clear()
    csrf = login(client, "township")
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[2]['id']}/complete",
            {"lock_version": s[2]["lock_version"], "outcome": {"time": "10:00"}},
        )
        == 422
    )
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[2]['id']}/delegate",
            {"to_department": "QX-RSJ", "reason": "人手不足，请县局代为核实"},
        )
        == 204
    )
    client.cookies.clear()
    csrf = login(client, "officer.rsj")
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{s[2]['id']}/complete",
            {
                "lock_version": s[2]["lock_version"],
                "outcome": {"time": "2026-12-01 10:00", "place": "南门社区", "notes": "属实"},
            },
        )
        == 204
    )
    s = _steps(client, number)
    assert s[2]["duty_shift"] is True
    assert (s[2]["responsible_department"], s[2]["acted_department"]) == ("QX-T001", "QX-RSJ")
    # The collective decision is never a plain "complete", and needs a quorum and minutes.
    decision = s[3]
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{decision['id']}/complete",
            {"lock_version": decision["lock_version"]},
        )
        == 409
    )
    for member in ("committee.a", "committee.b"):
        client.cookies.clear()
        csrf = login(client, member)
        assert (
            _act(client, csrf, f"/api/v1/steps/{decision['id']}/vote", {"choice": "approve"}) == 204
        )
    assert _act(client, csrf, f"/api/v1/steps/{decision['id']}/vote", {"choice": "reject"}) == 409
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{decision['id']}/decide",
            {"lock_version": decision["lock_version"], "reasons": "符合补贴条件"},
        )
        == 409
    )
    uploaded = client.post(
        f"/api/v1/cases/{number}/uploads",
        data={"purpose": "minutes", "step_id": str(decision["id"])},
        files={"file": ("minutes.pdf", PDF, "application/pdf")},
        headers={"X-CSRF-Token": csrf},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{decision['id']}/decide",
            {"lock_version": decision["lock_version"], "reasons": "符合补贴条件"},
        )
        == 204
    )
    s = _steps(client, number)
    assert s[3]["outcome"]["decision"] == "approve"
    assert s[3]["outcome"]["quorum"] == 2
    client.cookies.clear()
    csrf = login(client, "officer.rsj")
    pay = s[4]
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{pay['id']}/pay",
            {"lock_version": pay["lock_version"], "amount_fen": 150000},
        )
        == 204
    )
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{pay['id']}/pay",
            {"lock_version": pay["lock_version"], "amount_fen": 150000},
        )
        == 409
    )
    case = client.get(f"/api/v1/cases/{number}").json()
    assert case["status"] == "completed"
    assert session.scalar(select(func.count()).select_from(Job).where(Job.kind == "payment")) == 1
    actions = [e["action"] for e in case["events"]]
    assert "duty_shift" in actions
    assert actions[-1] == "completed"
    assert service.verify_all(session=session) == []


def test_tampering_is_found(client: TestClient, session: Session) -> None:
    _world(session)
    csrf = login(client, "frontdesk")
    number = _submit(client, csrf)
    s = _steps(client, number)
    _act(
        client, csrf, f"/api/v1/steps/{s[0]['id']}/complete", {"lock_version": s[0]["lock_version"]}
    )
    assert service.verify_all(session=session) == []
    case_id = session.scalar(select(Case.id).where(Case.number == number))
    session.execute(
        update(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.seq == 1)
        .values(data={"subject": "QX-FORGED"})
    )
    first_id = session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.seq == 1)
    )
    assert service.verify_all(session=session) == [f"{number}: event 1 (id {first_id}) was altered"]
    session.rollback()
    last = session.scalar(select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case_id))
    session.execute(
        text("DELETE FROM case_event WHERE case_id = :c AND seq = :s"), {"c": case_id, "s": last}
    )
    [problem] = service.verify_all(session=session)
    assert "chain ends" in problem


def test_correction_stops_the_clock(client: TestClient, session: Session) -> None:
    _world(session)
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    s = _steps(client, number)
    _act(
        client, csrf, f"/api/v1/steps/{s[0]['id']}/complete", {"lock_version": s[0]["lock_version"]}
    )
    s = _steps(client, number)
    review = s[1]
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{review['id']}/correction",
            {"reason": "请补充银行卡复印件"},
        )
        == 204
    )
    assert client.get(f"/api/v1/cases/{number}").json()["status"] == "suspended"
    assert (
        _act(
            client,
            csrf,
            f"/api/v1/steps/{review['id']}/complete",
            {"lock_version": review["lock_version"]},
        )
        == 409
    )
    # Suspended for a while: ten calendar days ago.
    case_id = session.scalar(select(Case.id).where(Case.number == number))
    started = utcnow() - timedelta(days=10)
    session.execute(
        update(Suspension).where(Suspension.case_id == case_id).values(started_at=started)
    )
    session.commit()
    assert _act(client, csrf, f"/api/v1/cases/{number}/resume", {}) == 204
    paused = workdays.workdays_between(
        workdays.local_date(started), workdays.local_date(utcnow())
    ).count
    after = _steps(client, number)[1]
    expected = workdays.add_workdays(
        workdays.add_workdays(workdays.local_date(utcnow()), 5).date, paused
    ).date
    assert after["due_date"] == expected.isoformat()
    assert client.get(f"/api/v1/cases/{number}").json()["status"] == "in_progress"


def _overdue_first_step(client: TestClient, session: Session) -> int:
    """A new case whose first step became ready 20 days ago: every level of the ladder is due."""
    _world(session)
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    step_id: int = _steps(client, number)[0]["id"]
    session.execute(
        update(CaseStep)
        .where(CaseStep.id == step_id)
        .values(ready_at=utcnow() - timedelta(days=20))
    )
    return step_id


def test_escalation_fires_each_level_once(client: TestClient, session: Session) -> None:
    _overdue_first_step(client, session)
    first = service.tick(session=session)
    assert first.fired == 2  # warn and overdue
    assert service.tick(session=session).fired == 0
    levels = [
        e.data["level"]
        for e in session.scalars(select(CaseEvent).where(CaseEvent.action == "escalated"))
    ]
    assert levels == ["warn", "overdue"]
    messages = session.scalars(
        select(Job.payload).where(Job.kind == "escalation").order_by(Job.id)
    ).all()
    assert [m["level"] for m in messages] == ["warn", "overdue"]


def test_uploads_are_checked(client: TestClient, session: Session) -> None:
    _world(session)
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    headers = {"X-CSRF-Token": csrf}
    fake = client.post(
        f"/api/v1/cases/{number}/uploads",
        data={"purpose": "M1"},
        files={"file": ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
        headers=headers,
    )
    assert_refused(fake, 422, "file_type_refused")
    big = client.post(
        f"/api/v1/cases/{number}/uploads",
        data={"purpose": "M1"},
        files={"file": ("x.pdf", b"%PDF" + b"0" * (service.MAX_UPLOAD + 1), "application/pdf")},
        headers=headers,
    )
    assert_refused(big, 422, "file_too_large")
    ok = client.post(
        f"/api/v1/cases/{number}/uploads",
        data={"purpose": "M1"},
        files={"file": ("x.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert ok.status_code == 201
    again = client.post(
        f"/api/v1/cases/{number}/uploads",
        data={"purpose": "M1"},
        files={"file": ("y.pdf", PDF, "application/pdf")},
        headers=headers,
    )
    assert again.json()["sha256"] == ok.json()["sha256"]


def test_the_applicant_follows_the_status_with_their_id(
    client: TestClient, session: Session
) -> None:
    _world(session)
    csrf = login(client, "frontdesk")
    number = _submit(client, csrf)
    public = TestClient(client.app)
    ok = public.get(
        f"/api/v1/cases/{number}/status", headers={"X-Applicant-Id": "11010519491231002x"}
    )
    assert ok.status_code == 200
    assert ok.json()["status"] == "in_progress"
    wrong = public.get(
        f"/api/v1/cases/{number}/status", headers={"X-Applicant-Id": "110105194912310021"}
    )
    assert_refused(wrong, 404, "case_not_found")
    assert_refused(public.get(f"/api/v1/cases/{number}"), 401, "login_required")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _with_files(
    client: TestClient,
    application: dict[str, Any] | str,
    files: list[tuple[str, bytes, str]],
    purposes: list[str],
) -> Any:
    return client.post(
        "/api/v1/cases/with-files",
        data={
            "application": application if isinstance(application, str) else json.dumps(application),
            "purposes": purposes,
        },
        files=[("files", f) for f in files],
    )


def test_an_online_applicant_attaches_materials_at_intake(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    get_settings.cache_clear()
    _world(session)
    public = TestClient(client.app)  # no login: a citizen online
    application = _application(channel="online", idempotency_key="online-key-0001")
    files = [("身份证.pdf", PDF, "application/pdf"), ("photo.png", PNG, "image/png")]
    response = _with_files(public, application, files, ["M1", "PHOTO"])
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    case = session.scalars(select(Case).where(Case.number == number)).one()
    rows = session.scalars(select(Upload).where(Upload.case_id == case.id)).all()
    assert sorted((u.purpose, u.filename, u.uploaded_by_id) for u in rows) == [
        ("M1", "身份证.pdf", None),
        ("PHOTO", "photo.png", None),
    ]
    assert storage.get(hashlib.sha256(PDF).hexdigest()) == PDF
    logged = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "uploaded")
    ).all()
    assert len(logged) == 2
    assert {e.actor_id for e in logged} == {None}
    # A retry (the same key) is the same case, and nothing is stored twice.
    again = _with_files(public, application, files, ["M1", "PHOTO"])
    assert again.json()["number"] == number
    assert session.scalar(select(func.count()).select_from(Upload)) == 2
    get_settings.cache_clear()


def test_files_at_intake_are_checked_before_anything_is_written(
    client: TestClient, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path))
    get_settings.cache_clear()
    _world(session)
    public = TestClient(client.app)
    application = _application(channel="online", idempotency_key="online-key-0002")
    bad = [
        (
            [("a.pdf", PDF, "application/pdf"), ("b.pdf", b"MZ not a pdf", "application/pdf")],
            ["M1", "M2"],
            "attachments.1",
        ),
        ([("a.pdf", b"%PDF" + b"0" * service.MAX_UPLOAD, "application/pdf")], ["M1"], None),
        ([("a.pdf", PDF, "application/pdf")], ["M1", "M2"], "purposes"),
        ([("a.pdf", PDF, "application/pdf")], ["\x00"], "attachments.0"),
    ]
    code_of = {
        "attachments.1": "file_type_refused",
        None: "file_too_large",
        "purposes": "purposes_mismatch",
        "attachments.0": "bad_purpose",
    }
    for files, purposes, loc in bad:
        response = _with_files(public, application, files, purposes)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == code_of[loc], response.text
        if loc:
            assert loc in [e["loc"] for e in response.json()["errors"]], response.json()
    broken = _with_files(
        public, '{"item": "QX-RSJ-10"}', [("a.pdf", PDF, "application/pdf")], ["M1"]
    )
    assert_refused(broken, 422, "application_invalid")
    assert "application.applicant" in [e["loc"] for e in broken.json()["errors"]]
    assert session.scalar(select(func.count()).select_from(Case)) == 0
    assert session.scalar(select(func.count()).select_from(Upload)) == 0
    assert not any(tmp_path.rglob("*"))  # no file was stored either
    get_settings.cache_clear()


def test_status_lookups_are_limited(client: TestClient, session: Session) -> None:
    _world(session)
    csrf = login(client, "frontdesk")
    number = _submit(client, csrf)
    public = TestClient(client.app, client=("10.0.0.1", 50000))
    wrong = {"X-Applicant-Id": "110105194912310021"}
    for _ in range(5):
        assert_refused(
            public.get(f"/api/v1/cases/{number}/status", headers=wrong), 404, "case_not_found"
        )
    right = {"X-Applicant-Id": "11010519491231002X"}
    locked = public.get(f"/api/v1/cases/{number}/status", headers=right)
    assert_refused(locked, 429, "rate_limited")
    assert int(locked.headers["Retry-After"]) == 1  # then 2, 4 … seconds: growing delays
    # Ten addresses times five wrong ID numbers used to lock the number for an hour; the
    # applicant from an address of their own is let in with the right ID number.
    for i in range(10):
        guesser = TestClient(client.app, client=(f"10.0.{i}.9", 50000))
        for _ in range(5):
            guesser.get(f"/api/v1/cases/{number}/status", headers=wrong)
    applicant = TestClient(client.app, client=("192.168.7.7", 50000))
    found = applicant.get(f"/api/v1/cases/{number}/status", headers=right)
    assert found.status_code == 200, found.text
    # 30 lookups from one client in ten minutes, then no more.
    for _ in range(29):  # with the one above: thirty
        answer = applicant.get(f"/api/v1/cases/{number}/status", headers=right)
        assert answer.status_code == 200
    assert_refused(
        applicant.get(f"/api/v1/cases/{number}/status", headers=right), 429, "rate_limited"
    )


def test_a_tick_that_lost_the_race_to_another_skips_the_level_without_crashing(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ticks at once: the second read the fired levels before the first committed, so it
    tries to fire the same levels. It used to crash with an IntegrityError and skip delivery."""
    step_id = _overdue_first_step(client, session)
    assert service.tick(session=session).fired == 2
    stale_read = repository.due_ready_steps(session)
    original_execute = session.execute

    def stale_fired(statement: Any, *args: Any, **kwargs: Any) -> Any:
        text = str(statement)
        if "FROM escalation_fired JOIN case_step" in text:
            return original_execute(statement.where(False), *args, **kwargs)
        return original_execute(statement, *args, **kwargs)

    monkeypatch.setattr(session, "execute", stale_fired)
    assert stale_read  # the step is still open
    assert service.tick(session=session).fired == 0
    monkeypatch.undo()
    escalations = session.scalars(select(Job.key).where(Job.kind == "escalation")).all()
    assert sorted(escalations) == [f"escalation:{step_id}:overdue", f"escalation:{step_id}:warn"]


def test_anonymous_intake_is_limited_per_client_address(
    client: TestClient, session: Session
) -> None:
    """Thirty anonymous cases in a second got through: now an address may submit five in a
    minute (twenty in an hour), then a 429 with its code and Retry-After; staff are not
    counted."""
    _world(session)
    for i in range(5):
        response = client.post("/api/v1/cases", json=_application(idempotency_key=f"anon-{i:04}"))
        assert response.status_code == 201, response.text
    refused = client.post("/api/v1/cases", json=_application(idempotency_key="anon-0099"))
    assert_refused(refused, 429, "intake_rate_limited")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    files = client.post(
        "/api/v1/cases/with-files",
        data={"application": json.dumps(_application(idempotency_key="anon-0098"))},
        files=[("files", ("a.pdf", PDF, "application/pdf"))],
    )
    assert_refused(files, 429, "intake_rate_limited")
    page = client.post("/apply", data={"item": "QX-RSJ-10"})
    assert_refused(page, 429, "intake_rate_limited")
    assert "Retry-After" in page.headers
    assert session.scalar(select(func.count()).select_from(Case)) == 5
    csrf = login(client, "frontdesk")  # the window's officer is not limited by the address
    assert _submit(client, csrf, idempotency_key="desk-000001")


def test_an_all_digit_unified_social_credit_code_is_accepted_at_intake(
    client: TestClient, session: Session
) -> None:
    """A USCC of digits only has the shape of a resident ID number; it used to be refused as a
    resident ID number with a wrong birth date."""
    _world(session)
    csrf = login(client, "frontdesk")
    uscc = "129901230000000020"  # 事业单位, division 990123, check digit 0 (GB 32100-2015)
    applicant = {"name": "某某中心", "id_no": uscc, "jurisdiction": "990123001"}
    number = _submit(client, csrf, applicant=applicant)
    assert session.scalars(select(Case.applicant_id_no).where(Case.number == number)).one() == uscc
    wrong = {**applicant, "id_no": uscc[:-1] + "1"}  # neither a valid ID nor a valid USCC
    refused = client.post(
        "/api/v1/cases",
        json=_application(applicant=wrong, idempotency_key="key-0000002"),
        headers={"X-CSRF-Token": csrf},
    )
    assert_refused(refused, 422, "request_invalid")
    assert refused.json()["errors"][0]["loc"] == "applicant.id_no"
