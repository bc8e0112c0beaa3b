"""Deferring jobs in the business transaction, claiming them, running their handlers.

One mechanism on both databases: a job is a row of ``job`` written in the transaction that
decides it (so it exists exactly when that transaction commits), claimed by one runner at a time
(a conditional ``UPDATE … RETURNING``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so runners
never wait for each other), run by the handler registered for its kind, and marked done in the
transaction that holds the handler's own writes. A runner that dies holds its claim only until
its lease ends; then another runs the job again, and the handler's effect happens once because
it is keyed by the job's delivery key.

Who runs the runner: on PostgreSQL, Procrastinate workers (``tongban worker``; each job is also
deferred as a Procrastinate job on the same connection, see :mod:`tongban.jobs.queue`); on
SQLite, the process itself (``serve``'s sweeper, ``tongban tick``, ``tongban worker``).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tongban.auth.access import require_role
from tongban.auth.models import Role
from tongban.auth.principal import Principal
from tongban.config import get_settings
from tongban.db import session_factory, utcnow
from tongban.errors import Conflict, FieldError, NotFound, ValidationFailed
from tongban.jobs import registry
from tongban.jobs.models import Job, JobStatus, PeriodicRun
from tongban.jobs.registry import JobRun

log = logging.getLogger("tongban.jobs")

#: the first retry waits this long, each next one twice as long, up to MAX_BACKOFF
FIRST_BACKOFF = timedelta(seconds=10)
MAX_BACKOFF = timedelta(hours=1)
MAX_ERROR = 2000
MAX_KEY = 200


class Permanent(Exception):
    """Raised by a handler when trying again cannot help (a malformed payload, a recipient the
    provider refuses): the job is parked as dead at once, with this message."""


class LeaseLost(Exception):
    """The job's claim ran out and another runner took it: this run's writes are dropped."""


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempt: int) -> timedelta:
    """Wait before the attempt after ``attempt`` (1-based): 10 s, 20 s, 40 s … at most 1 h."""
    wait: timedelta = FIRST_BACKOFF * (2 ** max(attempt - 1, 0))
    return min(wait, MAX_BACKOFF)


def _lease() -> timedelta:
    """How long a claim holds: a runner that has not finished by then is taken for dead."""
    return timedelta(seconds=get_settings().job_lease_seconds)


# ---------------------------------------------------------------- deferring


def defer(
    session: Session,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    run_after: datetime | None = None,
    max_attempts: int = 8,
) -> int | None:
    """Write a job in the caller's transaction; it runs only once that commits. A job with
    the same key already written is not written again (None is returned): deferring is as
    idempotent as running. An unknown kind is a programming error and fails at once."""
    if registry.lookup(kind) is None:
        raise LookupError(f"no handler is registered for the job kind {kind!r}")
    if not key or len(key) > MAX_KEY:
        raise ValueError(f"a job's key is 1 to {MAX_KEY} characters, got {len(key)}")
    due = run_after or utcnow()
    values: dict[str, Any] = {
        "kind": kind,
        "key": key,
        "payload": payload,
        "status": JobStatus.PENDING.value,
        "attempts": 0,
        "max_attempts": max_attempts,
        "run_after": due,
        "created_at": utcnow(),
    }
    connection = session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    job_id = session.execute(
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Job.id)
    ).scalar_one_or_none()
    if job_id is not None:
        _dispatch(session, job_id, due)
    return job_id


def _dispatch(session: Session, job_id: int, run_after: datetime) -> None:
    """On PostgreSQL, hand the job to Procrastinate in the same transaction."""
    if session.connection().dialect.name == "postgresql":
        from tongban.jobs import queue

        queue.defer_run(session, job_id, run_after)


# ---------------------------------------------------------------- claiming and running


@dataclass
class RunReport:
    done: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0

    @property
    def ran(self) -> int:
        return self.done + self.failed + self.dead + self.lost

    def add(self, other: RunReport) -> None:
        self.done += other.done
        self.failed += other.failed
        self.dead += other.dead
        self.lost += other.lost


def _claimable(now: datetime, kinds: Iterable[str]) -> Any:
    return and_(
        Job.kind.in_(sorted(kinds)),
        or_(
            and_(Job.status == JobStatus.PENDING.value, Job.run_after <= now),
            and_(Job.status == JobStatus.RUNNING.value, Job.claimed_until < now),
        ),
    )


def claim(
    session: Session, *, worker: str, limit: int = 50, job_id: int | None = None
) -> list[JobRun]:
    """Claim due jobs of known kinds (or the one job ``job_id``) for ``worker``; the caller
    commits at once, so the claim is seen by every other runner."""
    now = utcnow()
    chosen = select(Job.id).where(_claimable(now, registry.kinds()))
    if job_id is not None:
        chosen = chosen.where(Job.id == job_id)
    chosen = chosen.order_by(Job.id).limit(limit).with_for_update(skip_locked=True)
    rows = session.execute(
        update(Job)
        .where(Job.id.in_(chosen.scalar_subquery()))
        .values(
            status=JobStatus.RUNNING.value,
            attempts=Job.attempts + 1,
            claimed_by=worker,
            claimed_until=now + _lease(),
        )
        .returning(Job.id, Job.kind, Job.key, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)
    ).all()
    return sorted((JobRun(*row) for row in rows), key=lambda run: run.id)


def _rowcount(result: Any) -> int:
    """Rows an ``UPDATE`` changed (a ``CursorResult``'s count)."""
    return int(result.rowcount)


def _mine(job_id: int, worker: str) -> Any:
    return and_(Job.id == job_id, Job.claimed_by == worker, Job.status == JobStatus.RUNNING.value)


@contextmanager
def own_session() -> Iterator[Session]:
    """A session of its own, committed at the end (a runner owns its transactions)."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


#: where a runner gets each of its transactions (tests hand in savepoints of their own)
Scope = Callable[[], AbstractContextManager[Session]]


def _run_claimed(run: JobRun, worker: str, scope: Scope) -> RunReport:
    handle = registry.lookup(run.kind)
    assert handle is not None  # claimed only for known kinds
    report = RunReport()
    try:
        with scope() as session:
            handle(run, session)
            marked = _rowcount(
                session.execute(
                    update(Job)
                    .where(_mine(run.id, worker))
                    .values(
                        status=JobStatus.DONE.value,
                        finished_at=utcnow(),
                        claimed_until=None,
                        last_error=None,
                    )
                    .execution_options(synchronize_session=False)
                )
            )
            if marked != 1:
                raise LeaseLost(f"job {run.id}: the claim ran out before it was done")
        report.done += 1
    except LeaseLost:
        log.warning("job %s (%s): claim lost; the other runner finishes it", run.id, run.kind)
        report.lost += 1
    except Exception as exc:  # a handler's failure of any kind is recorded, not raised
        with scope() as session:
            dead = _record_failure(session, run, worker, exc)
        if dead:
            report.dead += 1
        else:
            report.failed += 1
    return report


def _record_failure(session: Session, run: JobRun, worker: str, exc: Exception) -> bool:
    dead = isinstance(exc, Permanent) or run.attempt >= run.max_attempts
    text = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    now = utcnow()
    run_after = now + backoff(run.attempt)
    changed = _rowcount(
        session.execute(
            update(Job)
            .where(_mine(run.id, worker))
            .values(
                status=JobStatus.DEAD.value if dead else JobStatus.PENDING.value,
                last_error=text,
                run_after=run_after,
                claimed_by=None,
                claimed_until=None,
                finished_at=now if dead else None,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if changed == 1 and not dead:
        _dispatch(session, run.id, run_after)
    log.log(
        logging.ERROR if dead else logging.WARNING,
        "job %s (%s) attempt %s failed%s: %s",
        run.id,
        run.kind,
        run.attempt,
        ", parked as dead" if dead else f", retried after {run_after.isoformat()}",
        text,
    )
    return dead


def run_due(
    *, worker: str | None = None, limit: int = 200, batch: int = 50, scope: Scope = own_session
) -> RunReport:
    """Claim and run due jobs until none is left or ``limit`` have run."""
    me = worker or worker_name()
    report = RunReport()
    with scope() as session:
        _warn_unknown_kinds(session)
    while report.ran < limit:
        with scope() as session:
            runs = claim(session, worker=me, limit=min(batch, limit - report.ran))
        if not runs:
            break
        for run in runs:
            report.add(_run_claimed(run, me, scope))
    return report


def run_one(job_id: int, *, worker: str | None = None, scope: Scope = own_session) -> RunReport:
    """Run the one job ``job_id`` if it is due and nobody holds it (Procrastinate's task)."""
    me = worker or worker_name()
    report = RunReport()
    with scope() as session:
        runs = claim(session, worker=me, limit=1, job_id=job_id)
    for run in runs:
        report.add(_run_claimed(run, me, scope))
    return report


def _warn_unknown_kinds(session: Session) -> None:
    """A job whose kind no handler knows stays pending, and says so loudly."""
    unknown = session.execute(
        select(Job.kind, func.count())
        .where(Job.status == JobStatus.PENDING.value, Job.kind.not_in(sorted(registry.kinds())))
        .group_by(Job.kind)
    ).all()
    for kind, count in unknown:
        log.error("%s pending job(s) of kind %r: no handler is registered; they wait", count, kind)


# ---------------------------------------------------------------- seeing and retrying


@dataclass(frozen=True)
class JobFilter:
    status: str | None = None
    kind: str | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        errors = []
        if self.status is not None and self.status not in {s.value for s in JobStatus}:
            errors.append(FieldError("status", "one of " + ", ".join(s.value for s in JobStatus)))
        if not 1 <= self.limit <= 1000:
            errors.append(FieldError("limit", "1 to 1000"))
        if not 0 <= self.offset <= 10_000_000:
            errors.append(FieldError("offset", "0 to 10,000,000"))
        if errors:
            raise ValidationFailed("bad job filter", errors=errors, code="bad_job_filter")


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    key: str
    status: str
    attempts: int
    max_attempts: int
    run_after: datetime
    created_at: datetime
    finished_at: datetime | None
    last_error: str | None
    known_kind: bool


def list_jobs(*, session: Session, principal: Principal | None, flt: JobFilter) -> list[JobRow]:
    require_role(principal, Role.SYSADMIN)
    return operator_rows(session, flt)


def operator_rows(session: Session, flt: JobFilter) -> list[JobRow]:
    """The jobs for the operator at the console (``tongban jobs list``)."""
    query = select(Job).order_by(Job.id.desc()).limit(flt.limit).offset(flt.offset)
    if flt.status:
        query = query.where(Job.status == flt.status)
    if flt.kind:
        query = query.where(Job.kind == flt.kind)
    known = registry.kinds()
    return [
        JobRow(
            j.id,
            j.kind,
            j.key,
            j.status,
            j.attempts,
            j.max_attempts,
            j.run_after,
            j.created_at,
            j.finished_at,
            j.last_error,
            j.kind in known,
        )
        for j in session.scalars(query)
    ]


def counts(*, session: Session, principal: Principal | None) -> dict[str, int]:
    require_role(principal, Role.SYSADMIN)
    return status_counts(session)


def status_counts(session: Session) -> dict[str, int]:
    found = dict(
        session.execute(select(Job.status, func.count()).group_by(Job.status)).tuples().all()
    )
    return {s.value: int(found.get(s.value, 0)) for s in JobStatus}


def retry(*, session: Session, principal: Principal | None, job_id: int) -> Job:
    """A dead job is given its attempts again, to run now; audited."""
    who = require_role(principal, Role.SYSADMIN)
    return _retry(session, job_id, actor_user_id=who.user_id)


def retry_as_operator(*, session: Session, job_id: int) -> Job:
    """``tongban jobs retry``: the operator at the console (recorded without a user)."""
    return _retry(session, job_id, actor_user_id=None)


def _retry(session: Session, job_id: int, *, actor_user_id: int | None) -> Job:
    from tongban.audit import service as audit

    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound("no job %(job)s", params={"job": job_id}, code="job_not_found")
    if job.status != JobStatus.DEAD.value:
        raise Conflict(
            "job %(job)s is %(status)s; only a dead job is retried",
            params={"job": job_id, "status": job.status},
            code="job_not_dead",
        )
    now = utcnow()
    job.status, job.run_after, job.finished_at = JobStatus.PENDING.value, now, None
    job.max_attempts = job.attempts + 3
    session.flush()
    _dispatch(session, job.id, now)
    audit.record(
        session=session,
        actor_user_id=actor_user_id,
        action="job.retry",
        object_type="job",
        object_key=str(job.id),
        detail={"kind": job.kind, "key": job.key, "last_error": job.last_error},
    )
    return job


# ---------------------------------------------------------------- periodic work


def run_periodic(
    name: str | None = None, *, now: datetime | None = None, scope: Scope = own_session
) -> dict[str, str]:
    """Run each periodic task (or the one named) whose current period nobody has claimed yet;
    returns what each that ran said. The claim and the task's writes commit together, so a
    task that fails is tried again by the next runner in the same period."""
    moment = now or utcnow()
    said: dict[str, str] = {}
    for task in registry.periodic_tasks():
        if name is not None and task.name != name:
            continue
        period = int(moment.timestamp() // task.every.total_seconds())
        try:
            with scope() as session:
                connection = session.connection()
                insert = (
                    postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
                )
                claimed = session.execute(
                    insert(PeriodicRun)
                    .values(name=task.name, period=period, started_at=moment)
                    .on_conflict_do_nothing()
                    .returning(PeriodicRun.name)
                ).scalar_one_or_none()
                if claimed is None:
                    continue
                summary = task.run(session)
                session.execute(
                    update(PeriodicRun)
                    .where(PeriodicRun.name == task.name, PeriodicRun.period == period)
                    .values(summary=summary[:MAX_ERROR])
                )
            said[task.name] = summary
        except Exception:
            log.exception("periodic task %s failed; the next runner tries it again", task.name)
    return said
