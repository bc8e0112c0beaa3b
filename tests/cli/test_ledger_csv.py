"""``tongban bundle compose --format csv`` never writes a live formula: every field is quoted and
a text a spreadsheet could take for a formula (``=``, ``+``, ``-``, ``@``, tab, CR) starts with
``'`` (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import tongban.db
from tests.bundles.test_bundles_api import _bundle
from tests.factories import item, make_catalog, make_org
from tongban.bundles import service
from tongban.bundles.schemas import BundleDocument
from tongban.cli.main import app
from tongban.db import make_engine, set_engine
from tongban.kit.spreadsheet import csv_cell_text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = ('=HYPERLINK("http://evil","x")', "@SUM(A1)", "+1+1", "-2+3", "\t=1")


def _hostile_world(session: Session) -> None:
    make_org(session)
    permit = item(
        "QX-ZJJ-1",
        "QX-ZJJ",
        name=HOSTILE[0],
        outputs=[
            {
                "code": "PERMIT",
                "name_zh": HOSTILE[1],
                "name_en": HOSTILE[2],
                "kind": "licence",
                "e_licence": True,
                "elements": ["DE.NAME"],
            }
        ],
    )
    permit["materials"][0]["name_zh"] = HOSTILE[3]
    permit["materials"][0]["name_en"] = HOSTILE[4]
    hire = item(
        "QX-RSJ-1",
        "QX-RSJ",
        name=HOSTILE[1],
        materials=[
            {
                "code": "M-PERMIT",
                "name_zh": HOSTILE[0],
                "name_en": HOSTILE[1],
                "source": "item_output",
                "source_ref": "QX-ZJJ-1#PERMIT",
            },
            {
                "code": "M1",
                "name_zh": HOSTILE[2],
                "name_en": HOSTILE[3],
                "source": "shared_data",
                "source_ref": "QX-GAJ",
                "elements": ["DE.ID"],
            },
        ],
    )
    safety = item("QX-GAJ-1", "QX-GAJ", name=HOSTILE[2], type="public_service")
    for one in (permit, hire, safety):
        for step in one["steps"]:
            step["name_zh"] = HOSTILE[4]
            step["name_en"] = HOSTILE[0]
    make_catalog(session, [permit, hire, safety])
    document = BundleDocument.model_validate({"bundles": [_bundle()]})
    service.import_bundles(session=session, document=document)
    session.commit()


@pytest.fixture
def hostile(committing_database: str) -> Iterator[Engine]:
    before = tongban.db._engine
    engine = make_engine(committing_database)
    with Session(engine, expire_on_commit=False) as session:
        _hostile_world(session)
    set_engine(engine)
    yield engine
    if before is not None:
        set_engine(before)
    engine.dispose()


def test_the_ledger_csv_holds_no_live_formula(hostile: Engine) -> None:
    result = CliRunner().invoke(app, ["bundle", "compose", "build", "--format", "csv"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["section", "kind", "before", "after"]
    cells = [cell for row in rows for cell in row]
    for cell in cells:
        assert not cell.startswith(FORMULA_START), cell
    # every field is quoted, so a separator inside a value cannot start a cell either
    for line in text.splitlines():
        assert line.startswith('"')
        assert line.endswith('"')
    neutralised = [cell for cell in cells if cell.startswith("'")]
    assert neutralised, "the hostile names reach the report"
    shown = {csv_cell_text(cell) for cell in neutralised}
    assert shown <= {h.strip() for h in HOSTILE} | {h for h in HOSTILE}
    assert any(cell.startswith("'=HYPERLINK(") for cell in neutralised)


def test_the_table_adds_up_the_removed_lines(hostile: Engine) -> None:
    """The table's "removed" column is the sum of the removed lines (it printed before minus
    after, which matched whatever the lines said), and the CSV carries each line's amount."""
    runner = CliRunner()
    as_json = runner.invoke(app, ["bundle", "compose", "build", "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    ledger = json.loads(as_json.stdout)
    table = runner.invoke(app, ["bundle", "compose", "build"], terminal_width=200)
    assert table.exit_code == 0, table.output
    for kind in ("forms", "fields", "materials", "steps", "visits"):
        lines = ledger["removed"][kind]
        gone = sum(line["amount"] for line in lines)
        assert ledger["before"][kind] - gone == ledger["after"][kind], kind
        row = next(r for r in table.stdout.splitlines() if r.strip("│ ").startswith(kind))
        cells = [c.strip() for c in row.strip("│").split("│")]
        assert cells[1:] == [
            str(ledger["before"][kind]),
            str(ledger["after"][kind]),
            str(gone),
            str(len(lines)),
        ], row
    rows = list(
        csv.reader(
            io.StringIO(
                runner.invoke(app, ["bundle", "compose", "build", "--format", "csv"]).stdout
            )
        )
    )
    header = rows[0]
    removed = [dict(zip(header, r, strict=True)) for r in rows if r[0] == "removed"]
    assert all(r["amount"] for r in removed)
    assert all(r["source"] for r in removed if r["rule"] != "parallel_review")
