"""The catalogue as an XLSX workbook.

The sheets are ``elements``, ``items`` and one per list of an item (``co_handlers``,
``legal_basis``, ``conditions``, ``materials``, ``form``, ``steps``, ``fees``, ``channels``,
``outputs``) keyed by ``item`` (implementation code) and ``position``; list cells hold
``|``-separated values. Writing refuses what a cell cannot hold losslessly and is deterministic
(fixed ZIP timestamps and document properties). Every text is a string cell, never a formula,
kept as it is (so it round-trips); one a spreadsheet could take for a formula (``=``, ``+``,
``-``, ``@``...) also gets the ``quotePrefix`` style (``tongban.kit.spreadsheet``). Reading
checks the ZIP directory (size, member count) before openpyxl opens the workbook read-only,
values only.
"""

from __future__ import annotations

import io
import marshal
import re
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Final

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.reader import excel as openpyxl_excel
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from pydantic import BaseModel

from tongban.catalog.io.document import (
    MAX_REPORTED_ERRORS,
    TOO_MANY_ERRORS,
    Loc,
    _Loaded,
    _no_place,
    _path_text,
)
from tongban.catalog.schemas import (
    BilingualText,
    CatalogDocument,
    ElementIn,
    FeeIn,
    FormFieldIn,
    ItemIn,
    LegalBasisIn,
    MaterialIn,
    OutputIn,
    StepIn,
)
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.spreadsheet import set_text_cell

MAX_XLSX_UNCOMPRESSED: Final = 200 * 1024 * 1024
"""The most a workbook may unpack to, all its parts together (checked from the ZIP directory
before anything is inflated)."""
MAX_XLSX_MEMBERS: Final = 1000
MAX_XLSX_RATIO: Final = 100
"""The most a part over ``_RATIO_FLOOR`` bytes may inflate by: a sheet of real data compresses
about 5 to 20 times; a zip bomb (0.76 MB that inflates to 190 MB) hundreds of times."""
_RATIO_FLOOR: Final = 1024 * 1024
MAX_XLSX_ROWS: Final = 1_048_576
"""Rows per sheet (Excel's own limit)."""
SHEET_ROW_LIMITS: Final[dict[str, int]] = {"items": 250_000, "elements": 100_000}
"""Rows of the sheets that hold one row per item or per data element: a catalogue of at most
250,000 items (a province has about 100,000) and 100,000 data elements. Sheet ``items`` is
read before the lists' sheets, so a workbook whose sheet repeats a row millions of times (a
zip bomb under the inflation limits) is refused after a quarter of a million rows."""
MAX_XLSX_COLUMNS: Final = 64
"""Columns per row: no sheet of the format has more than 14."""
INFLATION_CODE: Final = "xlsx_inflation_limit"

# Column kinds: "str", "int", "bool", "list" ("|"-separated values).
_Columns = tuple[tuple[str, str], ...]

_ELEMENT_COLUMNS: _Columns = (
    ("code", "str"),
    ("name_zh", "str"),
    ("name_en", "str"),
    ("type", "str"),
    ("format", "str"),
    ("max_length", "int"),
    ("allowed_values", "list"),
    ("validator", "str"),
    ("source_department", "str"),
    ("description", "str"),
    ("applicant_field", "str"),
)
_ITEM_COLUMNS: _Columns = (
    ("implementation_code", "str"),
    ("basic_code", "str"),
    ("parent", "str"),
    ("status", "str"),
    ("name_zh", "str"),
    ("name_en", "str"),
    ("type", "str"),
    ("department", "str"),
    ("description", "str"),
    ("time_limit_legal", "int"),
    ("time_limit_promised", "int"),
    ("visits", "int"),
    ("none_stated", "list"),
)
_OPTIONAL_COLUMNS: Final = frozenset({"none_stated"})
"""Columns a workbook may leave out (``none_stated`` came with format revision 2026-12)."""
_STATED_PARTS: Final = ("legal_basis", "materials", "steps")
"""The lists ``none_stated`` may name: no rows and not named means not yet recorded."""
_TIME_LIMIT_COLUMNS: Final = {"time_limit_legal": "legal", "time_limit_promised": "promised"}

