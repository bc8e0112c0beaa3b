"""电子归档: sealing a finished case, reading the archive back, and verifying it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.factories import ELEMENTS, assert_refused, item, login, make_org, principal_of
from tongban.cases import archive, storage
from tongban.cases.models import Case, CaseEvent, CaseStep, Upload
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.config import get_settings
from tongban.kit.hashchain import canonical_json

PDF = b"%PDF-1.4\n% completion records\n"
ITEM = "QX-RSJ-20"


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    yield tmp_path / "uploads"
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def world(session: Session, uploads: Path) -> Session:
    make_org(session)
    steps = [
        {"code": code, "kind": kind, "name_zh": zh, "name_en": en, "responsible": "QX-RSJ"}
        | {"limit_days": 2}
        for code, kind, zh, en in (
            ("S1", "acceptance", "受理", "Acceptance"),
            ("S2", "review", "审核", "Review"),
            ("S3", "delivery", "办结", "Delivery"),
        )
    ]
    document = CatalogDocument.model_validate(
        {"elements": ELEMENTS, "items": [item(ITEM, "QX-RSJ", name="灵活就业登记", steps=steps)]}
    )
    catalog_service.import_catalog(session=session, document=document)
    session.commit()
    return session


def _submit(client: TestClient, csrf: str, key: str = "archive-test-0001") -> str:
    body = {
        "item": ITEM,
        "applicant": {"name": "王小明", "id_no": "11010519491231002X", "jurisdiction": "990123001"},
        "form": {"DE.NAME": "王小明", "DE.ID": "11010519491231002X"},
        "idempotency_key": key,
    }
    response = client.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


def _run(client: TestClient, csrf: str, number: str, decision: str = "approve") -> None:
    """Upload a material, then finish every step as the officer (the review decides)."""
    uploaded = client.post(
        f"/api/v1/cases/{number}/uploads",
        data={"purpose": "M1"},
        files={"file": ("记录.pdf", PDF, "application/pdf")},
        headers={"X-CSRF-Token": csrf},
    )
    assert uploaded.status_code == 201, uploaded.text
    for code in ("S1", "S2", "S3"):
        steps = {s["code"]: s for s in client.get(f"/api/v1/cases/{number}").json()["steps"]}
        step = steps[f"{ITEM}#{code}"]
        if step["status"] != "ready":
            continue
        outcome = {"decision": decision, "reason": "不符合条件"} if code == "S2" else {}
        response = client.post(
            f"/api/v1/steps/{step['id']}/complete",
            json={"lock_version": step["lock_version"], "outcome": outcome},
            headers={"X-CSRF-Token": csrf},
        )
        assert response.status_code == 204, response.text


def _seal(client: TestClient, csrf: str, number: str) -> Any:
    return client.post(f"/api/v1/cases/{number}/archive", headers={"X-CSRF-Token": csrf})


def _sealed(client: TestClient, world: Session) -> tuple[str, dict[str, Any]]:
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    _run(client, csrf, number)
    response = _seal(client, csrf, number)
    assert response.status_code == 201, response.text
    return number, dict(response.json())


def test_only_a_finished_case_is_sealed_and_only_once(client: TestClient, world: Session) -> None:
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    early = _seal(client, csrf, number)
    assert_refused(early, 409, "case_not_finished")
    assert "in_progress" in early.json()["message"]
    assert_refused(client.get(f"/api/v1/cases/{number}/archive"), 404, "case_not_archived")
    _run(client, csrf, number)
    assert _seal(client, csrf, number).status_code == 201
    twice = _seal(client, csrf, number)
    assert_refused(twice, 409, "already_archived")
    assert "already sealed" in twice.json()["message"]
    case = client.get(f"/api/v1/cases/{number}").json()
    assert case["status"] == "archived"
    assert [e["action"] for e in case["events"]].count("archived") == 1


def test_a_rejected_case_is_sealed_too(client: TestClient, world: Session) -> None:
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    _run(client, csrf, number, decision="reject")
    response = _seal(client, csrf, number)
    assert response.status_code == 201, response.text
    manifest = response.json()["manifest"]
    assert manifest["final_status"] == "rejected"
    statuses = {d["step"]: d["status"] for d in manifest["decisions"]}
    assert statuses == {f"{ITEM}#S1": "done", f"{ITEM}#S2": "done", f"{ITEM}#S3": "skipped"}


def test_only_staff_who_see_the_case_seal_it(client: TestClient, world: Session) -> None:
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    _run(client, csrf, number)
    client.cookies.clear()
    csrf = login(client, "officer.zjj")  # an officer outside the case
    assert_refused(_seal(client, csrf, number), 404, "case_not_found")
    client.cookies.clear()
    csrf = login(client, "observer")  # sees every case of the county, seals none
    assert_refused(_seal(client, csrf, number), 403, "sealers_only")
    client.cookies.clear()
    csrf = login(client, "frontdesk")  # the single window keeps the records
    assert _seal(client, csrf, number).status_code == 201
    client.cookies.clear()
    login(client, "officer.zjj")
    assert_refused(client.get(f"/api/v1/cases/{number}/archive"), 404, "case_not_found")
    assert_refused(client.get(f"/api/v1/cases/{number}/archive.pdf"), 404, "case_not_found")
    client.cookies.clear()
    login(client, "observer")
    assert client.get(f"/api/v1/cases/{number}/archive").status_code == 200
    anonymous = TestClient(client.app)
    assert_refused(anonymous.post(f"/api/v1/cases/{number}/archive"), 401, "login_required")


def test_manifest_hashes_match_the_stored_files(client: TestClient, world: Session) -> None:
    number, sealed = _sealed(client, world)
    manifest = sealed["manifest"]
    stored = storage.get(sealed["sha256"])
    assert hashlib.sha256(stored).hexdigest() == sealed["sha256"]
    assert stored == canonical_json(manifest)  # canonical JSON, byte for byte
    assert json.loads(stored) == manifest
    event = client.get(f"/api/v1/cases/{number}").json()["events"][-1]
    assert event["action"] == "archived"
    assert event["data"]["manifest_sha256"] == sealed["sha256"]
    [material] = manifest["materials"]
    assert material["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert hashlib.sha256(storage.get(material["sha256"])).hexdigest() == material["sha256"]
    pdf = storage.get(manifest["summary_pdf"]["sha256"])
    assert hashlib.sha256(pdf).hexdigest() == manifest["summary_pdf"]["sha256"]
    assert len(pdf) == manifest["summary_pdf"]["size"]
    case = world.scalars(select(Case).where(Case.number == number)).one()
    world.refresh(case)
    assert manifest["form"]["sha256"] == hashlib.sha256(canonical_json(case.form_data)).hexdigest()
    for decision in manifest["decisions"]:
        assert decision["sha256"] == archive.record_hash(decision)
        assert decision["actor"] == "officer.rsj"
        assert decision["acting_department"] == "QX-RSJ"
        assert decision["acted_at"]
    head = world.scalars(
        select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.seq == manifest["events"]["count"]
        )
    ).one()
    assert head.hash == manifest["events"]["head"]
    assert head.action == "completed"
    assert manifest["calendar"]["at_submission"].startswith("chinesecalendar")
    assert manifest["sealed_by"] == "officer.rsj"
    check = archive.verify_archive(
        session=world, principal=principal_of(world, "officer.rsj"), number=number
    )
    assert check.ok, check.problems
    assert check.manifest_sha256 == sealed["sha256"]


def test_the_pdf_summary_names_the_case(client: TestClient, world: Session, tmp_path: Path) -> None:
    number, sealed = _sealed(client, world)
    response = client.get(f"/api/v1/cases/{number}/archive.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    assert hashlib.sha256(pdf).hexdigest() == sealed["manifest"]["summary_pdf"]["sha256"]
    if shutil.which("pdftotext") is None:
        assert len(pdf) > 2000
        return
    path = tmp_path / "summary.pdf"
    path.write_bytes(pdf)
    extracted = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert number in extracted
    assert "电子归档摘要" in extracted  # Chinese text is rendered, not tofu
    assert "受理" in extracted
    assert "王小明" in extracted
    assert "11010519491231002X" not in extracted  # the ID number is masked
    assert "110105********002X" in extracted


def test_verify_archive_names_each_tampering(client: TestClient, world: Session) -> None:
    number, sealed = _sealed(client, world)
    who = principal_of(world, "officer.rsj")
    case_id = world.scalar(select(Case.id).where(Case.number == number))

    def problems() -> list[str]:
        return archive.verify_archive(session=world, principal=who, number=number).problems

    assert problems() == []
    # the form data
    world.execute(
        update(Case).where(Case.id == case_id).values(form_data={"DE.NAME": "李四", "DE.ID": "x"})
    )
    assert "form differs from the archive" in problems()
    world.rollback()
    # a step's decision
    world.execute(
        update(CaseStep)
        .where(CaseStep.case_id == case_id, CaseStep.code == f"{ITEM}#S2")
        .values(outcome={"decision": "approve", "note": "补签"})
    )
    assert any("decisions" in p and "outcome" in p for p in problems())
    world.rollback()
    # an upload slipped in after sealing
    world.add(
        Upload(
            case_id=case_id,
            purpose="M9",
            filename="late.pdf",
            content_type="application/pdf",
            size=4,
            sha256="a" * 64,
        )
    )
    world.flush()
    assert any("was added after sealing" in p for p in problems())
    world.rollback()
    # an event removed from the end of the chain
    world.execute(
        text("DELETE FROM case_event WHERE case_id = :c AND action = 'archived'"), {"c": case_id}
    )
    found = problems()
    assert any("chain" in p for p in found)
    assert any("no archived event" in p for p in found)
    world.rollback()
    # the stored files
    pdf_path = storage.path_for(sealed["manifest"]["summary_pdf"]["sha256"])
    original = pdf_path.read_bytes()
    pdf_path.write_bytes(original + b"%")
    assert problems() == ["the PDF summary was altered"]
    pdf_path.write_bytes(original)
    manifest_path = storage.path_for(sealed["sha256"])
    kept = manifest_path.read_bytes()
    manifest_path.write_bytes(kept.replace(b'"final_status":"completed"', b'"final_status":"x"'))
    assert any("manifest file was altered" in p for p in problems())
    manifest_path.unlink()
    assert any("missing" in p for p in problems())
    manifest_path.write_bytes(kept)
    assert problems() == []
    assert archive.verify_all_archives(session=world) == []


def _aged(path: Path, hours: float) -> None:
    moment = time.time() - hours * 3600
    os.utime(path, (moment, moment))


def test_the_sweep_removes_only_old_files_that_nothing_names(
    client: TestClient, world: Session, uploads: Path
) -> None:
    _number, sealed = _sealed(client, world)
    named = archive.referenced_files(world)
    upload = world.scalars(select(Upload.sha256)).first()
    assert upload is not None
    pdf = sealed["manifest"]["summary_pdf"]["sha256"]
    assert {upload, sealed["sha256"], pdf} <= named
    for digest in named:
        _aged(storage.path_for(digest), 48)  # old, but named: kept
    orphan = hashlib.sha256(b"rolled back").hexdigest()
    _aged(storage.put(orphan, b"rolled back"), 48)
    fresh = hashlib.sha256(b"being uploaded").hexdigest()
    storage.put(fresh, b"being uploaded")  # a transaction may be about to name it

    looked = storage.sweep(named, older_than_seconds=24 * 3600, dry_run=True)
    assert looked.removed == [orphan]
    assert storage.path_for(orphan).exists()

    swept = storage.sweep(named, older_than_seconds=24 * 3600)
    assert swept.removed == [orphan]
    assert swept.removed_bytes == len(b"rolled back")
    assert (swept.files, swept.referenced, swept.too_young) == (len(named) + 2, len(named), 1)
    assert not storage.path_for(orphan).exists()
    assert storage.path_for(fresh).exists()
    assert all(storage.path_for(d).exists() for d in named)
    assert archive.verify_all_archives(session=world) == []


def test_a_file_stored_again_is_young_again_and_survives_the_sweep(uploads: Path) -> None:
    """A rolled-back upload left the file two days ago; the applicant sends the same file
    again: the sweep must leave it to the transaction about to name it."""
    digest = hashlib.sha256(b"sent twice").hexdigest()
    _aged(storage.put(digest, b"sent twice"), 48)
    storage.put(digest, b"sent twice")
    swept = storage.sweep(set(), older_than_seconds=24 * 3600)
    assert swept.removed == []
    assert swept.too_young == 1
    assert storage.path_for(digest).read_bytes() == b"sent twice"


def test_the_api_refuses_a_rejection_without_a_reason(client: TestClient, world: Session) -> None:
    """The page asked for a reason; the API took a rejection without one."""
    csrf = login(client, "officer.rsj")
    number = _submit(client, csrf)
    steps = {s["code"]: s for s in client.get(f"/api/v1/cases/{number}").json()["steps"]}
    first = steps[f"{ITEM}#S1"]
    done = client.post(
        f"/api/v1/steps/{first['id']}/complete",
        json={"lock_version": first["lock_version"], "outcome": {}},
        headers={"X-CSRF-Token": csrf},
    )
    assert done.status_code == 204, done.text
    review = {s["code"]: s for s in client.get(f"/api/v1/cases/{number}").json()["steps"]}[
        f"{ITEM}#S2"
    ]
    for outcome in ({"decision": "reject"}, {"decision": "reject", "reason": "  "}):
        refused = client.post(
            f"/api/v1/steps/{review['id']}/complete",
            json={"lock_version": review["lock_version"], "outcome": outcome},
            headers={"X-CSRF-Token": csrf},
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "reason_required"
        assert refused.json()["errors"][0]["loc"] == "outcome.reason"
    case = client.get(f"/api/v1/cases/{number}").json()
    assert case["status"] == "in_progress"
