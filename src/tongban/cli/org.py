"""``tongban org``: load the organisation document."""

from __future__ import annotations

from pathlib import Path

import typer

from tongban.cli.common import command_session, console, print_app_error
from tongban.errors import AppError, ValidationFailed
from tongban.org import service
from tongban.org.io import locate_errors, read_org_file

app = typer.Typer(help="Jurisdictions, departments, modules and staff.", no_args_is_help=True)


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="An organisation YAML file (tongban-org/1)."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what would be added, updated and removed; write nothing."
    ),
) -> None:
    """Merge jurisdictions, departments, modules and staff into the database: what the file lists
    is inserted or updated, a module or user gains the departments or grants it lists and loses
    none; only the file's ``remove`` section takes anything away. All or nothing."""
    try:
        document, loaded = read_org_file(path)
        with command_session() as session:
            try:
                report = service.load_org(session=session, document=document, dry_run=dry_run)
            except ValidationFailed as exc:
                # the service names places in the document; the file's lines are known here
                exc.errors = locate_errors(exc.errors, loaded, path.name)
                raise
    except AppError as exc:
        print_app_error(exc)
        raise typer.Exit(1) from None
    for change in report.changes:
        console.print(f"  {change.text(dry_run=dry_run)}", highlight=False, soft_wrap=True)
    counts = {action: len(report.of(action)) for action in ("add", "update", "remove", "absent")}
    console.print(
        f"{path}: {report.jurisdictions} jurisdictions, {report.departments} departments, "
        f"{report.modules} modules, {report.users} users in the file; "
        f"{counts['add']} added, {counts['update']} updated, {counts['remove']} removed"
        + (f", {counts['absent']} already absent" if counts["absent"] else "")
        + (" (dry run: nothing written)" if dry_run else ""),
        highlight=False,
        soft_wrap=True,
    )


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the file format, for an editor to validate a
    file as it is typed (committed as ``docs/schemas/*.schema.json``)."""
    from tongban.kit.jsonschema import schema_text
    from tongban.org.schemas import json_schema

    typer.echo(schema_text(json_schema()), nl=False)
