"""The case engine: one application fans out to every department's steps along the item's or
the bundle's graph; steps become ready when their inputs are done; legal clocks run in working
days; every change appends to the case's hash-chained event log; who was responsible and who
acted is recorded, and a difference is a duty shift (甩锅) shown to everyone.

Transactions belong to the edge: every function here flushes, none commits. Side effects
(payments, notifications) go to the outbox and leave after commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import ColumnElement, Connection, and_, exists, false, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from tongban.auth.access import require_principal, scope_clause
from tongban.auth.models import Role, RoleGrant
from tongban.auth.principal import Principal
from tongban.bundles import service as bundle_service
from tongban.cases import events, repository, statements
from tongban.cases.models import (
    Case,
    CaseStatus,
    CaseStep,
    Delegation,
    EscalationFired,
    EscalationLevel,
    Payment,
    Signature,
    StepLink,
    StepStatus,
    Suspension,
    Upload,
    Vote,
)
from tongban.cases.rules import rule_for
from tongban.cases.schemas import ApplicationIn
from tongban.catalog import service as catalog_service
from tongban.catalog.values import check_value
from tongban.db import utcnow
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.jobs import service as jobs
from tongban.kit import workdays
from tongban.org.models import Department, Jurisdiction

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
LEVEL_WORDS = {"township": "township", "village": "village", "county": "county"}
#: kinds that are finished through their own action, never by a plain "complete"
#: kinds the single window may act on (the applicant signs at the window, identity checked)
WINDOW_KINDS = ("acceptance", "delivery", "e_signature")
_WAITING, _READY = StepStatus.WAITING.value, StepStatus.READY.value
SPECIAL_KINDS = {"collective_decision", "e_signature", "payment", "automatic_check"}


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


class LoadedStep(NamedTuple):
    """A step as the hot path loads it (the columns of ``statements.STEP_COLUMNS``)."""

    id: int
    case_id: int
    kind: str
    status: str
    lock_version: int
    responsible_department_id: int | None
    name_zh: str


class LoadedCase(NamedTuple):
    """Its case (``id`` and the columns of ``statements.CASE_COLUMNS``)."""

    id: int
    number: str
    status: str
    event_seq: int
    last_event_hash: str | None
    applicant_jurisdiction_id: int


# ---------------------------------------------------------------- visibility (the funnel)


def visible_steps(principal: Principal) -> ColumnElement[bool]:
    """Steps a person works on: their department's (or, with a jurisdiction-wide grant, their
    subtree's), the single window's acceptance steps in the front desk's subtree, and steps
    delegated to their department."""
    own = scope_clause(
        principal, STAFF_ROLES, jurisdiction_path=Jurisdiction.path, department_id=Department.id
    )
    # The single window serves every department of its subtree, whatever its own department.
    window_scopes = [
        Jurisdiction.path.startswith(s.jurisdiction_path, autoescape=True)
        for s in principal.scopes_for(Role.FRONT_DESK)
    ]
    window = (
        and_(CaseStep.kind.in_(WINDOW_KINDS), or_(*window_scopes)) if window_scopes else false()
    )
    held = [
        s.department_id
        for s in principal.scopes_for(*STAFF_ROLES, Role.FRONT_DESK)
        if s.department_id
    ]
    delegated = (
        exists().where(Delegation.step_id == CaseStep.id, Delegation.to_department_id.in_(held))
        if held
        else None
    )
    parts = [own, window] + ([delegated] if delegated is not None else [])
    return or_(*parts)


def _case_visible(session: Session, principal: Principal, case: CaseLike) -> bool:
    applicant_path = (
        session.scalar(
            select(Jurisdiction.path).where(Jurisdiction.id == case.applicant_jurisdiction_id)
        )
        or ""
    )
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


# ---------------------------------------------------------------- intake


@dataclass(frozen=True)
class PlannedStep:
    key: str
    item_code: str | None
    code: str
    kind: str
    name_zh: str
    name_en: str
    responsible: str
    limit_days: int


def _plan_item(
    item_code: str, session: Session
) -> tuple[list[PlannedStep], list[tuple[str, str]], dict[str, int], list[str]]:
    items = catalog_service.published_items(session=session, codes=[item_code])
    if item_code not in items:
        raise NotFound("no published item '%(item)s'", params={"item": item_code})
    item = items[item_code]
    steps = [
        PlannedStep(
            f"{item_code}#{s.code}",
            item_code,
            s.code,
            s.kind.value,
            s.name_zh,
            s.name_en,
            s.responsible,
            s.limit_days,
        )
        for s in item.steps
    ]
    links = [(a.key, b.key) for a, b in itertools.pairwise(steps)]
    limits = {"legal": item.time_limit.legal, "promised": item.time_limit.promised}
    required = [f.element for f in item.form if f.required]
    return steps, links, limits, required


def _plan_bundle(
    code: str, answers: dict[str, str] | None, session: Session, principal: Principal | None
) -> tuple[list[PlannedStep], list[tuple[str, str]], dict[str, int], list[str]]:
    detail = bundle_service.get_bundle(session=session, principal=principal, code=code)
    if detail.status != "published":
        raise Conflict("bundle '%(bundle)s' is not published", params={"bundle": code})
    ledger = bundle_service.compose_definition(
        session=session, bundle=detail.bundle, answers=answers or {}
    )
    members = bundle_service.applicable(detail.bundle, answers or {})
    depends = {m.item: list(m.depends_on) for m in members}
    steps = [
        PlannedStep(
            s.code,
            s.item,
            s.code.split("#", 1)[1],
            s.kind,
            s.name_zh,
            s.name_en,
            s.lane if s.responsible == "single_window" else s.responsible,
            s.limit_days,
        )
        for s in ledger.steps
    ]
    by_member: dict[str | None, list[PlannedStep]] = {}
    for s in steps:
        by_member.setdefault(s.item_code, []).append(s)
    links: list[tuple[str, str]] = []
    for member_steps in by_member.values():
        if member_steps and member_steps[0].item_code is not None:
            links += [(a.key, b.key) for a, b in itertools.pairwise(member_steps)]
    bundle_steps = {s.kind: s for s in by_member.get(None, [])}
    acceptance, delivery = bundle_steps.get("acceptance"), bundle_steps.get("delivery")
    for m in ledger.members:
        own = by_member.get(m, [])
        if not own:
            continue
        if depends[m]:
            links += [(by_member[d][-1].key, own[0].key) for d in depends[m] if by_member.get(d)]
        elif acceptance:
            links.append((acceptance.key, own[0].key))
        dependents = [x for x in ledger.members if m in depends[x]]
        if not dependents and delivery:
            links.append((own[-1].key, delivery.key))
    required = [f.element for f in ledger.fields if f.required]
    return steps, links, dict(ledger.after.days), required


def _validate_form(session: Session, form: dict[str, Any], required: list[str]) -> None:
    elements = {e.code: e for e in catalog_service.list_elements(session=session)}
    errors: list[FieldError] = []
    for code in required:
        if form.get(code) in (None, ""):
            name = elements[code].name_zh if code in elements else code
            errors.append(FieldError(f"form.{code}", f"{name} is required"))
    for code, value in form.items():
        element = elements.get(code)
        if element is None:
            errors.append(FieldError(f"form.{code}", f"unknown data element '{code}'"))
            continue
        if value in (None, ""):
            continue
        try:
            check_value(element, value)
        except ValueError as exc:
            errors.append(FieldError(f"form.{code}", str(exc)))
    if errors:
        raise ValidationFailed(
            "the application form is incomplete or invalid; nothing was submitted", errors=errors
        )


def _township_of(session: Session, jurisdiction: Jurisdiction) -> Jurisdiction:
    codes = [c for c in jurisdiction.path.strip("/").split("/") if len(c) == 9]
    if not codes:
        return jurisdiction
    found = session.scalars(select(Jurisdiction).where(Jurisdiction.code == codes[0])).one()
    return found


def _resolve_unit(
    session: Session, responsible: str, applicant: Jurisdiction, departments: dict[str, Department]
) -> tuple[int | None, int]:
    """(department id, jurisdiction id) responsible for a step."""
    if responsible in departments:
        dept = departments[responsible]
        return dept.id, dept.jurisdiction_id
    if responsible in LEVEL_WORDS:
        town = _township_of(session, applicant)
        office = session.scalars(
            select(Department)
            .where(Department.jurisdiction_id == town.id)
            .order_by(Department.code)
            .limit(1)
        ).one_or_none()
        return (office.id if office else None), town.id
    raise ValidationFailed("no responsible unit '%(unit)s'", params={"unit": responsible})


def _number(case_id: int, jurisdiction_code: str, day: date) -> str:
    return f"{jurisdiction_code[:6]}-{day:%Y%m%d}-{case_id:06d}"


def submit_application(
    *,
    session: Session,
    principal: Principal | None,
    application: ApplicationIn,
    attachments: Sequence[Attachment] = (),
) -> Case:
    """Create one case with the applicant's files (each checked before anything is written);
    a retried submission with the same idempotency key returns the first case, whose files
    were stored with it."""
    for i, attachment in enumerate(attachments):
        check_attachment(attachment, f"attachments.{i}")
    existing = repository.case_by_key(session, application.idempotency_key)
    if existing is not None:
        same = (
            existing.subject_code == (application.item or application.bundle)
            and existing.applicant_id_no == application.applicant.id_no
        )
        if not same:
            raise Conflict("this idempotency key was already used for another application")
        return existing
    if bool(application.item) == bool(application.bundle):
        raise ValidationFailed(
            "name exactly one of item or bundle",
            errors=[FieldError("item", "name an item or a bundle, not both")],
        )
    applicant_place = session.scalars(
        select(Jurisdiction).where(Jurisdiction.code == application.applicant.jurisdiction)
    ).one_or_none()
    if applicant_place is None:
        raise ValidationFailed(
            "unknown jurisdiction",
            errors=[
                FieldError(
                    "applicant.jurisdiction",
                    f"no jurisdiction '{application.applicant.jurisdiction}'",
                )
            ],
        )
    if application.item:
        planned, links, limits, required = _plan_item(application.item, session)
    else:
        assert application.bundle is not None
        planned, links, limits, required = _plan_bundle(
            application.bundle, application.answers, session, principal
        )
    _validate_form(session, application.form, required)
    departments = {d.code: d for d in session.scalars(select(Department))}
    now = utcnow()
    today = workdays.local_date(now)
    legal = workdays.add_workdays(today, limits["legal"])
    promised = workdays.add_workdays(today, limits["promised"])
    case = Case(
        number=f"pending-{uuid.uuid4().hex[:24]}",
        subject_kind="item" if application.item else "bundle",
        subject_code=application.item or application.bundle or "",
        status=CaseStatus.IN_PROGRESS.value,
        applicant_name=application.applicant.name,
        applicant_id_no=application.applicant.id_no,
        applicant_phone=application.applicant.phone,
        applicant_jurisdiction_id=applicant_place.id,
        form_data=dict(application.form),
        answers=dict(application.answers or {}),
        channel=application.channel,
        idempotency_key=application.idempotency_key,
        submitted_by_id=principal.user_id if principal else None,
        submitted_at=now,
        legal_due=legal.date,
        promised_due=promised.date,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("this application was just submitted; retry to get its number") from None
    case.number = _number(case.id, applicant_place.code, today)
    incoming: dict[str, int] = {p.key: 0 for p in planned}
    for _, b in links:
        incoming[b] += 1
    values: list[dict[str, Any]] = []
    for position, p in enumerate(planned):
        dept_id, jur_id = _resolve_unit(session, p.responsible, applicant_place, departments)
        values.append(
            {
                "case_id": case.id,
                "position": position,
                "item_code": p.item_code,
                "code": p.key,
                "kind": p.kind,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
                "status": StepStatus.WAITING.value,
                "responsible_department_id": dept_id,
                "responsible_jurisdiction_id": jur_id,
                "limit_days": p.limit_days,
                "waits_for": incoming[p.key],
                # the columns' defaults, given here: no Python default runs per row
                "outcome": {},
                "lock_version": 1,
                "due_provisional": False,
                "calendar_version": "",
            }
        )
    # One bulk INSERT for the steps (their ids come back in order) and one for the links.
    ids = session.scalars(
        insert(CaseStep).returning(CaseStep.id, sort_by_parameter_order=True), values
    ).all()
    step_id = {p.key: i for p, i in zip(planned, ids, strict=True)}
    if links:
        session.execute(
            insert(StepLink),
            [{"from_step_id": step_id[a], "to_step_id": step_id[b]} for a, b in links],
        )
    events.append(
        session,
        case_id=case.id,
        action="submitted",
        actor_id=principal.user_id if principal else None,
        data={
            "subject": case.subject_code,
            "channel": case.channel,
            "steps": len(planned),
            "calendar": legal.calendar_version,
            "legal_due": legal.date.isoformat(),
            "provisional": legal.provisional,
        },
    )
    for attachment in attachments:
        _attach(session, case, attachment, actor_id=principal.user_id if principal else None)
    roots = list(
        session.scalars(
            select(CaseStep)
            .where(CaseStep.id.in_([step_id[p.key] for p in planned if not incoming[p.key]]))
            .order_by(CaseStep.position)
        )
    )
    _make_ready(session, case, roots, now)
    return case


def _due(today: date, limit_days: int) -> dict[str, Any]:
    """The due-date columns of a step that becomes ready today (working days, stamped; the
    answer is cached by ``workdays.add_workdays``)."""
    due = workdays.add_workdays(today, limit_days)
    return {
        "due_date": due.date,
        "due_provisional": due.provisional,
        "calendar_version": due.calendar_version,
    }


def _make_ready(session: Session, case: Case, steps: list[CaseStep], now: datetime) -> None:
    today = workdays.local_date(now)
    for step in steps:
        step.status = StepStatus.READY.value
        step.ready_at = now
        for column, value in _due(today, step.limit_days).items():
            setattr(step, column, value)
    session.flush()
    for step in steps:
        if step.kind == "automatic_check":
            _run_automatic_check(session, case, step)


# ---------------------------------------------------------------- acting on steps


def _load(session: Session, step_id: int) -> tuple[CaseStep, Case]:
    """A step and its case, for an action that changes them. The case row is locked first
    (``FOR UPDATE`` on PostgreSQL), as the hot path locks it: writers of one case queue in one
    order (no deadlock), and the step is read under the lock (no lost update)."""
    case_id = session.scalar(select(CaseStep.case_id).where(CaseStep.id == step_id))
    if case_id is None:
        raise NotFound("no step %(step)s", params={"step": step_id})
    case = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    step = session.get(CaseStep, step_id, populate_existing=True)
    assert case is not None
    assert step is not None
    return step, case


def may_act(
    session: Session, principal: Principal, step: CaseStep, roles: tuple[Role, ...]
) -> bool:
    """Whether the principal may act on the step with one of these roles (for pages that show
    only the actions a person can take)."""
    try:
        _acting_department(session, principal, step, roles)
    except PermissionDenied:
        return False
    return True


def payment_direction(session: Session, step: CaseStep) -> str:
    """``pay_out`` (a benefit or award to the applicant) or ``collect`` (a tax or a fee)."""
    return _payment_direction(session, step)


def _insert_once(session: Session, row: object, conflict: str) -> None:
    """Insert a row that a unique constraint allows once (a vote, a signature, a payment)."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(conflict) from None


