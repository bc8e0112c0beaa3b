"""Bundles through the API: visibility, composing with answers, drafting, lints, BPMN."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import assert_refused, item, login, make_catalog, make_org
from tongban.bundles import repository, service
from tongban.bundles.models import BundleVersion
from tongban.bundles.schemas import BundleDocument
from tongban.errors import ValidationFailed

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _world(session: Session) -> None:
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
            }
        ],
    )
    safety = item("QX-GAJ-1", "QX-GAJ", name="治安备案", type="public_service")
    draft = item("QX-RSJ-2", "QX-RSJ", status="draft", name="草稿事项")
    make_catalog(session, [permit, hire, safety, draft])
    document = BundleDocument.model_validate({"bundles": [_bundle()]})
    service.import_bundles(session=session, document=document)
    session.commit()


def _bundle(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": "build",
        "name_zh": "开工一件事",
        "name_en": "Start building",
        "kind": "business_event",
        "lead_department": "QX-ZJJ",
        "partners": ["QX-RSJ", "QX-GAJ"],
        "questions": [
            {
                "code": "hires",
                "text_zh": "是否用工？",
                "text_en": "Hiring?",
                "answers": [
                    {"code": "yes", "zh": "是", "en": "Yes"},
                    {"code": "no", "zh": "否", "en": "No"},
                ],
            }
        ],
        "members": [
            {"item": "QX-ZJJ-1"},
            {"item": "QX-RSJ-1", "depends_on": ["QX-ZJJ-1"], "when": {"hires": ["yes"]}},
            {"item": "QX-GAJ-1", "depends_on": ["QX-ZJJ-1"]},
        ],
    }
    data.update(extra)
    return data


def test_compose_whole_bundle_and_personalised(client: TestClient, session: Session) -> None:
    _world(session)
    assert [b["code"] for b in client.get("/api/v1/bundles").json()] == ["build"]
    whole = client.post("/api/v1/bundles/build/compose", json={}).json()
    assert set(whole) >= {"before", "after", "removed"}
    for part in ("before", "after"):
        assert set(whole[part]) == {"forms", "fields", "materials", "steps", "visits", "days"}
    assert set(whole["removed"]) == {"forms", "fields", "materials", "steps", "visits", "days"}
    assert whole["members"] == ["QX-ZJJ-1", "QX-RSJ-1", "QX-GAJ-1"]
    assert (whole["before"]["forms"], whole["after"]["forms"]) == (3, 1)
    reasons = {(r["item"], r["code"]): r["rule"] for r in whole["removed"]["materials"]}
    assert reasons[("QX-RSJ-1", "M-PERMIT")] == "member_output"

    personal = client.post(
        "/api/v1/bundles/build/compose", json={"answers": {"hires": "no"}}
    ).json()
    assert personal["members"] == ["QX-ZJJ-1", "QX-GAJ-1"]
    assert personal["fields"][1]["authority"] == "QX-GAJ"


def test_bad_answers_name_the_question(client: TestClient, session: Session) -> None:
    _world(session)
    response = client.post(
        "/api/v1/bundles/build/compose", json={"answers": {"hires": "maybe", "pets": "no"}}
    )
    assert_refused(response, 422, "answers_invalid")
    errors = {e["loc"]: e["message"] for e in response.json()["errors"]}
    assert errors["answers.hires"] == "'maybe' is not an answer; choose one of: no, yes"
    assert errors["answers.pets"] == "bundle 'build' asks no question 'pets'"
    missing = client.post("/api/v1/bundles/build/compose", json={"answers": {}})
    assert missing.json()["errors"] == [
        {"loc": "answers.hires", "message": "this question needs an answer"}
    ]
    assert_refused(client.post("/api/v1/bundles/nope/compose", json={}), 404, "bundle_not_found")


def test_composer_saves_drafts_within_scope_only(client: TestClient, session: Session) -> None:
    _world(session)
    headers = {"X-CSRF-Token": login(client, "officer.rsj")}
    denied = client.put("/api/v1/bundles/hire/draft", json={"bundle": _bundle()}, headers=headers)
    assert_refused(denied, 403, "bundle_edit_denied")
    client.cookies.clear()
    headers = {"X-CSRF-Token": login(client, "reform")}
    saved = client.put("/api/v1/bundles/hire/draft", json={"bundle": _bundle()}, headers=headers)
    assert saved.status_code == 200, saved.text
    assert (saved.json()["status"], saved.json()["version_no"]) == ("draft", 1)
    # The public does not see a draft bundle; the reform office does.
    assert "hire" not in [b["code"] for b in TestClient(client.app).get("/api/v1/bundles").json()]
    assert "hire" in [b["code"] for b in client.get("/api/v1/bundles").json()]
    client.cookies.clear()
    headers = {"X-CSRF-Token": login(client, "reform.baishi")}
    assert_refused(client.get("/api/v1/bundles/hire"), 404, "bundle_not_found")


def test_bad_bundles_are_refused_whole(client: TestClient, session: Session) -> None:
    _world(session)
    headers = {"X-CSRF-Token": login(client, "reform")}
    before = session.scalar(select(func.count()).select_from(BundleVersion))
    cases = [
        (
            _bundle(members=[{"item": "QX-NOPE-1"}]),
            "bundle.members[0].item",
            "unknown item 'QX-NOPE-1'",
        ),
        (
            _bundle(
                members=[
                    {"item": "QX-ZJJ-1", "depends_on": ["QX-GAJ-1"]},
                    {"item": "QX-GAJ-1", "depends_on": ["QX-ZJJ-1"]},
                ]
            ),
            "bundle.members",
            "dependency cycle",
        ),
        (
            _bundle(questions=[{"code": "q", "text_zh": "问", "text_en": "Q", "answers": []}]),
            "questions.0.answers",
            "at least 1",
        ),
        (_bundle(lead_department="QX-NOPE"), "bundle.lead_department", "unknown department"),
    ]
    for data, loc, message in cases:
        response = client.put("/api/v1/bundles/bad/draft", json={"bundle": data}, headers=headers)
        assert response.status_code in (403, 422), response.text
        assert response.json()["code"] == (
            "bundle_edit_denied" if response.status_code == 403 else "bundle_invalid"
        ), response.text
        if response.status_code == 422:
            errors = response.json()["errors"]
            assert any(e["loc"] == loc and message in e["message"] for e in errors), errors
    assert session.scalar(select(func.count()).select_from(BundleVersion)) == before


def test_publish_runs_the_lints(client: TestClient, session: Session) -> None:
    _world(session)
    headers = {"X-CSRF-Token": login(client, "reform")}
    # The hiring item needs the permit, but this draft forgets the dependency, and names a draft.
    data = _bundle(members=[{"item": "QX-ZJJ-1"}, {"item": "QX-RSJ-1"}, {"item": "QX-RSJ-2"}])
    assert (
        client.put(
            "/api/v1/bundles/build/draft", json={"bundle": data}, headers=headers
        ).status_code
        == 200
    )
    refused = client.post("/api/v1/bundles/build/publish", headers=headers)
    assert_refused(refused, 422, "bundle_not_publishable")
    messages = [e["message"] for e in refused.json()["errors"]]
    assert any(m.startswith("[unpublished_member]") for m in messages), messages
    fixed = _bundle(members=[{"item": "QX-ZJJ-1"}, {"item": "QX-RSJ-1"}])
    client.put("/api/v1/bundles/build/draft", json={"bundle": fixed}, headers=headers)
    lints = client.get("/api/v1/bundles/build/lint").json()
    assert [(lint["rule"], lint["loc"]) for lint in lints] == [
        ("unsupplied_input", "members[1] (QX-RSJ-1).materials[0]")
    ]
    client.put("/api/v1/bundles/build/draft", json={"bundle": _bundle()}, headers=headers)
    published = client.post("/api/v1/bundles/build/publish", headers=headers)
    assert published.status_code == 200, published.text
    assert published.json()["versions"] == [[1, "retired"], [2, "published"]]


def test_bpmn_has_a_lane_per_department_and_parallel_gateways(
    client: TestClient, session: Session
) -> None:
    _world(session)
    response = client.get("/api/v1/bundles/build/bpmn")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    lanes = [lane.get("name") for lane in root.iter(f"{BPMN}lane")]
    assert lanes[0] == "青溪县住建局"  # the lead department's lane comes first
    assert set(lanes) == {"青溪县住建局", "青溪县人社局", "青溪县公安局"}
    gateways = list(root.iter(f"{BPMN}parallelGateway"))
    assert len(gateways) >= 2  # the split after the permit and the join before delivery
    flows = {f.get("id") for f in root.iter(f"{BPMN}sequenceFlow")}
    shapes = {
        s.get("bpmnElement")
        for s in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNShape")
    }
    edges = {
        e.get("bpmnElement")
        for e in root.iter("{http://www.omg.org/spec/BPMN/20100524/DI}BPMNEdge")
    }
    nodes = {
        el.get("id")
        for el in root.find(f"{BPMN}process")
        if el.get("id") and not el.tag.endswith(("sequenceFlow", "laneSet"))
    }
    assert nodes <= shapes
    assert flows == edges


def test_cpsv_export_names_published_bundles_as_events(
    client: TestClient, session: Session
) -> None:
    """The catalogue's CPSV-AP export (assembled in tongban.exports, above both domains) keeps
    its URL and groups each member service under its bundle's event."""
    _world(session)  # imports the bundle published
    response = client.get("/api/v1/catalog/export", params={"format": "cpsv-jsonld"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    graph = response.json()["@graph"]
    (event,) = [n for n in graph if n["@type"] == "cv:BusinessEvent"]
    assert event["dct:identifier"] == "build"
    grouped = {
        n["dct:identifier"]
        for n in graph
        if n["@type"] == "cpsv:PublicService"
        and {"@id": event["@id"]} in n.get("cv:isGroupedBy", [])
    }
    assert grouped == {"QX-ZJJ-1", "QX-RSJ-1", "QX-GAJ-1"}


def test_import_lints_a_published_bundle_as_publishing_does(session: Session) -> None:
    """A bundle that lint rejects was published by ``bundle import``, and its ledger claimed
    the permit would come from a member that does not run before. Lint gates every way to
    publish; a draft may still be imported and mended."""
    _world(session)
    loose = _bundle(
        code="build-loose",
        members=[
            {"item": "QX-ZJJ-1"},
            {"item": "QX-RSJ-1"},
        ],  # hiring no longer waits for the permit
        questions=[],
    )
    with pytest.raises(ValidationFailed) as refused:
        service.import_bundles(
            session=session, document=BundleDocument.model_validate({"bundles": [loose]})
        )
    assert refused.value.code == "bundle_file_invalid"
    assert any(
        e.loc.startswith("bundles[0] (build-loose).") and "[unsupplied_input]" in e.message
        for e in refused.value.errors
    ), refused.value.errors
    assert repository.bundle_by_code(session, "build-loose") is None
    draft = {**loose, "status": "draft"}
    service.import_bundles(
        session=session, document=BundleDocument.model_validate({"bundles": [draft]})
    )
    assert repository.bundle_by_code(session, "build-loose") is not None
