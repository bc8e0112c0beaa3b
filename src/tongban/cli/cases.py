"""``tongban tick``, ``tongban outbox`` and ``tongban audit verify``."""

from __future__ import annotations

import typer

from tongban.cli.common import command_session, console

audit_app = typer.Typer(help="Integrity of the case event logs.", no_args_is_help=True)


def tick() -> None:
    """Apply the escalation ladder to every open step (each level fires once), then send what
    waits in the outbox."""
    from tongban.cases import outbox, service

    with command_session() as session:
        report = service.tick(session=session)
    with command_session() as session:
        sent = outbox.deliver(session=session)
    console.print(
        f"checked {report.checked} open steps, {report.fired} escalations fired, "
        f"{sent} messages sent"
    )


@audit_app.command("verify")
def verify() -> None:
    """Check every case's hash chain; exit code 1 and one line per altered or removed row."""
    from tongban.cases import service

    with command_session() as session:
        problems = service.verify_all(session=session)
    for problem in problems:
        typer.echo(problem)
    if problems:
        raise typer.Exit(1)
    console.print("every case's event chain holds")