def _load_visible(session: Session, who: Principal, step_id: int) -> tuple[CaseStep, Case]:
    """A step of a case the principal may see; anyone else learns nothing (404)."""
    step, case = _load(session, step_id)
    if not _case_visible(session, who, case):
        raise NotFound("no step %(step)s", params={"step": step_id})
    return step, case


def _acting_by_scope(
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


def _acting_department(
    session: Session,
    principal: Principal,
    step: StepLike,
    roles: tuple[Role, ...],
    path: str | None = None,
) -> int:
    """The department on whose behalf the principal acts, by grant or by a delegation of the
    step; PermissionDenied if none. ``path`` as in :func:`_acting_by_scope`, read if not given."""
    dept_id = step.responsible_department_id
    if path is None:
        paths = repository.department_paths(session, [dept_id] if dept_id else [])
        path = paths[dept_id][1] if dept_id in paths else ""
    acting = _acting_by_scope(principal, step, roles, path)
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
    )


def _check_open(case: CaseLike, step: StepLike) -> None:
    if case.status == CaseStatus.SUSPENDED.value:
        raise Conflict(
            "case %(case)s is suspended waiting for corrections", params={"case": case.number}
        )
    if case.status != CaseStatus.IN_PROGRESS.value:
        raise Conflict(
            "case %(case)s is %(status)s", params={"case": case.number, "status": case.status}
        )
    if step.status != StepStatus.READY.value:
        raise Conflict(
            "step %(step)s is %(status)s, not ready",
            params={"step": step.id, "status": step.status},
        )


