"""Who may see a case or act on its steps: the access funnel of the case engine.

Every action on a step starts with :func:`access_step_by_id`, and every read of a case by its
number with :func:`access_case_by_number`. The workbench and the lists are built from the same
conditions (:func:`step_scopes`, :func:`visible_steps`). A person who may not see a case learns
nothing of it (404, ``case_not_found`` / ``step_not_found``); one who sees it but may not act on
the step is refused (403, ``not_yours``); a step that is not open is a conflict (409, with the
state's code)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from tongban.auth.access import require_principal, scope_clause
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.cases import repository
from tongban.cases.models import Case, CaseStatus, CaseStep, Delegation, StepStatus
from tongban.errors import Conflict, NotFound, PermissionDenied
from tongban.org import repository as org_repository
from tongban.org.models import Department, Jurisdiction

#: who works on a step of each kind (the single window and the department's officers …)
ROLES_BY_KIND: dict[str, tuple[Role, ...]] = {
    "acceptance": (Role.FRONT_DESK, Role.OFFICER),
    "review": (Role.OFFICER,),
    "decision": (Role.OFFICER,),
    "delivery": (Role.OFFICER, Role.FRONT_DESK),
    "notification": (Role.OFFICER,),
    "onsite_verification": (Role.TOWNSHIP_WORKER, Role.OFFICER),
    "collective_decision": (Role.COMMITTEE_MEMBER,),
    "e_signature": (Role.OFFICER,),
    "payment": (Role.OFFICER,),
    "automatic_check": (),
}
STAFF_ROLES = (Role.OFFICER, Role.TOWNSHIP_WORKER, Role.COMMITTEE_MEMBER)
OVERSIGHT_ROLES = (Role.REFORM_OFFICE, Role.OBSERVER)
#: kinds the single window may act on (the applicant signs at the window, identity checked)
WINDOW_KINDS = ("acceptance", "delivery", "e_signature")
#: kinds that are finished through their own action, never by a plain "complete"
SPECIAL_KINDS = frozenset({"collective_decision", "e_signature", "payment", "automatic_check"})


@dataclass(frozen=True, slots=True)
class StepAction:
    """One thing a person does to a step: the step kind it applies to (None: any kind that a
    plain action may finish) and the roles that may do it (None: the kind's own roles)."""

    kind: str | None = None
    roles: tuple[Role, ...] | None = None

    def roles_for(self, step_kind: str) -> tuple[Role, ...]:
        return self.roles or ROLES_BY_KIND.get(step_kind) or (Role.OFFICER,)


#: every action on a step, by the name its callers give ``access_step_by_id``
ACTIONS: dict[str, StepAction] = {
    "complete": StepAction(),
    "return": StepAction(),
    "correct": StepAction(),
    "delegate": StepAction(roles=(Role.OFFICER, Role.TOWNSHIP_WORKER)),
    "vote": StepAction("collective_decision", (Role.COMMITTEE_MEMBER,)),
    "close_decision": StepAction("collective_decision", (Role.COMMITTEE_MEMBER,)),
    # the committee's secretary (an officer of the department) may attach the minutes too
    "attach_minutes": StepAction("collective_decision", (Role.COMMITTEE_MEMBER, Role.OFFICER)),
    "sign_applicant": StepAction("e_signature", (Role.FRONT_DESK, Role.OFFICER)),
    "sign_department": StepAction("e_signature", (Role.OFFICER,)),
    "pay": StepAction("payment", (Role.OFFICER,)),
}
#: the refusal of an action on a step of another kind (each message is translated as written)
_WRONG_KIND = {
    "collective_decision": "step %(step)s is not a collective decision",
    "e_signature": "step %(step)s is not a signing step",
    "payment": "step %(step)s is not a payment step",
}


class StepLike(Protocol):
    """What the engine reads of a step to act on it: an ORM ``CaseStep`` or a ``LoadedStep``."""

    @property
    def id(self) -> int: ...
    @property
    def case_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def responsible_department_id(self) -> int | None: ...


class CaseLike(Protocol):
    """What the engine reads of a case to act on one of its steps."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def applicant_jurisdiction_id(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StepAccess:
    """What the funnel hands an action: the step and its case (both loaded under the case's
    lock), and the department on whose behalf the person acts."""

    step: CaseStep
    case: Case
    acting_department_id: int


@dataclass(frozen=True, slots=True)
class StepScopes:
    """The three ways a step is someone's: their departments' steps (or, with a
    jurisdiction-wide grant, their subtree's), the single window's steps of the front desk's
    subtree, and steps delegated to a department they hold a grant in."""

    own: ColumnElement[bool]
    window: ColumnElement[bool] | None
    held: tuple[int, ...]


def step_scopes(principal: Principal) -> StepScopes:
    """The conditions on a step's responsible department (``Department``, ``Jurisdiction``)
    that :func:`visible_steps` and the workbench both read."""
    own = scope_clause(
        principal, STAFF_ROLES, jurisdiction_path=Jurisdiction.path, department_id=Department.id
    )
    # The single window serves every department of its subtree, whatever its own department.
    window_paths = [
        Jurisdiction.path.startswith(s.jurisdiction_path, autoescape=True)
        for s in principal.scopes_for(Role.FRONT_DESK)
    ]
    held = tuple(
        s.department_id
        for s in principal.scopes_for(*STAFF_ROLES, Role.FRONT_DESK)
        if s.department_id
    )
    return StepScopes(own, or_(*window_paths) if window_paths else None, held)


def visible_steps(principal: Principal) -> ColumnElement[bool]:
    """Steps a person works on, as one condition (joined to the responsible department and its
    jurisdiction)."""
    scopes = step_scopes(principal)
    window = (
        and_(CaseStep.kind.in_(WINDOW_KINDS), scopes.window)
        if scopes.window is not None
        else false()
    )
    parts = [scopes.own, window]
    if scopes.held:
        parts.append(
            exists().where(
                Delegation.step_id == CaseStep.id, Delegation.to_department_id.in_(scopes.held)
            )
        )
    return or_(*parts)


def case_visible(session: Session, principal: Principal, case: CaseLike) -> bool:
    """Oversight and the single window see every case of their subtree (by the applicant's
    place); staff see a case one of whose steps is theirs."""
    applicant_path = org_repository.jurisdiction_path(session, case.applicant_jurisdiction_id) or ""
    if any(
        applicant_path.startswith(s.jurisdiction_path)
        for s in principal.scopes_for(*OVERSIGHT_ROLES, Role.FRONT_DESK)
    ):
        return True
    found = session.scalar(
        select(CaseStep.id)
        .join(Department, Department.id == CaseStep.responsible_department_id)
        .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
        .where(CaseStep.case_id == case.id, visible_steps(principal))
        .limit(1)
    )
    return found is not None


def access_case_by_number(*, session: Session, principal: Principal | None, number: str) -> Case:
    """The case with this number, if the principal may see it; otherwise 404 whether or not it
    exists (``case_not_found``)."""
    who = require_principal(principal)
    case = repository.case_by_number(session, number)
    if case is None or not case_visible(session, who, case):
        raise NotFound("no case '%(case)s'", params={"case": number}, code="case_not_found")
    return case


def access_step_by_id(
    *, session: Session, principal: Principal | None, step_id: int, action: str
) -> StepAccess:
    """The one prologue of every action on a step: load the step and its case under the case's
    lock, hide it from whoever may not see the case (404), refuse an action that does not apply
    to the step's kind (409 ``wrong_step_kind``), find on whose behalf the person acts (403
    ``not_yours``) and require the case and the step to be open (409)."""
    rule = ACTIONS[action]
    who = require_principal(principal)
    step, case = load_for_update(session, step_id)
    if not case_visible(session, who, case):
        raise NotFound("no step %(step)s", params={"step": step_id}, code="step_not_found")
    if rule.kind is not None and step.kind != rule.kind:
        raise Conflict(_WRONG_KIND[rule.kind], params={"step": step_id}, code="wrong_step_kind")
    acting = acting_department(session, who, step, rule.roles_for(step.kind))
    check_open(case, step)
    return StepAccess(step, case, acting)


def load_for_update(session: Session, step_id: int) -> tuple[CaseStep, Case]:
    """A step and its case, for an action that changes them. The case row is locked first
    (``FOR UPDATE`` on PostgreSQL), as the hot path locks it: writers of one case queue in one
    order (no deadlock), and the step is read under the lock (no lost update)."""
    case_id = session.scalar(select(CaseStep.case_id).where(CaseStep.id == step_id))
    if case_id is None:
        raise NotFound("no step %(step)s", params={"step": step_id}, code="step_not_found")
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    step = session.get(CaseStep, step_id, populate_existing=True)
    assert case is not None
    assert step is not None
    return step, case


def may_act(session: Session, principal: Principal, step: CaseStep, action: str) -> bool:
    """Whether the principal may do this action on the step, state aside (for pages that show
    only the actions a person can take): the same rule as :func:`access_step_by_id`."""
    rule = ACTIONS[action]
    if rule.kind is not None and step.kind != rule.kind:
        return False
    try:
        acting_department(session, principal, step, rule.roles_for(step.kind))
    except PermissionDenied:
        return False
    return True


def acting_by_scope(
    principal: Principal, step: StepLike, roles: tuple[Role, ...], path: str
) -> int | None:
    """The department on whose behalf the principal acts by their own grants, given the
    responsible department's jurisdiction ``path``; None when no grant covers the step."""
    dept_id = step.responsible_department_id
    for scope in principal.scopes_for(*roles):
        if scope.role is Role.FRONT_DESK and step.kind not in WINDOW_KINDS:
            continue
        if path.startswith(scope.jurisdiction_path):
            if scope.department_id == dept_id:
                return dept_id
            if scope.department_id is None and scope.role is not Role.FRONT_DESK:
                return dept_id
            if scope.role is Role.FRONT_DESK and scope.department_id is not None:
                return scope.department_id
    return None


def acting_department(
    session: Session,
    principal: Principal,
    step: StepLike,
    roles: tuple[Role, ...],
    path: str | None = None,
) -> int:
    """The department on whose behalf the principal acts, by grant or by a delegation of the
    step; PermissionDenied (``not_yours``) if none. ``path`` as in :func:`acting_by_scope`, read
    if not given."""
    dept_id = step.responsible_department_id
    if path is None:
        paths = repository.department_paths(session, [dept_id] if dept_id else [])
        path = paths[dept_id][1] if dept_id in paths else ""
    acting = acting_by_scope(principal, step, roles, path)
    if acting is not None:
        return acting
    delegation = repository.delegation_for(session, step.id)
    if delegation is not None:
        for scope in principal.scopes_for(*roles):
            if scope.department_id == delegation.to_department_id:
                return delegation.to_department_id
    raise PermissionDenied(
        "step %(step)s (%(name)s) is not yours to act on",
        params={"step": step.id, "name": step.name_zh},
        code="not_yours",
    )


def check_open(case: CaseLike, step: StepLike) -> None:
    """The case runs and the step is ready: otherwise 409 with the state's code."""
    if case.status == CaseStatus.SUSPENDED.value:
        raise Conflict(
            "case %(case)s is suspended waiting for corrections",
            params={"case": case.number},
            code="case_suspended",
        )
    if case.status != CaseStatus.IN_PROGRESS.value:
        raise Conflict(
            "case %(case)s is %(status)s",
            params={"case": case.number, "status": case.status},
            code="case_closed",
        )
    if step.status != StepStatus.READY.value:
        raise Conflict(
            "step %(step)s is %(status)s, not ready",
            params={"step": step.id, "status": step.status},
            code="step_not_ready",
        )
