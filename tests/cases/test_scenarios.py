"""The paper's three scenarios, end to end through the API, in the demo county as its users.

Each test loads the whole demo county (organisation, catalogue, bundles and its demo cases) inside
the test's rolled-back transaction, then runs one scenario as the demo users would, seals the
finished case into the archive and verifies it; the handover also shows that tampering with a
stored file or an event is caught.

The demo county now has every officer the scenarios need; ``_stand_in`` still creates one (an
officer of exactly one department) should a user of ``MISSING`` ever be dropped from org.yaml.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import assert_refused, login, principal_of
from tests.jobs.helpers import within
from tongban.auth import service as auth_service
from tongban.auth.models import Role, RoleGrant, User
from tongban.cases import archive, bank, service, storage
from tongban.cases.models import Case, CaseEvent, CaseStep, Payment, Signature
from tongban.config import get_settings
from tongban.demo import cases as demo_cases
from tongban.demo.loader import DEMO_PASSWORD, load_demo
from tongban.jobs import service as jobs
from tongban.jobs.models import Job
from tongban.org.models import Department

#: demo users the scenarios rely on, with their department (created if org.yaml lacks them)
MISSING = {
    "officer.zhzf": "QX-ZHZF",  # the maintenance unit confirming the infrastructure handover
    "officer.swj": "QX-SWJ",  # the tax bureau in the property transfer
    "officer.power": "QX-POWER",  # the power company's account transfer
}


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Uploaded files and archives go to a directory of this test only."""
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    yield tmp_path / "uploads"
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def demo(session: Session, uploads: Path) -> Session:
    load_demo(session=session)
    session.commit()
    return session


# ---------------------------------------------------------------- helpers


