"""``tongban tick``, ``tongban audit verify`` and ``tongban files sweep``."""

from __future__ import annotations

import typer

from tongban.cli.common import command_session, console, progress_bar

audit_app = typer.Typer(help="Integrity of the hash-chained logs.", no_args_is_help=True)
files_app = typer.Typer(help="Stored files: uploads and archives.", no_args_is_help=True)


def tick() -> None:
    """Apply the escalation ladder to every open step now (each level fires once), then run
    the jobs that are due (payments, notifications); safe beside workers and other ticks."""
    from tongban.calendar import service as calendar
    from tongban.cases import service
    from tongban.jobs import service as jobs

    with command_session() as session:
        calendar.load(session)
        report = service.tick(session=session)
    ran = jobs.run_due(limit=100_000)
    console.print(
        f"checked {report.checked} open steps, {report.fired} escalations fired; jobs: "
        f"{ran.done} done, {ran.failed} to retry, {ran.dead} dead, {ran.lost} taken over"
    )


@audit_app.command("verify")
def verify() -> None:
    """Check every hash chain (the audit log, every case's events, …): per chain the rows
    checked, then OK or the first break of each broken chain key; exit code 1 on a break."""
    from tongban.kit import hashchain
    from tongban.models import load_all_models

    load_all_models()  # each domain registers its chain next to its model
    broken = False
    with command_session() as session:
        for chain in hashchain.chains():
            report = hashchain.verify(session, chain)
            keyed = "" if chain.key is None else f" in {report.keys} chains ({chain.key})"
            state = "OK" if report.ok else f"BROKEN ({len(report.breaks)})"
            typer.echo(f"{chain.name}: {report.rows} rows checked{keyed}: {state}")
            for found in report.breaks:
                typer.echo(f"  {found}")
            broken = broken or not report.ok
    if broken:
        raise typer.Exit(1)


@files_app.command("sweep")
def sweep(
    older_than_hours: float = typer.Option(
        24.0,
        min=1.0,
        help="Only files last written this many hours ago or more (at least 1: a transaction "
        "under way may be about to name a younger one).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would go; remove nothing."),
) -> None:
    """Remove stored files that nothing names.

    Such files are left by transactions that were rolled back: no upload and no archive
    names them."""
    from tongban.cases import archive, storage

    with command_session() as session:
        named = archive.referenced_files(session)
    total = sum(1 for _ in storage.stored())
    with progress_bar("checking stored files", total) as advance:
        report = storage.sweep(
            named,
            older_than_seconds=older_than_hours * 3600,
            dry_run=dry_run,
            progress=lambda: advance(1),
        )
    for digest in report.removed:
        typer.echo(f"{'would remove' if dry_run else 'removed'} {digest}")
    console.print(
        f"{report.files} stored files: {report.referenced} named by a row, "
        f"{report.too_young} younger than {older_than_hours:g} h, "
        f"{len(report.removed)} {'to remove' if dry_run else 'removed'} "
        f"({report.removed_bytes} bytes)"
    )
