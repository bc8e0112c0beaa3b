"""The statements on the engine's hot path, compiled once per dialect (see
:mod:`tongban.kit.prepared`): loading a step with its case, claiming it, appending events,
releasing its successors, closing the case.

``bench/cases.py`` measures this path; everything else in the engine uses the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy import case as case_
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from tongban.cases.models import Case, CaseEvent, CaseStep, StepLink
from tongban.kit.prepared import Prepared, PreparedSet, cursor_of
from tongban.org.models import Department, Jurisdiction


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _param(table: Table, column: str, name: str | None = None) -> Any:
    """A bind parameter typed as the column, so its value is stored as the ORM stores it."""
    return bindparam(name or column, type_=table.c[column].type)


#: what ``load`` selects, in order, then the jurisdiction path of the responsible department and
#: each successor's columns ``SUCCESSOR_COLUMNS`` (one row per successor)
STEP_COLUMNS = (
    "id",
    "case_id",
    "kind",
    "status",
    "lock_version",
    "responsible_department_id",
    "name_zh",
    "item_code",
)
CASE_COLUMNS = (
    "number",
    "status",
    "event_seq",
    "last_event_hash",
    "applicant_jurisdiction_id",
    "applicant_phone",
    "produced_pending",
)
SUCCESSOR_COLUMNS = ("id", "limit_days", "waits_for", "status", "kind")


@dataclass(frozen=True, slots=True)
class Statements:
    load: Prepared
    head: Prepared
    claim: Prepared
    event: Prepared
    move_head: Prepared
    release: Prepared
    make_ready: Prepared
    count_down: Prepared
    open_count: Prepared
    close: Prepared
    skip_open: Prepared


def _build(dialect: Dialect) -> Statements:
    step, case, event = _table(CaseStep), _table(Case), _table(CaseEvent)
    link, dept, juris = _table(StepLink), _table(Department), _table(Jurisdiction)
    open_status = or_(step.c.status == "waiting", step.c.status == "ready")
    successor = step.alias("successor")
    load = (
        select(
            *(step.c[c] for c in STEP_COLUMNS),
            *(case.c[c] for c in CASE_COLUMNS),
            juris.c.path,
            *(successor.c[c] for c in SUCCESSOR_COLUMNS),
        )
        .select_from(step)
        .join(case, case.c.id == step.c.case_id)
        .outerjoin(dept, dept.c.id == step.c.responsible_department_id)
        .outerjoin(juris, juris.c.id == dept.c.jurisdiction_id)
        .outerjoin(link, link.c.from_step_id == step.c.id)
        .outerjoin(successor, successor.c.id == link.c.to_step_id)
        .where(step.c.id == bindparam("step_id"))
        # PostgreSQL: writers of one case queue on its row (SQLite has one writer anyway).
        .with_for_update(of=case)
    )
    head = (
        select(case.c.event_seq, case.c.last_event_hash)
        .where(case.c.id == bindparam("case_id"))
        .with_for_update()
    )
    claim = (
        update(step)
        .where(
            step.c.id == bindparam("step_id"),
            step.c.lock_version == bindparam("lock_version"),
            step.c.status == "ready",
        )
        .values(
            status="done",
            acted_by_id=_param(step, "acted_by_id"),
            acted_department_id=_param(step, "acted_department_id"),
            acted_at=_param(step, "acted_at"),
            outcome=_param(step, "outcome"),
            lock_version=step.c.lock_version + 1,
        )
    )
    insert_event = event.insert().values(
        {
            c: _param(event, c)
            for c in ("case_id", "seq", "at", "actor_id", "step_id", "action", "data")
        }
        | {"prev_hash": _param(event, "prev_hash"), "hash": _param(event, "hash")}
    )
    move_head = (
        update(case)
        .where(case.c.id == bindparam("case_id"), case.c.event_seq == bindparam("from_seq"))
        .values(
            event_seq=_param(case, "event_seq", "to_seq"),
            last_event_hash=_param(case, "last_event_hash"),
        )
    )
    # One input of a successor is done. As ``load`` read it (and, under the write lock, as it
    # is): its last input makes it ready with its clock started; another input counts it down.
    # Each only from the state read: when that was stale, ``release`` decides on the row itself.
    waiting = step.c.status == "waiting"
    make_ready = (
        update(step)
        .where(step.c.id == bindparam("step_id"), waiting, step.c.waits_for == 1)
        .values(
            waits_for=0,
            status="ready",
            **{
                c: _param(step, c)
                for c in ("ready_at", "due_date", "due_provisional", "calendar_version")
            },
        )
    )
    count_down = (
        update(step)
        .where(step.c.id == bindparam("step_id"), waiting, step.c.waits_for == bindparam("seen"))
        .values(waits_for=step.c.waits_for - 1)
    )
    # The same decided on the row: counted down, and when it was the last input the step
    # becomes ready with its clock started (every SET sees the row as it was before).
    now_ready = and_(step.c.waits_for == 1, step.c.status == "waiting")

    def when_ready(column: str) -> Any:
        return case_(
            (now_ready, _param(step, column)),
            else_=step.c[column],
        )

    release = (
        update(step)
        .where(
            step.c.id == bindparam("step_id"),
            step.c.status == "waiting",
            step.c.waits_for > 0,
        )
        .values(
            waits_for=step.c.waits_for - 1,
            status=case_((now_ready, "ready"), else_=step.c.status),
            ready_at=when_ready("ready_at"),
            due_date=when_ready("due_date"),
            due_provisional=when_ready("due_provisional"),
            calendar_version=when_ready("calendar_version"),
        )
        .returning(step.c.waits_for, step.c.status, step.c.kind)
    )
    open_count = (
        select(func.count())
        .select_from(step)
        .where(step.c.case_id == bindparam("case_id"), open_status)
    )
    close = (
        update(case)
        .where(case.c.id == bindparam("case_id"))
        .values(
            status=_param(case, "status"),
            finished_at=_param(case, "finished_at"),
            lock_version=case.c.lock_version + 1,
        )
    )
    skip_open = (
        update(step)
        .where(step.c.case_id == bindparam("case_id"), open_status)
        .values(status="skipped", lock_version=step.c.lock_version + 1)
    )
    return Statements(
        **{
            name: Prepared(statement, dialect)
            for name, statement in {
                "load": load,
                "head": head,
                "claim": claim,
                "event": insert_event,
                "move_head": move_head,
                "release": release,
                "make_ready": make_ready,
                "count_down": count_down,
                "open_count": open_count,
                "close": close,
                "skip_open": skip_open,
            }.items()
        }
    )


_STATEMENTS = PreparedSet(_build)


def hot(session: Session) -> tuple[Any, Statements]:
    """A cursor in the session's transaction and the statements for its database."""
    cursor, dialect = cursor_of(session)
    statements: Statements = _STATEMENTS.for_dialect(dialect)
    return cursor, statements


def hot_on(connection: Connection) -> tuple[Any, Statements]:
    """The same on a bare connection, in the transaction its caller began."""
    statements: Statements = _STATEMENTS.for_dialect(connection.dialect)
    return connection.connection.dbapi_connection.cursor(), statements  # type: ignore[union-attr]