def _as(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return login(client, username, DEMO_PASSWORD)


def _case(client: TestClient, number: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases/{number}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _steps(client: TestClient, number: str) -> dict[str, dict[str, Any]]:
    return {s["code"]: s for s in _case(client, number)["steps"]}


def _post(client: TestClient, csrf: str, path: str, body: dict[str, Any]) -> int:
    response = client.post(f"/api/v1{path}", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code < 500, response.text
    return int(response.status_code)


def _complete(
    client: TestClient, csrf: str, number: str, code: str, outcome: dict[str, Any] | None = None
) -> int:
    step = _steps(client, number)[code]
    return _post(
        client,
        csrf,
        f"/steps/{step['id']}/complete",
        {"lock_version": step["lock_version"], "outcome": outcome or {}},
    )


def _upload(
    client: TestClient,
    csrf: str,
    number: str,
    purpose: str,
    name: str,
    data: bytes,
    *,
    step_id: int | None = None,
    content_type: str = "application/pdf",
) -> dict[str, Any]:
    form = {"purpose": purpose} | ({"step_id": str(step_id)} if step_id else {})
    response = client.post(
        f"/api/v1/cases/{number}/uploads",
        data=form,
        files={"file": (name, data, content_type)},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _submit(client: TestClient, csrf: str, application: Any) -> str:
    response = client.post(
        "/api/v1/cases",
        json=application.model_dump(mode="json", exclude_none=True),
        headers={"X-CSRF-Token": csrf} if csrf else {},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def _stand_in(session: Session, username: str) -> None:
    """A demo user the county lacks: an officer of exactly one department."""
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        return  # the demo county has them now
    department = session.scalars(
        select(Department).where(Department.code == MISSING[username])
    ).one()
    user = auth_service.create_user(
        session=session, username=username, display_name=username, password=DEMO_PASSWORD
    )
    session.add(
        RoleGrant(
            user_id=user.id,
            role=Role.OFFICER.value,
            department_id=department.id,
            jurisdiction_id=department.jurisdiction_id,
        )
    )
    session.commit()


def _seal_and_verify(
    client: TestClient, session: Session, number: str, sealer: str
) -> dict[str, Any]:
    csrf = _as(client, sealer)
    sealed = client.post(f"/api/v1/cases/{number}/archive", headers={"X-CSRF-Token": csrf})
    assert sealed.status_code == 201, sealed.text
    body = sealed.json()
    again = client.get(f"/api/v1/cases/{number}/archive").json()
    assert again["sha256"] == body["sha256"]
    pdf = client.get(f"/api/v1/cases/{number}/archive.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert hashlib.sha256(pdf.content).hexdigest() == body["manifest"]["summary_pdf"]["sha256"]
    case = _case(client, number)
    assert case["status"] == "archived"
    assert case["events"][-1]["action"] == "archived"
    assert case["events"][-1]["data"]["manifest_sha256"] == body["sha256"]
    check = archive.verify_archive(
        session=session, principal=principal_of(session, sealer), number=number
    )
    assert check.ok, check.problems
    assert [line for line in service.verify_all(session=session) if number in line] == []
    return dict(body["manifest"])


# ---------------------------------------------------------------- (a) infrastructure handover


def test_infrastructure_handover_is_traceable_end_to_end(
    client: TestClient, demo: Session, uploads: Path
) -> None:
    session = demo
    csrf = _as(client, "frontdesk")
    number = _submit(client, csrf, demo_cases.handover_application("test-handover-0302-0001"))
    docs = {
        "M-DOCS": demo_cases.tiny_pdf("as-built drawings and hidden-works records"),
        "M-LIST": demo_cases.tiny_pdf("list of assets handed over"),
        "M-AUDIT": demo_cases.tiny_pdf("final account audit report"),
    }
    stored = {p: _upload(client, csrf, number, p, f"{p}.pdf", d) for p, d in docs.items()}
    assert all(s["sha256"] == hashlib.sha256(docs[p]).hexdigest() for p, s in stored.items())
    assert _complete(client, csrf, number, "QX-ZJJ-0302#S1") == 204  # the window accepts

    csrf = _as(client, "officer.zjj")
    mine = [(w["case_number"], w["code"]) for w in client.get("/api/v1/workbench").json()]
    assert (number, "QX-ZJJ-0302#S2") in mine
    assert _complete(client, csrf, number, "QX-ZJJ-0302#S2", {"opinion": "资料齐全"}) == 204
    onsite = _steps(client, number)["QX-ZJJ-0302#S3"]
    _upload(
        client,
        csrf,
        number,
        "photo",
        "site.png",
        b"\x89PNG\r\n\x1a\n" + b"site photo",
        step_id=onsite["id"],
        content_type="image/png",
    )
    outcome = {"time": "2026-03-05 10:00", "place": "滨江路江景段", "notes": "各方现场核验合格"}
    assert _complete(client, csrf, number, "QX-ZJJ-0302#S3", outcome) == 204
    # The maintenance unit (QX-ZHZF) confirms; the housing bureau may not do it for them.
    assert _complete(client, csrf, number, "QX-ZJJ-0302#S4") == 403
    _stand_in(session, "officer.zhzf")
    csrf = _as(client, "officer.zhzf")
    assert _complete(client, csrf, number, "QX-ZJJ-0302#S4", {"opinion": "同意接收管养"}) == 204

    # Both parties sign the generated handover agreement. The applicant signs at the window,
    # which acts on this step only by an explicit, recorded delegation from the bureau.
    csrf = _as(client, "officer.zjj")
    sign = _steps(client, number)["QX-ZJJ-0302#S5"]
    assert (
        _post(
            client,
            csrf,
            f"/steps/{sign['id']}/delegate",
            {
                "to_department": "QX-ZWFW",
                "reason": "建设单位到政务服务中心窗口核验身份后签署交接书",
            },
        )
        == 204
    )
    path = f"/steps/{sign['id']}/sign?lock_version={sign['lock_version']}"
    csrf = _as(client, "frontdesk")
    assert _post(client, csrf, path, {"party": "applicant"}) == 204
    assert _post(client, csrf, path, {"party": "applicant"}) == 409  # once per signer
    csrf = _as(client, "officer.zjj")
    assert _post(client, csrf, path, {"party": "department"}) == 204
    signed = _steps(client, number)["QX-ZJJ-0302#S5"]
    assert signed["status"] == "done"
    row = session.scalars(select(Case).where(Case.number == number)).one()
    sign_row = session.get(CaseStep, sign["id"])
    assert sign_row is not None
    expected = hashlib.sha256(service.agreement_text(row, sign_row).encode()).hexdigest()
    signatures = session.scalars(select(Signature).where(Signature.step_id == sign["id"])).all()
    assert {(s.party, s.document_sha256) for s in signatures} == {
        ("applicant", expected),
        ("department", expected),
    }
    csrf = _as(client, "officer.czj")
    assert _complete(client, csrf, number, "QX-ZJJ-0302#S6", {"booked": "固定资产入账"}) == 204

    case = _case(client, number)
    assert case["status"] == "completed"
    for step in case["steps"]:
        assert step["status"] == "done"
        assert step["acted_by"]
        assert step["acted_department"]
        assert step["acted_at"]
    actors = {e["actor"] for e in case["events"]}
    assert {"frontdesk", "officer.zjj", "officer.zhzf", "officer.czj"} <= actors
    actions = [e["action"] for e in case["events"]]
    assert actions.count("uploaded") == 4
    assert actions.count("signed") == 2
    assert "delegated" in actions
    assert actions[-1] == "completed"

    manifest = _seal_and_verify(client, session, number, "officer.zjj")
    assert {m["sha256"] for m in manifest["materials"]} >= {s["sha256"] for s in stored.values()}
    assert len(manifest["signatures"]) == 2
    assert manifest["events"]["count"] == len(case["events"])

    # Tampering: a stored completion document is replaced on disk.
    target = storage.path_for(stored["M-DOCS"]["sha256"])
    original = target.read_bytes()
    target.write_bytes(demo_cases.tiny_pdf("forged drawings"))
    check = archive.verify_archive(
        session=session, principal=principal_of(session, "officer.zjj"), number=number
    )
    assert any("M-DOCS.pdf" in p and "altered" in p for p in check.problems), check.problems
    target.write_bytes(original)
    # Tampering: an event of the case is edited in the database.
    case_id = session.scalar(select(Case.id).where(Case.number == number))
    session.execute(
        update(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.action == "signed")
        .values(data={"party": "applicant", "document_sha256": "0" * 64})
    )
    problems = service.verify_all(session=session)
    assert any(p.startswith(f"{number}: event") and "altered" in p for p in problems), problems
    assert any(
        line.startswith(f"{number}: event chain")
        for line in archive.verify_all_archives(session=session)
    )
    session.rollback()
    assert archive.verify_all_archives(session=session) == []


# ---------------------------------------------------------------- (b) technical-renovation award


def test_technical_renovation_award_is_checked_decided_and_paid_once(
    client: TestClient, demo: Session, tmp_path: Path
) -> None:
    session = demo
    public = TestClient(client.app)  # the enterprise applies online, without a staff login
    number = _submit(
        public,
        "",
        demo_cases.renovation_application(
            "test-renovation-0101-0001",
            name="青溪精密铸造有限公司",
            code=demo_cases.uscc("91990123MA5JX0201"),
            village="990123101202",
            invest_fen=800_000_000,
            account="6228480399019999",
        ),
    )
    csrf = _as(client, "officer.jxj")
    assert _complete(client, csrf, number, "QX-JXJ-0101#S1") == 204
    steps = _steps(client, number)
    check = steps["QX-JXJ-0101#S2"]
    assert check["status"] == "done"
    assert check["acted_by"] is None  # never a person
    assert check["outcome"]["rule"] == "renovation_award"
    assert check["outcome"]["version"] == "2026.1"
    assert check["outcome"]["passed"] is True
    assert check["outcome"]["inputs"] == {
        "DE.EQUIP_INVEST": 800_000_000,
        "DE.TAX_PAID": 35_000_000,
        "award_fen": 80_000_000,
    }
    assert steps["QX-JXJ-0101#S3"]["status"] == "ready"
    assert steps["QX-JXJ-0101#S3"]["responsible_department"] == "QX-T101-OFFICE"

    # The township verifies on site, with a photo.
    csrf = _as(client, "township.t101")
    assert [w["code"] for w in client.get("/api/v1/workbench").json()].count("QX-JXJ-0101#S3") >= 1
    _upload(
        client,
        csrf,
        number,
        "photo",
        "workshop.jpg",
        b"\xff\xd8\xff\xe0 workshop",
        step_id=steps["QX-JXJ-0101#S3"]["id"],
        content_type="image/jpeg",
    )
    onsite = {"time": "2026-03-09 14:00", "place": "白石镇石桥村 铸造车间", "notes": "设备在用"}
    assert _complete(client, csrf, number, "QX-JXJ-0101#S3", onsite) == 204
    csrf = _as(client, "officer.jxj")
    assert _complete(client, csrf, number, "QX-JXJ-0101#S4", {"opinion": "符合条件"}) == 204

    # The collective decision: never a plain "complete", members only, minutes first.
    decision = _steps(client, number)["QX-JXJ-0101#S5"]
    body = {"lock_version": decision["lock_version"], "reasons": "集体讨论同意"}
    assert _complete(client, csrf, number, "QX-JXJ-0101#S5", {"decision": "approve"}) == 409
    csrf = _as(client, "committee.czj")  # a member of another committee
    assert _post(client, csrf, f"/steps/{decision['id']}/vote", {"choice": "approve"}) == 403
    csrf = _as(client, "committee.jxj")
    assert _complete(client, csrf, number, "QX-JXJ-0101#S5", {"decision": "approve"}) == 409
    assert _post(client, csrf, f"/steps/{decision['id']}/vote", {"choice": "approve"}) == 204
    assert _post(client, csrf, f"/steps/{decision['id']}/decide", body) == 409  # no quorum
    csrf = _as(client, "committee.jxj2")
    assert _post(client, csrf, f"/steps/{decision['id']}/vote", {"choice": "approve"}) == 204
    assert _post(client, csrf, f"/steps/{decision['id']}/decide", body) == 409  # no minutes
    _upload(
        client,
        csrf,
        number,
        "minutes",
        "minutes.pdf",
        demo_cases.tiny_pdf("party group meeting minutes"),
        step_id=decision["id"],
    )
    assert _post(client, csrf, f"/steps/{decision['id']}/decide", body) == 204
    decided = _steps(client, number)["QX-JXJ-0101#S5"]["outcome"]
    assert decided["decision"] == "approve"
    assert (decided["members"], decided["quorum"], decided["approve"]) == (3, 2, 2)

    csrf = _as(client, "officer.jxj")
    assert _complete(client, csrf, number, "QX-JXJ-0101#S6", {"notice": "公示无异议"}) == 204
    pay = _steps(client, number)["QX-JXJ-0101#S7"]
    pay_body = {"lock_version": pay["lock_version"]}
    assert _post(client, csrf, f"/steps/{pay['id']}/pay", pay_body) == 403  # finance pays
    csrf = _as(client, "officer.czj")
    assert _post(client, csrf, f"/steps/{pay['id']}/pay", pay_body) == 204
    assert _post(client, csrf, f"/steps/{pay['id']}/pay", pay_body) == 409
    assert _post(client, csrf, f"/steps/{pay['id']}/pay", {"lock_version": 99}) == 409
    case = _case(client, number)
    assert case["status"] == "completed"
    reference = f"{number}-{pay['id']}"
    payments = session.scalars(select(Payment).where(Payment.reference == reference)).all()
    assert [(p.amount_fen, p.account) for p in payments] == [(80_000_000, "6228480399019999")]
    messages = [
        m
        for m in session.scalars(select(Job).where(Job.kind == "payment"))
        if m.payload["reference"] == reference
    ]
    assert len(messages) == 1
    assert jobs.run_due(scope=within(session)).done >= 1
    jobs.run_due(scope=within(session))
    ledger = [json.loads(line) for line in bank.ledger_path().read_text().splitlines()]
    assert [e["reference"] for e in ledger].count(reference) == 1
    assert (
        session.scalars(select(Payment.status).where(Payment.reference == reference)).one()
        == "sent"
    )

    manifest = _seal_and_verify(client, session, number, "officer.jxj")
    auto = next(d for d in manifest["decisions"] if d["step"] == "QX-JXJ-0101#S2")
    assert auto["outcome"]["version"] == "2026.1"
    assert auto["actor"] is None
    collective = next(d for d in manifest["decisions"] if d["step"] == "QX-JXJ-0101#S5")
    assert [v["member"] for v in collective["votes"]] == ["committee.jxj", "committee.jxj2"]
    assert [p["amount_fen"] for p in manifest["payments"]] == [80_000_000]
    assert manifest["calendar"]["at_submission"].startswith("chinesecalendar")


def test_a_failing_automatic_check_suspends_the_case_for_corrections(
    client: TestClient, demo: Session
) -> None:
    csrf = _as(client, "frontdesk")
    number = _submit(
        client,
        csrf,
        demo_cases.renovation_application(
            "test-renovation-0101-0002",
            name="青溪小五金加工厂",
            code=demo_cases.uscc("91990123MA6JX0202"),
            village="990123101001",
            invest_fen=320_000_000,
            tax_fen=0,
        ),
    )
    assert _complete(client, csrf, number, "QX-JXJ-0101#S1") == 204
    case = _case(client, number)
    assert case["status"] == "suspended"
    auto = next(s for s in case["steps"] if s["code"] == "QX-JXJ-0101#S2")
    assert auto["outcome"]["passed"] is False
    assert "below 5,000,000 yuan" in auto["outcome"]["explanation"]
    assert "no tax paid" in auto["outcome"]["explanation"]
    assert auto["outcome"]["inputs"]["award_fen"] == 0
    suspended = next(e for e in case["events"] if e["action"] == "suspended")
    assert suspended["data"]["reason"] == "correction"
    assert suspended["actor"] is None
    # The failed check blocks the case: the verification is not ready.
    assert next(s for s in case["steps"] if s["code"] == "QX-JXJ-0101#S3")["status"] == "waiting"
    csrf = _as(client, "township.t101")
    onsite = {"time": "t", "place": "p", "notes": "n"}
    assert _complete(client, csrf, number, "QX-JXJ-0101#S3", onsite) == 409
    csrf = _as(client, "officer.jxj")
    sealed = client.post(f"/api/v1/cases/{number}/archive", headers={"X-CSRF-Token": csrf})
    assert_refused(sealed, 409, "case_not_finished")
    assert "suspended" in sealed.json()["message"]
    # The corrections arrive: the check runs again on the corrected form and passes.
    corrected = {"DE.EQUIP_INVEST": 600_000_000, "DE.TAX_PAID": 1_000_000}
    resumed = client.post(
        f"/api/v1/cases/{number}/resume",
        json={"corrections": corrected, "note": "补充设备投资发票"},
        headers={"X-CSRF-Token": csrf},
    )
    assert resumed.status_code == 204, resumed.text
    case = _case(client, number)
    assert case["status"] == "in_progress"
    auto = next(s for s in case["steps"] if s["code"] == "QX-JXJ-0101#S2")
    assert auto["status"] == "done"
    assert auto["outcome"]["passed"] is True
    assert auto["outcome"]["inputs"]["award_fen"] == 60_000_000
    assert next(s for s in case["steps"] if s["code"] == "QX-JXJ-0101#S3")["status"] == "ready"


# ---------------------------------------------------------------- (c) property transfer bundle


def test_property_transfer_bundle_fans_out_in_parallel(client: TestClient, demo: Session) -> None:
    session = demo
    csrf = _as(client, "frontdesk")
    number = _submit(
        client, csrf, demo_cases.property_transfer_application("test-property-transfer-0001")
    )
    case = _case(client, number)
    assert case["subject_kind"] == "bundle"
    codes = [s["code"] for s in case["steps"]]
    assert codes[0] == "BUNDLE#acceptance"
    assert codes[-1] == "BUNDLE#delivery"
    assert codes.count("BUNDLE#acceptance") == 1
    assert codes.count("BUNDLE#delivery") == 1
    # The single window's steps belong to the bundle's lead (the registration), not to the
    # first member's department (the housing bureau), as the BPMN always drew them.
    window = {s["code"]: s["responsible_department"] for s in case["steps"] if not s["item_code"]}
    assert window == {"BUNDLE#acceptance": "QX-ZRZY", "BUNDLE#delivery": "QX-ZRZY"}
    members = {s["item_code"] for s in case["steps"] if s["item_code"]}
    assert members == {
        "QX-ZJJ-0201",
        "QX-SWJ-0001",
        "QX-ZRZY-0101",
        "QX-WATER-0001",
        "QX-POWER-0001",
    }  # no gas, TV or broadband: the answers said no
    assert not any(s["kind"] == "acceptance" and s["item_code"] for s in case["steps"])
    assert [s["code"] for s in case["steps"] if s["status"] == "ready"] == ["BUNDLE#acceptance"]
    assert _complete(client, csrf, number, "BUNDLE#acceptance") == 204
    ready = [c for c, s in _steps(client, number).items() if s["status"] == "ready"]
    assert ready == ["QX-ZJJ-0201#S2"]  # the tax depends on the contract

    csrf = _as(client, "officer.zjj")
    assert _complete(client, csrf, number, "QX-ZJJ-0201#S2") == 204
    # The filing issues the contract number the tax and the registration need: its officer
    # records it (the applicant was not asked for a number that did not exist yet).
    assert _complete(client, csrf, number, "QX-ZJJ-0201#S3", {"contract": "QXWQ1"}) == 422
    produced = {"produced": {"DE.CONTRACT_NO": "QXWQ2026000777"}}
    assert _complete(client, csrf, number, "QX-ZJJ-0201#S3", produced) == 204
    assert _case(client, number)["form"]["DE.CONTRACT_NO"] == "QXWQ2026000777"
    _stand_in(session, "officer.swj")
    csrf = _as(client, "officer.swj")
    assert _complete(client, csrf, number, "QX-SWJ-0001#S2") == 204
    tax = _steps(client, number)["QX-SWJ-0001#S3"]
    body = {"lock_version": tax["lock_version"], "amount_fen": 980_000}
    assert _post(client, csrf, f"/steps/{tax['id']}/pay", body) == 204
    csrf = _as(client, "officer.zrzy")
    assert _complete(client, csrf, number, "QX-ZRZY-0101#S2") == 204
    fee = _steps(client, number)["QX-ZRZY-0101#S3"]
    body = {"lock_version": fee["lock_version"], "amount_fen": 8_000}
    assert _post(client, csrf, f"/steps/{fee['id']}/pay", body) == 204
    assert _complete(client, csrf, number, "QX-ZRZY-0101#S4", {"register": "已登簿"}) == 204

    # The utilities are independent of each other: both are ready at the same moment.
    steps = _steps(client, number)
    water, power = steps["QX-WATER-0001#S2"], steps["QX-POWER-0001#S2"]
    assert water["status"] == power["status"] == "ready"
    assert water["ready_at"] == power["ready_at"]
    assert steps["BUNDLE#delivery"]["status"] == "waiting"
    csrf = _as(client, "officer.water")
    meter = {"time": "2026-03-12 09:00", "place": "解放路18号", "notes": "抄表 1234 吨，已结清"}
    assert _complete(client, csrf, number, "QX-WATER-0001#S2", meter) == 204
    assert _complete(client, csrf, number, "QX-WATER-0001#S3") == 204
    assert _steps(client, number)["BUNDLE#delivery"]["status"] == "waiting"  # power is open
    _stand_in(session, "officer.power")
    csrf = _as(client, "officer.power")
    assert _complete(client, csrf, number, "QX-POWER-0001#S2") == 204
    assert _steps(client, number)["BUNDLE#delivery"]["status"] == "ready"
    csrf = _as(client, "frontdesk")
    assert _complete(client, csrf, number, "BUNDLE#delivery") == 204

    case = _case(client, number)
    assert case["status"] == "completed"
    assert all(s["status"] == "done" for s in case["steps"])
    times = {s["code"]: s["acted_at"] for s in case["steps"]}
    assert times["BUNDLE#acceptance"] == min(times.values())
    assert times["BUNDLE#delivery"] == max(times.values())
    manifest = _seal_and_verify(client, session, number, "frontdesk")
    assert len(manifest["decisions"]) == len(case["steps"])
    assert {p["amount_fen"] for p in manifest["payments"]} == {980_000, 8_000}
