"""``tongban bundle``: list, import, compose, lint and export one-thing bundles."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from tongban.bundles import bpmn, service
from tongban.bundles.io import LEDGER_KINDS, ledger_csv, locate_errors, read_bundle_file
from tongban.cli.common import command_session, console, print_app_error
from tongban.errors import AppError, ValidationFailed

app = typer.Typer(help="One-thing bundles (一件事).", no_args_is_help=True)


class ListFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


class LedgerFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@app.command("list")
def list_(format: ListFormat = typer.Option(ListFormat.TABLE, "--format", "-f")) -> None:
    """The bundles: code and names."""
    with command_session() as session:
        bundles = service.list_bundles(session=session, principal=None, as_system=True)
    if format is ListFormat.JSON:
        rows = [
            {
                "code": b.code,
                "name_zh": b.name_zh,
                "name_en": b.name_en,
                "status": b.status,
                "kind": b.kind.value,
                "members": len(b.members),
            }
            for b in bundles
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("code", "name", "kind", "status", "members")
    for b in bundles:
        table.add_row(b.code, b.name_zh, b.kind.value, b.status, str(len(b.members)))
    console.print(table)


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="A bundle YAML file (tongban-bundles/1)."),
) -> None:
    """Import bundles; all or nothing."""
    try:
        document, loaded = read_bundle_file(path)
        with command_session() as session:
            try:
                report = service.import_bundles(session=session, document=document)
            except ValidationFailed as exc:
                # the service names places in the document; the file's lines are known here
                exc.errors = locate_errors(exc.errors, loaded, path.name)
                raise
    except AppError as exc:
        print_app_error(exc)
        raise typer.Exit(1) from None
    console.print(
        f"{path}: {report.created} created, {report.versions} versions, "
        f"{report.unchanged} unchanged"
    )


def _parse_answers(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    answers: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"'{pair}' is not QUESTION=ANSWER", param_hint="--answer")
        q, a = pair.split("=", 1)
        answers[q.strip()] = a.strip()
    return answers


@app.command("compose")
def compose(
    code: str = typer.Argument(..., help="The bundle's code."),
    format: LedgerFormat = typer.Option(LedgerFormat.TABLE, "--format", "-f"),
    answer: list[str] = typer.Option(
        [], "--answer", "-a", help="QUESTION=ANSWER; repeat. Without any, every member counts."
    ),
) -> None:
    """Compose the bundle and print its reduction ledger."""
    answers = _parse_answers(answer)
    with command_session() as session:
        ledger = service.compose_bundle(
            session=session, principal=None, code=code, answers=answers, as_system=True
        )
    if format is LedgerFormat.JSON:
        typer.echo(json.dumps(ledger.as_dict(), ensure_ascii=False, indent=2))
    elif format is LedgerFormat.CSV:
        sys.stdout.write(ledger_csv(ledger))
    else:
        table = Table("", "before", "after", "removed", "lines", title=f"{code}: reduction ledger")
        # "removed" adds up the removed lines themselves (before − removed = after holds by
        # construction); it is never before minus after.
        for kind in LEDGER_KINDS:
            before, after = getattr(ledger.before, kind), getattr(ledger.after, kind)
            lines = ledger.removed[kind]
            if kind == "days":
                for limit, amount in (("legal", "amount"), ("promised", "amount_promised")):
                    b, a = before[limit], after[limit]
                    gone = sum(getattr(r, amount) for r in lines)
                    pct = f" ({gone * 100 // b}% faster)" if b else ""
                    table.add_row(
                        f"days ({limit})", str(b), str(a), f"{gone}{pct}", str(len(lines))
                    )
            else:
                gone = sum(r.amount for r in lines)
                table.add_row(kind, str(before), str(after), str(gone), str(len(lines)))
        console.print(table)
        for kind in LEDGER_KINDS:
            for r in ledger.removed[kind]:
                source = f" ← {r.source}" if r.source else ""
                amount = (
                    f" −{r.amount}/{r.amount_promised} days" if kind == "days" else f" −{r.amount}"
                )
                console.print(
                    f"  - {kind}: {r.item} {r.code} {r.name} [{r.rule}]{amount} {r.reason}{source}",
                    highlight=False,
                )
        for c in ledger.conflicts:
            console.print(f"  ! conflict: {c.message}", highlight=False)


@app.command("lint")
def lint(code: str = typer.Argument(...)) -> None:
    """What must be mended before the bundle can be published; exit code 1 if anything."""
    with command_session() as session:
        detail = service.get_bundle(session=session, principal=None, code=code, as_system=True)
        issues = service.lint(session=session, bundle=detail.bundle)
    for issue in issues:
        typer.echo(f"{issue.loc}: [{issue.rule}] {issue.message}")
    if issues:
        raise typer.Exit(1)
    console.print(f"{code}: no problems")


@app.command("export-bpmn")
def export_bpmn(
    code: str = typer.Argument(...),
    output: Path | None = typer.Option(None, "--output", "-o"),
    answer: list[str] = typer.Option(
        [],
        "--answer",
        "-a",
        help="QUESTION=ANSWER; repeat: the process of the members that apply. Without any, "
        "the whole bundle, whose gateways decide on the answers.",
    ),
) -> None:
    """The composed process as executable BPMN 2.0 XML, a lane per department, with diagram
    information."""
    answers = _parse_answers(answer)
    with command_session() as session:
        xml = bpmn.bundle_bpmn(
            session=session, principal=None, code=code, answers=answers, as_system=True
        )
    if output is None:
        sys.stdout.write(xml)
    else:
        output.write_text(xml, encoding="utf-8")


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema (draft 2020-12) of the file format, for an editor to validate a
    file as it is typed (committed as ``docs/schemas/*.schema.json``)."""
    from tongban.bundles.schemas import json_schema
    from tongban.kit.jsonschema import schema_text

    typer.echo(schema_text(json_schema()), nl=False)
