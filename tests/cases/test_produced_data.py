"""Data the bundle produces is not asked of the applicant: the unified form asked for the permit
number that the permit step itself issues (and labelled it "filled in from shared data"). The
producing member's officer records it when the step completes; the case's form then holds it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import ELEMENTS, assert_refused, item, login, make_org
from tongban.bundles import service as bundle_service
from tongban.bundles.schemas import BundleDocument
from tongban.cases.models import Case
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument

ID_NO = "11010519491231002X"


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
                "elements": ["DE.PERMIT_NO"],
            }
        ],
    )
    hire = item(
        "QX-RSJ-1",
        "QX-RSJ",
        name="用工备案",
        form=[
            {"code": "F1", "label_zh": "姓名", "label_en": "Name", "element": "DE.NAME"},
            {
                "code": "F2",
                "label_zh": "许可证号",
                "label_en": "Permit no.",
                "element": "DE.PERMIT_NO",
            },
        ],
    )
    elements = [
        *ELEMENTS,
        {
            "code": "DE.PERMIT_NO",
            "name_zh": "施工许可证编号",
            "name_en": "Permit number",
            "max_length": 20,
        },
    ]
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate({"elements": elements, "items": [permit, hire]}),
    )
    bundle = {
        "code": "build",
        "name_zh": "开工一件事",
        "name_en": "Start building",
        "kind": "business_event",
        "lead_department": "QX-ZJJ",
        "partners": ["QX-RSJ"],
        "members": [{"item": "QX-ZJJ-1"}, {"item": "QX-RSJ-1", "depends_on": ["QX-ZJJ-1"]}],
    }
    bundle_service.import_bundles(
        session=session, document=BundleDocument.model_validate({"bundles": [bundle]})
    )
    session.commit()


def _steps(client: TestClient, number: str) -> dict[str, dict[str, Any]]:
    return {s["code"]: s for s in client.get(f"/api/v1/cases/{number}").json()["steps"]}


def _complete(client: TestClient, csrf: str, step: dict[str, Any], outcome: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/steps/{step['id']}/complete",
        json={"lock_version": step["lock_version"], "outcome": outcome},
        headers={"X-CSRF-Token": csrf},
    )


def test_the_permit_number_is_recorded_by_the_permit_step_not_asked(
    client: TestClient, session: Session
) -> None:
    _world(session)
    ledger = client.post("/api/v1/bundles/build/compose", json={}).json()
    assert "DE.PERMIT_NO" not in [f["element"] for f in ledger["fields"]]
    assert ledger["produced"] == {"DE.PERMIT_NO": "QX-ZJJ-1#PERMIT"}
    csrf = login(client, "frontdesk")
    response = client.post(
        "/api/v1/cases",
        json={
            "bundle": "build",
            "applicant": {"name": "张三", "id_no": ID_NO, "jurisdiction": "990123001"},
            "form": {"DE.NAME": "张三", "DE.ID": ID_NO},  # no permit number: nobody has it yet
            "idempotency_key": "produced-0001",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    assert (
        _complete(client, csrf, _steps(client, number)["BUNDLE#acceptance"], {}).status_code == 204
    )
    csrf = login(client, "officer.zjj")
    review = _steps(client, number)["QX-ZJJ-1#S2"]
    # The permit's last step must record the number the later step needs …
    assert_refused(_complete(client, csrf, review, {}), 422, "produced_data_missing")
    # … and only what it produces, valid for its element.
    wrong = _complete(client, csrf, review, {"produced": {"DE.NAME": "李四"}})
    assert_refused(wrong, 422, "bad_produced_data")
    too_long = _complete(client, csrf, review, {"produced": {"DE.PERMIT_NO": "X" * 30}})
    assert_refused(too_long, 422, "bad_produced_data")
    done = _complete(client, csrf, review, {"produced": {"DE.PERMIT_NO": "330182-2026-0042"}})
    assert done.status_code == 204, done.text
    session.expire_all()
    case = session.query(Case).filter_by(number=number).one()
    assert case.form_data["DE.PERMIT_NO"] == "330182-2026-0042"
    assert case.produced_pending == {}
    assert _steps(client, number)["QX-RSJ-1#S2"]["status"] == "ready"