# sheet -> (ItemIn field, columns after "item" and "position", column of a list of plain values)
_CHILD_SHEETS: Final[dict[str, tuple[str, _Columns, str | None]]] = {
    "co_handlers": ("co_handlers", (("department", "str"),), "department"),
    "legal_basis": ("legal_basis", (("law", "str"), ("article", "str"), ("text", "str")), None),
    "conditions": ("conditions", (("zh", "str"), ("en", "str")), None),
    "materials": (
        "materials",
        (
            ("code", "str"),
            ("name_zh", "str"),
            ("name_en", "str"),
            ("necessity", "str"),
            ("format", "str"),
            ("copies", "int"),
            ("source", "str"),
            ("source_ref", "str"),
            ("elements", "list"),
        ),
        None,
    ),
    "form": (
        "form",
        (
            ("code", "str"),
            ("label_zh", "str"),
            ("label_en", "str"),
            ("element", "str"),
            ("required", "bool"),
        ),
        None,
    ),
    "steps": (
        "steps",
        (
            ("code", "str"),
            ("kind", "str"),
            ("name_zh", "str"),
            ("name_en", "str"),
            ("responsible", "str"),
            ("limit_days", "int"),
        ),
        None,
    ),
    "fees": (
        "fees",
        (("name_zh", "str"), ("name_en", "str"), ("amount_fen", "int"), ("basis", "str")),
        None,
    ),
    "channels": ("channels", (("channel", "str"),), "channel"),
    "outputs": (
        "outputs",
        (
            ("code", "str"),
            ("name_zh", "str"),
            ("name_en", "str"),
            ("kind", "str"),
            ("e_licence", "bool"),
            ("elements", "list"),
        ),
        None,
    ),
}
_CHILD_KEY_COLUMNS: _Columns = (("item", "str"), ("position", "int"))


def _sheet_columns(sheet: str) -> _Columns:
    if sheet == "elements":
        return _ELEMENT_COLUMNS
    if sheet == "items":
        return _ITEM_COLUMNS
    return _CHILD_KEY_COLUMNS + _CHILD_SHEETS[sheet][1]


SHEETS: Final = ("elements", "items", *_CHILD_SHEETS)
LIST_SEPARATOR: Final = "|"
_FIXED_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)
_FIXED_CORE_XML: Final = (
    b"<?xml version='1.0' encoding='UTF-8'?>\n"
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    b'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'xmlns:dcterms="http://purl.org/dc/terms/" '
    b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b"<dc:creator>tongban</dc:creator>"
    b'<dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created>'
    b'<dcterms:modified xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:modified>'
    b"</cp:coreProperties>"
)
# XML cannot hold these; openpyxl refuses them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# OOXML's own escape syntax: openpyxl leaves "_xHHHH_" alone when reading but strips "x005F_",
# and Excel decodes both, so such text could not round-trip. Carriage returns, which XML turns
# into plain line feeds, are written as "_x000D_" (what Excel does) and decoded on reading.
_OOXML_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_|x005F_", re.IGNORECASE)
_CR_ESCAPE: Final = "_x000D_"
_EXCEL_MAX_INT: Final = 10**15 - 1  # Excel keeps 15 significant digits


class _Omit:
    """An empty cell: the field keeps its model default."""


_OMIT: Final = _Omit()


def _xlsx_text(value: str) -> str:
    return value.replace("\r", _CR_ESCAPE)


def _cell_problem(value: Any, kind: str) -> str | None:
    if kind == "int" and isinstance(value, int) and abs(value) > _EXCEL_MAX_INT:
        return f"{value} has more digits than a spreadsheet number keeps (15)"
    if kind == "list":
        for part in value:
            if part == "" or LIST_SEPARATOR in part:
                return (
                    f"value {part!r} cannot be stored in a '{LIST_SEPARATOR}'-separated "
                    f"spreadsheet cell (it is empty or contains '{LIST_SEPARATOR}')"
                )
            problem = _text_problem(part)
            if problem:
                return problem
    if kind == "str" and isinstance(value, str):
        return _text_problem(value)
    return None


def _text_problem(value: str) -> str | None:
    bad = _XML_ILLEGAL.search(value)
    if bad:
        return f"control character U+{ord(bad.group()):04X} cannot be stored in a spreadsheet"
    esc = _OOXML_ESCAPE.search(value)
    if esc:
        return f"text {esc.group()!r} is spreadsheet escape syntax and cannot be stored as is"
    return None