class Successor(NamedTuple):
    """A step that waits for the loaded one (the columns of ``statements.SUCCESSOR_COLUMNS``)."""

    id: int
    limit_days: int
    waits_for: int
    status: str
    kind: str


class Loaded(NamedTuple):
    """A step, its case, its department's jurisdiction path and its successors, as
    ``statements.load`` reads them in one statement."""

    step: LoadedStep
    case: LoadedCase
    path: str
    successors: tuple[Successor, ...]


_STEP_END = len(statements.STEP_COLUMNS)
_CASE_END = _STEP_END + len(statements.CASE_COLUMNS)


def _load_hot(cursor: Any, sql: statements.Statements, step_id: int) -> Loaded | None:
    rows = sql.load.execute(cursor, step_id=step_id).fetchall()
    if not rows:
        return None
    first = rows[0]
    step = LoadedStep(*first[:_STEP_END])
    return Loaded(
        step,
        LoadedCase(step.case_id, *first[_STEP_END:_CASE_END]),
        first[_CASE_END] or "",
        tuple(Successor(*r[_CASE_END + 1 :]) for r in rows if r[_CASE_END + 1] is not None),
    )


def _release(
    cursor: Any, sql: statements.Statements, successor: Successor, now: datetime, today: date
) -> bool | None:
    """Count one input of ``successor`` done; True when it became ready, None when it was not
    waiting (done already, before a return: untouched)."""
    as_read = successor.status == _WAITING
    if as_read and successor.waits_for > 1:
        if sql.count_down.execute(cursor, step_id=successor.id, seen=successor.waits_for).rowcount:
            return False
    due = _due(today, successor.limit_days)
    if as_read and successor.waits_for == 1:
        if sql.make_ready.execute(cursor, step_id=successor.id, ready_at=now, **due).rowcount:
            return True
    # Not as read (on PostgreSQL, a writer who waited for the case row reads the other rows as
    # they were before), or not waiting: the row itself decides.
    released = sql.release.execute(cursor, step_id=successor.id, ready_at=now, **due).fetchone()
    if released is None:
        return None
    waits_for, status, _kind = released
    return bool(waits_for == 0 and status == _READY)


