"""``tongban calendar import FILE`` and ``tongban calendar show``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tongban.cli.common import command_session, console, err_console

app = typer.Typer(
    help="The working-day calendar: the chinesecalendar package plus imported years.",
    no_args_is_help=True,
)


@app.command("import")
def import_year(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="A holiday-cn .json or a .yaml file."
    ),
) -> None:
    """Load one year's holidays and adjusted working days (audited); open steps whose due
    dates it moves are recomputed, each with an event on its case."""
    from tongban.calendar import io, service

    with file.open("rb") as handle:
        data = handle.read(io.MAX_BYTES + 1)
    with command_session() as session:
        result = service.import_year_as_operator(session=session, filename=file.name, data=data)
    if result.unchanged:
        console.print(
            f"{result.year} v{result.version} is already in force from this very file: "
            "nothing imported"
        )
        return
    console.print(
        f"imported {result.year} as v{result.version} from {file.name}; "
        f"calendar in force: {result.calendar_version}"
    )
    if result.weekend_off_days:
        console.print(
            f"{result.weekend_off_days} day(s) off on a weekend kept (they change no count)"
        )
    if result.differs_from_package:
        err_console.print(
            f"[yellow]note:[/] differs from the package on {len(result.differs_from_package)} "
            f"day(s): {', '.join(result.differs_from_package[:10])}",
            highlight=False,
        )
    console.print(f"{len(result.moved)} open step(s) had their due date moved")
    if result.moved:
        table = Table()
        for column in ("case", "step", "old due", "new due"):
            table.add_column(column)
        for change in result.moved:
            table.add_row(
                change.case_number,
                change.step_code,
                change.old.isoformat() + (" (provisional)" if change.old_provisional else ""),
                change.new.isoformat() + (" (provisional)" if change.provisional else ""),
            )
        console.print(table)


@app.command("recompute")
def recompute(year: int = typer.Argument(..., help="The year the package now covers.")) -> None:
    """After upgrading chinesecalendar: count again the open steps' due dates that the year
    moves (each change an event on its case; audited)."""
    from tongban.calendar import service

    with command_session() as session:
        moved = service.recompute_as_operator(session=session, year=year)
    console.print(f"{len(moved)} open step(s) had their due date moved")
    for change in moved:
        console.print(f"  {change.case_number} {change.step_code}: {change.old} -> {change.new}")


@app.command("show")
def show() -> None:
    """The calendar in force and every import."""
    from tongban.calendar import service
    from tongban.kit import workdays

    with command_session() as session:
        service.load(session)
        rows = service.in_force_rows(session)
        version = workdays.calendar_version()
    console.print(f"calendar in force: {version}")
    console.print(f"package years: {workdays.first_covered_year()}-{workdays.last_covered_year()}")
    for row in rows:
        console.print(
            f"imported {row.year} v{row.version}: {row.source_filename} "
            f"sha256 {row.sha256[:16]} at {row.imported_at.isoformat(timespec='seconds')}"
        )
