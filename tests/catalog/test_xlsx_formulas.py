"""The XLSX catalogue never holds a formula: text that a spreadsheet could take for one
(``=``, ``+``, ``-``, ``@``...) is a string cell marked ``quotePrefix``, kept as it is, and comes
back unchanged on import. No database."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from tests.factories import ELEMENTS, item
from tongban.catalog.io import dump_xlsx, parse_catalog
from tongban.catalog.schemas import CatalogDocument
from tongban.kit.spreadsheet import is_formula_like

HOSTILE = ('=HYPERLINK("http://evil","x")', "@SUM(A1)", "+1+1", "-2+3", "\t=1")


def _doc() -> CatalogDocument:
    elements: list[dict[str, Any]] = [dict(e) for e in ELEMENTS]
    elements[0]["description"] = HOSTILE[0]
    elements[1]["name_en"] = HOSTILE[1]
    items = []
    for n, text in enumerate(HOSTILE, start=1):
        data = item(f"QX-ZJJ-{n}", "QX-ZJJ", name=text, description=text)
        data["name_en"] = text
        data["materials"][0]["name_zh"] = text
        data["form"][0]["label_en"] = text
        data["steps"][1]["name_zh"] = text
        data["fees"][0]["basis"] = text
        data["legal_basis"][0]["text"] = text
        data["conditions"] = [{"zh": text, "en": text}]
        items.append(data)
    return CatalogDocument.model_validate({"elements": elements, "items": items})


def test_the_xlsx_export_holds_no_formula_and_round_trips() -> None:
    doc = _doc()
    data = dump_xlsx(doc)
    workbook = openpyxl.load_workbook(io.BytesIO(data))  # not values-only: formulas would show
    texts: list[str] = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    # Excel's own "typed with a leading '" mark, so editing keeps it text
                    assert cell.quotePrefix == is_formula_like(cell.value), cell.coordinate
    stored = {text.strip() for text in HOSTILE}  # the model trims the tab of "\t=1"
    assert stored <= set(texts)  # the original text, no quote added
    assert not any(text.startswith("'") for text in texts)
    assert sum(1 for text in texts if is_formula_like(text)) >= 8 * len(HOSTILE)
    back = parse_catalog(data, "catalog.xlsx")
    assert back == doc
    assert [i.name_zh for i in back.items] == [text.strip() for text in HOSTILE]
    assert back.elements[0].description == HOSTILE[0]
    assert dump_xlsx(back) == data
