"""Catalogue file formats: YAML/XLSX round trips, hostile input, CPSV-AP JSON-LD. No database."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml

import tongban
from tongban.catalog.io import (
    MAX_FILE_BYTES,
    CpsvEvent,
    dump_xlsx,
    dump_yaml,
    parse_catalog,
    read_catalog,
    to_cpsv_jsonld,
    validate_catalog_file,
    write_jsonld,
    write_xlsx,
    write_yaml,
)
from tongban.catalog.io.yamlfmt import _yaml_raw
from tongban.catalog.schemas import CatalogDocument
from tongban.errors import FieldError, ValidationFailed
from tongban.kit.safeyaml import HAVE_LIBYAML as _HAVE_LIBYAML

MARKUP = "<script>alert(1)</script>"
DEMO_CATALOG = Path(tongban.__file__).parent / "demo" / "data" / "catalog.yaml"
_needs_libyaml = pytest.mark.skipif(not _HAVE_LIBYAML, reason="PyYAML built without libyaml")


def _data() -> dict[str, Any]:
    return {
        "format": "tongban-catalog/1",
        "elements": [
            {
                "code": "ID_NUMBER",
                "name_zh": "公民身份号码",
                "name_en": "Resident ID number",
                "max_length": 18,
                "validator": "resident_id",
                "source_department": "GA",
                "description": "GB 11643 规定的 18 位号码",
            },
            {
                "code": "MARITAL_STATUS",
                "name_zh": "婚姻状况",
                "name_en": "Marital status",
                "type": "enum",
                "allowed_values": ["未婚", "已婚", "离异", "丧偶"],
                "description": f"多行说明\n第二行 {MARKUP}",
            },
        ],
        "items": [
            {
                "implementation_code": "QX-RSJ-0001",
                "basic_code": "0001",
                "name_zh": "就业登记",
                "name_en": "Employment registration",
                "type": "public_service",
                "department": "RSJ",
                "co_handlers": ["GA", "SBJ"],
                "description": f"为劳动者办理就业登记。\n{MARKUP}",
                "legal_basis": [
                    {"law": "《中华人民共和国就业促进法》", "article": "第十条", "text": "条文内容"}
                ],
                "conditions": [{"zh": "年满16周岁", "en": "Aged 16 or over"}],
                "materials": [
                    {
                        "code": "ID_CARD",
                        "name_zh": "居民身份证",
                        "name_en": "Resident ID card",
                        "necessity": "required",
                        "format": "paper",
                        "copies": 2,
                        "source": "e_licence",
                        "source_ref": "QX-RSJ-0001#REG_CERT",
                        "elements": ["ID_NUMBER", "MARITAL_STATUS"],
                    },
                    {
                        "code": "CONTRACT",
                        "name_zh": "劳动合同",
                        "name_en": "Labour contract",
                        "necessity": "conditional",
                    },
                ],
                "form": [
                    {
                        "code": "applicant_id",
                        "label_zh": "身份证号",
                        "label_en": "ID number",
                        "element": "ID_NUMBER",
                    },
                    {
                        "code": "marital",
                        "label_zh": "婚姻状况",
                        "label_en": "Marital status",
                        "element": "MARITAL_STATUS",
                        "required": False,
                    },
                ],
                "steps": [
                    {
                        "code": "accept",
                        "kind": "acceptance",
                        "name_zh": "受理",
                        "name_en": "Acceptance",
                        "responsible": "township",
                        "limit_days": 1,
                    },
                    {
                        "code": "decide",
                        "kind": "decision",
                        "name_zh": "决定",
                        "name_en": "Decision",
                        "responsible": "RSJ",
                        "limit_days": 4,
                    },
                ],
                "time_limit": {"legal": 20, "promised": 5},
                "fees": [
                    {
                        "name_zh": "工本费",
                        "name_en": "Card fee",
                        "amount_fen": 1250,
                        "basis": "=HYPERLINK(x) 价格文件",
                    }
                ],
                "channels": ["window", "online", "mobile"],
                "outputs": [
                    {
                        "code": "REG_CERT",
                        "name_zh": "就业登记证明",
                        "name_en": "Employment registration certificate",
                        "kind": "certificate",
                        "e_licence": True,
                        "elements": ["ID_NUMBER"],
                    }
                ],
                "visits": 0,
            },
            {
                "implementation_code": "QX-RSJ-0001-01",
                "basic_code": "0001",
                "parent": "QX-RSJ-0001",
                "status": "draft",
                "name_zh": "就业登记（变更）",
                "name_en": "Employment registration (change)",
                "type": "administrative_confirmation",
                "department": "RSJ",
                "co_handlers": ["SBJ"],
                "description": "变更登记",
                "legal_basis": [{"law": "《就业服务与就业管理规定》"}],
                "conditions": [{"zh": "已办理就业登记"}],
                "materials": [
                    {
                        "code": "OLD_CERT",
                        "name_zh": "原登记证明",
                        "name_en": "Previous certificate",
                        "source": "item_output",
                        "source_ref": "QX-RSJ-0001#REG_CERT",
                        "copies": 0,
                    }
                ],
                "form": [
                    {
                        "code": "applicant_id",
                        "label_zh": "身份证号",
                        "label_en": "ID number",
                        "element": "ID_NUMBER",
                    }
                ],
                "steps": [
                    {
                        "code": "review",
                        "kind": "review",
                        "name_zh": "审查",
                        "name_en": "Review",
                        "responsible": "RSJ",
                    }
                ],
                "time_limit": {"legal": 10, "promised": 10},
                "fees": [{"name_zh": "免费", "name_en": "Free", "amount_fen": 0}],
                "channels": ["online"],
                "outputs": [
                    {
                        "code": "CHANGE_RECORD",
                        "name_zh": "变更记录",
                        "name_en": "Change record",
                        "kind": "record",
                    }
                ],
                "visits": 2,
            },
        ],
    }


def _doc() -> CatalogDocument:
    return CatalogDocument.model_validate(_data())


def _write_raw_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _errors(path: Path, *, strict_refs: bool = False) -> list[FieldError]:
    with pytest.raises(ValidationFailed) as info:
        read_catalog(path, strict_refs=strict_refs)
    assert info.value.message == "catalogue file is invalid"
    assert info.value.code == "catalog_file_invalid"
    assert info.value.errors
    assert validate_catalog_file(path, strict_refs=strict_refs) == info.value.errors
    return info.value.errors


def _one(errors: list[FieldError], loc_part: str) -> FieldError:
    matching = [e for e in errors if loc_part in e.loc]
    assert len(matching) == 1, errors
    return matching[0]


# --------------------------------------------------------------------------- YAML round trip


def test_yaml_round_trip_is_byte_identical(tmp_path: Path) -> None:
    doc = _doc()
    first = tmp_path / "first.yaml"
    second = tmp_path / "second.yaml"
    write_yaml(doc, first)
    back = read_catalog(first)
    assert back == doc
    write_yaml(back, second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text(encoding="utf-8") == dump_yaml(doc)
    assert validate_catalog_file(first, strict_refs=True) == []


def test_yaml_output_is_short_and_readable() -> None:
    text = dump_yaml(_doc())
    assert text.startswith("format: tongban-catalog/1\nelements:\n")
    assert "name_zh: 就业登记\n" in text  # allow_unicode, no \u escapes
    assert "basic_code: '0001'" in text  # a number-like string stays a string
    assert "necessity: required" not in text  # the default is left out
    assert "status: published" not in text
    assert "status: draft" in text
    assert "necessity: conditional" in text
    assert "type: public_service" in text  # enums as plain strings
    assert "!!" not in text
    assert "description: |-\n" in text  # multi-line text as a block
    # field order follows the model
    item = text[text.index("- implementation_code: QX-RSJ-0001\n") :]
    assert item.index("basic_code") < item.index("name_zh") < item.index("time_limit")


def test_markup_survives_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    write_yaml(_doc(), path)
    back = read_catalog(path)
    assert back.items[0].description.endswith(MARKUP)
    xlsx = tmp_path / "catalog.xlsx"
    write_xlsx(back, xlsx)
    again = read_catalog(xlsx)
    assert again.items[0].description.endswith(MARKUP)
    assert again.elements[1].description == f"多行说明\n第二行 {MARKUP}"


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "~",
        "yes",
        "No",
        "1e3",
        "0x1F",
        "12:30",
        "2020-01-01",
        "- a",
        "a: b",
        "#x",
        "'quoted'",
        '"dq"',
        "*alias",
        "&anchor",
        "!tag",
        "%",
        "@",
        "<<",
        "=",
        "line\r\nwindows",
        "tab\there",
        "nel\x85next",
        "ls\u2028ps\u2029",
        "  indented first\nsecond",
        "trailing \nspace",
        "x" * 150 + " " + "y" * 150,
        "😀 表情",
    ],
)
def test_tricky_strings_round_trip(tmp_path: Path, text: str) -> None:
    data = _data()
    data["items"][0]["description"] = text
    data["items"][0]["conditions"][0]["en"] = text
    doc = CatalogDocument.model_validate(data)
    path = tmp_path / "catalog.yaml"
    write_yaml(doc, path)
    assert read_catalog(path) == doc
    assert dump_yaml(read_catalog(path)) == dump_yaml(doc)
    xlsx = tmp_path / "catalog.xlsx"
    write_xlsx(doc, xlsx)
    assert read_catalog(xlsx) == doc


# --------------------------------------------------------------------------- XLSX round trip


def test_xlsx_round_trip_is_byte_identical(tmp_path: Path) -> None:
    doc = _doc()
    first = tmp_path / "first.xlsx"
    second = tmp_path / "second.xlsx"
    write_xlsx(doc, first)
    back = read_catalog(first)
    assert back == doc
    write_xlsx(back, second)
    assert first.read_bytes() == second.read_bytes()
    assert dump_xlsx(doc) == first.read_bytes()


def test_xlsx_has_no_timestamps(tmp_path: Path) -> None:
    data = dump_xlsx(_doc())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    assert "<dcterms:modified" in core


def test_xlsx_layout(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    write_xlsx(_doc(), path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [
        "elements",
        "items",
        "co_handlers",
        "legal_basis",
        "conditions",
        "materials",
        "form",
        "steps",
        "fees",
        "channels",
        "outputs",
    ]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert all(cell.font.b for cell in ws[1])
        assert ws.column_dimensions["A"].width >= 8
    materials = wb["materials"]
    header = [cell.value for cell in materials[1]]
    assert header[:3] == ["item", "position", "code"]
    first = dict(zip(header, [cell.value for cell in materials[2]], strict=True))
    assert first["item"] == "QX-RSJ-0001"
    assert first["position"] == 1
    assert first["elements"] == "ID_NUMBER|MARITAL_STATUS"
    elements = wb["elements"]
    row = [cell.value for cell in elements[3]]
    assert "未婚|已婚|离异|丧偶" in row
    fees = wb["fees"]
    basis = fees.cell(row=2, column=6)
    assert basis.value == "=HYPERLINK(x) 价格文件"
    assert basis.data_type == "s"  # stays text, never becomes a formula
    assert wb["items"].cell(row=2, column=2).value == "0001"  # number-like text stays text


def test_yaml_to_xlsx_to_yaml_is_identical(tmp_path: Path) -> None:
    doc = _doc()
    yaml_path = tmp_path / "catalog.yaml"
    xlsx_path = tmp_path / "catalog.xlsx"
    write_yaml(doc, yaml_path)
    write_xlsx(read_catalog(yaml_path), xlsx_path)
    via_xlsx = read_catalog(xlsx_path)
    assert via_xlsx == doc
    assert dump_yaml(via_xlsx) == yaml_path.read_text(encoding="utf-8")


def test_xlsx_rows_may_come_in_any_order(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    write_xlsx(_doc(), path)
    wb = openpyxl.load_workbook(path)
    steps = wb["steps"]
    first = [cell.value for cell in steps[2]]
    second = [cell.value for cell in steps[3]]
    for col, value in enumerate(second, start=1):
        steps.cell(row=2, column=col, value=value)
    for col, value in enumerate(first, start=1):
        steps.cell(row=3, column=col, value=value)
    steps.cell(row=10, column=1, value=None)  # trailing blank rows are ignored
    wb.save(path)
    assert read_catalog(path) == _doc()


def test_xlsx_write_rejects_pipe_in_list_value(tmp_path: Path) -> None:
    data = _data()
    data["elements"][1]["allowed_values"] = ["未婚", "已婚|再婚"]
    with pytest.raises(ValidationFailed) as info:
        write_xlsx(CatalogDocument.model_validate(data), tmp_path / "catalog.xlsx")
    assert info.value.code == "xlsx_unwritable"
    (error,) = info.value.errors
    assert error.loc == "elements[1] (MARITAL_STATUS).allowed_values"
    assert "'|'" in error.message
    assert not (tmp_path / "catalog.xlsx").exists()


def test_xlsx_write_rejects_control_characters(tmp_path: Path) -> None:
    data = _data()
    data["items"][1]["description"] = "bell\x07"
    with pytest.raises(ValidationFailed) as info:
        dump_xlsx(CatalogDocument.model_validate(data))
    assert info.value.code == "xlsx_unwritable"
    (error,) = info.value.errors
    assert error.loc == "items[1] (QX-RSJ-0001-01).description"
    assert "U+0007" in error.message


# --------------------------------------------------------------------------- bad input: YAML


def test_unknown_enum_value(tmp_path: Path) -> None:
    data = _data()
    data["items"][0]["materials"][1]["necessity"] = "sometimes"
    errors = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    error = _one(errors, "materials[1]")
    assert error.loc.startswith("catalog.yaml: items[0] (QX-RSJ-0001).materials[1].necessity")
    assert "(line " in error.loc
    assert "'required', 'optional' or 'conditional'" in error.message
    assert "'sometimes'" in error.message


def test_missing_required_field(tmp_path: Path) -> None:
    data = _data()
    del data["items"][1]["department"]
    errors = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    (error,) = errors
    assert error.loc.startswith("catalog.yaml: items[1] (QX-RSJ-0001-01).department")
    assert error.message == "Field required"


def test_promised_limit_above_legal(tmp_path: Path) -> None:
    data = _data()
    data["items"][0]["time_limit"] = {"legal": 20, "promised": 30}
    (error,) = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    assert error.loc.startswith("catalog.yaml: items[0] (QX-RSJ-0001).time_limit")
    assert "promised time limit (30) exceeds the legal one (20)" in error.message


def test_name_too_long(tmp_path: Path) -> None:
    data = _data()
    data["items"][1]["name_zh"] = "长" * 201
    (error,) = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    assert error.loc.startswith("catalog.yaml: items[1] (QX-RSJ-0001-01).name_zh")
    assert "at most 200 characters" in error.message


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    data = _data()
    data["items"][0]["type"] = "nonsense"
    data["items"][1]["visits"] = 99
    data["elements"][0]["code"] = "bad code"
    errors = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    assert len(errors) == 3
    assert {e.loc.split(" ", 2)[1] for e in errors} == {"items[0]", "items[1]", "elements[0]"}


def test_duplicate_item_code(tmp_path: Path) -> None:
    data = _data()
    data["items"][1]["implementation_code"] = "QX-RSJ-0001"
    data["items"][1]["parent"] = None
    (error,) = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    assert error.loc.startswith("catalog.yaml: items[1] (QX-RSJ-0001).implementation_code")
    assert "'QX-RSJ-0001' is used twice" in error.message
    assert "items[0]" in error.message


def test_duplicate_element_code(tmp_path: Path) -> None:
    data = _data()
    data["elements"][1]["code"] = "ID_NUMBER"
    errors = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    error = _one(errors, "elements[1]")
    assert error.loc.startswith("catalog.yaml: elements[1] (ID_NUMBER).code")
    assert "defined twice" in error.message


def test_item_cannot_be_its_own_parent(tmp_path: Path) -> None:
    data = _data()
    data["items"][1]["parent"] = "QX-RSJ-0001-01"
    (error,) = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    assert error.loc.startswith("catalog.yaml: items[1] (QX-RSJ-0001-01).parent")


def test_strict_refs(tmp_path: Path) -> None:
    data = _data()
    data["items"][1]["parent"] = "QX-OTHER-9"
    data["items"][0]["materials"][0]["elements"] = ["ID_NUMBER", "UNKNOWN_ELEMENT"]
    data["items"][1]["form"][0]["element"] = "ALSO_UNKNOWN"
    path = _write_raw_yaml(tmp_path / "catalog.yaml", data)
    assert read_catalog(path) == CatalogDocument.model_validate(data)  # left to the database
    errors = _errors(path, strict_refs=True)
    assert len(errors) == 3
    assert _one(errors, ".parent").message == "parent item 'QX-OTHER-9' is not in this file"
    assert "UNKNOWN_ELEMENT" in _one(errors, "materials[0].elements[1]").message
    assert "'ALSO_UNKNOWN'" in _one(errors, "form[0].element").message


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "format: tongban-catalog/1\nelements: []\nitems: []\nelements: []\n", encoding="utf-8"
    )
    (error,) = _errors(path)
    assert error.loc == "catalog.yaml: line 4 column 1"
    assert error.message == "duplicate key 'elements' (first on line 2)"


def test_yaml_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    lol = "".join(f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}, *l{i - 1}]\n" for i in range(1, 9))
    path.write_text("l0: &l0 [lol]\n" + lol, encoding="utf-8")
    (error,) = _errors(path)
    assert error.loc == "catalog.yaml: line 1 column 5"
    assert "anchors (&l0) are not allowed" in error.message

    path.write_text("format: tongban-catalog/1\nitems: *shared\n", encoding="utf-8")
    (error,) = _errors(path)
    assert error.loc == "catalog.yaml: line 2 column 8"
    assert "aliases (*shared) are not allowed" in error.message


def test_python_tag_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(
        "format: tongban-catalog/1\nitems: !!python/object/apply:os.system ['echo pwned']\n",
        encoding="utf-8",
    )
    (error,) = _errors(path)
    assert error.loc == "catalog.yaml: line 2 column 8"
    assert "python/object/apply:os.system" in error.message


@pytest.mark.parametrize(
    ("content", "kind"), [("- a\n- b\n", "a list"), ("", "empty"), ("just text\n", "a str")]
)
def test_top_level_must_be_a_mapping(tmp_path: Path, content: str, kind: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(content, encoding="utf-8")
    (error,) = _errors(path)
    assert error.loc == "catalog.yaml"
    assert error.message.endswith(f"not {kind}")


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("format: tongban-catalog/1\nitems:\n  - a: 1\n   b: 2\n", encoding="utf-8")
    (error,) = _errors(path)
    assert error.loc == "catalog.yaml: line 4 column 4"
    assert error.message.startswith("while parsing a block")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text("items: " + "[" * 10000 + "]" * 10000 + "\n", encoding="utf-8")
    (error,) = _errors(path)
    assert "nesting" in error.message
    assert error.loc.startswith("catalog.yaml: line 1 column ")


@pytest.mark.parametrize("fast", [False, pytest.param(True, marks=_needs_libyaml)])
@pytest.mark.parametrize(
    ("text", "loc", "message"),
    [
        ("a: &x [1]\nb: *x\n", "c.yaml: line 1 column 4", "anchors (&x) are not allowed"),
        ("a:\n  b: *x\n", "c.yaml: line 2 column 6", "aliases (*x) are not allowed"),
        ("a: 1\nb: 2\na: 3\n", "c.yaml: line 3 column 1", "duplicate key 'a' (first on line 1)"),
        ("a: !!python/name:os.system\n", "c.yaml: line 1 column 4", "python/name:os.system"),
        ("a: {<<: {b: 1}}\n", "c.yaml: line 1 column 5", "merge keys (<<) are not allowed"),
        (
            "a: [" + "[" * 70 + "]" * 71 + "\n",
            "c.yaml: line 1 column ",
            "nesting is deeper than 64",
        ),
        ("a: b\x07\n", "c.yaml: line 1 column 5", "U+0007"),
        ("x: 表\x00\n", "c.yaml: line 1 column 5", "U+0000"),
    ],
)
def test_yaml_guards_with_and_without_libyaml(
    fast: bool, text: str, loc: str, message: str
) -> None:
    loaded = _yaml_raw(text.encode(), "c.yaml", fast=fast)
    assert loaded.raw is None
    (error,) = loaded.errors
    assert error.loc.startswith(loc)
    assert message in error.message


@pytest.mark.parametrize("fast", [False, pytest.param(True, marks=_needs_libyaml)])
def test_both_yaml_loaders_agree(fast: bool) -> None:
    text = dump_yaml(_doc())
    loaded = _yaml_raw(text.encode(), "c.yaml", fast=fast)
    assert CatalogDocument.model_validate(loaded.raw) == _doc()
    assert loaded.place(("items", 1, "steps", 0, "kind")).startswith(
        "items[1] (QX-RSJ-0001-01).steps[0].kind (line "
    )


def test_large_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    with path.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    (error,) = _errors(path)
    assert error.loc == "catalog.yaml"
    assert f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB" in error.message


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text("{}", encoding="utf-8")
    (error,) = _errors(path)
    assert error.loc == "catalog.json"
    assert ".yaml, .yml, .xlsx" in error.message


def test_missing_file(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path / "nope.yml")
    assert error.loc == "nope.yml"


def test_non_utf8_yaml(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_bytes(b"format: caf\xe9\n")  # Latin-1
    (error,) = _errors(path)
    assert "not UTF-8" in error.message


def test_parse_catalog_from_memory() -> None:
    doc = _doc()
    assert parse_catalog(dump_yaml(doc).encode(), "upload.YML") == doc
    assert parse_catalog(dump_xlsx(doc), "uploads/catalog.xlsx") == doc
    with pytest.raises(ValidationFailed) as info:
        parse_catalog(b"items: [", "upload.yaml")
    assert info.value.code == "catalog_file_invalid"
    assert info.value.errors[0].loc.startswith("upload.yaml: line ")


# --------------------------------------------------------------------------- bad input: XLSX


def test_corrupt_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip file")
    (error,) = _errors(path)
    assert error.loc == "catalog.xlsx"
    assert "not a valid .xlsx workbook" in error.message

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "a zip, but not a workbook")
    (error,) = _errors(path)
    assert "not a valid .xlsx workbook" in error.message


def test_xlsx_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    write_xlsx(_doc(), path)
    wb = openpyxl.load_workbook(path)
    wb["materials"].delete_cols(6)  # necessity
    wb.save(path)
    (error,) = _errors(path)
    assert error.loc == "catalog.xlsx: sheet 'materials'"
    assert error.message == "missing column(s): 'necessity'"


def test_xlsx_unknown_sheet_and_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    write_xlsx(_doc(), path)
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("notes")
    wb["fees"].cell(row=1, column=7, value="discount")
    wb.save(path)
    errors = _errors(path)
    assert _one(errors, "sheet 'notes'").message.startswith("unknown sheet")
    assert _one(errors, "sheet 'fees' column G").message == "unknown column 'discount'"


def test_xlsx_cell_errors_name_sheet_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    write_xlsx(_doc(), path)
    wb = openpyxl.load_workbook(path)
    wb["materials"]["F3"] = "sometimes"  # row 3 = the second material of QX-RSJ-0001
    wb["fees"]["E2"] = "twelve"
    wb["items"]["K2"] = 40  # promised > legal
    wb["outputs"]["H2"] = "ID_NUMBER||X"
    wb["channels"]["A2"] = "QX-NOWHERE"
    wb.save(path)
    errors = _errors(path)
    assert len(errors) == 5, errors
    necessity = _one(errors, "necessity")
    assert necessity.loc == "catalog.xlsx: sheet 'materials' row 3 column 'necessity'"
    assert "'sometimes'" in necessity.message
    assert _one(errors, "amount_fen").loc == "catalog.xlsx: sheet 'fees' row 2 column 'amount_fen'"
    limit = _one(errors, "time_limit")
    assert limit.loc.startswith("catalog.xlsx: sheet 'items' row 2 columns 'time_limit_legal'")
    assert "exceeds the legal one" in limit.message
    outputs = _one(errors, "sheet 'outputs'")
    assert outputs.loc == "catalog.xlsx: sheet 'outputs' row 2 column 'elements'"
    assert "empty value" in outputs.message
    channel = _one(errors, "sheet 'channels'")
    assert channel.loc == "catalog.xlsx: sheet 'channels' row 2 column 'item'"
    assert "no item 'QX-NOWHERE'" in channel.message


def test_xlsx_duplicate_item_and_strict_refs(tmp_path: Path) -> None:
    path = tmp_path / "catalog.xlsx"
    write_xlsx(_doc(), path)
    wb = openpyxl.load_workbook(path)
    wb["elements"]["A3"] = "ID_NUMBER"  # now MARITAL_STATUS is undefined
    wb.save(path)
    errors = _errors(path, strict_refs=True)
    duplicate = _one(errors, "sheet 'elements'")
    assert duplicate.loc == "catalog.xlsx: sheet 'elements' row 3 column 'code'"
    assert "first at sheet 'elements' row 2" in duplicate.message
    unknown = _one(errors, "sheet 'materials'")
    assert unknown.loc == "catalog.xlsx: sheet 'materials' row 2 column 'elements' (value 2)"
    assert "'MARITAL_STATUS' is not defined" in unknown.message
    assert "form" in _one(errors, "sheet 'form'").loc


# --------------------------------------------------------------------------- JSON-LD


def _node(graph: list[dict[str, Any]], node_id: str) -> dict[str, Any]:
    (node,) = [n for n in graph if n["@id"] == node_id]
    return node


def test_cpsv_jsonld() -> None:
    data = to_cpsv_jsonld(
        _doc(),
        departments={"RSJ": ("人力资源和社会保障局", "Human Resources and Social Security Bureau")},
        base_uri="https://example.gov.cn/catalog",
    )
    context = data["@context"]
    assert context["cpsv"] == "http://purl.org/vocab/cpsv#"
    assert context["cv"] == "http://data.europa.eu/m8g/"
    for prefix in ("dct", "skos", "schema", "xsd", "eli", "foaf"):
        assert prefix in context
    graph = data["@graph"]
    base = "https://example.gov.cn/catalog/"
    main = _node(graph, base + "item/QX-RSJ-0001")
    sub = _node(graph, base + "item/QX-RSJ-0001-01")
    assert main["@type"] == "cpsv:PublicService"
    assert main["dct:identifier"] == "QX-RSJ-0001"
    assert main["dct:title"] == [
        {"@language": "zh", "@value": "就业登记"},
        {"@language": "en", "@value": "Employment registration"},
    ]
    assert main["dct:type"]["@id"].endswith("/public_service")
    assert main["cv:hasCompetentAuthority"] == {"@id": base + "department/RSJ"}
    org = _node(graph, base + "department/RSJ")
    assert org["@type"] == "cv:PublicOrganisation"
    assert {"@language": "zh", "@value": "人力资源和社会保障局"} in org["skos:prefLabel"]
    participants = [p["cv:hasParticipant"]["@id"] for p in main["cv:hasParticipation"]]
    assert participants == [base + "department/GA", base + "department/SBJ"]
    assert all(p["@type"] == "cv:Participation" for p in main["cv:hasParticipation"])
    (legal,) = main["cv:hasLegalResource"]
    assert legal["@type"] == "eli:LegalResource"
    assert legal["tb:article"] == "第十条"
    (requirement,) = main["cv:holdsRequirement"]
    assert requirement["@type"] == "cv:Requirement"
    assert [e["@type"] for e in main["cpsv:hasInput"]] == ["cv:Evidence", "cv:Evidence"]
    assert main["cpsv:produces"][0]["@type"] == "cv:Output"
    (cost,) = main["cv:hasCost"]
    assert cost["@type"] == "cv:Cost"
    # CPSV-AP's shape types the value xsd:double; the lexical form stays the exact yuan
    assert cost["cv:hasValue"] == {"@type": "xsd:double", "@value": "12.50"}
    assert cost["tb:amountFen"] == 1250
    assert cost["cv:currency"]["@id"].endswith("/currency/CNY")
    assert (
        _node(graph, base + "item/QX-RSJ-0001-01")["cv:hasCost"][0]["cv:hasValue"]["@value"]
        == "0.00"
    )
    assert [c["@type"] for c in main["cv:hasChannel"]] == ["cv:Channel"] * 3
    # Working days are not an xsd:duration's calendar days: no cv:processingTime; the limits are
    # numbers of working days and a sentence of the description.
    assert "cv:processingTime" not in main
    assert main["tb:promisedWorkingDays"] == 5
    assert any("个工作日" in d["@value"] for d in main["dct:description"])
    assert main["dct:hasPart"] == [{"@id": base + "item/QX-RSJ-0001-01"}]
    # dct:isPartOf is CPSV-AP's link to a dcat:Dataset, not to the main item
    assert "dct:isPartOf" not in sub
    assert sub["tb:mainItem"] == {"@id": base + "item/QX-RSJ-0001"}
    assert {"@id": base + "item/QX-RSJ-0001"} in sub["cv:relatedService"]
    assert {"@id": base + "item/QX-RSJ-0001-01"} in main["cv:relatedService"]
    concept = _node(graph, base + "element/MARITAL_STATUS")
    assert concept["@type"] == "skos:Concept"
    assert concept["tb:allowedValues"] == ["未婚", "已婚", "离异", "丧偶"]


def test_cpsv_jsonld_events_group_their_services() -> None:
    events = [
        CpsvEvent("employment", "life_event", "就业一件事", "Getting a job", "", ("QX-RSJ-0001",)),
        CpsvEvent(
            "open-a-shop",
            "business_event",
            "开店一件事",
            "Opening a shop",
            "开店",
            ("QX-RSJ-0001",),
        ),
    ]
    base = "https://zwfw.example.gov.cn/"
    graph = to_cpsv_jsonld(_doc(), events=events, base_uri=base)["@graph"]
    life = _node(graph, base + "event/employment")
    business = _node(graph, base + "event/open-a-shop")
    assert (life["@type"], business["@type"]) == ("cv:LifeEvent", "cv:BusinessEvent")
    assert life["dct:identifier"] == "employment"
    assert {"@language": "zh", "@value": "就业一件事"} in life["dct:title"]
    assert "dct:description" not in life
    assert business["dct:description"] == [{"@language": "zh", "@value": "开店"}]
    main = _node(graph, base + "item/QX-RSJ-0001")
    assert main["cv:isGroupedBy"] == [
        {"@id": base + "event/employment"},
        {"@id": base + "event/open-a-shop"},
    ]
    assert "cv:isGroupedBy" not in _node(graph, base + "item/QX-RSJ-0001-01")


def test_cpsv_code_values_are_declared_concepts() -> None:
    """Every dct:type, cv:role and cv:currency names a skos:Concept of a skos:ConceptScheme in
    the same graph, and every value of our enums has a labelled concept."""
    from tongban.catalog.io.cpsv import CODE_LISTS
    from tongban.catalog.models import Channel, ItemType, OutputKind

    for vocab, enum in (("item-type", ItemType), ("channel", Channel), ("output-kind", OutputKind)):
        assert set(CODE_LISTS[vocab][2]) == {m.value for m in enum}
    base = "https://zwfw.example.gov.cn/"
    graph = to_cpsv_jsonld(_doc(), base_uri=base)["@graph"]
    by_id = {n["@id"]: n for n in graph}
    named: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("dct:type", "cv:role", "cv:currency"):
                if isinstance(node.get(key), dict):
                    named.append(node[key]["@id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(graph)
    assert len(named) > 5
    for iri in named:
        concept = by_id[iri]
        assert concept["@type"] == "skos:Concept"
        assert by_id[concept["skos:inScheme"]["@id"]]["@type"] == "skos:ConceptScheme"


def test_cpsv_organisations_have_a_title_and_their_jurisdiction() -> None:
    from tongban.catalog.io import CpsvDepartment, CpsvPlace

    base = "https://zwfw.example.gov.cn/"
    graph = to_cpsv_jsonld(
        _doc(),
        base_uri=base,
        departments={"RSJ": CpsvDepartment("人社局", "人社局", "330182")},
        places={
            "330182": CpsvPlace("330182", "某县", "A county", "330100"),
            "330100": CpsvPlace("330100", "某市", "A city"),
        },
    )["@graph"]
    org = _node(graph, base + "department/RSJ")
    # Chinese offered as the English name is not tagged @en
    assert org["skos:prefLabel"] == org["dct:title"] == [{"@language": "zh", "@value": "人社局"}]
    assert org["dct:spatial"] == {"@id": base + "jurisdiction/330182"}
    county = _node(graph, base + "jurisdiction/330182")
    assert county["@type"] == ["dct:Location", "skos:Concept"]
    assert county["skos:broader"] == {"@id": base + "jurisdiction/330100"}
    assert _node(graph, base + "jurisdiction/330100")["skos:notation"] == "330100"


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [(0, "0.00"), (5, "0.05"), (1250, "12.50"), (10**12 - 1, "9999999999.99")],
)
def test_cost_is_exact(fen: int, yuan: str) -> None:
    data = _data()
    data["items"][0]["fees"][0]["amount_fen"] = fen
    base = "https://zwfw.example.gov.cn/"
    graph = to_cpsv_jsonld(CatalogDocument.model_validate(data), base_uri=base)["@graph"]
    value = _node(graph, base + "item/QX-RSJ-0001")["cv:hasCost"][0]
    assert value["cv:hasValue"]["@value"] == yuan
    assert Decimal(yuan) * 100 == fen


def test_write_jsonld(tmp_path: Path) -> None:
    path = tmp_path / "catalog.jsonld"
    base = "https://zwfw.example.gov.cn/"
    write_jsonld(_doc(), path, base_uri=base, departments={"RSJ": ("人社局", "HR Bureau")})
    text = path.read_text(encoding="utf-8")
    assert "人社局" in text  # ensure_ascii=False
    assert json.loads(text) == to_cpsv_jsonld(
        _doc(), base_uri=base, departments={"RSJ": ("人社局", "HR Bureau")}
    )
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# --------------------------------------------------------------------------- the demo catalogue


def test_demo_catalog_round_trips(tmp_path: Path) -> None:
    if not DEMO_CATALOG.exists():
        pytest.skip("src/tongban/demo/data/catalog.yaml does not exist yet")
    doc = read_catalog(DEMO_CATALOG)
    once = dump_yaml(doc)
    path = tmp_path / "catalog.yaml"
    path.write_text(once, encoding="utf-8")
    again = read_catalog(path)
    assert again == doc
    assert dump_yaml(again) == once
    xlsx = tmp_path / "catalog.xlsx"
    write_xlsx(doc, xlsx)
    via_xlsx = read_catalog(xlsx)
    assert via_xlsx == doc
    assert dump_yaml(via_xlsx) == once
    assert dump_xlsx(via_xlsx) == xlsx.read_bytes()


def _inflating_workbook(path: Path, inflated: int) -> None:
    """A workbook whose ``items`` sheet is ``inflated`` bytes of one repeated row."""
    write_xlsx(_doc(), path)
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    row = b'<row r="9"><c r="A9" t="inlineStr"><is><t>X</t></is></c></row>'
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, content in parts.items():
            if name == "xl/worksheets/sheet2.xml":
                content = content.replace(
                    b"</sheetData>", row * (inflated // len(row)) + b"</sheetData>"
                )
            dst.writestr(name, content)


def test_a_workbook_that_inflates_too_much_is_refused_with_its_code(tmp_path: Path) -> None:
    from tongban.catalog.io.xlsx import INFLATION_CODE

    path = tmp_path / "bomb.xlsx"
    _inflating_workbook(path, 20 * 1024 * 1024)
    assert path.stat().st_size < 1024 * 1024
    (error,) = _errors(path)
    assert error.loc == "bomb.xlsx"
    assert "unpacks to too much data" in error.message
    assert "more than 100 times" in error.message
    assert f"[{INFLATION_CODE}]" in error.message


def test_a_sheet_of_items_longer_than_a_catalogue_is_refused_at_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A zip bomb under the inflation limits (one row repeated millions of times) stops at the
    items sheet's row limit, before any list's sheet is read."""
    from tongban.catalog.io import xlsx

    monkeypatch.setitem(xlsx.SHEET_ROW_LIMITS, "items", 50)
    path = tmp_path / "rows.xlsx"
    write_xlsx(_doc(), path)
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    rows = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>X</t></is></c></row>' % (n, n)
        for n in range(3, 103)
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, content in parts.items():
            if name == "xl/worksheets/sheet2.xml":  # "items"
                content = content.replace(b"</sheetData>", rows + b"</sheetData>")
            dst.writestr(name, content)
    (error,) = _errors(path)
    assert error.loc == "rows.xlsx: sheet 'items'"
    assert error.message == f"more than 50 rows [{xlsx.INFLATION_CODE}]"


