"""``org import`` merges (issue 11, point 4): a second county's file loaded next to the first
adds to the application modules and takes nothing out of them; removal is explicit (the file's
``remove`` section), all or nothing, audited, and refused while anything refers to a department;
``dry_run`` writes nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import ORG, make_catalog, make_org
from tongban.audit import service as audit
from tongban.auth.models import RoleGrant, User
from tongban.demo.loader import ORG_FILE
from tongban.errors import ValidationFailed
from tongban.kit.ids import uscc_check_char
from tongban.org import repository, service
from tongban.org.io import read_org
from tongban.org.models import ApplicationModule, Department, Jurisdiction
from tongban.org.schemas import OrgDocument


def _uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


#: the second county as a county adopting the platform writes it: its own jurisdiction (hung
#: under the city already in the database), departments, and the modules they join
SECOND_COUNTY: dict[str, Any] = {
    "jurisdictions": [{"code": "990125", "name_zh": "石门县", "name_en": "Shimen County"}],
    "departments": [
        {
            "code": "SM-ZWFW",
            "name_zh": "石门县政务服务中心",
            "name_en": "Shimen service centre",
            "jurisdiction": "990125",
            "uscc": _uscc("11990125MB0000001"),
        },
        {
            "code": "SM-SCJ",
            "name_zh": "石门县市场监管局",
            "name_en": "Shimen market regulation",
            "jurisdiction": "990125",
        },
    ],
    "modules": [
        {
            "code": "approval",
            "name_zh": "审批协同",
            "name_en": "Approval collaboration",
            "departments": ["SM-ZWFW", "SM-SCJ"],
        }
    ],
    "users": [
        {
            "username": "reform.shimen",
            "display_name": "Reform Shimen",
            "password": "shimen-pass-2026",
            "grants": [{"role": "reform_office", "jurisdiction": "990125"}],
        }
    ],
}


def _load(session: Session, data: dict[str, Any], **kwargs: Any) -> service.OrgLoadReport:
    return service.load_org(session=session, document=OrgDocument.model_validate(data), **kwargs)


def _module_departments(session: Session) -> dict[str, set[str]]:
    return {
        m.code: {d.code for d in m.departments}
        for m in repository.modules_with_departments(session)
    }


def test_a_second_county_keeps_the_first_countys_departments_in_every_module(
    session: Session,
) -> None:
    service.load_org(session=session, document=read_org(ORG_FILE))
    before = _module_departments(session)
    approval = repository.module_by_code(session, "approval")
    assert approval is not None
    description = approval.description_zh
    assert len(before["approval"]) == 21  # the demo's, all of which the old import dropped
    report = _load(session, SECOND_COUNTY)
    session.expire_all()
    after = _module_departments(session)
    for code, departments in before.items():
        assert departments <= after[code], code
    assert after["approval"] == before["approval"] | {"SM-ZWFW", "SM-SCJ"}
    approval = repository.module_by_code(session, "approval")
    assert approval is not None
    assert approval.description_zh == description  # omitted: kept, not wiped
    county = repository.jurisdiction_by_code(session, "990125")
    assert county is not None
    assert county.path == "/990000/990100/990125/"  # under its city, not a second root
    assert [c.key for c in report.of("add", "module department")] == [
        "approval: SM-ZWFW",
        "approval: SM-SCJ",
    ]
    assert report.of("remove") == []


def test_loading_the_same_file_again_changes_nothing(session: Session) -> None:
    make_org(session)
    report = _load(session, ORG)
    assert report.changes == ()


def test_a_module_keeps_its_place_and_names_when_the_file_omits_them(session: Session) -> None:
    make_org(session)
    positions = {m.code: m.position for m in repository.modules_with_departments(session)}
    _load(session, {"modules": [{"code": "grassroots", "departments": ["QX-T001"]}]})
    session.expire_all()
    grassroots = repository.module_by_code(session, "grassroots")
    assert grassroots is not None
    assert grassroots.name_zh == "基层治理"
    assert {d.code for d in grassroots.departments} == {"QX-GAJ", "QX-T001"}
    assert {m.code: m.position for m in repository.modules_with_departments(session)} == positions


def test_a_new_module_needs_its_names(session: Session) -> None:
    make_org(session)
    with pytest.raises(ValidationFailed) as info:
        _load(session, {"modules": [{"code": "new-module", "departments": ["QX-RSJ"]}]})
    assert info.value.code == "org_invalid"
    assert {e.loc: e.message for e in info.value.errors} == {
        "modules[0]": "module 'new-module' is new: it needs name_zh and name_en"
    }


def test_a_user_gains_the_grants_the_file_lists(session: Session) -> None:
    make_org(session)
    data = {
        "users": [
            {
                "username": "officer.rsj",
                "display_name": "Officer RSJ",
                "password": "test-pass-123",
                "grants": [{"role": "officer", "jurisdiction": "990123", "department": "QX-ZJJ"}],
            }
        ]
    }
    report = _load(session, data)
    user = session.scalars(select(User).where(User.username == "officer.rsj")).one()
    grants = session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
    departments = {
        repository.department_codes(session, [g.department_id])[g.department_id]
        for g in grants
        if g.department_id
    }
    assert departments == {"QX-RSJ", "QX-ZJJ"}
    assert user.email == "officer.rsj@qingxi.example"  # omitted: kept
    assert [c.key for c in report.changes] == ["officer.rsj: officer in 990123 for QX-ZJJ"]


def test_an_explicit_removal_removes_and_is_audited(session: Session) -> None:
    data = copy.deepcopy(ORG)
    data["departments"].append(
        {"code": "QX-OLD", "name_zh": "旧机构", "name_en": "Old office", "jurisdiction": "990123"}
    )
    data["modules"][0]["departments"].append("QX-OLD")
    _load(session, data)
    report = _load(
        session,
        {
            "remove": {
                "module_departments": [{"module": "approval", "department": "QX-ZJJ"}],
                "departments": ["QX-OLD"],
                "grants": [
                    {
                        "username": "officer.zjj",
                        "role": "officer",
                        "jurisdiction": "990123",
                        "department": "QX-ZJJ",
                    }
                ],
            }
        },
    )
    session.expire_all()
    assert _module_departments(session)["approval"] == {"QX-RSJ"}
    assert repository.department_by_code(session, "QX-ZJJ") is not None  # only left the module
    assert repository.department_by_code(session, "QX-OLD") is None
    zjj = session.scalars(select(User).where(User.username == "officer.zjj")).one()
    assert session.scalar(select(func.count()).where(RoleGrant.user_id == zjj.id)) == 0
    assert {(c.kind, c.key) for c in report.of("remove")} == {
        ("module department", "approval: QX-ZJJ"),
        ("department", "QX-OLD"),
        ("grant", "officer.zjj: officer in 990123 for QX-ZJJ"),
    }
    [event] = audit.events_for(session=session, object_type="module", object_key="approval")
    assert (event.action, event.detail) == (
        "org.module_department_removed",
        {"department": "QX-ZJJ"},
    )
    [event] = audit.events_for(session=session, object_type="department", object_key="QX-OLD")
    assert event.action == "org.department_removed"
    assert event.detail["modules"] == ["approval"]
    [event] = audit.events_for(session=session, object_type="user", object_key="officer.zjj")
    assert event.action == "org.grant_removed"


def test_removing_what_is_not_there_is_reported_and_skipped(session: Session) -> None:
    make_org(session)
    report = _load(
        session,
        {
            "remove": {
                "module_departments": [{"module": "grassroots", "department": "QX-RSJ"}],
                "departments": ["QX-NONE"],
            }
        },
    )
    assert [c.action for c in report.changes] == ["absent", "absent"]


def test_removing_a_department_in_use_is_refused_naming_what_refers_to_it(
    session: Session,
) -> None:
    make_org(session)
    make_catalog(session)
    with pytest.raises(ValidationFailed) as info:
        _load(session, {"remove": {"departments": ["QX-ZJJ", "QX-GAJ"]}})
    assert info.value.code == "department_in_use"
    messages = {e.loc: e.message for e in info.value.errors}
    assert messages["remove.departments[0]"] == (
        "department 'QX-ZJJ' is still referred to by items QX-ZJJ-1 (competent department); "
        "items QX-ZJJ-1 (a step's responsible unit); grants of users officer.zjj"
    )
    assert "data elements DE.ID (authoritative source)" in messages["remove.departments[1]"]
    assert "(a shared-data material's source)" in messages["remove.departments[1]"]
    assert repository.department_by_code(session, "QX-ZJJ") is not None


def test_a_grant_removed_in_the_same_file_does_not_hold_the_department(session: Session) -> None:
    make_org(session)
    _load(
        session,
        {
            "remove": {
                "departments": ["QX-T001"],
                "grants": [
                    {
                        "username": "township",
                        "role": "township_worker",
                        "jurisdiction": "990123001",
                        "department": "QX-T001",
                    }
                ],
            }
        },
    )
    assert repository.department_by_code(session, "QX-T001") is None


def test_a_removal_of_what_the_file_adds_is_refused(session: Session) -> None:
    make_org(session)
    data = {
        "modules": [{"code": "approval", "departments": ["QX-GAJ"]}],
        "remove": {
            "module_departments": [{"module": "approval", "department": "QX-GAJ"}],
            "departments": ["QX-GAJ"],
        },
    }
    with pytest.raises(ValidationFailed) as info:
        _load(session, data)
    assert info.value.code == "org_invalid"
    assert {e.loc for e in info.value.errors} == {
        "remove.module_departments[0]",
        "remove.departments[0]",
    }


def test_a_dry_run_reports_and_writes_nothing(session: Session) -> None:
    make_org(session)
    data = copy.deepcopy(SECOND_COUNTY)
    data["remove"] = {"module_departments": [{"module": "approval", "department": "QX-RSJ"}]}
    counts = [
        session.scalar(select(func.count()).select_from(t))
        for t in (Jurisdiction, Department, ApplicationModule, User, RoleGrant)
    ]
    report = _load(session, data, dry_run=True)
    assert report.dry_run
    assert {c.key for c in report.of("add", "department")} == {"SM-ZWFW", "SM-SCJ"}
    assert [c.key for c in report.of("remove")] == ["approval: QX-RSJ"]
    session.expire_all()
    assert [
        session.scalar(select(func.count()).select_from(t))
        for t in (Jurisdiction, Department, ApplicationModule, User, RoleGrant)
    ] == counts
    assert _module_departments(session)["approval"] == {"QX-RSJ", "QX-ZJJ"}
    assert audit.events_for(session=session, object_type="module", object_key="approval") == []


def test_duplicate_codes_in_the_file_are_refused(session: Session) -> None:
    data = copy.deepcopy(ORG)
    data["departments"].append(dict(data["departments"][0]))
    data["modules"].append(dict(data["modules"][1]))
    data["users"].append(dict(data["users"][0]))
    data["jurisdictions"][0]["children"][0]["children"].append(
        {"code": "990124", "name_zh": "重复县", "name_en": "Again"}
    )
    with pytest.raises(ValidationFailed) as info:
        _load(session, data)
    messages = {e.loc: e.message for e in info.value.errors}
    last = len(data["departments"]) - 1
    assert messages[f"departments[{last}].code"] == (
        "department 'QX-ZWFW' appears twice (first at departments[0])"
    )
    assert messages["modules[2].code"] == "module 'grassroots' appears twice (first at modules[1])"
    assert messages[f"users[{len(data['users']) - 1}].username"] == (
        "user 'reform' appears twice (first at users[0])"
    )
    assert messages["jurisdictions[0].children[0].children[2].code"] == (
        "jurisdiction '990124' appears twice (first at jurisdictions[0].children[0].children[1])"
    )
    assert session.scalar(select(func.count()).select_from(Jurisdiction)) == 0


def test_a_county_whose_city_is_nowhere_is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        _load(session, {"jurisdictions": [{"code": "990125", "name_zh": "石门县", "name_en": "S"}]})
    assert {e.loc: e.message for e in info.value.errors} == {
        "jurisdictions[0].code": "'990125' belongs under '990100', which is neither in the file "
        "(above it) nor in the database"
    }


def test_a_bad_uscc_check_character_is_refused() -> None:
    data = copy.deepcopy(SECOND_COUNTY)
    good = data["departments"][0]["uscc"]
    data["departments"][0]["uscc"] = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(ValueError, match="check character"):
        OrgDocument.model_validate(data)