class Finished(NamedTuple):
    """What finishing a step changed beyond the step itself, for the ORM's sake."""

    touched: list[int]
    checks: list[int]  # automatic checks that became ready: they run next
    closed: bool


def _finish_loaded(
    cursor: Any,
    sql: statements.Statements,
    loaded: Loaded,
    *,
    actor_id: int | None,
    acting_department_id: int | None,
    lock_version: int,
    outcome: dict[str, Any],
    action: str,
) -> Finished:
    """Claim the step (only at ``lock_version``), log it, count down its successors (those
    whose last input this was become ready, their clocks started), close the case when it was
    its last open step or a rejection. The engine's hot path: prepared statements, no ORM."""
    step, case = loaded.step, loaded.case
    now = utcnow()
    claimed = sql.claim.execute(
        cursor,
        step_id=step.id,
        lock_version=lock_version,
        acted_by_id=actor_id,
        acted_department_id=acting_department_id,
        acted_at=now,
        outcome=outcome,
    )
    if claimed.rowcount != 1:
        raise Conflict(
            "step %(step)s was changed by someone else; reload it", params={"step": step.id}
        )
    chain = events.Chain(case.id, case.event_seq, case.last_event_hash)
    responsible = step.responsible_department_id
    chain.add(
        action,
        actor_id=actor_id,
        step_id=step.id,
        at=now,
        data={
            "outcome": outcome,
            "acting_department": acting_department_id,
            "responsible_department": responsible,
        },
    )
    if (
        acting_department_id is not None
        and responsible is not None
        and acting_department_id != responsible
        and step.kind not in WINDOW_KINDS
    ):
        chain.add(
            "duty_shift",
            actor_id=actor_id,
            step_id=step.id,
            at=now,
            data={"responsible_department": responsible, "acting_department": acting_department_id},
        )
    checks: list[int] = []
    closing: tuple[CaseStatus, dict[str, Any]] | None = None
    if outcome.get("decision") == "reject":
        closing = (CaseStatus.REJECTED, {"step": step.id, "reason": outcome.get("reason", "")})
    elif loaded.successors:
        today = workdays.local_date(now)
        for successor in loaded.successors:
            if _release(cursor, sql, successor, now, today) and successor.kind == "automatic_check":
                checks.append(successor.id)
    # Only a step without successors can be the last one of its case.
    elif (
        case.status == CaseStatus.IN_PROGRESS.value
        and sql.open_count.execute(cursor, case_id=case.id).fetchone()[0] == 0
    ):
        closing = (CaseStatus.COMPLETED, {})
    if closing is not None:
        status, data = closing
        if status is CaseStatus.REJECTED:
            sql.skip_open.execute(cursor, case_id=case.id)
        sql.close.execute(cursor, case_id=case.id, status=status.value, finished_at=now)
        chain.add(status.value, actor_id=actor_id, at=now, data=data)
    chain.write(cursor, sql)
    touched = [step.id, *(s.id for s in loaded.successors)]
    return Finished(touched, checks, closing is not None)


def _after_finish(session: Session, case_id: int, finished: Finished) -> None:
    """Objects of this session that the statements changed reload when next read; automatic
    checks that became ready run now."""
    if len(session.identity_map):
        keys = {identity_key(Case, case_id), *(identity_key(CaseStep, i) for i in finished.touched)}
        for state in session.identity_map.all_states():
            if state.key in keys or (finished.closed and state.class_ is CaseStep):
                loaded = state.obj()
                if loaded is not None:
                    session.expire(loaded)
    for step_id in finished.checks:
        check, case = session.get(CaseStep, step_id), session.get(Case, case_id)
        assert check is not None
        assert case is not None
        _run_automatic_check(session, case, check)


def _finish(
    session: Session,
    step: StepLike,
    *,
    actor_id: int | None,
    acting_department_id: int | None,
    lock_version: int,
    outcome: dict[str, Any],
    action: str = "step_done",
) -> None:
    """Finish a step the ORM paths (votes, signatures, payments, checks) have decided on."""
    cursor, sql = statements.hot(session)
    loaded = _load_hot(cursor, sql, step.id)
    assert loaded is not None
    finished = _finish_loaded(
        cursor,
        sql,
        loaded,
        actor_id=actor_id,
        acting_department_id=acting_department_id,
        lock_version=lock_version,
        outcome=outcome,
        action=action,
    )
    _after_finish(session, step.case_id, finished)


