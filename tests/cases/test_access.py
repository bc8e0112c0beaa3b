"""The access funnel of the case engine, table-driven: every role × scope (own department, other
department, own township, other township, county, province) × delegation, through the funnel
(``access_step_by_id``, ``access_case_by_number``), the hot path (``complete_step``) and the
workbench, which must all say the same. And the responsible levels, routed as one enum says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import ELEMENTS, item, login, make_org
from tongban.auth.models import Role, User
from tongban.auth.principal import Principal, Scope
from tongban.cases import service
from tongban.cases.models import Case, CaseStep
from tongban.cases.schemas import ApplicationIn
from tongban.catalog import service as catalog_service
from tongban.catalog.schemas import CatalogDocument
from tongban.errors import AppError
from tongban.org.models import Department

COUNTY = "/990000/990100/990123/"
TOWNSHIP = "/990000/990100/990123/990123001/"
OTHER_TOWNSHIP = "/990000/990100/990123/990123002/"
OTHER_COUNTY = "/990000/990100/990124/"
PROVINCE = "/990000/"


def _step(code: str, kind: str, responsible: str) -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "name_zh": f"环节{code}",
        "name_en": f"Step {code}",
        "responsible": responsible,
        "limit_days": 2,
    }


def _world(session: Session, steps: list[dict[str, Any]]) -> Case:
    make_org(session)
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {"elements": ELEMENTS, "items": [item("QX-RSJ-20", "QX-RSJ", steps=steps)]}
        ),
    )
    session.commit()
    application = ApplicationIn.model_validate(
        {
            "item": "QX-RSJ-20",
            "applicant": {
                "name": "张三",
                "id_no": "11010519491231002X",
                "jurisdiction": "990123001",
            },
            "form": {"DE.NAME": "张三", "DE.ID": "11010519491231002X"},
            "idempotency_key": "access-0000001",
        }
    )
    case = service.submit_application(session=session, principal=None, application=application)
    session.commit()
    return case


def _dept(session: Session, code: str) -> int:
    return session.scalars(select(Department.id).where(Department.code == code)).one()


def _principal(session: Session, *scopes: Scope) -> Principal:
    # A real user row (the actor of what the step records); the grants are the row's scopes.
    user_id = session.scalars(select(User.id).where(User.username == "officer.rsj")).one()
    return Principal(user_id, "tester", "Tester", tuple(scopes))


@dataclass(frozen=True)
class Row:
    """Who, and what the funnel must answer for a review step of QX-RSJ (county level)."""

    name: str
    scopes: Callable[[Session], tuple[Scope, ...]]
    sees: bool  # the case opens for them
    acts: bool  # they may act on the step (correct, complete)
    works: bool  # the step is on their workbench


def _s(role: Role, path: str, dept: str | None = None) -> Callable[[Session], tuple[Scope, ...]]:
    return lambda session: (Scope(role, path, _dept(session, dept) if dept else None),)


ROWS = [
    Row("officer of the department", _s(Role.OFFICER, COUNTY, "QX-RSJ"), True, True, True),
    Row("officer of another department", _s(Role.OFFICER, COUNTY, "QX-ZJJ"), False, False, False),
    Row("county-wide officer", _s(Role.OFFICER, COUNTY), True, True, True),
    Row("province-wide officer", _s(Role.OFFICER, PROVINCE), True, True, True),
    Row("officer of another county", _s(Role.OFFICER, OTHER_COUNTY), False, False, False),
    Row(
        "township worker of the applicant's township",
        _s(Role.TOWNSHIP_WORKER, TOWNSHIP, "QX-T001"),
        False,
        False,
        False,
    ),
    Row(
        "township worker of another township",
        _s(Role.TOWNSHIP_WORKER, OTHER_TOWNSHIP),
        False,
        False,
        False,
    ),
    Row("front desk of the county", _s(Role.FRONT_DESK, COUNTY, "QX-ZWFW"), True, False, False),
    Row("front desk of another county", _s(Role.FRONT_DESK, OTHER_COUNTY), False, False, False),
    Row("reform office of the county", _s(Role.REFORM_OFFICE, COUNTY), True, False, False),
    Row("observer of another county", _s(Role.OBSERVER, OTHER_COUNTY), False, False, False),
    Row(
        "committee member of the department",
        _s(Role.COMMITTEE_MEMBER, COUNTY, "QX-RSJ"),
        True,
        False,
        True,
    ),
    Row("system administrator", _s(Role.SYSADMIN, COUNTY), False, False, False),
    Row("nobody (no grant)", lambda session: (), False, False, False),
]


def _outcome(run: Callable[[], object]) -> str:
    try:
        run()
    except AppError as exc:
        return exc.code
    return "ok"


def _review_case(session: Session) -> tuple[Case, CaseStep]:
    case = _world(session, [_step("S1", "review", "QX-RSJ"), _step("S2", "review", "QX-RSJ")])
    step = session.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.position)
    ).first()
    assert step is not None
    assert step.status == "ready"
    return case, step


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_every_path_to_a_step_gives_the_same_answer(session: Session, row: Row) -> None:
    case, step = _review_case(session)
    who = _principal(session, *row.scopes(session))
    expected_step = "ok" if row.acts else ("not_yours" if row.sees else "step_not_found")

    seen = _outcome(
        lambda: service.access_case_by_number(session=session, principal=who, number=case.number)
    )
    assert seen == ("ok" if row.sees else "case_not_found")
    for action in ("correct", "return", "delegate"):
        funnel = _outcome(
            lambda action=action: service.access_step_by_id(
                session=session, principal=who, step_id=step.id, action=action
            )
        )
        assert funnel == expected_step, action
    with session.begin_nested() as attempt:  # the hot path agrees, then is undone
        done = _outcome(
            lambda: service.complete_step(
                session=session, principal=who, step_id=step.id, lock_version=step.lock_version
            )
        )
        attempt.rollback()
    assert done == expected_step
    on_bench = [s.id for s, _ in service.workbench(session=session, principal=who)]
    assert (step.id in on_bench) == row.works
    assert service.may_act(session, who, step, "complete") == row.acts


def test_a_delegation_lets_the_other_department_act_on_that_step_only(session: Session) -> None:
    case, step = _review_case(session)
    owner = _principal(session, Scope(Role.OFFICER, COUNTY, _dept(session, "QX-RSJ")))
    other = _principal(session, Scope(Role.OFFICER, COUNTY, _dept(session, "QX-ZJJ")))
    service.delegate(
        session=session, principal=owner, step_id=step.id, to_department="QX-ZJJ", reason="专业"
    )
    access = service.access_step_by_id(
        session=session, principal=other, step_id=step.id, action="correct"
    )
    assert access.acting_department_id == _dept(session, "QX-ZJJ")
    assert step.id in [s.id for s, _ in service.workbench(session=session, principal=other)]
    later = session.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id, CaseStep.id != step.id)
    ).one()
    assert service.may_act(session, other, later, "complete") is False
    # A delegation names a department: a township worker elsewhere gains nothing by it.
    stranger = _principal(session, Scope(Role.TOWNSHIP_WORKER, OTHER_TOWNSHIP))
    assert (
        _outcome(
            lambda: service.access_step_by_id(
                session=session, principal=stranger, step_id=step.id, action="correct"
            )
        )
        == "step_not_found"
    )


def test_the_township_acts_on_its_own_step_and_a_wrong_kind_is_named(session: Session) -> None:
    case = _world(
        session,
        [_step("S1", "onsite_verification", "township"), _step("S2", "payment", "QX-RSJ")],
    )
    first = session.scalars(
        select(CaseStep).where(CaseStep.case_id == case.id).order_by(CaseStep.position)
    ).first()
    assert first is not None
    mine = _principal(session, Scope(Role.TOWNSHIP_WORKER, TOWNSHIP, _dept(session, "QX-T001")))
    elsewhere = _principal(session, Scope(Role.TOWNSHIP_WORKER, OTHER_TOWNSHIP))
    assert service.may_act(session, mine, first, "complete")
    assert (
        _outcome(
            lambda: service.access_step_by_id(
                session=session, principal=elsewhere, step_id=first.id, action="correct"
            )
        )
        == "step_not_found"
    )
    officer = _principal(session, Scope(Role.OFFICER, COUNTY, _dept(session, "QX-RSJ")))
    assert (
        _outcome(
            lambda: service.vote(
                session=session, principal=officer, step_id=first.id, choice="approve"
            )
        )
        == "wrong_step_kind"
    )


def test_every_responsible_level_can_be_applied_for_and_is_routed_to_its_unit(
    client: TestClient, session: Session
) -> None:
    """An ``applicant`` step made the item impossible to apply for (no responsible unit
    'applicant'), and a ``county`` step was routed to the applicant's township office."""
    make_org(session)
    steps = [
        _step("S1", "acceptance", "QX-RSJ"),
        _step("S2", "review", "applicant"),
        _step("S3", "review", "county"),
        _step("S4", "onsite_verification", "township"),
    ]
    catalog_service.import_catalog(
        session=session,
        document=CatalogDocument.model_validate(
            {"elements": ELEMENTS, "items": [item("QX-RSJ-21", "QX-RSJ", steps=steps)]}
        ),
    )
    session.commit()
    csrf = login(client, "frontdesk")
    response = client.post(
        "/api/v1/cases",
        json={
            "item": "QX-RSJ-21",
            "applicant": {
                "name": "张三",
                "id_no": "11010519491231002X",
                "jurisdiction": "990123001",
            },
            "form": {"DE.NAME": "张三", "DE.ID": "11010519491231002X"},
            "idempotency_key": "levels-000001",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    routed = {
        s["code"]: s["responsible_department"]
        for s in client.get(f"/api/v1/cases/{number}").json()["steps"]
    }
    assert routed == {
        "QX-RSJ-21#S1": "QX-RSJ",
        "QX-RSJ-21#S2": "QX-RSJ",  # what the applicant does, the item's department records
        "QX-RSJ-21#S3": "QX-RSJ",  # the county body that owns the item, not a township office
        "QX-RSJ-21#S4": "QX-T001",  # the applicant's township
    }
