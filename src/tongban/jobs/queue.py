"""Procrastinate on PostgreSQL: the dispatcher of the job table (decision 0004).

Each job row is also deferred as a Procrastinate job ``tongban.run_job(job_id=…)`` on the SAME
connection as the business transaction (``configure(connection=…)``, Procrastinate's atomic
deferral), so both exist exactly when the business change commits. ``tongban worker`` runs
Procrastinate's worker (LISTEN/NOTIFY, any number of processes on any number of machines); its
task claims the row and runs the handler (:func:`tongban.jobs.service.run_one`), so the claim,
the retries with backoff and the dead jobs are the same on both databases. The periodic tasks
are Procrastinate periodic tasks (deferred once per period for all workers), and the period's
claim in ``periodic_run`` stands behind them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

import procrastinate
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from tongban.config import get_settings
from tongban.jobs import registry, service

log = logging.getLogger("tongban.jobs")

QUEUE = "tongban"


def conninfo(database_url: str | None = None) -> str:
    """The libpq address of a ``postgresql+psycopg://`` SQLAlchemy URL."""
    url = make_url(database_url or get_settings().database_url)
    if url.get_backend_name() != "postgresql":
        raise RuntimeError("Procrastinate runs on PostgreSQL; this database is " + url.drivername)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@lru_cache(maxsize=1)
def app() -> procrastinate.App:
    # A process that only defers (on its business connection) needs no address of its own.
    url = get_settings().database_url
    options: dict[str, Any] = {"conninfo": conninfo(url)} if url.startswith("postgresql") else {}
    queue = procrastinate.App(
        connector=procrastinate.PsycopgConnector(**options),
        worker_defaults={"queues": [QUEUE]},
    )

    @queue.task(name="tongban.run_job", queue=QUEUE, pass_context=False)
    def run_job(job_id: int) -> None:
        report = service.run_one(job_id)
        if report.ran:
            log.info("job %s: %s", job_id, report)

    for task in registry.periodic_tasks():
        _register_periodic(queue, task)
    return queue


def _register_periodic(queue: procrastinate.App, task: registry.Periodic) -> None:
    def run(timestamp: int) -> None:
        service.run_periodic(task.name)

    run.__name__ = f"periodic_{task.name.replace('-', '_')}"
    wrapped = queue.task(name=f"tongban.periodic.{task.name}", queue=QUEUE)(run)
    queue.periodic(cron=task.cron, periodic_id=task.name)(wrapped)


def defer_run(session: Session, job_id: int, run_after: datetime) -> None:
    """Defer ``run_job(job_id)`` on the session's own connection (same transaction)."""
    raw: Any = session.connection().connection.driver_connection
    task = app().tasks["tongban.run_job"]
    task.configure(connection=raw, schedule_at=run_after).defer(job_id=job_id)


def run_worker(*, concurrency: int = 1, wait: bool = True) -> None:
    """Procrastinate's worker on the ``tongban`` queue, until SIGINT/SIGTERM (or, with
    ``wait=False``, until the queue is empty)."""
    app().run_worker(queues=[QUEUE], concurrency=concurrency, wait=wait)
