"""Small builders per domain: each test makes the world it needs, and says so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.auth import service as auth_service
from tongban.auth.models import User
from tongban.auth.principal import Principal
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.org import service as org_service
from tongban.org.schemas import OrgDocument

PASSWORD = "test-pass-123"

ORG: dict[str, Any] = {
    "jurisdictions": [
        {
            "code": "990000",
            "name_zh": "明江省",
            "name_en": "Mingjiang Province",
            "children": [
                {
                    "code": "990100",
                    "name_zh": "云州市",
                    "name_en": "Yunzhou City",
                    "children": [
                        {
                            "code": "990123",
                            "name_zh": "青溪县",
                            "name_en": "Qingxi County",
                            "children": [
                                {"code": "990123001", "name_zh": "城关镇", "name_en": "Chengguan"},
                            ],
                        },
                        {"code": "990124", "name_zh": "白石县", "name_en": "Baishi County"},
                    ],
                }
            ],
        }
    ],
    "departments": [
        {
            "code": "QX-ZWFW",
            "name_zh": "青溪县政务服务中心",
            "name_en": "Service centre",
            "jurisdiction": "990123",
        },
        {
            "code": "QX-T001",
            "name_zh": "城关镇便民服务中心",
            "name_en": "Chengguan office",
            "jurisdiction": "990123001",
        },
        {
            "code": "QX-RSJ",
            "name_zh": "青溪县人社局",
            "name_en": "Qingxi HR",
            "jurisdiction": "990123",
        },
        {
            "code": "QX-ZJJ",
            "name_zh": "青溪县住建局",
            "name_en": "Qingxi Housing",
            "jurisdiction": "990123",
        },
        {
            "code": "QX-GAJ",
            "name_zh": "青溪县公安局",
            "name_en": "Qingxi Police",
            "jurisdiction": "990123",
        },
        {
            "code": "BS-RSJ",
            "name_zh": "白石县人社局",
            "name_en": "Baishi HR",
            "jurisdiction": "990124",
        },
    ],
    "modules": [
        {
            "code": "approval",
            "name_zh": "审批协同",
            "name_en": "Approval",
            "departments": ["QX-RSJ", "QX-ZJJ"],
        },
        {
            "code": "grassroots",
            "name_zh": "基层治理",
            "name_en": "Grassroots",
            "departments": ["QX-GAJ"],
        },
    ],
    "users": [
        {
            "username": "reform",
            "display_name": "Reform",
            "password": PASSWORD,
            "grants": [{"role": "reform_office", "jurisdiction": "990123"}],
        },
        {
            "username": "reform.baishi",
            "display_name": "Reform Baishi",
            "password": PASSWORD,
            "grants": [{"role": "reform_office", "jurisdiction": "990124"}],
        },
        {
            "username": "officer.rsj",
            "display_name": "Officer RSJ",
            "password": PASSWORD,
            "email": "officer.rsj@qingxi.example",
            "grants": [{"role": "officer", "jurisdiction": "990123", "department": "QX-RSJ"}],
        },
        {
            "username": "sysadmin",
            "display_name": "System administrator",
            "password": PASSWORD,
            "grants": [{"role": "sysadmin", "jurisdiction": "990123"}],
        },
        {
            "username": "observer",
            "display_name": "Observer",
            "password": PASSWORD,
            "grants": [{"role": "observer", "jurisdiction": "990123"}],
        },
        {
            "username": "officer.zjj",
            "display_name": "officer.zjj",
            "password": PASSWORD,
            "grants": [{"role": "officer", "jurisdiction": "990123", "department": "QX-ZJJ"}],
        },
        {
            "username": "frontdesk",
            "display_name": "frontdesk",
            "password": PASSWORD,
            "grants": [{"role": "front_desk", "jurisdiction": "990123", "department": "QX-ZWFW"}],
        },
        {
            "username": "township",
            "display_name": "township",
            "password": PASSWORD,
            "grants": [
                {"role": "township_worker", "jurisdiction": "990123001", "department": "QX-T001"}
            ],
        },
        {
            "username": "committee.a",
            "display_name": "committee.a",
            "password": PASSWORD,
            "grants": [
                {"role": "committee_member", "jurisdiction": "990123", "department": "QX-RSJ"}
            ],
        },
        {
            "username": "committee.b",
            "display_name": "committee.b",
            "password": PASSWORD,
            "grants": [
                {"role": "committee_member", "jurisdiction": "990123", "department": "QX-RSJ"}
            ],
        },
        {
            "username": "committee.c",
            "display_name": "committee.c",
            "password": PASSWORD,
            "grants": [
                {"role": "committee_member", "jurisdiction": "990123", "department": "QX-RSJ"}
            ],
        },
    ],
}


def item(
    code: str, department: str, *, status: str = "published", name: str = "", **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "implementation_code": code,
        "basic_code": "B." + code,
        "status": status,
        "name_zh": name or f"事项{code}",
        "name_en": f"Item {code}",
        "type": "administrative_licence",
        "department": department,
        "legal_basis": [
            {
                "law": "《中华人民共和国行政许可法》",
                "article": "第四十二条",
                "text": "二十日内作出决定",
            }
        ],
        "materials": [
            {
                "code": "M1",
                "name_zh": "身份证",
                "name_en": "ID card",
                "source": "shared_data",
                "source_ref": "QX-GAJ",
                "elements": ["DE.ID"],
            },
        ],
        "form": [
            {"code": "F1", "label_zh": "姓名", "label_en": "Name", "element": "DE.NAME"},
            {"code": "F2", "label_zh": "身份证号", "label_en": "ID number", "element": "DE.ID"},
        ],
        "steps": [
            {
                "code": "S1",
                "kind": "acceptance",
                "name_zh": "受理",
                "name_en": "Acceptance",
                "responsible": department,
                "limit_days": 1,
            },
            {
                "code": "S2",
                "kind": "review",
                "name_zh": "审查",
                "name_en": "Review",
                "responsible": department,
                "limit_days": 5,
            },
        ],
        "time_limit": {"legal": 20, "promised": 5},
        "channels": ["window", "online"],
        "fees": [{"name_zh": "工本费", "name_en": "Fee", "amount_fen": 1250}],
        "visits": 1,
    }
    data.update(extra)
    return data


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
]


@dataclass
class World:
    session: Session


def make_org(session: Session) -> None:
    org_service.load_org(session=session, document=OrgDocument.model_validate(ORG))
    # As the CLI would: commit (a savepoint inside the test's rolled-back transaction), so that a
    # request that fails and rolls back does not take the test's world with it.
    session.commit()


def make_catalog(session: Session, items: list[dict[str, Any]] | None = None) -> None:
    document = CatalogDocument.model_validate(
        {
            "elements": ELEMENTS,
            "items": items
            if items is not None
            else [
                item("QX-RSJ-1", "QX-RSJ", name="就业登记"),
                item("QX-ZJJ-1", "QX-ZJJ", name="施工许可"),
                item("BS-RSJ-1", "BS-RSJ", name="白石就业登记"),
                item("QX-RSJ-2", "QX-RSJ", status="draft", name="退休审批草稿"),
            ],
        }
    )
    catalog_service.import_catalog(session=session, document=document)
    session.commit()


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the page, as a person would; returns the CSRF token of the session."""
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    me = client.get("/", follow_redirects=True)
    marker = 'name="csrf_token" value="'
    return me.text.split(marker, 1)[1].split('"', 1)[0] if marker in me.text else ""


def principal_of(session: Session, username: str) -> Principal:
    """The principal of a user, as a request logged in as them would have it."""
    user = session.scalars(select(User).where(User.username == username)).one()
    return auth_service.load_principal(session, user)


def assert_refused(response: Any, status: int, code: str) -> None:
    """A refusal of this cause, not only of this status: the code (docs/errors.md) is in the
    JSON body of an API error, and on the error page or a case page's problem box as
    ``data-code``."""
    assert response.status_code == status, response.text[:2000]
    if response.headers.get("content-type", "").startswith("application/json"):
        given = response.json().get("code")
    else:
        found = re.search(r'data-testid="(?:error|problem)"[^>]*data-code="([^"]*)"', response.text)
        given = found.group(1) if found else None
    assert given == code, f"refused with {given!r}, not {code!r}: {response.text[:2000]}"