def complete_step(
    *,
    session: Session | None = None,
    connection: Connection | None = None,
    principal: Principal | None,
    step_id: int,
    lock_version: int,
    outcome: dict[str, Any] | None = None,
) -> None:
    """An officer finishes a step (review, decision, acceptance, on-site verification …).

    Runs in the request's ``session``, or on a bare ``connection`` (a worker, a bulk run, the
    benchmark): the step is read and written by prepared statements either way, and an ORM
    session joins the connection's transaction only when an ORM path is needed."""
    who = require_principal(principal)
    if session is not None:
        cursor, sql = statements.hot(session)
    else:
        assert connection is not None, "give a session or a connection"
        cursor, sql = statements.hot_on(connection)
    loaded = _load_hot(cursor, sql, step_id)
    if loaded is None:
        raise NotFound("no step %(step)s", params={"step": step_id})
    step, case = loaded.step, loaded.case
    if step.kind in SPECIAL_KINDS:
        raise Conflict(
            "a %(kind)s step is finished by its own action, not by 'complete'",
            params={"kind": step.kind},
        )
    roles = ROLES_BY_KIND.get(step.kind, (Role.OFFICER,))
    acting = _acting_by_scope(who, step, roles, loaded.path)
    if acting is None:  # a delegated step, or not theirs: the ORM looks further
        with _orm(session, connection) as orm:
            try:
                acting = _acting_department(orm, who, step, roles, path=loaded.path)
            except PermissionDenied:
                if not _case_visible(orm, who, case):
                    raise NotFound("no step %(step)s", params={"step": step_id}) from None
                raise
    _check_open(case, step)
    result = dict(outcome or {})
    if step.kind == "onsite_verification":
        missing = [k for k in ("time", "place", "notes") if not str(result.get(k, "")).strip()]
        if missing:
            raise ValidationFailed(
                "an on-site verification records time, place and notes",
                errors=[FieldError(f"outcome.{k}", "required") for k in missing],
            )
    if result.get("decision") not in (None, "approve", "reject"):
        raise ValidationFailed(
            "decision is approve or reject",
            errors=[FieldError("outcome.decision", "approve or reject")],
        )
    if result.get("decision") == "reject" and len(str(result.get("reason", "")).strip()) < 2:
        # The applicant reads the reason and may appeal against it: the law asks for one.
        raise ValidationFailed(
            "a rejection needs its reason",
            errors=[FieldError("outcome.reason", "Give the reason for the rejection.")],
            code="reason_required",
        )
    finished = _finish_loaded(
        cursor,
        sql,
        loaded,
        actor_id=who.user_id,
        acting_department_id=acting,
        lock_version=lock_version,
        outcome=result,
        action="step_done",
    )
    if session is not None or finished.checks:
        with _orm(session, connection) as orm:
            _after_finish(orm, case.id, finished)


@contextlib.contextmanager
def _orm(session: Session | None, connection: Connection | None) -> Iterator[Session]:
    """The request's session, or one made on demand inside the connection's transaction (a
    savepoint: what it flushes stays in that transaction, which its caller commits)."""
    if session is not None:
        yield session
        return
    with Session(bind=connection, join_transaction_mode="create_savepoint") as made:
        yield made
        made.commit()


def _run_automatic_check(session: Session, case: Case, step: CaseStep) -> None:
    """Never a person: a rule over the form data, recording the rule version and its inputs."""
    required = list(case.form_data)
    result = rule_for(step.item_code, required)(case.form_data)
    outcome = {
        "rule": result.rule,
        "version": result.version,
        "passed": result.passed,
        "explanation": result.explanation,
        "inputs": result.inputs,
    }
    session.flush()
    if result.passed:
        _finish(
            session,
            step,
            actor_id=None,
            acting_department_id=step.responsible_department_id,
            lock_version=step.lock_version,
            outcome=outcome,
            action="automatic_check",
        )
        return
    # A failed check blocks the case: the step stays ready, the case waits for corrections,
    # and the check runs again on the corrected form when the case resumes.
    step.outcome = outcome
    step.lock_version += 1
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="automatic_check",
        step_id=step.id,
        data={"outcome": outcome},
    )
    _suspend(
        session, case, step.id, None, "correction", f"automatic check failed: {result.explanation}"
    )


def return_step(
    *,
    session: Session,
    principal: Principal | None,
    step_id: int,
    lock_version: int,
    to_step_id: int,
    reason: str,
) -> None:
    """退回: send the case back to an earlier step, which must be done again."""
    who = require_principal(principal)
    step, case = _load(session, step_id)
    if not _case_visible(session, who, case):
        raise NotFound("no step %(step)s", params={"step": step_id})
    _check_open(case, step)
    acting = _acting_department(session, who, step, ROLES_BY_KIND.get(step.kind) or (Role.OFFICER,))
    target = repository.step(session, to_step_id)
    if target is None or target.case_id != case.id or target.status != StepStatus.DONE.value:
        raise ValidationFailed(
            "return to a finished step of the same case",
            errors=[FieldError("to_step_id", "not a finished step of this case")],
        )
    if target.id not in repository.predecessors(session, step.id):
        raise ValidationFailed(
            "a step is returned to the step just before it",
            errors=[FieldError("to_step_id", "not a direct predecessor")],
        )
    if step.lock_version != lock_version:
        raise Conflict(
            "step %(step)s was changed by someone else; reload it", params={"step": step.id}
        )
    step.status = StepStatus.WAITING.value
    step.waits_for = 1
    step.lock_version += 1
    target.status = StepStatus.READY.value
    target.lock_version += 1
    # The target's other successors that still wait, wait for it again: when it is done a
    # second time it counts them all down once more.
    repository.wait_again_for(session, target.id, but=step.id)
    _make_ready(session, case, [target], utcnow())
    events.append(
        session,
        case_id=case.id,
        action="returned",
        actor_id=who.user_id,
        step_id=step.id,
        data={"to_step": target.id, "reason": reason, "acting_department": acting},
    )


def _suspend(
    session: Session, case: Case, step_id: int | None, actor_id: int | None, kind: str, note: str
) -> None:
    if repository.open_suspension(session, case.id) is not None:
        raise Conflict("case %(case)s is already suspended", params={"case": case.number})
    session.add(Suspension(case_id=case.id, step_id=step_id, reason=kind, note=note))
    case.status = CaseStatus.SUSPENDED.value
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="suspended",
        actor_id=actor_id,
        step_id=step_id,
        data={"reason": kind, "note": note},
    )


def request_correction(
    *,
    session: Session,
    principal: Principal | None,
    step_id: int,
    reason: str,
    kind: str = "correction",
) -> None:
    """补正 (or an expert review): the legal clock stops until the case resumes."""
    who = require_principal(principal)
    step, case = _load(session, step_id)
    if not _case_visible(session, who, case):
        raise NotFound("no step %(step)s", params={"step": step_id})
    _check_open(case, step)
    _acting_department(session, who, step, ROLES_BY_KIND.get(step.kind) or (Role.OFFICER,))
    _suspend(session, case, step.id, who.user_id, kind, reason)


