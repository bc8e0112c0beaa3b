"""The applicant is told at acceptance, at a request for corrections and at the decision: each
notice a ``notification`` job deferred with the change that decided it, sent once per key."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import login, make_catalog, make_org
from tongban.config import get_settings
from tongban.jobs.models import Job
from tongban.jobs.registry import JobRun
from tongban.notify.jobs import send_notification

ID_NO = "11010519491231002X"


def _submit(client: TestClient, csrf: str, key: str, phone: str) -> str:
    response = client.post(
        "/api/v1/cases",
        json={
            "item": "QX-RSJ-1",
            "applicant": {
                "name": "张三",
                "id_no": ID_NO,
                "phone": phone,
                "jurisdiction": "990123001",
            },
            "form": {"DE.NAME": "张三", "DE.ID": ID_NO},
            "idempotency_key": key,
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def _steps(client: TestClient, number: str) -> list[dict[str, Any]]:
    return list(client.get(f"/api/v1/cases/{number}").json()["steps"])


def _post(client: TestClient, csrf: str, path: str, body: dict[str, Any]) -> None:
    response = client.post(path, json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204, response.text


def _notices(session: Session, number: str) -> dict[str, dict[str, Any]]:
    rows = session.scalars(
        select(Job).where(Job.kind == "notification", Job.key.like(f"applicant:{number}:%"))
    )
    return {row.key.split(":")[2]: {"key": row.key, **row.payload} for row in rows}


def test_the_applicant_hears_of_acceptance_corrections_and_the_decision(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    make_catalog(session)
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf, "notice-000001", "13800138000")
    assert _notices(session, number) == {}  # submitted, not yet accepted
    accept, review = _steps(client, number)
    _post(client, csrf, f"/api/v1/steps/{accept['id']}/complete", {"lock_version": 1})
    told = _notices(session, number)
    assert set(told) == {"accepted"}
    assert told["accepted"]["channel"] == "sms"
    assert told["accepted"]["to"] == "13800138000"
    assert number in told["accepted"]["body"]
    _post(
        client, csrf, f"/api/v1/steps/{review['id']}/correction", {"reason": "身份证复印件不清晰"}
    )
    told = _notices(session, number)
    assert "身份证复印件不清晰" in told["corrections"]["body"]
    _post(client, csrf, f"/api/v1/cases/{number}/resume", {})
    review = _steps(client, number)[1]
    _post(
        client,
        csrf,
        f"/api/v1/steps/{review['id']}/complete",
        {
            "lock_version": review["lock_version"],
            "outcome": {"decision": "reject", "reason": "不符合申请条件"},
        },
    )
    told = _notices(session, number)
    assert set(told) == {"accepted", "corrections", "rejected"}
    body = told["rejected"]["body"]
    assert "不符合申请条件" in body
    assert "行政复议" in body  # their rights against the refusal
    assert "行政诉讼" in body
    # The handler sends it through the port (the demo's file), once per key.
    job = session.scalars(select(Job).where(Job.key == told["rejected"]["key"])).one()
    for attempt in (1, 2):
        send_notification(JobRun(job.id, job.kind, job.key, job.payload, attempt, 5), session)
    lines = (get_settings().data_folder() / "notifications.jsonl").read_text().splitlines()
    sent = [json.loads(line) for line in lines if job.key in line]
    assert len(sent) == 1


def test_an_approval_is_told_and_an_applicant_without_a_mobile_is_not_texted(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    make_catalog(session)
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf, "notice-000002", "13900139000")
    for step in _steps(client, number):
        _post(client, csrf, f"/api/v1/steps/{step['id']}/complete", {"lock_version": 1})
    assert set(_notices(session, number)) == {"accepted", "approved"}
    silent = _submit(client, csrf, "notice-000003", "")
    accept = _steps(client, silent)[0]
    _post(client, csrf, f"/api/v1/steps/{accept['id']}/complete", {"lock_version": 1})
    assert _notices(session, silent) == {}


def test_the_status_page_gives_a_refusals_reason_and_the_rights_against_it(
    client: TestClient, session: Session
) -> None:
    make_org(session)
    make_catalog(session)
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf, "notice-status-1", "")
    accept, review = _steps(client, number)
    _post(client, csrf, f"/api/v1/steps/{accept['id']}/complete", {"lock_version": 1})
    review = _steps(client, number)[1]
    _post(
        client,
        csrf,
        f"/api/v1/steps/{review['id']}/complete",
        {
            "lock_version": review["lock_version"],
            "outcome": {"decision": "reject", "reason": "不符合申请条件"},
        },
    )
    client.cookies.clear()  # the applicant, on the status page
    form = client.get("/status")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    page = client.post("/status", data={"number": number, "id_no": ID_NO, "csrf_token": token})
    assert page.status_code == 200, page.text
    decision = page.text.split('data-testid="decision"', 1)[1].split("</section>", 1)[0]
    assert "申请未予批准" in decision
    assert "不符合申请条件" in decision
    assert "六十日内申请行政复议" in decision
    assert "《中华人民共和国行政复议法》第二十条" in decision
    assert "六个月内向人民法院提起行政诉讼" in decision
