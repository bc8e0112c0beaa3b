"""The step engine and its hot path: finish a step, count its successors down, start their
clocks, close the case. Prepared statements, no ORM on the hot path (decision 0003)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from tongban.auth.access import require_principal
from tongban.auth.principal import Principal
from tongban.cases import events, repository, statements
from tongban.cases.models import (
    Case,
    CaseStatus,
    CaseStep,
    StepStatus,
    Suspension,
)
from tongban.cases.rules import rule_for
from tongban.cases.service import notices
from tongban.cases.service.access import (
    ACTIONS,
    SPECIAL_KINDS,
    WINDOW_KINDS,
    StepLike,
    acting_by_scope,
    acting_department,
    case_visible,
    check_open,
)
from tongban.catalog import service as catalog_service
from tongban.catalog.values import check_value
from tongban.db import utcnow
from tongban.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.kit import workdays

_WAITING, _READY = StepStatus.WAITING.value, StepStatus.READY.value


class LoadedStep(NamedTuple):
    """A step as the hot path loads it (the columns of ``statements.STEP_COLUMNS``)."""

    id: int
    case_id: int
    kind: str
    status: str
    lock_version: int
    responsible_department_id: int | None
    name_zh: str
    item_code: str | None


class LoadedCase(NamedTuple):
    """Its case (``id`` and the columns of ``statements.CASE_COLUMNS``)."""

    id: int
    number: str
    status: str
    event_seq: int
    last_event_hash: str | None
    applicant_jurisdiction_id: int
    applicant_phone: str | None
    produced_pending: Any  # a dict, or its JSON text where the driver returns text


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


def due_columns(today: date, limit_days: int) -> dict[str, Any]:
    """The due-date columns of a step that becomes ready today (working days, stamped; the
    answer is cached by ``workdays.add_workdays``)."""
    due = workdays.add_workdays(today, limit_days)
    return {
        "due_date": due.date,
        "due_provisional": due.provisional,
        "calendar_version": due.calendar_version,
    }


def make_ready(session: Session, case: Case, steps: list[CaseStep], now: datetime) -> None:
    today = workdays.local_date(now)
    for step in steps:
        step.status = StepStatus.READY.value
        step.ready_at = now
        for column, value in due_columns(today, step.limit_days).items():
            setattr(step, column, value)
    session.flush()
    for step in steps:
        if step.kind == "automatic_check":
            run_automatic_check(session, case, step)


def load_hot(cursor: Any, sql: statements.Statements, step_id: int) -> Loaded | None:
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


def release(
    cursor: Any, sql: statements.Statements, successor: Successor, now: datetime, today: date
) -> bool | None:
    """Count one input of ``successor`` done; True when it became ready, None when it was not
    waiting (done already, before a return: untouched)."""
    as_read = successor.status == _WAITING
    if as_read and successor.waits_for > 1:
        if sql.count_down.execute(cursor, step_id=successor.id, seen=successor.waits_for).rowcount:
            return False
    due = due_columns(today, successor.limit_days)
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
    notices: tuple[tuple[str, str], ...] = ()  # (event, detail) the applicant is told of


def finish_loaded(
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
            "step %(step)s was changed by someone else; reload it",
            params={"step": step.id},
            code="stale_version",
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
            if release(cursor, sql, successor, now, today) and successor.kind == "automatic_check":
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
    # What the applicant is told; nothing when they cannot be texted, so that no ORM session
    # is opened for it on the hot path.
    told: list[tuple[str, str]] = []
    if notices.can_text(case.applicant_phone):
        if step.kind == "acceptance":
            told.append(("accepted", ""))
        if closing is not None:
            status, data = closing
            decided = "rejected" if status is CaseStatus.REJECTED else "approved"
            told.append((decided, str(data.get("reason", ""))))
    return Finished(touched, checks, closing is not None, tuple(told))


def after_finish(session: Session, case_id: int, finished: Finished) -> None:
    """Objects of this session that the statements changed reload when next read; automatic
    checks that became ready run now."""
    if len(session.identity_map):
        keys = {identity_key(Case, case_id), *(identity_key(CaseStep, i) for i in finished.touched)}
        for state in session.identity_map.all_states():
            if state.key in keys or (finished.closed and state.class_ is CaseStep):
                loaded = state.obj()
                if loaded is not None:
                    session.expire(loaded)
    if finished.notices:
        case = session.get(Case, case_id)
        assert case is not None
        for event, detail in finished.notices:
            notices.tell_applicant(session, case, event, detail=detail)
    for step_id in finished.checks:
        check, case = session.get(CaseStep, step_id), session.get(Case, case_id)
        assert check is not None
        assert case is not None
        run_automatic_check(session, case, check)


def finish(
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
    loaded = load_hot(cursor, sql, step.id)
    assert loaded is not None
    finished = finish_loaded(
        cursor,
        sql,
        loaded,
        actor_id=actor_id,
        acting_department_id=acting_department_id,
        lock_version=lock_version,
        outcome=outcome,
        action=action,
    )
    after_finish(session, step.case_id, finished)


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
    loaded = load_hot(cursor, sql, step_id)
    if loaded is None:
        raise NotFound("no step %(step)s", params={"step": step_id}, code="step_not_found")
    step, case = loaded.step, loaded.case
    if step.kind in SPECIAL_KINDS:
        raise Conflict(
            "a %(kind)s step is finished by its own action, not by 'complete'",
            params={"kind": step.kind},
            code="wrong_step_kind",
        )
    roles = ACTIONS["complete"].roles_for(step.kind)
    acting = acting_by_scope(who, step, roles, loaded.path)
    if acting is None:  # a delegated step, or not theirs: the ORM looks further
        with orm_session(session, connection) as orm:
            try:
                acting = acting_department(orm, who, step, roles, path=loaded.path)
            except PermissionDenied:
                if not case_visible(orm, who, case):
                    raise NotFound(
                        "no step %(step)s", params={"step": step_id}, code="step_not_found"
                    ) from None
                raise
    check_open(case, step)
    result = dict(outcome or {})
    if step.kind == "onsite_verification":
        missing = [k for k in ("time", "place", "notes") if not str(result.get(k, "")).strip()]
        if missing:
            raise ValidationFailed(
                "an on-site verification records time, place and notes",
                errors=[FieldError(f"outcome.{k}", "required") for k in missing],
                code="onsite_record_missing",
            )
    if result.get("decision") not in (None, "approve", "reject"):
        raise ValidationFailed(
            "decision is approve or reject",
            errors=[FieldError("outcome.decision", "approve or reject")],
            code="bad_decision",
        )
    if result.get("decision") == "reject" and len(str(result.get("reason", "")).strip()) < 2:
        # The applicant reads the reason and may appeal against it: the law asks for one.
        raise ValidationFailed(
            "a rejection needs its reason",
            errors=[FieldError("outcome.reason", "Give the reason for the rejection.")],
            code="reason_required",
        )
    produced = _produced_here(case, step, result)
    if produced is not None:
        with orm_session(session, connection) as orm:
            check_produced(orm, case, step, produced)
    finished = finish_loaded(
        cursor,
        sql,
        loaded,
        actor_id=who.user_id,
        acting_department_id=acting,
        lock_version=lock_version,
        outcome=result,
        action="step_done",
    )
    if session is not None or finished.checks or finished.notices or produced:
        with orm_session(session, connection) as orm:
            if produced:
                record_produced(orm, case.id, produced)
            after_finish(orm, case.id, finished)


def _pending(case: LoadedCase) -> dict[str, str]:
    raw = case.produced_pending
    found = json.loads(raw) if isinstance(raw, str) else raw
    return dict(found or {})


def _produced_here(
    case: LoadedCase, step: LoadedStep, outcome: dict[str, Any]
) -> dict[str, Any] | None:
    """The data this step records for later steps (``outcome.produced``), or None when the
    step neither records nor owes any (the hot path then stays on its statements)."""
    produced = outcome.get("produced")
    owed = [e for e, src in _pending(case).items() if src.split("#", 1)[0] == step.item_code]
    if produced is None and not owed:
        return None
    if produced is not None and not isinstance(produced, dict):
        raise ValidationFailed(
            "the produced data is a mapping of data elements to values",
            errors=[FieldError("outcome.produced", "an object")],
            code="bad_produced_data",
        )
    return dict(produced or {})


def check_produced(
    session: Session, case: LoadedCase, step: LoadedStep, produced: dict[str, Any]
) -> None:
    """Only data this step's member produces for the case, each valid for its element; and the
    member's last open step records whatever of it is still owed (later steps need it)."""
    pending = _pending(case)
    mine = {e for e, src in pending.items() if src.split("#", 1)[0] == step.item_code}
    elements = {e.code: e for e in catalog_service.list_elements(session=session)}
    errors: list[FieldError] = []
    for code, value in produced.items():
        if code not in mine:
            errors.append(FieldError(f"outcome.produced.{code}", "not produced by this step"))
            continue
        try:
            check_value(elements[code], value)
        except (KeyError, ValueError) as exc:
            errors.append(FieldError(f"outcome.produced.{code}", str(exc)))
    if errors:
        raise ValidationFailed(
            "the produced data does not fit this step", errors=errors, code="bad_produced_data"
        )
    others_open = session.scalar(
        select(func.count())
        .select_from(CaseStep)
        .where(
            CaseStep.case_id == case.id,
            CaseStep.item_code == step.item_code,
            CaseStep.id != step.id,
            CaseStep.status.in_((StepStatus.WAITING.value, StepStatus.READY.value)),
        )
    )
    missing = sorted(mine - set(produced))
    if missing and not others_open:
        raise ValidationFailed(
            "record the data this step produces for the later steps",
            errors=[FieldError(f"outcome.produced.{code}", "required") for code in missing],
            code="produced_data_missing",
        )