def resume(
    *,
    session: Session,
    principal: Principal | None,
    number: str,
    note: str = "",
    corrections: dict[str, Any] | None = None,
) -> Case:
    """The corrections arrived: the form takes the corrected data, the clock runs again, every
    due date moves by the working days the case was suspended, and a failed automatic check
    runs again on the corrected form."""
    who = require_principal(principal)
    case = get_case_row(session=session, principal=who, number=number)
    open_one = repository.open_suspension(session, case.id)
    if open_one is None:
        raise Conflict("case %(case)s is not suspended", params={"case": case.number})
    if not who.has_role(Role.OFFICER, Role.FRONT_DESK, Role.TOWNSHIP_WORKER):
        raise PermissionDenied("only staff resume a case")
    if corrections:
        _validate_form(session, corrections, [])
        case.form_data = {**case.form_data, **corrections}
        session.flush()
        events.append(
            session,
            case_id=case.id,
            action="corrected",
            actor_id=who.user_id,
            data={"fields": sorted(corrections)},
        )
    now = utcnow()
    open_one.ended_at = now
    paused = workdays.workdays_between(
        workdays.local_date(open_one.started_at), workdays.local_date(now)
    )
    for step in repository.now_ready_since(session, case.id):
        if step.due_date is not None and paused.count:
            moved = workdays.add_workdays(step.due_date, paused.count)
            step.due_date, step.due_provisional = (
                moved.date,
                step.due_provisional or moved.provisional,
            )
    for attr in ("legal_due", "promised_due"):
        current = getattr(case, attr)
        if current is not None and paused.count:
            setattr(case, attr, workdays.add_workdays(current, paused.count).date)
    case.status = CaseStatus.IN_PROGRESS.value
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="resumed",
        actor_id=who.user_id,
        data={"suspended_workdays": paused.count, "note": note},
    )
    for step in repository.now_ready_since(session, case.id):
        if step.kind == "automatic_check":
            _run_automatic_check(session, case, step)
    return case


def delegate(
    *, session: Session, principal: Principal | None, step_id: int, to_department: str, reason: str
) -> None:
    """Hand one step to another department, explicitly and on the record."""
    who = require_principal(principal)
    step, case = _load(session, step_id)
    if not _case_visible(session, who, case):
        raise NotFound("no step %(step)s", params={"step": step_id})
    _check_open(case, step)
    _acting_department(session, who, step, (Role.OFFICER, Role.TOWNSHIP_WORKER))
    target = session.scalars(
        select(Department).where(Department.code == to_department)
    ).one_or_none()
    if target is None:
        raise ValidationFailed(
            "unknown department",
            errors=[FieldError("to_department", f"no department '{to_department}'")],
        )
    session.add(
        Delegation(
            step_id=step.id, to_department_id=target.id, by_user_id=who.user_id, reason=reason
        )
    )
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="delegated",
        actor_id=who.user_id,
        step_id=step.id,
        data={"to_department": target.id, "reason": reason},
    )


# ---------------------------------------------------------------- collective decisions


def committee_size(session: Session, department_id: int) -> int:
    return (
        session.scalar(
            select(func.count(func.distinct(RoleGrant.user_id))).where(
                RoleGrant.role == Role.COMMITTEE_MEMBER.value,
                RoleGrant.department_id == department_id,
            )
        )
        or 0
    )


def quorum(size: int) -> int:
    return max(1, math.floor(size / 2) + 1)


def vote(*, session: Session, principal: Principal | None, step_id: int, choice: str) -> None:
    who = require_principal(principal)
    step, case = _load_visible(session, who, step_id)
    if step.kind != "collective_decision":
        raise Conflict("step %(step)s is not a collective decision", params={"step": step_id})
    _check_open(case, step)
    _acting_department(session, who, step, (Role.COMMITTEE_MEMBER,))
    _insert_once(
        session,
        Vote(step_id=step.id, user_id=who.user_id, choice=choice),
        "you have already voted on this decision",
    )
    events.append(
        session,
        case_id=case.id,
        action="vote",
        actor_id=who.user_id,
        step_id=step.id,
        data={"choice": choice},
    )


def close_decision(
    *, session: Session, principal: Principal | None, step_id: int, lock_version: int
) -> CaseStep:
    """The committee's decision: needs a quorum and the minutes; the majority decides."""
    who = require_principal(principal)
    step, case = _load_visible(session, who, step_id)
    if step.kind != "collective_decision":
        raise Conflict("step %(step)s is not a collective decision", params={"step": step_id})
    _check_open(case, step)
    acting = _acting_department(session, who, step, (Role.COMMITTEE_MEMBER,))
    cast = repository.votes(session, step.id)
    size = committee_size(session, step.responsible_department_id or 0)
    needed = quorum(size)
    if len(cast) < needed:
        raise Conflict(
            "%(voted)s of %(size)s members voted; the quorum is %(quorum)s",
            params={"voted": len(cast), "size": size, "quorum": needed},
        )
    minutes = session.scalar(
        select(Upload.id).where(Upload.step_id == step.id, Upload.purpose == "minutes")
    )
    if minutes is None:
        raise Conflict("attach the minutes before closing the decision")
    approve = sum(1 for v in cast if v.choice == "approve")
    reject = sum(1 for v in cast if v.choice == "reject")
    outcome = {
        "decision": "approve" if approve > reject else "reject",
        "approve": approve,
        "reject": reject,
        "abstain": len(cast) - approve - reject,
        "members": size,
        "quorum": needed,
        "minutes_upload": minutes,
    }
    _finish(
        session,
        step,
        actor_id=who.user_id,
        acting_department_id=acting,
        lock_version=lock_version,
        outcome=outcome,
        action="collective_decision",
    )
    return step


# ---------------------------------------------------------------- signatures and payments


def agreement_text(case: Case, step: CaseStep) -> str:
    lines = [
        f"{step.name_zh} / {step.name_en}",
        f"案件 Case: {case.number}",
        f"申请人 Applicant: {case.applicant_name}",
    ]
    lines += [f"{k}: {v}" for k, v in sorted(case.form_data.items())]
    return "\n".join(lines) + "\n"


