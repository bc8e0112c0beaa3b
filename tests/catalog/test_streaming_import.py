"""A large YAML catalogue is checked and imported a chunk of items at a time
(``catalog.io.stream``): the same problems, in the same order and at the same lines, as the
whole-document reader gives, and the same import. Chunks of three items here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tongban.catalog import service
from tongban.catalog.io import dump_yaml, read_catalog
from tongban.catalog.io.stream import StreamedYaml, open_streamed
from tongban.demo.loader import CATALOG_FILE, ORG_FILE
from tongban.errors import FieldError
from tongban.org import service as org_service
from tongban.org.io import read_org


@pytest.fixture
def demo_text(session: Session) -> str:
    org_service.load_org(session=session, document=read_org(ORG_FILE))
    session.flush()
    return dump_yaml(read_catalog(CATALOG_FILE))


def _streamed(path: Path) -> StreamedYaml:
    streamed = open_streamed(path, min_bytes=0, chunk_items=3)
    assert streamed is not None
    return streamed


def _both(session: Session, path: Path) -> tuple[list[FieldError], list[FieldError]]:
    catalog, whole = service.check_file(session, path)
    streamed = _streamed(path)
    try:
        own, errors = service.check_streamed(session, streamed)
    finally:
        streamed.close()
    assert own == catalog.errors
    return whole, errors


def _replace(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


def test_a_valid_file_has_no_problem_either_way(
    session: Session, demo_text: str, tmp_path: Path
) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(demo_text, encoding="utf-8")
    assert _both(session, path) == ([], [])


def test_problems_are_the_same_at_the_same_lines(
    session: Session, demo_text: str, tmp_path: Path
) -> None:
    text = demo_text
    first_code = text.split("- implementation_code: ", 2)[1].split("\n", 1)[0]
    last_code = text.rsplit("- implementation_code: ", 1)[1].split("\n", 1)[0]
    text = _replace(text, "department: QX-MZJ\n", "department: QX-NOPE\n")  # the database's
    text = _replace(text, "  visits: 1\n", "  visits: many\n")  # the model's
    text = _replace(text, "  visits: 0\n", "  visits: 0\n  colour: red\n")  # extra field
    # a duplicate of the first item's code at the end (another chunk)
    text = text.rsplit(f"- implementation_code: {last_code}\n", 1)
    text = f"{text[0]}- implementation_code: {first_code}\n{text[1]}"
    text = _replace(text, "format: tongban-catalog/1\n", "format: tongban-catalog/1\nextra: 1\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    whole, streamed = _both(session, path)
    assert len(whole) >= 5
    assert any("(line " in e.loc for e in whole)
    assert streamed == whole


def test_too_many_problems_stop_at_the_same_place(
    session: Session, demo_text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tongban.catalog.io import reader
    from tongban.catalog.service import filecheck

    monkeypatch.setattr(reader, "MAX_REPORTED_ERRORS", 5)
    monkeypatch.setattr(filecheck, "MAX_REPORTED_ERRORS", 5)
    path = tmp_path / "bad.yaml"
    text = re.sub(r"(?m)^  name_zh: ", "  name_zh: []\n  x_name: ", demo_text)
    path.write_text(text, encoding="utf-8")
    whole, streamed = _both(session, path)
    assert streamed == whole
    assert "more than" in whole[-1].message


def test_a_streamed_import_is_the_whole_import(
    session: Session, demo_text: str, tmp_path: Path
) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(demo_text, encoding="utf-8")
    streamed = _streamed(path)
    try:
        importer = service.CatalogImporter(session=session)
        own, errors = service.check_streamed(session, streamed, importer=importer)
        assert (own, errors) == ([], [])
        report = importer.finish()
    finally:
        streamed.close()
    assert report.items_created == len(read_catalog(CATALOG_FILE).items)
    exported = service.export_catalog(session=session, principal=None, as_system=True)
    doc = read_catalog(CATALOG_FILE)
    by_code = sorted(doc.elements, key=lambda e: e.code)  # the database lists them by code
    assert exported == doc.model_copy(update={"elements": by_code})
    # again: nothing changes
    again = _streamed(path)
    try:
        importer = service.CatalogImporter(session=session)
        service.check_streamed(session, again, importer=importer)
        assert importer.finish().unchanged == report.items_created
    finally:
        again.close()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("items:\n- ", "items:\n  - "),  # indented entries
        ("items:\n", "items: &a\n"),  # an anchor
        ("format: tongban-catalog/1\n", ""),  # moved after the items
    ],
)
def test_another_layout_is_read_whole(demo_text: str, tmp_path: Path, old: str, new: str) -> None:
    text = _replace(demo_text, old, new)
    if not new:
        text += "format: tongban-catalog/1\n"
    path = tmp_path / "other.yaml"
    path.write_text(text, encoding="utf-8")
    assert open_streamed(path, min_bytes=0, chunk_items=3) is None


def test_an_anchor_in_an_item_sends_the_file_to_the_whole_reader(
    demo_text: str, tmp_path: Path
) -> None:
    path = tmp_path / "anchor.yaml"
    path.write_text(_replace(demo_text, "  name_zh: ", "  name_zh: &x "), encoding="utf-8")
    assert open_streamed(path, min_bytes=0, chunk_items=3) is None


def test_a_small_file_is_read_whole(demo_text: str, tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(demo_text, encoding="utf-8")
    assert open_streamed(path) is None


def test_an_item_read_otherwise_than_the_first_look_sends_the_file_whole(
    session: Session, demo_text: str, tmp_path: Path
) -> None:
    from tongban.catalog.io.stream import StreamMismatch

    last_code = demo_text.rsplit("- implementation_code: ", 1)[1].split("\n", 1)[0]
    text = _replace(
        demo_text, f"- implementation_code: {last_code}\n", "- implementation_code: 0123\n"
    )
    path = tmp_path / "number.yaml"
    path.write_text(text, encoding="utf-8")
    streamed = _streamed(path)  # rapidyaml's first look takes 0123 as text
    with pytest.raises(StreamMismatch):
        service.check_streamed(session, streamed)


def test_a_parent_cycle_is_refused_in_a_streamed_file(
    session: Session, demo_text: str, tmp_path: Path
) -> None:
    """Main items and sub-items form a tree in a large file too: a main item made a sub-item of
    its own sub-item is refused, for both of them."""
    entries = demo_text.split("- implementation_code: ")
    first = entries[1].split("\n", 1)[0]
    second = entries[2].split("\n", 1)[0]
    assert "\n  parent:" not in entries[1]
    assert f"\n  parent: {first}\n" in entries[2]  # the second is a sub-item of the first
    entries[1] = entries[1].replace("\n", f"\n  parent: {second}\n", 1)
    path = tmp_path / "cycle.yaml"
    path.write_text("- implementation_code: ".join(entries), encoding="utf-8")
    streamed = _streamed(path)
    try:
        importer = service.CatalogImporter(session=session)
        _own, errors = service.check_streamed(session, streamed, importer=importer)
    finally:
        streamed.close()
    cycles = [e for e in errors if "would form a cycle" in e.message]
    assert {e.loc.rsplit(".", 1)[-1] for e in cycles} == {"parent"}
    assert len(cycles) == 2
