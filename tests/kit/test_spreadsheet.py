"""Formula-like text stays text in CSV and XLSX (OWASP "CSV Injection")."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from tongban.kit.spreadsheet import (
    csv_cell_text,
    csv_writer,
    is_formula_like,
    safe_csv_cell,
    set_text_cell,
)

HOSTILE = (
    '=HYPERLINK("http://evil","x")',
    "@SUM(A1)",
    "+1+1",
    "-2+3",
    "\t=1",
    "\r=1",
    " =1+1",
    "=cmd|'/c calc'!A1",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_gets_a_leading_quote(text: str) -> None:
    assert is_formula_like(text)
    assert safe_csv_cell(text) == "'" + text
    assert csv_cell_text(safe_csv_cell(text)) == text


@pytest.mark.parametrize("value", ["施工许可", "a=b", "x-1", "", "'quoted", 5, -2, None])
def test_plain_values_are_left_alone(value: object) -> None:
    assert safe_csv_cell(value) == value
    if isinstance(value, str):
        assert not is_formula_like(value)
        assert csv_cell_text(value) == value


def test_csv_writer_quotes_every_field_and_neutralises_formulas() -> None:
    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(["kind", *HOSTILE, 3, "a;=1+1"])
    text = out.getvalue()
    assert text.startswith('"kind",')
    # every field is quoted, so no raw line starts a field with a formula character
    for raw in text.rstrip("\n").split('","'):
        assert not raw.lstrip('"').startswith(FORMULA_START[:4])
    (row,) = list(csv.reader(io.StringIO(text)))
    assert row[1 : 1 + len(HOSTILE)] == ["'" + t for t in HOSTILE]
    assert [csv_cell_text(cell) for cell in row[1 : 1 + len(HOSTILE)]] == list(HOSTILE)
    for cell in row:
        assert not cell.startswith(FORMULA_START)
    assert row[-2:] == ["3", "a;=1+1"]
    assert text.rstrip("\n").endswith('"3","a;=1+1"')


def test_set_text_cell_keeps_text_as_a_string_cell() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r, text in enumerate([*HOSTILE, "plain", 7], start=1):
        set_text_cell(ws.cell(row=r, column=1), text)
    buffer = io.BytesIO()
    wb.save(buffer)
    loaded = load_workbook(io.BytesIO(buffer.getvalue()))
    sheet = loaded.active
    assert sheet is not None
    cells = [row[0] for row in sheet.iter_rows()]
    for cell, text in zip(cells, HOSTILE, strict=False):
        assert cell.data_type != "f"
        assert cell.value == text
        assert cell.quotePrefix
    assert cells[-2].value == "plain"
    assert not cells[-2].quotePrefix
    assert cells[-1].value == 7
    assert cells[-1].data_type == "n"