def _cell_value(value: Any, kind: str) -> Any:
    if value is None or value == "" or value == []:
        return None
    if kind == "list":
        return _xlsx_text(LIST_SEPARATOR.join(value))
    if isinstance(value, str):
        return _xlsx_text(value)
    return value


_Cell = Callable[[Any, str, Loc], Any]


def _element_row(element: dict[str, Any], i: int, cell: _Cell) -> list[Any]:
    return [cell(element[col], kind, ("elements", i, col)) for col, kind in _ELEMENT_COLUMNS]


def _item_rows(item: dict[str, Any], i: int, cell: _Cell) -> Iterator[tuple[str, list[Any]]]:
    """The rows of one item (every field present, as ``model_dump(mode="json")`` gives it):
    its row of sheet ``items``, then its rows of each list's sheet."""
    row: list[Any] = []
    for col, kind in _ITEM_COLUMNS:
        if col in _TIME_LIMIT_COLUMNS:
            key = _TIME_LIMIT_COLUMNS[col]
            limit = item["time_limit"]
            row.append(cell(limit[key] if limit else None, kind, ("items", i, "time_limit", key)))
        elif col == "none_stated":
            row.append(cell([p for p in _STATED_PARTS if item[p] == []], kind, ()))
        else:
            row.append(cell(item[col], kind, ("items", i, col)))
    yield "items", row
    code = item["implementation_code"]
    for sheet, (field, columns, scalar) in _CHILD_SHEETS.items():
        for k, entry in enumerate(item[field] or ()):
            values: list[Any] = [cell(code, "str", ("items", i, "implementation_code")), k + 1]
            if scalar is not None:
                values.append(cell(entry, "str", ("items", i, field, k)))
            else:
                values.extend(
                    cell(entry[col], kind, ("items", i, field, k, col)) for col, kind in columns
                )
            yield sheet, values


def _xlsx_rows(doc: CatalogDocument) -> tuple[dict[str, list[list[Any]]], list[FieldError]]:
    """The cell values of every sheet (header row first), and what cannot be written."""
    plain = doc.model_dump(mode="json")
    sheets: dict[str, list[list[Any]]] = {
        sheet: [[name for name, _ in _sheet_columns(sheet)]] for sheet in SHEETS
    }
    errors: list[FieldError] = []

    def cell(value: Any, kind: str, loc: Loc) -> Any:
        problem = _cell_problem(value, kind)
        if problem:
            errors.append(FieldError(_path_text(loc, plain), problem))
        return _cell_value(value, kind)

    for i, element in enumerate(plain["elements"]):
        sheets["elements"].append(_element_row(element, i, cell))
    for i, item in enumerate(plain["items"]):
        for sheet, values in _item_rows(item, i, cell):
            sheets[sheet].append(values)
    return sheets, errors


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    text = str(value).split("\n", 1)[0]
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _column_width(widest: int) -> int:
    return min(max(widest, 8), 60) + 2


def dump_xlsx(doc: CatalogDocument) -> bytes:
    """The document as a deterministic XLSX workbook (what ``write_xlsx`` writes).

    Raises ``ValidationFailed`` if a value cannot be stored in a spreadsheet cell (a ``|`` inside
    a list value, a control character, OOXML escape syntax, a number beyond 15 digits).
    """
    sheets, errors = _xlsx_rows(doc)
    if errors:
        raise ValidationFailed(
            "catalogue cannot be written as XLSX", errors=errors, code="xlsx_unwritable"
        )
    wb = Workbook()
    default_sheet = wb.active
    bold = Font(bold=True)
    for sheet, rows in sheets.items():
        ws = wb.create_sheet(sheet)
        for r, values in enumerate(rows, start=1):
            for c, value in enumerate(values, start=1):
                target = ws.cell(row=r, column=c)
                # text stays text, never a formula; the text itself is kept, so it round-trips
                shown = value.replace(_CR_ESCAPE, "\r") if isinstance(value, str) else None
                set_text_cell(target, value, shown=shown)
                if r == 1:
                    target.font = bold
        ws.freeze_panes = "A2"
        for c in range(1, len(rows[0]) + 1):
            width = max(_display_width(values[c - 1]) for values in rows)
            ws.column_dimensions[get_column_letter(c)].width = _column_width(width)
    if default_sheet is not None:
        wb.remove(default_sheet)
    buffer = io.BytesIO()
    wb.save(buffer)
    return _normalise_zip(buffer.getvalue())


