"""The streaming export (Core queries a thousand versions at a time, YAML written entry by entry)
gives exactly what the exporter that loaded every version through the ORM and dumped the whole
document with PyYAML gave: the same plain data per item and the same bytes."""

from __future__ import annotations

import random
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from tongban.catalog import repository, service
from tongban.catalog.io import yamlfmt
from tongban.catalog.io.xlsx import dump_xlsx, write_xlsx_entries
from tongban.catalog.io.yamlfmt import dump_entry, dump_yaml, write_sections
from tongban.catalog.models import ItemVersion
from tongban.catalog.schemas import CatalogDocument
from tongban.catalog.service.convert import _lookups, element_to_in, version_to_item
from tongban.demo.loader import CATALOG_FILE, ORG_FILE
from tongban.errors import ValidationFailed
from tongban.org import service as org_service
from tongban.org.io import read_org


def _old_dump(doc: CatalogDocument) -> str:
    """The exporter's text before the streaming writer: PyYAML over the whole document."""
    text: str = yaml.dump(yamlfmt._plain(doc), **yamlfmt._DUMP_OPTIONS)
    return text


def _old_document(session: Session) -> CatalogDocument:
    """The export before the streaming one: every version with its children through the ORM."""
    lookups = _lookups(session)
    versions = repository.latest_versions_for_export(session, ItemVersion.id.is_not(None))
    return CatalogDocument(
        elements=[element_to_in(e, lookups.department_codes) for e in lookups.elements.values()],
        items=[version_to_item(v, lookups.department_codes) for v in versions],
    )


def _streamed(session: Session) -> str:
    export = service.start_export(session=session, principal=None, as_system=True)
    out = StringIO()
    assert write_sections(out, export.elements, export.items()) == export.count
    return out.getvalue()


def _awkward(doc: CatalogDocument) -> CatalogDocument:
    """The demo's items with texts PyYAML quotes, folds or writes as blocks."""
    rng = random.Random(6)
    texts = [
        "yes", "012", "1_000", "~", "null", "2024-01-01", "a: b", "a #b", "- x", "? x", "#x",
        "'quoted'", '"double"', "line one\nline two", "tab\there", "中文 " * 40, "x" * 150,
        "word " * 30, "trailing:", "---", "[a]", "{b}", "@at", "`tick`", "%pct", "😀 emoji",
        "\u00a0nbsp", "全角　空格", "=", "<<", "3.14", "0x1F", "+1", "-1", "!tag", "&anchor",
    ]  # fmt: skip
    items = []
    for item in doc.items:
        text = rng.choice(texts)
        data = item.model_dump() | {"name_en": text.strip(), "description": text}
        items.append(data)
    return CatalogDocument.model_validate(
        {"elements": doc.model_dump()["elements"], "items": items}
    )


def _load(session: Session, doc: CatalogDocument) -> None:
    org_service.load_org(session=session, document=read_org(ORG_FILE))
    service.import_catalog(session=session, document=doc)
    session.flush()


def test_the_demo_catalogue_streams_byte_for_byte(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tongban.catalog.io import read_catalog
    from tongban.catalog.service import transfer

    _load(session, read_catalog(CATALOG_FILE))
    monkeypatch.setattr(transfer, "_BATCH", 7)  # versions are read in several batches
    old = _old_document(session)
    assert _streamed(session) == _old_dump(old)
    assert service.export_catalog(session=session, principal=None, as_system=True) == old


def test_awkward_texts_stream_byte_for_byte(session: Session) -> None:
    from tongban.catalog.io import read_catalog

    doc = _awkward(read_catalog(CATALOG_FILE))
    _load(session, doc)
    old = _old_document(session)
    text = _streamed(session)
    assert text == _old_dump(old)
    assert "description: |-" in text  # the awkward texts were there
    assert dump_yaml(old) == text


def test_the_fast_writer_matches_pyyaml_on_random_texts() -> None:
    rng = random.Random(11)
    alphabet = [*"ab :#-?,[]{}&*!|>'\"%@`\\~.0123456789eE+_/\t\n", "中", "（", "\u2028", "\x85"]
    alphabet += ["\ufeff", "😀", "\xa0", "\u3000", " "]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        if rng.random() < 0.1:
            text = "word " * rng.randint(10, 30) + text
        entry: dict[str, Any] = {"k": text, "list": [text, 7, True], "rows": [{"kk": text}]}
        assert dump_entry(entry) == yaml.dump([entry], **yamlfmt._DUMP_OPTIONS), repr(text)


def test_an_empty_catalogue_is_the_format_line_alone(session: Session) -> None:
    assert _streamed(session) == _old_dump(CatalogDocument()) == "format: tongban-catalog/1\n"


def test_the_xlsx_export_streams_byte_for_byte(session: Session, tmp_path: Path) -> None:
    from tongban.catalog.io import read_catalog

    doc = _awkward(read_catalog(CATALOG_FILE))
    doc = CatalogDocument.model_validate(
        doc.model_dump()
        | {"items": [i for i in doc.model_dump()["items"] if "\t" not in i["description"]]}
    )
    _load(session, doc)
    export = service.start_export(session=session, principal=None, as_system=True)
    path = tmp_path / "out.xlsx"
    assert write_xlsx_entries(path, export.elements, export.items()) == export.count
    assert path.read_bytes() == dump_xlsx(_old_document(session))
    assert read_catalog(path) == _old_document(session)


def test_what_a_cell_cannot_hold_is_refused_with_its_place(tmp_path: Path) -> None:
    bad = {"implementation_code": "A-2", "basic_code": "2", "name_zh": "x\x01", "type": "other",
           "department": "D"}  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        write_xlsx_entries(tmp_path / "x.xlsx", [], [bad, bad])
    assert caught.value.code == "xlsx_unwritable"
    assert [e.loc for e in caught.value.errors] == [
        "items[0] (A-2).name_zh",
        "items[1] (A-2).name_zh",
    ]
    assert not (tmp_path / "x.xlsx").exists()