def record_produced(session: Session, case_id: int, produced: dict[str, Any]) -> None:
    """The produced data joins the form (the step's event holds it in its outcome)."""
    case = session.get(Case, case_id, populate_existing=True)
    assert case is not None
    case.form_data = {**case.form_data, **produced}
    case.produced_pending = {
        e: src for e, src in case.produced_pending.items() if e not in produced
    }
    session.flush()


@contextlib.contextmanager
def orm_session(session: Session | None, connection: Connection | None) -> Iterator[Session]:
    """The request's session, or one made on demand inside the connection's transaction (a
    savepoint: what it flushes stays in that transaction, which its caller commits)."""
    if session is not None:
        yield session
        return
    with Session(bind=connection, join_transaction_mode="create_savepoint") as made:
        yield made
        made.commit()


def run_automatic_check(session: Session, case: Case, step: CaseStep) -> None:
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
        finish(
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
    suspend(
        session, case, step.id, None, "correction", f"automatic check failed: {result.explanation}"
    )


def suspend(
    session: Session, case: Case, step_id: int | None, actor_id: int | None, kind: str, note: str
) -> None:
    if repository.open_suspension(session, case.id) is not None:
        raise Conflict(
            "case %(case)s is already suspended",
            params={"case": case.number},
            code="already_suspended",
        )
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
    if kind == "correction":
        seq = session.scalar(
            select(func.count()).select_from(Suspension).where(Suspension.case_id == case.id)
        )
        notices.tell_applicant(session, case, "corrections", detail=note, seq=seq or 0)
