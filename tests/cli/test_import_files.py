"""``tongban org import`` and ``tongban bundle import`` read their files through the hardened YAML
loader: a duplicate key or an oversized file is refused with exit code 1, a message naming the
key and line (or the limit), and nothing written. Run in-process on the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tongban.bundles.models import Bundle
from tongban.cli.main import app
from tongban.org.models import Jurisdiction

#: a valid organisation document, but for its second ``name_en`` (PyYAML kept the last one)
ORG_DUPLICATE = """\
format: tongban-org/1
jurisdictions:
  - code: '870000'
    name_zh: 测试省
    name_en: Test Province
    name_en: Other Province
"""
ORG_VALID = """\
format: tongban-org/1
jurisdictions:
  - code: '870000'
    name_zh: 测试省
    name_en: Test Province
"""
BUNDLES_DUPLICATE = "format: tongban-bundles/1\nbundles: []\nbundles: []\n"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _jurisdictions(engine: Engine) -> int:
    with Session(engine) as session:
        return (
            session.scalar(
                select(func.count()).select_from(Jurisdiction).where(Jurisdiction.code == "870000")
            )
            or 0
        )


def _bundles(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Bundle)) or 0


def _oversized(path: Path, text: str) -> Path:
    """``text`` followed by a YAML comment that takes the file past 5 MB: valid, only too big."""
    path.write_text(text + "#" * (5 * 1024 * 1024) + "\n", encoding="utf-8")
    return path


def test_org_import_refuses_a_duplicate_key(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(ORG_DUPLICATE, encoding="utf-8")
    code, output = _invoke("org", "import", str(path))
    assert code == 1, output
    assert "org.yaml: the organisation file cannot be read" in output
    assert "org.yaml: line 6 column 5: duplicate key 'name_en' (first on line 5)" in output
    assert _jurisdictions(engine) == 0


def test_org_import_refuses_an_oversized_file(engine: Engine, tmp_path: Path) -> None:
    path = _oversized(tmp_path / "org.yaml", ORG_VALID)
    code, output = _invoke("org", "import", str(path))
    assert code == 1, output
    assert "org.yaml: file is larger than 5 MB" in output
    assert _jurisdictions(engine) == 0


def test_bundle_import_refuses_a_duplicate_key(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bundles.yaml"
    path.write_text(BUNDLES_DUPLICATE, encoding="utf-8")
    before = _bundles(engine)
    code, output = _invoke("bundle", "import", str(path))
    assert code == 1, output
    assert "bundles.yaml: the bundle file cannot be read" in output
    assert "bundles.yaml: line 3 column 1: duplicate key 'bundles' (first on line 2)" in output
    assert _bundles(engine) == before


def test_bundle_import_refuses_an_oversized_file(engine: Engine, tmp_path: Path) -> None:
    path = _oversized(tmp_path / "bundles.yaml", "format: tongban-bundles/1\nbundles: []\n")
    before = _bundles(engine)
    code, output = _invoke("bundle", "import", str(path))
    assert code == 1, output
    assert "bundles.yaml: file is larger than 5 MB" in output
    assert _bundles(engine) == before


@pytest.mark.parametrize(
    ("command", "name", "text", "message"),
    [
        ("org", "org.yaml", "a: &x [1]\nb: *x\n", "anchors (&x) are not allowed in a"),
        ("bundle", "bundles.yaml", "bundles: *x\n", "aliases (*x) are not allowed in a"),
        ("org", "org.yaml", b"format: caf\xe9\n", "not UTF-8 text (bad byte at offset 11)"),
    ],
)
def test_imports_refuse_aliases_and_non_utf8(
    engine: Engine, tmp_path: Path, command: str, name: str, text: str | bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, output = _invoke(command, "import", str(path))
    assert code == 1, output
    assert message in output


def test_org_validation_errors_name_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(ORG_VALID.replace("name_zh: 测试省", "name_zh: ''"), encoding="utf-8")
    code, output = _invoke("org", "import", str(path))
    assert code == 1, output
    assert "org.yaml: jurisdictions.0.name_zh (line 4):" in output
    assert _jurisdictions(engine) == 0


BUNDLES_INVALID = """\
format: tongban-bundles/1
bundles:
  - code: first-thing
    name_zh: 第一件事
    name_en: First thing
    kind: life_event
    lead_department: QX-NOPE
    members:
      - item: QX-NOPE-1
      - item: QX-NOPE-2
        stage: 0
