"""Spreadsheet-safe cells: text that a spreadsheet would read as a formula stays text.

Excel, LibreOffice Calc and Google Sheets evaluate a cell whose text starts with ``=``, ``+``,
``-`` or ``@`` (and, on import, one that starts with a tab or a carriage return, which are
trimmed away first) as a formula: ``=HYPERLINK("http://evil","x")`` becomes a live link,
``=cmd|'/c calc'!A1`` a DDE call (OWASP "CSV Injection"). Every CSV and XLSX writer goes through
this module.

- **CSV** is a one-way report, so it follows OWASP: every field is wrapped in double quotes
  (embedded quotes doubled, so a separator inside a value can never start a new cell, whatever
  separator the reader's locale uses), and a text that starts with a formula character, after any
  leading whitespace, gets a single quote ``'`` in front, which spreadsheets take as "this is
  text". A program that reads the CSV sees the ``'``; ``csv_cell_text`` takes it off again.
- **XLSX** must round-trip (an exported catalogue is imported again), so the text is stored
  unchanged, as a string cell (never a formula cell), and a formula-like text also gets the
  cell's ``quotePrefix`` style, Excel's own mark of a text typed with a leading ``'``: it shows
  as text and stays text when the cell is edited.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any, Final

FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r", "\0")
_LEADING_BLANKS: Final = " \t\r\n\0"
TEXT_MARK: Final = "'"


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula: it starts with one of
    ``= + - @``, a tab, a carriage return or NUL, or with blanks before ``= + - @``."""
    if text.startswith(FORMULA_STARTS):
        return True
    stripped = text.lstrip(_LEADING_BLANKS)
    return stripped != text and stripped.startswith(FORMULA_STARTS)


def safe_csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell: a formula-like text gets a leading ``'``; anything else
    (numbers included, ``-2`` as a number is a number) is returned as it is."""
    if isinstance(value, str) and is_formula_like(value):
        return TEXT_MARK + value
    return value


def csv_cell_text(cell: str) -> str:
    """The text a ``safe_csv_cell`` cell was made from (the reverse, for programs that read the
    report back)."""
    if cell.startswith(TEXT_MARK) and is_formula_like(cell[1:]):
        return cell[1:]
    return cell


class SafeCsvWriter:
    """``csv.writer`` that quotes every field and neutralises every formula-like text."""

    def __init__(self, out: IO[str], **kwargs: Any) -> None:
        kwargs.setdefault("lineterminator", "\n")
        kwargs["quoting"] = csv.QUOTE_ALL
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: IO[str], **kwargs: Any) -> SafeCsvWriter:
    """The CSV writer every CSV export uses (see the module's docstring)."""
    return SafeCsvWriter(out, **kwargs)


def set_text_cell(cell: Any, value: Any, *, shown: str | None = None) -> None:
    """Put ``value`` into an openpyxl cell; a text is always a string cell (openpyxl would make
    a text starting with ``=`` a formula), and a formula-like text gets ``quotePrefix``.
    ``shown`` is the text the spreadsheet shows when ``value`` is stored escaped (OOXML's
    ``_x000D_`` for a carriage return); the check is made on it."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if is_formula_like(value if shown is None else shown):
            cell.quotePrefix = True


XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A report table as CSV in UTF-8 with a byte-order mark (so that Excel reads Chinese)."""
    import io

    out = io.StringIO()
    writer = csv_writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def table_xlsx(sheet: str, header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A report table as a one-sheet XLSX workbook, written in openpyxl's write-only mode (the
    rows stream to the file), header in bold, every text a string cell."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    bold = Font(bold=True)

    def cells(values: Iterable[Any], font: Font | None = None) -> list[Any]:
        out = []
        for value in values:
            cell = WriteOnlyCell(ws)
            set_text_cell(cell, value)
            if font is not None:
                cell.font = font
            out.append(cell)
        return out

    ws.append(cells(header, bold))
    for row in rows:
        ws.append(cells(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