def test_not_recorded_and_stated_empty_survive_yaml_and_xlsx(tmp_path: Path) -> None:
    """Left out stays "not yet recorded"; ``[]`` stays "stated that there is none" — through
    YAML, XLSX (the ``none_stated`` column) and back."""
    base = {
        "basic_code": "B",
        "name_zh": "事项",
        "type": "public_service",
        "department": "QX-RSJ",
    }
    doc = CatalogDocument.model_validate(
        {
            "items": [
                {**base, "implementation_code": "GAP-1"},
                {
                    **base,
                    "implementation_code": "GAP-2",
                    "materials": [],
                    "legal_basis": [],
                    "visits": 0,
                    "time_limit": {"legal": 0, "promised": 0},
                },
            ]
        }
    )
    yaml_path = tmp_path / "catalog.yaml"
    xlsx_path = tmp_path / "catalog.xlsx"
    write_yaml(doc, yaml_path)
    text = yaml_path.read_text(encoding="utf-8")
    assert text.count("materials: []") == 1
    assert "visits: 0" in text
    write_xlsx(doc, xlsx_path)
    sheet = openpyxl.load_workbook(xlsx_path)["items"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert [r["none_stated"] for r in rows] == [None, "legal_basis|materials"]
    for path in (yaml_path, xlsx_path):
        again = read_catalog(path)
        assert again == doc
        first, second = again.items
        assert (first.materials, first.visits, first.time_limit, first.name_en) == (
            None,
            None,
            None,
            "",
        )
        assert (second.materials, second.visits) == ([], 0)


def test_an_xlsx_item_cannot_state_empty_what_it_lists(tmp_path: Path) -> None:
    doc = _doc()
    path = tmp_path / "catalog.xlsx"
    write_xlsx(doc, path)
    book = openpyxl.load_workbook(path)
    items = book["items"]
    column = [c.value for c in items[1]].index("none_stated") + 1
    items.cell(row=2, column=column, value="materials|fees")
    book.save(path)
    with pytest.raises(ValidationFailed) as caught:
        read_catalog(path)
    messages = [e.message for e in caught.value.errors]
    assert any("'fees' is not a list that can be stated empty" in m for m in messages), messages
    assert doc.items[0].materials  # the first item lists materials
    assert any("'materials' is stated empty, but sheet 'materials' has rows" in m
               for m in messages), messages  # fmt: skip


def test_a_file_with_thousands_of_problems_lists_the_first_thousand(tmp_path: Path) -> None:
    """Each problem costs memory: past 1,000 the file is not checked on, and the last message
    says so."""
    from tongban.catalog.io.document import MAX_REPORTED_ERRORS, TOO_MANY_ERRORS

    path = tmp_path / "catalog.yaml"
    rows = "".join(f"  - implementation_code: X-{n}\n" for n in range(3000))
    path.write_text(f"format: tongban-catalog/1\nitems:\n{rows}", encoding="utf-8")
    with pytest.raises(ValidationFailed) as caught:
        read_catalog(path)
    errors = caught.value.errors
    assert MAX_REPORTED_ERRORS <= len(errors) < MAX_REPORTED_ERRORS + 20
    assert errors[-1].message == TOO_MANY_ERRORS
    assert "line " in errors[0].loc


def test_text_and_booleans_are_no_numbers(tmp_path: Path) -> None:
    """``true`` and ``"5"`` where the catalogue expects a whole number used to be read as 1 and
    5; now each is an error that names its field."""
    data = _data()
    data["items"][0]["visits"] = True
    data["items"][0]["materials"][0]["copies"] = "5"
    data["items"][0]["time_limit"] = {"legal": "20", "promised": 5}
    data["elements"][0]["max_length"] = True
    errors = _errors(_write_raw_yaml(tmp_path / "catalog.yaml", data))
    for field in (
        "items[0] (QX-RSJ-0001).visits",
        "items[0] (QX-RSJ-0001).materials[0].copies",
        "items[0] (QX-RSJ-0001).time_limit.legal",
        "elements[0] (ID_NUMBER).max_length",
    ):
        error = _one(errors, field)
        assert "integer" in error.message, error
    # A spreadsheet's TRUE in a number column, the same.
    path = tmp_path / "catalog.xlsx"
    write_xlsx(_doc(), path)
    wb = openpyxl.load_workbook(path)
    items = wb["items"]
    column = [cell.value for cell in items[1]].index("visits") + 1
    items.cell(row=2, column=column, value=True)
    wb.save(path)
    error = _one(_errors(path), "column 'visits'")
    assert error.loc == "catalog.xlsx: sheet 'items' row 2 column 'visits'"
    assert "integer" in error.message