def _normalise_zip(data: bytes) -> bytes:
    """Rewrite openpyxl's archive with fixed timestamps and fixed document properties, so the
    same catalogue always gives the same bytes."""
    out = io.BytesIO()
    _normalise_archive(io.BytesIO(data), out, {})
    return out.getvalue()


def _normalise_archive(source: IO[bytes], target: IO[bytes], dimensions: dict[str, str]) -> None:
    """``_normalise_zip`` from file to file, a part at a time in slices (a province's sheet of
    materials inflates to a hundred megabytes). ``dimensions``: worksheet part → the
    ``<dimension ref=…/>`` that openpyxl's write-only mode leaves out and its normal mode
    writes after ``</sheetPr>``."""
    with (
        zipfile.ZipFile(source) as src,
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0
            entry.external_attr = 0
            if info.filename == "docProps/core.xml":
                dst.writestr(entry, _FIXED_CORE_XML)
                continue
            if info.file_size <= _COPY_SLICE and info.filename not in dimensions:
                dst.writestr(entry, src.read(info))
                continue
            with src.open(info) as part, dst.open(entry, "w") as out:
                first = part.read(_COPY_SLICE)
                ref = dimensions.get(info.filename)
                if ref is not None:
                    first = first.replace(
                        b"</sheetPr>", b'</sheetPr><dimension ref="' + ref.encode() + b'"/>', 1
                    )
                out.write(first)
                while chunk := part.read(_COPY_SLICE):
                    out.write(chunk)


_COPY_SLICE: Final = 1024 * 1024


def write_xlsx(doc: CatalogDocument, path: Path) -> None:
    Path(path).write_bytes(dump_xlsx(doc))


def _with_defaults(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """Plain data that leaves out values equal to the default (``exclude_defaults``) with
    every field again, as ``model_dump(mode="json")`` gives it."""
    out: dict[str, Any] = {}
    for name, default in _defaults(model):
        value = data[name] if name in data else ([] if default is _LIST else default)
        if type(value) is list and model is ItemIn and name in _NESTED:
            sub = _NESTED[name]
            value = [_with_defaults(entry, sub) for entry in value]
        out[name] = value
    return out


_LIST: Final = object()
_DEFAULTS: dict[type[BaseModel], list[tuple[str, Any]]] = {}


def _defaults(model: type[BaseModel]) -> list[tuple[str, Any]]:
    """Each field of the model with its default, once (a list default stands for a new empty
    list each time; the enums' defaults by value, as ``mode="json"`` gives them)."""
    found = _DEFAULTS.get(model)
    if found is None:
        found = []
        for name, info in model.model_fields.items():
            default = info.get_default(call_default_factory=True)
            if isinstance(default, list):
                default = _LIST
            elif isinstance(default, StrEnum):
                default = default.value
            found.append((name, default))
        _DEFAULTS[model] = found
    return found


_NESTED: Final[dict[str, type[BaseModel]]] = {
    "legal_basis": LegalBasisIn,
    "conditions": BilingualText,
    "materials": MaterialIn,
    "form": FormFieldIn,
    "steps": StepIn,
    "fees": FeeIn,
    "outputs": OutputIn,
}


def write_xlsx_entries(
    path: Path, elements: Iterable[dict[str, Any]], items: Iterable[dict[str, Any]]
) -> int:
    """What ``write_xlsx`` writes, from the plain data of the elements and items (as
    ``model_dump(mode="json", exclude_defaults=True)`` gives them), without holding them: the
    rows go to a spool file per sheet as they come (a column's width is its widest cell, known
    only at the end), then through openpyxl's write-only workbook. The same bytes as
    ``write_xlsx`` of the whole document. Returns the number of items written; raises
    ``ValidationFailed`` (``xlsx_unwritable``) as ``dump_xlsx`` does, with at most
    ``MAX_REPORTED_ERRORS`` problems, and then writes nothing."""
    errors: list[FieldError] = []
    headers = {sheet: [name for name, _ in _sheet_columns(sheet)] for sheet in SHEETS}
    widths = {sheet: [_display_width(v) for v in header] for sheet, header in headers.items()}
    counts = dict.fromkeys(SHEETS, 1)
    with tempfile.TemporaryDirectory(prefix="tongban-xlsx-") as tmp:
        spools = {sheet: open(Path(tmp) / sheet, "wb") for sheet in SHEETS}
        try:
            current: dict[str, Any] = {}

            def cell(value: Any, kind: str, loc: Loc) -> Any:
                problem = _cell_problem(value, kind)
                if problem and len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(FieldError(_entry_path(loc, current), problem))
                return _cell_value(value, kind)

            def spool(sheet: str, values: list[Any]) -> None:
                marshal.dump(values, spools[sheet])
                counts[sheet] += 1
                widest = widths[sheet]
                for c, value in enumerate(values):
                    if value is None or widest[c] >= 60:
                        continue
                    if type(value) is str and 2 * len(value) <= widest[c]:
                        continue  # a character is at most two columns wide
                    widest[c] = max(widest[c], _display_width(value))

            for i, entry in enumerate(elements):
                current["elements"] = element = _with_defaults(entry, ElementIn)
                spool("elements", _element_row(element, i, cell))
            n = 0
            for n, entry in enumerate(items, start=1):
                current["items"] = item = _with_defaults(entry, ItemIn)
                for sheet, values in _item_rows(item, n - 1, cell):
                    spool(sheet, values)
        finally:
            for fh in spools.values():
                fh.close()
        if errors:
            raise ValidationFailed(
                "catalogue cannot be written as XLSX", errors=errors, code="xlsx_unwritable"
            )
        wb = Workbook(write_only=True)
        bold = Font(bold=True)
        dimensions: dict[str, str] = {}
        for number, sheet in enumerate(SHEETS, start=1):
            ws = wb.create_sheet(sheet)
            ws.freeze_panes = "A2"
            for c, widest in enumerate(widths[sheet], start=1):
                ws.column_dimensions[get_column_letter(c)].width = _column_width(widest)
            last = get_column_letter(len(headers[sheet]))
            dimensions[f"xl/worksheets/sheet{number}.xml"] = f"A1:{last}{counts[sheet]}"
            ws.append([_text_cell(ws, v, bold) for v in headers[sheet]])
            with open(Path(tmp) / sheet, "rb") as spooled:
                while True:
                    try:
                        values = marshal.load(spooled)  # noqa: S302 (our own spool file)
                    except EOFError:
                        break
                    ws.append([_text_cell(ws, v) for v in values])
        book = Path(tmp) / "book.xlsx"
        wb.save(book)
        with book.open("rb") as src, Path(path).open("wb") as dst:
            _normalise_archive(src, dst, dimensions)
    return n


def _entry_path(loc: Loc, current: dict[str, Any]) -> str:
    """``_path_text`` of a place in the element or item being written (the only one held)."""
    if len(loc) < 2 or not isinstance(loc[1], int):
        return _path_text(loc, None)
    section, index = str(loc[0]), loc[1]
    text = _path_text((section, 0, *loc[2:]), {section: [current.get(section)]})
    return f"{section}[{index}" + text[len(section) + 2 :]


def _text_cell(ws: Any, value: Any, font: Font | None = None) -> Any:
    if value is None and font is None:
        return None
    target = WriteOnlyCell(ws)
    shown = value.replace(_CR_ESCAPE, "\r") if isinstance(value, str) else None
    set_text_cell(target, value, shown=shown)
    if font is not None:
        target.font = font
    return target


def _xlsx_raw(data: bytes, name: str) -> _Loaded:
    not_xlsx = "not a valid .xlsx workbook"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return _Loaded(None, _no_place, [FieldError(name, f"{not_xlsx} (not a ZIP archive)")])
    problem = _inflation_problem(members)
    if problem:
        message = f"{not_xlsx} (it unpacks to too much data: {problem}) [{INFLATION_CODE}]"
        return _Loaded(None, _no_place, [FieldError(name, message)])
    try:
        wb = _open_read_only(data)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        return _Loaded(
            None, _no_place, [FieldError(name, f"{not_xlsx} ({type(exc).__name__}: {exc})")]
        )
    try:
        return _workbook_raw(wb, name)
    except Exception as exc:  # a corrupt sheet only shows up while iterating over it
        return _Loaded(
            None, _no_place, [FieldError(name, f"{not_xlsx} ({type(exc).__name__}: {exc})")]
        )
    finally:
        wb.close()


class _SheetWithoutSize(ReadOnlyWorksheet):  # type: ignore[misc]
    """A read-only sheet that does not look for its ``<dimension>`` when opened: openpyxl
    parses a sheet without one to the end of its rows for it (all 3.3 million of a zip bomb's,
    minutes, before the row limit can stop it); ``_sheet_rows`` resets the dimensions and reads
    every row anyway."""

    def _get_size(self) -> None:
        return None


_OPEN_LOCK: Final = threading.Lock()


def _open_read_only(data: bytes) -> Any:
    """``load_workbook`` read-only, values only, with ``_SheetWithoutSize`` sheets (openpyxl
    names the class it builds in its reader module; no other code of ours opens a workbook
    read-only, and the lock keeps two of ours from swapping it at once)."""
    with _OPEN_LOCK:
        saved = openpyxl_excel.ReadOnlyWorksheet
        openpyxl_excel.ReadOnlyWorksheet = _SheetWithoutSize
        try:
            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        finally:
            openpyxl_excel.ReadOnlyWorksheet = saved


def _inflation_problem(members: list[zipfile.ZipInfo]) -> str | None:
    """Why the ZIP directory promises too much, before a byte is inflated."""
    mb = 1024 * 1024
    if len(members) > MAX_XLSX_MEMBERS:
        return f"{len(members)} parts, more than {MAX_XLSX_MEMBERS}"
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_UNCOMPRESSED:
        return f"{total / mb:.0f} MB, more than {MAX_XLSX_UNCOMPRESSED // mb} MB"
    for m in members:
        if m.file_size > _RATIO_FLOOR and m.file_size > MAX_XLSX_RATIO * max(m.compress_size, 1):
            return (
                f"part '{m.filename}' inflates from {m.compress_size / mb:.2f} MB to "
                f"{m.file_size / mb:.0f} MB, more than {MAX_XLSX_RATIO} times"
            )
    return None


class _Rows:
    """A sheet's rows as read (row number and the tuple of cell values, kept as openpyxl gives
    them: a dict per row would double the memory of a large sheet), each given out as a dict by
    column name when iterated."""

    def __init__(self, names: dict[int, str], rows: list[tuple[int, tuple[Any, ...]]]) -> None:
        self.names = names
        self.rows = rows

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        names = self.names
        for rownum, row in self.rows:
            yield rownum, {col: row[i] for i, col in names.items() if i < len(row)}


_NO_ROWS: Final = _Rows({}, [])


class _TooManyErrors(Exception):
    """Raised by ``fail`` at the cap of reported problems."""


def _workbook_raw(wb: Any, name: str) -> _Loaded:
    errors: list[FieldError] = []
    try:
        return _workbook_rows(wb, name, errors)
    except _TooManyErrors:
        return _Loaded(None, _no_place, [*errors, FieldError(name, TOO_MANY_ERRORS)])


def _workbook_rows(wb: Any, name: str, errors: list[FieldError]) -> _Loaded:
    where: dict[Loc, str] = {(): ""}

    bad: set[Loc] = set()

    def fail(place: str, message: str) -> None:
        errors.append(FieldError(f"{name}: {place}" if place else name, message))
        if len(errors) >= MAX_REPORTED_ERRORS:
            raise _TooManyErrors

    present = list(wb.sheetnames)
    for sheet in present:
        if sheet not in SHEETS:
            fail(f"sheet '{sheet}'", f"unknown sheet; the sheets are: {', '.join(SHEETS)}")
    for sheet in SHEETS:
        if sheet not in present:
            fail("", f"missing sheet '{sheet}'")

    tables: dict[str, _Rows] = {}
    for sheet in SHEETS:
        if sheet in present:
            tables[sheet] = _Rows(*_sheet_rows(wb[sheet], sheet, _sheet_columns(sheet), fail))

    if errors:
        # A sheet or column is missing or a sheet is too large: nothing more to learn from the
        # rows (and the rows of a too-large sheet are not read on).
        return _Loaded(None, _no_place, errors)

    def convert(sheet: str, row: int, col: str, kind: str, value: Any, loc: Loc) -> Any:
        place = f"sheet '{sheet}' row {row} column '{col}'"
        where[loc] = place
        result, problem = _from_cell(value, kind)
        if problem:
            fail(place, problem)
            bad.add(loc)
            return _OMIT
        return result

    elements: list[dict[str, Any]] = []
    where[("elements",)] = "sheet 'elements'"
    for rownum, values in tables.get("elements", _NO_ROWS):
        i = len(elements)
        where[("elements", i)] = f"sheet 'elements' row {rownum}"
        element: dict[str, Any] = {}
        for col, kind in _ELEMENT_COLUMNS:
            value = convert("elements", rownum, col, kind, values.get(col), ("elements", i, col))
            if value is not _OMIT:
                element[col] = value
        elements.append(element)

    items: list[dict[str, Any]] = []
    index_of: dict[str, int] = {}
    where[("items",)] = "sheet 'items'"
    for rownum, values in tables.get("items", _NO_ROWS):
        i = len(items)
        where[("items", i)] = f"sheet 'items' row {rownum}"
        where[("items", i, "time_limit")] = (
            f"sheet 'items' row {rownum} columns 'time_limit_legal' and 'time_limit_promised'"
        )
        item: dict[str, Any] = {}
        for col, kind in _ITEM_COLUMNS:
            if col in _TIME_LIMIT_COLUMNS:
                key = _TIME_LIMIT_COLUMNS[col]
                loc: Loc = ("items", i, "time_limit", key)
                value = convert("items", rownum, col, kind, values.get(col), loc)
                if value is not _OMIT:
                    item.setdefault("time_limit", {})[key] = value
                elif loc in bad:
                    bad.add(loc[:-1])
            else:
                value = convert("items", rownum, col, kind, values.get(col), ("items", i, col))
                if value is not _OMIT:
                    item[col] = value
        code = item.get("implementation_code")
        if isinstance(code, str) and code.strip() and code.strip() not in index_of:
            index_of[code.strip()] = i
        items.append(item)

    for sheet, (field, columns, scalar) in _CHILD_SHEETS.items():
        groups: dict[int, list[tuple[int, int, dict[str, Any]]]] = {}
        for rownum, values in tables.get(sheet, _NO_ROWS):
            code, problem = _from_cell(values.get("item"), "str")
            row_place = f"sheet '{sheet}' row {rownum}"
            if problem or code is _OMIT:
                fail(
                    f"{row_place} column 'item'",
                    problem or "the item's implementation code is missing",
                )
                continue
            if str(code).strip() not in index_of:
                fail(f"{row_place} column 'item'", f"no item '{code}' in sheet 'items'")
                continue
            position, problem = _from_cell(values.get("position"), "int")
            if problem or position is _OMIT or not isinstance(position, int):
                fail(f"{row_place} column 'position'", problem or "a whole number is needed")
                continue
            groups.setdefault(index_of[str(code).strip()], []).append((position, rownum, values))
        for i, rows in groups.items():
            rows.sort(key=lambda entry: (entry[0], entry[1]))
            code = items[i]["implementation_code"]
            where[("items", i, field)] = f"sheet '{sheet}' (rows of item '{code}')"
            entries: list[Any] = []
            seen: dict[int, int] = {}
            for k, (position, rownum, values) in enumerate(rows):
                if position in seen:
                    fail(
                        f"sheet '{sheet}' row {rownum} column 'position'",
                        f"position {position} of item '{code}' is also on row {seen[position]}",
                    )
                seen.setdefault(position, rownum)
                where[("items", i, field, k)] = f"sheet '{sheet}' row {rownum}"
                if scalar is not None:
                    loc = ("items", i, field, k)
                    value = convert(sheet, rownum, scalar, "str", values.get(scalar), loc)
                    entries.append(None if value is _OMIT else value)
                    continue
                entry: dict[str, Any] = {}
                for col, kind in columns:
                    loc = ("items", i, field, k, col)
                    value = convert(sheet, rownum, col, kind, values.get(col), loc)
                    if value is not _OMIT:
                        entry[col] = value
                entries.append(entry)
            items[i][field] = entries

    for i, item in enumerate(items):
        stated = item.pop("none_stated", None)
        if stated is None:
            continue
        place_of = where[("items", i)] + " column 'none_stated'"
        for part in stated:
            if part not in _STATED_PARTS:
                fail(
                    place_of,
                    f"'{part}' is not a list that can be stated empty (one of: "
                    f"{', '.join(_STATED_PARTS)})",
                )
            elif item.get(part):
                fail(place_of, f"'{part}' is stated empty, but sheet '{part}' has rows for it")
            else:
                item[part] = []

    raw = {"elements": elements, "items": items}

    def place(loc: Loc) -> str:
        text, rest = "", loc
        for n in range(len(loc), -1, -1):
            if loc[:n] in where:
                text, rest = where[loc[:n]], loc[n:]
                break
        if len(rest) == 1 and isinstance(rest[0], int):
            text += f" (value {rest[0] + 1})"
        elif rest:
            text += f" field '{_path_text(rest, None)}'"
        return text

    return _Loaded(raw, place, errors, frozenset(bad))


def _sheet_rows(
    ws: Any, sheet: str, columns: _Columns, fail: Callable[[str, str], None]
) -> tuple[dict[int, str], list[tuple[int, tuple[Any, ...]]]]:
    ws.reset_dimensions()  # some writers store a wrong <dimension>; read every row
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    expected = [col for col, _ in columns]
    if header is None:
        fail(
            f"sheet '{sheet}'",
            f"the sheet is empty; row 1 must name the columns: {', '.join(expected)}",
        )
        return {}, []
    names: dict[int, str] = {}
    ok = True
    for index, title in enumerate(header):
        if title is None or (isinstance(title, str) and not title.strip()):
            continue
        text = str(title).strip()
        letter = get_column_letter(index + 1)
        if text not in expected:
            fail(f"sheet '{sheet}' column {letter}", f"unknown column '{text}'")
            ok = False
        elif text in names.values():
            fail(f"sheet '{sheet}' column {letter}", f"column '{text}' appears twice")
            ok = False
        else:
            names[index] = text
    missing = [
        col for col in expected if col not in names.values() and col not in _OPTIONAL_COLUMNS
    ]
    if missing:
        fail(f"sheet '{sheet}'", "missing column(s): " + ", ".join(f"'{col}'" for col in missing))
        ok = False
    if not ok:
        return {}, []
    out: list[tuple[int, tuple[Any, ...]]] = []
    limit = SHEET_ROW_LIMITS.get(sheet, MAX_XLSX_ROWS)
    for rownum, row in enumerate(rows, start=2):
        if rownum > limit:
            fail(f"sheet '{sheet}'", f"more than {limit} rows [{INFLATION_CODE}]")
            return {}, []
        if len(row) > MAX_XLSX_COLUMNS and any(not _blank(v) for v in row[MAX_XLSX_COLUMNS:]):
            fail(
                f"sheet '{sheet}' row {rownum}",
                f"more than {MAX_XLSX_COLUMNS} columns [{INFLATION_CODE}]",
            )
            return {}, []
        if all(_blank(value) for value in row):
            continue
        for index, value in enumerate(row):
            if index not in names and not _blank(value):
                fail(
                    f"sheet '{sheet}' row {rownum} column {get_column_letter(index + 1)}",
                    "a value in a column without a name",
                )
        out.append((rownum, row))
    return names, out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_INT_TEXT = re.compile(r"[+-]?\d{1,18}")


def _from_cell(value: Any, kind: str) -> tuple[Any, str | None]:
    """A cell's value as the model expects it; ``_OMIT`` for an empty cell."""
    if _blank(value):
        return _OMIT, None
    if isinstance(value, str):
        value = value.replace(_CR_ESCAPE, "\r")
    if kind == "str":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (str(int(value)) if float(value).is_integer() else str(value)), None
        return value, None
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            return int(value.strip()), None
        return value, None
    if kind == "list":
        if not isinstance(value, str):
            value = _from_cell(value, "str")[0]
        parts = [part.strip() for part in str(value).split(LIST_SEPARATOR)]
        if any(not part for part in parts):
            return _OMIT, f"empty value in a '{LIST_SEPARATOR}'-separated list"
        return parts, None
    return value, None  # bool: openpyxl gives True/False; pydantic parses "true", "yes", ...
