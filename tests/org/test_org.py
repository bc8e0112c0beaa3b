"""The organisation document and the organisation API."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import ORG, make_org
from tongban.errors import ValidationFailed
from tongban.org import service
from tongban.org.models import Department, Jurisdiction
from tongban.org.schemas import OrgDocument


def test_tree_paths_and_levels(client: TestClient, session: Session) -> None:
    make_org(session)
    rows = {r["code"]: r for r in client.get("/api/v1/jurisdictions").json()}
    assert rows["990123001"]["level"] == "township"
    assert rows["990123001"]["parent"] == "990123"
    assert rows["990000"]["parent"] is None
    town = session.scalars(select(Jurisdiction).where(Jurisdiction.code == "990123001")).one()
    assert town.path == "/990000/990100/990123/990123001/"


def test_departments_and_modules_many_to_many(client: TestClient, session: Session) -> None:
    make_org(session)
    depts = {d["code"]: d for d in client.get("/api/v1/departments").json()}
    assert depts["QX-RSJ"]["modules"] == ["approval"]
    modules = {m["code"]: m for m in client.get("/api/v1/modules").json()}
    assert modules["approval"]["departments"] == ["QX-RSJ", "QX-ZJJ"]


def test_loading_twice_changes_nothing(session: Session) -> None:
    make_org(session)
    make_org(session)
    assert session.scalar(select(func.count()).select_from(Department)) == len(ORG["departments"])


def test_bad_document_is_rejected_whole(session: Session) -> None:
    data = copy.deepcopy(ORG)
    data["departments"].append(
        {"code": "QX-X", "name_zh": "某局", "name_en": "X", "jurisdiction": "991111"}
    )
    data["modules"][0]["departments"].append("QX-NOPE")
    with pytest.raises(ValidationFailed) as info:
        service.load_org(session=session, document=OrgDocument.model_validate(data))
    assert info.value.code == "org_invalid"
    messages = {e.loc: e.message for e in info.value.errors}
    last = len(data["departments"]) - 1
    assert messages[f"departments[{last}].jurisdiction"] == "unknown jurisdiction '991111'"
    assert messages["modules[0].departments[2]"] == "unknown department 'QX-NOPE'"
    assert session.scalar(select(func.count()).select_from(Jurisdiction)) == 0


def test_child_must_be_a_subdivision_of_its_parent(session: Session) -> None:
    data = copy.deepcopy(ORG)
    data["jurisdictions"][0]["children"][0]["children"][0]["children"].append(
        {"code": "990124002", "name_zh": "错位镇", "name_en": "Misplaced"}
    )
    with pytest.raises(ValidationFailed, match="not a direct subdivision") as info:
        service.load_org(session=session, document=OrgDocument.model_validate(data))
    assert info.value.code == "org_invalid"


def test_invalid_division_code_names_the_field() -> None:
    data = copy.deepcopy(ORG)
    data["jurisdictions"][0]["code"] = "99000"
    with pytest.raises(ValueError, match="code"):
        OrgDocument.model_validate(data)