def sign(
    *, session: Session, principal: Principal | None, step_id: int, party: str, lock_version: int
) -> CaseStep:
    """Both parties sign the generated document; its hash is what they signed. The step is
    done when the applicant (signing at the window, identity checked) and the department have."""
    who = require_principal(principal)
    step, case = _load_visible(session, who, step_id)
    if step.kind != "e_signature":
        raise Conflict("step %(step)s is not a signing step", params={"step": step_id})
    _check_open(case, step)
    roles = (Role.FRONT_DESK, Role.OFFICER) if party == "applicant" else (Role.OFFICER,)
    acting = _acting_department(session, who, step, roles)
    digest = hashlib.sha256(agreement_text(case, step).encode()).hexdigest()
    _insert_once(
        session,
        Signature(step_id=step.id, user_id=who.user_id, party=party, document_sha256=digest),
        "you have already signed this document",
    )
    events.append(
        session,
        case_id=case.id,
        action="signed",
        actor_id=who.user_id,
        step_id=step.id,
        data={
            "party": party,
            "document_sha256": digest,
            **(
                {"signed_for": case.applicant_name, "identity_checked_by": who.username}
                if party == "applicant"
                else {}
            ),
        },
    )
    parties = set(session.scalars(select(Signature.party).where(Signature.step_id == step.id)))
    if parties >= {"applicant", "department"}:
        _finish(
            session,
            step,
            actor_id=who.user_id,
            acting_department_id=acting,
            lock_version=lock_version,
            outcome={"document_sha256": digest, "parties": sorted(parties)},
        )
    return step


def pay(
    *,
    session: Session,
    principal: Principal | None,
    step_id: int,
    lock_version: int,
    amount_fen: int | None = None,
) -> Payment:
    """Exactly once: one payment row per step (unique), sent through the outbox after commit.

    The direction follows the item: an item whose output is a payment (a benefit, an award)
    pays out to the applicant's bank account; any other payment step (a tax, a fee) collects
    from the applicant, and the amount is the officer's to state."""
    who = require_principal(principal)
    step, case = _load_visible(session, who, step_id)
    if step.kind != "payment":
        raise Conflict("step %(step)s is not a payment step", params={"step": step_id})
    _check_open(case, step)
    acting = _acting_department(session, who, step, (Role.OFFICER,))
    direction = _payment_direction(session, step)
    account = str(case.form_data.get("DE.BANK_ACCOUNT", ""))
    if direction == "pay_out" and not account:
        raise ValidationFailed(
            "the application names no bank account",
            errors=[FieldError("form.DE.BANK_ACCOUNT", "required for a payment")],
        )
    if direction == "collect" and amount_fen is None:
        raise ValidationFailed(
            "state the amount to collect", errors=[FieldError("amount_fen", "required")]
        )
    amount = amount_fen if amount_fen is not None else _award_from_checks(session, case)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(
            "the amount is a positive number of fen",
            errors=[FieldError("amount_fen", "positive integer fen")],
        )
    payment = Payment(
        case_id=case.id,
        step_id=step.id,
        amount_fen=amount,
        account=account if direction == "pay_out" else "",
        direction=direction,
        reference=f"{case.number}-{step.id}",
    )
    _insert_once(session, payment, "this payment has already been made")
    jobs.defer(
        session,
        kind="payment" if direction == "pay_out" else "collection",
        key=f"payment:{payment.reference}",
        payload={
            "reference": payment.reference,
            "amount_fen": amount,
            "account": payment.account,
            "applicant": case.applicant_name,
        },
    )
    _finish(
        session,
        step,
        actor_id=who.user_id,
        acting_department_id=acting,
        lock_version=lock_version,
        outcome={"payment": payment.reference, "amount_fen": amount, "direction": direction},
        action="payment",
    )
    return payment


def _payment_direction(session: Session, step: CaseStep) -> str:
    items = catalog_service.published_items(session=session, codes=[step.item_code or ""])
    item = items.get(step.item_code or "")
    pays_out = item is not None and any(o.kind.value == "payment" for o in item.outputs)
    return "pay_out" if pays_out else "collect"


def _award_from_checks(session: Session, case: Case) -> int:
    for step in repository.steps_of(session, case.id):
        award = (step.outcome or {}).get("inputs", {}).get("award_fen")
        if isinstance(award, int) and award > 0:
            return award
    return 0


# ---------------------------------------------------------------- uploads


MAX_UPLOAD = 10 * 1024 * 1024
ALLOWED_TYPES = {"application/pdf": b"%PDF", "image/png": b"\x89PNG", "image/jpeg": b"\xff\xd8\xff"}
#: what a file is for: a material code or a short word (no control characters)
PURPOSE = re.compile(r"[^\x00-\x1f\x7f]{1,60}")


