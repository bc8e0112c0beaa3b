"""``tongban catalog``: import, export and validate catalogue files."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from tongban.catalog import service
from tongban.catalog.completeness import PARTS as COMPLETENESS_PARTS
from tongban.catalog.io.document import INVALID
from tongban.catalog.io.stream import StreamedYaml, StreamMismatch, open_streamed
from tongban.catalog.io.xlsx import write_xlsx_entries
from tongban.catalog.io.yamlfmt import write_sections
from tongban.cli.common import (
    command_session,
    console,
    err_console,
    print_app_error,
    progress_bar,
)
from tongban.db import session_factory
from tongban.errors import FieldError, ValidationFailed
from tongban.exports.cpsv import catalog_jsonld

app = typer.Typer(help="The item catalogue (事项清单).", no_args_is_help=True)


class ExportFormat(StrEnum):
    YAML = "yaml"
    XLSX = "xlsx"
    CPSV_JSONLD = "cpsv-jsonld"


@app.command("validate")
def validate(path: Path = typer.Argument(..., help="A .yaml or .xlsx catalogue file.")) -> None:
    """Check a file without importing it: one line per error, exit code 1 if any.

    One round: the file itself and its references (departments, data elements, items) against
    the database, every error with its line (YAML) or sheet and row (XLSX). Nothing is
    written. A large YAML file is read a thousand items at a time."""
    session = session_factory()()
    try:
        errors: list[FieldError] | None = None
        streamed = open_streamed(path)
        if streamed is not None:
            try:
                _, errors = service.check_streamed(session, streamed)
            except StreamMismatch:
                session.rollback()
        if errors is None:
            _, errors = service.check_file(session, path)
    finally:
        session.rollback()
        session.close()
    if errors:
        for error in errors:
            typer.echo(f"{error.loc}: {error.message}")
        raise typer.Exit(1)
    console.print(f"{path}: valid")


@app.command("import")
def import_(path: Path = typer.Argument(..., help="A .yaml or .xlsx catalogue file.")) -> None:
    """Import a catalogue file as a whole: nothing is written unless all of it is valid.

    A large YAML file is checked and imported a thousand items at a time, in one transaction
    that is rolled back if anything in it is wrong."""
    report: service.ImportReport | None = None
    streamed = open_streamed(path)
    if streamed is not None:
        try:
            report = _import_streamed(streamed)
        except StreamMismatch:
            report = None  # rolled back; read whole
    if report is None:
        report = _import_whole(path)
    console.print(
        f"{path}: {report.items_created} items created, "
        f"{report.versions_created} versions created, "
        f"{report.drafts_updated} drafts updated, {report.status_changes} status changes, "
        f"{report.unchanged} unchanged"
    )


def _import_streamed(streamed: StreamedYaml) -> service.ImportReport:
    with (
        command_session() as session,
        progress_bar("importing items", streamed.count) as advance,
    ):
        importer = service.CatalogImporter(session=session, on_item=advance)
        own, errors = service.check_streamed(session, streamed, importer=importer)
        _refuse(own, errors)
        return importer.finish()


def _import_whole(path: Path) -> service.ImportReport:
    with command_session() as session:
        catalog, errors = service.check_file(session, path)
        _refuse(catalog.errors, errors)
        assert catalog.checked is not None
        document = catalog.checked.document
        del catalog, errors  # the file's data, kept for the lines of its errors
        with progress_bar("importing items", len(document.items)) as advance:
            return service.import_catalog(
                session=session, document=document, on_item=advance, references_checked=True
            )


def _refuse(own: list[FieldError], errors: list[FieldError]) -> None:
    """Exit 1 with the file's own problems, or refuse with the database's."""
    if own:
        print_app_error(ValidationFailed(INVALID, errors=errors, code="catalog_file_invalid"))
        raise typer.Exit(1)
    if errors:
        raise ValidationFailed(
            "catalogue is invalid; nothing was imported", errors=errors, code="catalog_invalid"
        )


@app.command("export")
def export(
    format: ExportFormat = typer.Option(ExportFormat.YAML, "--format", "-f"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="File to write (default: stdout; required for xlsx)."
    ),
    jurisdiction: str = typer.Option(
        "", "--jurisdiction", "-j", help="A division code: only the items of that subtree."
    ),
) -> None:
    """Export the latest version of every item (of one jurisdiction's subtree with
    ``--jurisdiction``).

    YAML and XLSX are written item by item as the versions are read, a thousand at a time (a
    province's 100,000 items are never held at once)."""
    if format is ExportFormat.XLSX and output is None:
        err_console.print("error: --output is required for xlsx")
        raise typer.Exit(2)
    with command_session() as session:
        if format is ExportFormat.CPSV_JSONLD:
            document = service.export_catalog(
                session=session, principal=None, as_system=True, jurisdiction_code=jurisdiction
            )
            count = len(document.items)
            jsonld = catalog_jsonld(session=session, document=document)
            text = json.dumps(jsonld, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
            if output is None:
                sys.stdout.write(text)
            else:
                output.write_text(text, encoding="utf-8")
        else:
            export = service.start_export(
                session=session, principal=None, as_system=True, jurisdiction_code=jurisdiction
            )
            if format is ExportFormat.XLSX:
                assert output is not None
                count = write_xlsx_entries(output, export.elements, export.items())
            else:
                count = _write_yaml(export, output)
    if output is not None:
        err_console.print(f"wrote {count} items to {output}")


def _write_yaml(export: service.CatalogExport, output: Path | None) -> int:
    if output is None:
        return write_sections(sys.stdout, export.elements, export.items())
    with output.open("w", encoding="utf-8", newline="") as fh:
        return write_sections(fh, export.elements, export.items())


@app.command("completeness")
def completeness(
    jurisdiction: str = typer.Option(
        "", "--jurisdiction", "-j", help="A division code: only the departments of that subtree."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write every incomplete item to a .csv or .xlsx file."
    ),
) -> None:
    """What each department still has to fill in: per department its published items, how many
    are complete, and how many lack each part (also /catalog/completeness)."""
    from tongban.kit.spreadsheet import table_csv, table_xlsx

    if output is not None and output.suffix not in (".csv", ".xlsx"):
        err_console.print("error: --output must end in .csv or .xlsx")
        raise typer.Exit(2)
    with command_session() as session:
        report = service.completeness_report(
            session=session, principal=None, as_system=True, jurisdiction=jurisdiction
        )
    parts = " ".join(f"{p:>11}" for p in COMPLETENESS_PARTS)
    typer.echo(f"{'department':<16} {'items':>6} {'complete':>9} {parts}")
    for dept in report.departments:
        counts = " ".join(f"{dept.by_part[p]:>11}" for p in COMPLETENESS_PARTS)
        typer.echo(f"{dept.code:<16} {dept.total:>6} {dept.complete_percent:>8}% {counts}")
    typer.echo(f"{report.incomplete} of {report.total} published items are incomplete")
    if output is not None:
        header, rows = service.gap_table(report, zh=True)
        body = (
            table_csv(header, rows)
            if output.suffix == ".csv"
            else table_xlsx("completeness", header, rows)
        )
        output.write_bytes(body)
        err_console.print(f"wrote {len(rows)} incomplete items to {output}")


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the file format, for an editor to validate a
    file as it is typed (committed as ``docs/schemas/*.schema.json``)."""
    from tongban.catalog.schemas import json_schema
    from tongban.kit.jsonschema import schema_text

    typer.echo(schema_text(json_schema()), nl=False)


@app.command("reindex")
def reindex() -> None:
    """Rebuild the search index of every item version (decision 0005)."""
    with command_session() as session:
        count = service.reindex(session)
    typer.echo(f"indexed {count} item versions")


synonyms_app = typer.Typer(help="Search synonyms (营业执照 ↔ 企业设立登记).", no_args_is_help=True)
app.add_typer(synonyms_app, name="synonyms")


@synonyms_app.command("list")
def synonyms_list() -> None:
    """One group a line: its id and its terms."""
    with command_session() as session:
        for row in service.list_synonyms(session):
            typer.echo(f"{row.id}\t{' '.join(row.terms)}")


@synonyms_app.command("add")
def synonyms_add(terms: list[str] = typer.Argument(..., help="Two or more terms.")) -> None:
    """Add a group of terms that search treats as one (audited)."""
    with command_session() as session:
        row = service.save_synonym(session=session, principal=None, terms=terms, as_system=True)
        typer.echo(f"{row.id}\t{' '.join(row.terms)}")


@synonyms_app.command("remove")
def synonyms_remove(synonym_id: int = typer.Argument(..., help="The group's id.")) -> None:
    """Remove a group (audited)."""
    with command_session() as session:
        service.delete_synonym(
            session=session, principal=None, synonym_id=synonym_id, as_system=True
        )
    typer.echo(f"removed {synonym_id}")