"""


def test_bundle_errors_name_the_bundle_and_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bundles.yaml"
    path.write_text(BUNDLES_INVALID, encoding="utf-8")
    code, output = _invoke("bundle", "import", str(path))
    assert code == 1, output
    assert (
        "bundles.yaml: bundles[0] (first-thing).members[1].stage (line 11): "
        "Input should be greater than or equal to 1"
    ) in output
    # once the file is valid, the import service's own errors are located the same way
    path.write_text(BUNDLES_INVALID.replace("stage: 0", "stage: 2"), encoding="utf-8")
    code, output = _invoke("bundle", "import", str(path))
    assert code == 1, output
    assert (
        "bundles.yaml: bundles[0] (first-thing).lead_department (line 7): "
        "unknown department 'QX-NOPE'"
    ) in output
    assert (
        "bundles.yaml: bundles[0] (first-thing).members[1].item (line 10): unknown item 'QX-NOPE-2'"
    ) in output
    assert _bundles(engine) == 0


CATALOG_UNKNOWN_REFS = """\
format: tongban-catalog/1
items:
  - implementation_code: QX-X-1
    basic_code: B.1
    name_zh: 事项
    name_en: Item
    type: public_service
    department: QX-NOPE
    materials:
      - code: M1
        name_zh: 证照
        name_en: Licence
        source: e_licence
        source_ref: QX-NOPE-9#CARD
    steps:
      - {code: S1, kind: acceptance, name_zh: 受理, name_en: Acceptance, responsible: county}
    time_limit: {legal: 5, promised: 3}
"""


def test_catalogue_errors_from_the_database_name_the_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG_UNKNOWN_REFS, encoding="utf-8")
    code, output = _invoke("catalog", "validate", str(path))
    assert code == 1, output
    assert (
        "catalog.yaml: items[0] (QX-X-1).department (line 8): unknown department code 'QX-NOPE'"
    ) in output
    assert (
        "catalog.yaml: items[0] (QX-X-1).materials[0].source_ref (line 14): material 'M1': "
        "'QX-NOPE-9#CARD' is not an e-licence type"
    ) in output
    code, output = _invoke("catalog", "import", str(path))
    assert code == 1, output
    assert "catalog.yaml: items[0] (QX-X-1).department (line 8):" in output


#: a shape error in the first item (negative ``visits``) and an unknown department in the second
CATALOG_SHAPE_AND_REFS = """\
format: tongban-catalog/1
items:
  - implementation_code: QX-X-1
    basic_code: B.1
    name_zh: 事项
    name_en: Item
    type: public_service
    department: QX-RSJ
    visits: -1
  - implementation_code: QX-X-2
    basic_code: B.2
    name_zh: 事项二
    name_en: Item two
    type: public_service
    department: QX-NOPE
    parent: QX-X-1
    time_limit: {legal: 5, promised: 3}
"""


def test_catalogue_shape_and_database_errors_in_one_round(engine: Engine, tmp_path: Path) -> None:
    """One run reports the file's own errors and the database's, each with its line; an item
    that refers to an invalid one is not also told its main item is unknown."""
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG_SHAPE_AND_REFS, encoding="utf-8")
    for command in ("validate", "import"):
        code, output = _invoke("catalog", command, str(path))
        assert code == 1, output
        assert "catalog.yaml: items[0] (QX-X-1).visits (line 9): Input should be greater" in output
        assert (
            "catalog.yaml: items[1] (QX-X-2).department (line 15): unknown department code "
            "'QX-NOPE'"
        ) in output
        assert "unknown main item" not in output