@dataclass(frozen=True)
class Attachment:
    """A file for a case: a material (``purpose`` is its code), a form field's file, minutes,
    a photo."""

    purpose: str
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def check_attachment(attachment: Attachment, field: str = "file") -> None:
    """Size and type limits, checked against the content itself, naming the file."""
    name = attachment.filename
    if len(attachment.data) > MAX_UPLOAD:
        raise ValidationFailed(
            "the file is larger than %(mb)s MB",
            errors=[FieldError(field, f"'{name}' has {len(attachment.data)} bytes")],
            params={"mb": MAX_UPLOAD // (1024 * 1024)},
        )
    magic = ALLOWED_TYPES.get(attachment.content_type)
    if magic is None or not attachment.data.startswith(magic):
        raise ValidationFailed(
            "only PDF, PNG and JPEG files are accepted",
            errors=[
                FieldError(
                    field, f"'{name}' is not a {attachment.content_type or 'known type'} file"
                )
            ],
        )
    if not PURPOSE.fullmatch(attachment.purpose.strip()):
        raise ValidationFailed(
            "say what the file is for (a material code or a short word, at most 60 characters)",
            errors=[FieldError(field, f"purpose '{attachment.purpose[:80]}' is not a code")],
        )


def _attach(
    session: Session,
    case: Case,
    attachment: Attachment,
    *,
    actor_id: int | None,
    step_id: int | None = None,
) -> Upload:
    """Store the (checked) file once by its hash, record it on the case and in its log."""
    from tongban.cases import storage

    digest = attachment.sha256
    purpose = attachment.purpose.strip()
    # Stored before the commit: a rolled-back upload leaves a file nobody refers to, never a row
    # without its file (files are named by content, so a retry finds it there).
    storage.put(digest, attachment.data)
    row = Upload(
        case_id=case.id,
        step_id=step_id,
        purpose=purpose,
        filename=attachment.filename[:200],
        content_type=attachment.content_type,
        size=len(attachment.data),
        sha256=digest,
        uploaded_by_id=actor_id,
    )
    session.add(row)
    session.flush()
    events.append(
        session,
        case_id=case.id,
        action="uploaded",
        actor_id=actor_id,
        step_id=step_id,
        data={"purpose": purpose, "sha256": digest, "size": len(attachment.data)},
    )
    return row


def upload(
    *,
    session: Session,
    principal: Principal | None,
    number: str,
    attachment: Attachment,
    step_id: int | None = None,
) -> Upload:
    """Staff attach a file to a case they handle (an applicant attaches theirs at intake)."""
    who = require_principal(principal)
    case = get_case_row(session=session, principal=who, number=number)
    if not who.has_role(*STAFF_ROLES, Role.FRONT_DESK):
        raise PermissionDenied("only the staff handling cases attach files")
    if case.status not in (CaseStatus.IN_PROGRESS.value, CaseStatus.SUSPENDED.value):
        raise Conflict(
            "case %(case)s is %(status)s; nothing can be attached any more",
            params={"case": case.number, "status": case.status},
        )
    check_attachment(attachment)
    if step_id is not None:
        step = repository.step(session, step_id)
        if step is None or step.case_id != case.id:
            raise ValidationFailed(
                "the step is not of this case", errors=[FieldError("step_id", "not in this case")]
            )
    return _attach(session, case, attachment, actor_id=who.user_id, step_id=step_id)


# ---------------------------------------------------------------- reading


def get_case_row(*, session: Session, principal: Principal | None, number: str) -> Case:
    who = require_principal(principal)
    case = repository.case_by_number(session, number)
    if case is None or not _case_visible(session, who, case):
        raise NotFound("no case '%(case)s'", params={"case": number})
    return case


def workbench(
    *,
    session: Session,
    principal: Principal | None,
    kind: str = "",
    limit: int = 50,
    offset: int = 0,
) -> list[tuple[CaseStep, str]]:
    """My open steps by due date. The funnel's rules (``visible_steps``) are applied as three
    index-friendly queries: my departments' steps, the single window's steps of its subtree, and
    steps delegated to my departments; merged by due date."""
    who = require_principal(principal)
    own = repository.department_ids_where(
        session,
        scope_clause(
            who, STAFF_ROLES, jurisdiction_path=Jurisdiction.path, department_id=Department.id
        ),
    )
    window_scopes = [
        Jurisdiction.path.startswith(s.jurisdiction_path, autoescape=True)
        for s in who.scopes_for(Role.FRONT_DESK)
    ]
    window = repository.department_ids_where(session, or_(*window_scopes)) if window_scopes else []
    held = [
        s.department_id for s in who.scopes_for(*STAFF_ROLES, Role.FRONT_DESK) if s.department_id
    ]
    wanted = offset + limit
    kinds = (kind,) if kind else ()
    rows = repository.open_steps_of_departments(session, own, kinds=kinds, limit=wanted)
    if window:
        window_kinds = tuple(k for k in WINDOW_KINDS if not kind or k == kind)
        if window_kinds:
            rows += repository.open_steps_of_departments(
                session, window, kinds=window_kinds, limit=wanted
            )
    if held:
        rows += repository.open_steps_of_departments(
            session, [], kinds=kinds, delegated_to=held, limit=wanted
        )
    unique = {step.id: (step, number) for step, number in rows}
    ordered = sorted(unique.values(), key=lambda r: (r[0].due_date or date.max, r[0].id))
    return ordered[offset : offset + limit]


def public_status(*, session: Session, number: str, id_no: str) -> Case:
    """The applicant follows their case with its number and their ID number; anyone else learns
    nothing, not even whether the number exists."""
    case = repository.case_by_number(session, number)
    if case is None or case.applicant_id_no.upper() != id_no.strip().upper():
        raise NotFound("no case with this number and ID number")
    return case


# ---------------------------------------------------------------- clocks


@dataclass
class TickReport:
    checked: int = 0
    fired: int = 0


def tick(*, session: Session, now: datetime | None = None) -> TickReport:
    """The escalation sweep: each level of the ladder fires once per step."""
    moment = now or utcnow()
    today = workdays.local_date(moment)
    ladder = list(session.scalars(select(EscalationLevel).order_by(EscalationLevel.percent)))
    report = TickReport()
    open_steps = repository.due_ready_steps(session)
    # Only the open steps' fired levels, not the whole history of the table.
    fired: set[tuple[int, str]] = set(
        session.execute(
            select(EscalationFired.step_id, EscalationFired.level_code)
            .join(CaseStep, CaseStep.id == EscalationFired.step_id)
            .where(CaseStep.status == StepStatus.READY.value)
        ).all()
    )
    for step, number in open_steps:
        assert step.ready_at is not None  # the query asks for it
        report.checked += 1
        used = workdays.workdays_between(workdays.local_date(step.ready_at), today).count
        share = used * 100 // max(step.limit_days, 1)
        for level in ladder:
            if share >= level.percent and (step.id, level.code) not in fired:
                # Once per step and level however many sweeps run at once: the row's key
                # decides, and a sweep that lost the race leaves the level to the winner.
                if not _fire_once(session, step.id, level.code, moment):
                    continue
                jobs.defer(
                    session,
                    kind="escalation",
                    key=f"escalation:{step.id}:{level.code}",
                    payload={
                        "case": number,
                        "step": step.id,
                        "level": level.code,
                        "department": step.responsible_department_id,
                        "used_workdays": used,
                        "limit": step.limit_days,
                    },
                )
                events.append(
                    session,
                    case_id=step.case_id,
                    action="escalated",
                    step_id=step.id,
                    data={"level": level.code, "used_workdays": used, "limit": step.limit_days},
                )
                report.fired += 1
    session.flush()
    return report


def _fire_once(session: Session, step_id: int, level_code: str, at: datetime) -> bool:
    """Record that a level fired for a step; False when another sweep recorded it first."""
    dialect = session.connection().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        session.execute(
            insert(EscalationFired)
            .values(step_id=step_id, level_code=level_code, at=at)
            .on_conflict_do_nothing()
            .returning(EscalationFired.step_id)
        ).scalar_one_or_none()
        is not None
    )


# ---------------------------------------------------------------- integrity


def verify_all(*, session: Session) -> list[str]:
    """Every case's event chain; one line per problem."""
    problems = []
    for case in session.scalars(select(Case).order_by(Case.id)):
        problem = events.verify_case(case, events.events_of(session, case.id))
        if problem:
            problems.append(f"{case.number}: {problem}")
    return problems
