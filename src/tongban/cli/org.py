"""``tongban org``: load the organisation document."""

from __future__ import annotations

from pathlib import Path

import typer

from tongban.cli.common import command_session, console, print_app_error
from tongban.errors import ValidationFailed
from tongban.org import service
from tongban.org.io import read_org

app = typer.Typer(help="Jurisdictions, departments, modules and staff.", no_args_is_help=True)


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="An organisation YAML file (tongban-org/1)."),
) -> None:
    """Insert or update jurisdictions, departments, modules and staff; all or nothing."""
    try:
        document = read_org(path)
    except ValidationFailed as exc:
        print_app_error(exc)
        raise typer.Exit(1) from None
    with command_session() as session:
        report = service.load_org(session=session, document=document)
    console.print(
        f"{path}: {report.jurisdictions} jurisdictions, {report.departments} departments, "
        f"{report.modules} modules, {report.users} users"
    )


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the file format, for an editor to validate a
    file as it is typed (committed as ``docs/schemas/*.schema.json``)."""
    from tongban.kit.jsonschema import schema_text
    from tongban.org.schemas import json_schema

    typer.echo(schema_text(json_schema()), nl=False)
