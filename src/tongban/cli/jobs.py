"""``tongban worker``, ``tongban jobs list`` and ``tongban jobs retry``."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from tongban.cli.common import command_session, console

app = typer.Typer(
    help="Background jobs: payments, notifications, periodic work.", no_args_is_help=True
)


@app.command("list")
def list_jobs(
    status: str = typer.Option(
        None, help="Only jobs in this status: pending, running, done, dead."
    ),
    kind: str = typer.Option(None, help="Only jobs of this kind."),
    limit: int = typer.Option(50, min=1, max=1000, help="At most this many, newest first."),
) -> None:
    """The newest jobs with their status, attempts and last error."""
    from tongban.jobs import service

    with command_session() as session:
        flt = service.JobFilter(status=status, kind=kind, limit=limit)
        rows = service.operator_rows(session, flt)
        totals = service.status_counts(session)
    table = Table(title="jobs: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    for column in ("id", "kind", "key", "status", "attempts", "next run", "last error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            row.kind if row.known_kind else f"{row.kind} (no handler)",
            row.key,
            row.status,
            f"{row.attempts}/{row.max_attempts}",
            row.run_after.isoformat(timespec="seconds") if row.status == "pending" else "",
            (row.last_error or "")[:200],
        )
    console.print(table)


@app.command("retry")
def retry(
    job_ids: list[int] = typer.Argument(None, help="The dead jobs to run again."),
    all_dead: bool = typer.Option(False, "--all-dead", help="Every dead job."),
) -> None:
    """Give dead jobs their attempts again (audited)."""
    from sqlalchemy import select

    from tongban.jobs import service
    from tongban.jobs.models import Job, JobStatus

    with command_session() as session:
        ids = list(job_ids or [])
        if all_dead:
            ids += list(session.scalars(select(Job.id).where(Job.status == JobStatus.DEAD.value)))
        if not ids:
            console.print("no job named: give job ids or --all-dead")
            raise typer.Exit(2)
        for job_id in ids:
            service.retry_as_operator(session=session, job_id=job_id)
    console.print(f"{len(ids)} job(s) will run again")


def worker(
    concurrency: int = typer.Option(1, min=1, max=32, help="Jobs run at once by this process."),
    burst: bool = typer.Option(
        False, "--burst", help="Stop when no job is due (otherwise run until SIGINT/SIGTERM)."
    ),
    interval: float = typer.Option(
        2.0, min=0.1, max=3600, help="SQLite: seconds between looks for due jobs."
    ),
) -> None:
    """Run background jobs: on PostgreSQL a Procrastinate worker (start as many as you like, on
    any machine); on SQLite the in-process runner."""
    from tongban.config import get_settings
    from tongban.jobs import runner, service

    if get_settings().database_url.startswith("postgresql"):
        from tongban.jobs import queue

        # Jobs written before a crash, or whose Procrastinate job was lost, are picked up here.
        report = runner.sweep_once()
        console.print(f"recovered: {report.jobs}")
        queue.run_worker(concurrency=concurrency, wait=not burst)
        if burst:
            report = runner.sweep_once()
            console.print(f"last sweep: {report.jobs}")
        return
    me = service.worker_name()
    while True:
        report = runner.sweep_once(worker=me)
        if report.jobs.ran or report.periodic:
            console.print(f"{report.periodic or ''} jobs: {report.jobs}")
        if burst and not report.jobs.ran:
            return
        if not report.jobs.ran:
            time.sleep(interval)
