"""What a material's ``source_ref`` and a step's days must be, checked in a file (with its line)
and on import against what the database holds. Each of these passed silently before."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from tests.factories import ELEMENTS, item, make_catalog, make_org
from tongban.catalog import service
from tongban.catalog.io import parse_catalog
from tongban.catalog.schemas import CatalogDocument
from tongban.errors import ValidationFailed


def _output(code: str, *, e_licence: bool = False) -> dict[str, Any]:
    return {"code": code, "name_zh": "证", "name_en": "Cert", "kind": "certificate",
            "e_licence": e_licence}  # fmt: skip


def _material(source: str, ref: str, code: str = "M9") -> dict[str, Any]:
    return {"code": code, "name_zh": "材料", "name_en": "Material", "source": source,
            "source_ref": ref}  # fmt: skip


def _file_errors(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    text = yaml.safe_dump(
        {"format": "tongban-catalog/1", "elements": ELEMENTS, "items": items},
        allow_unicode=True,
        sort_keys=False,
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_catalog(text.encode(), "catalog.yaml")
    return [(e.loc, e.message) for e in caught.value.errors]


def _issuer(**extra: Any) -> dict[str, Any]:
    return item(
        "QX-ZJJ-1",
        "QX-ZJJ",
        outputs=[_output("PERMIT", e_licence=True), _output("PAPER")],
        **extra,
    )


# ------------------------------------------------------------------ within the file


def test_an_unknown_output_of_an_item_in_the_file_is_refused_with_its_line() -> None:
    user = item("QX-RSJ-1", "QX-RSJ", materials=[_material("item_output", "QX-ZJJ-1#NOPE")])
    ((loc, message),) = _file_errors([_issuer(), user])
    assert loc.startswith("catalog.yaml: items[1] (QX-RSJ-1).materials[0].source_ref (line ")
    assert "material 'M9'" in message
    assert "item 'QX-ZJJ-1' has no output 'NOPE'" in message
    assert "PAPER, PERMIT" in message


def test_an_item_output_reference_must_name_the_output() -> None:
    user = item("QX-RSJ-1", "QX-RSJ", materials=[_material("item_output", "QX-ZJJ-1")])
    ((loc, message),) = _file_errors([_issuer(), user])
    assert "materials[0].source_ref (line" in loc
    assert "must name another item's output as ITEM#OUTPUT" in message


def test_an_e_licence_named_by_its_title_is_refused() -> None:
    user = item("QX-RSJ-1", "QX-RSJ", materials=[_material("e_licence", "居民身份证")])
    ((loc, message),) = _file_errors([_issuer(), user])
    assert "items[1] (QX-RSJ-1).materials[0].source_ref (line" in loc
    assert "'居民身份证' must name an e-licence type as ITEM#OUTPUT" in message


def test_an_e_licence_must_be_an_output_marked_e_licence() -> None:
    user = item(
        "QX-RSJ-1",
        "QX-RSJ",
        materials=[
            _material("e_licence", "QX-ZJJ-1#PAPER", "M8"),
            _material("e_licence", "QX-ZJJ-1#GONE", "M9"),
        ],
    )
    errors = _file_errors([_issuer(), user])
    assert [loc.split(" (line")[0] for loc, _ in errors] == [
        "catalog.yaml: items[1] (QX-RSJ-1).materials[0].source_ref",
        "catalog.yaml: items[1] (QX-RSJ-1).materials[1].source_ref",
    ]
    assert "'QX-ZJJ-1#PAPER' is not an e-licence type" in errors[0][1]
    assert "not marked e_licence: true" in errors[0][1]
    assert "has no output 'GONE'" in errors[1][1]


def test_an_e_licence_of_an_item_in_the_file_passes() -> None:
    user = item("QX-RSJ-1", "QX-RSJ", materials=[_material("e_licence", "QX-ZJJ-1#PERMIT")])
    text = yaml.safe_dump({"elements": ELEMENTS, "items": [_issuer(), user]}, allow_unicode=True)
    assert parse_catalog(text.encode(), "catalog.yaml").items[1].materials[0].source_ref


def _steps(*days: tuple[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "code": f"S{i}",
            "kind": kind,
            "name_zh": "步",
            "name_en": "Step",
            "responsible": "QX-RSJ",
            "limit_days": n,
        }
        for i, (kind, n) in enumerate(days, 1)
    ]


def test_a_step_longer_than_the_legal_limit_is_refused_with_its_line() -> None:
    long = item(
        "QX-RSJ-1",
        "QX-RSJ",
        steps=_steps(("acceptance", 1), ("review", 25)),
        time_limit={"legal": 20, "promised": 5},
    )
    ((loc, message),) = _file_errors([long])
    assert loc.startswith("catalog.yaml: items[0] (QX-RSJ-1).steps[1].limit_days (line ")
    assert message == "step 'S2' takes 25 working days, more than the item's legal time limit (20)"


def test_acceptance_and_delivery_must_fit_in_the_limits() -> None:
    legal = item(
        "QX-RSJ-1",
        "QX-RSJ",
        steps=_steps(("acceptance", 2), ("review", 1), ("delivery", 2)),
        time_limit={"legal": 3, "promised": 3},
    )
    promised = item(
        "QX-RSJ-2",
        "QX-RSJ",
        steps=_steps(("acceptance", 2), ("review", 1), ("delivery", 2)),
        time_limit={"legal": 10, "promised": 3},
    )
    errors = _file_errors([legal, promised])
    assert errors[0][0].startswith("catalog.yaml: items[0] (QX-RSJ-1).time_limit.legal (line ")
    assert errors[0][1] == (
        "the acceptance and delivery steps (S1, S3) take 4 working days together, "
        "more than the item's legal time limit (3)"
    )
    assert errors[1][0].startswith("catalog.yaml: items[1] (QX-RSJ-2).time_limit.promised (line")
    assert "more than the item's promised time limit (3)" in errors[1][1]


def test_the_demo_catalogue_passes() -> None:
    from pathlib import Path

    import tongban
    from tongban.catalog.io import validate_catalog_file

    path = Path(tongban.__file__).parent / "demo" / "data" / "catalog.yaml"
    assert validate_catalog_file(path) == []


# ------------------------------------------------------------------ against the database


def _import(session: Session, items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    document = CatalogDocument.model_validate({"elements": ELEMENTS, "items": items})
    with pytest.raises(ValidationFailed) as caught:
        service.import_catalog(session=session, document=document)
    return [(e.loc, e.message) for e in caught.value.errors]


def test_import_refuses_an_unknown_output_of_a_published_item(session: Session) -> None:
    make_org(session)
    make_catalog(session, [_issuer()])
    user = item("QX-RSJ-1", "QX-RSJ", materials=[_material("item_output", "QX-ZJJ-1#NOPE")])
    ((loc, message),) = _import(session, [user])
    assert loc == "items[0] (QX-RSJ-1).materials[0].source_ref"
    assert "item 'QX-ZJJ-1' has no output 'NOPE' (its outputs: PAPER, PERMIT)" in message


def test_import_refuses_an_unknown_e_licence_type(session: Session) -> None:
    make_org(session)
    draft = item(
        "QX-ZJJ-2", "QX-ZJJ", status="draft", outputs=[_output("DRAFTCARD", e_licence=True)]
    )
    make_catalog(session, [_issuer(), draft])
    user = item(
        "QX-RSJ-1",
        "QX-RSJ",
        materials=[
            _material("e_licence", "QX-ZJJ-1#PERMIT", "M1"),  # published: fine
            _material("e_licence", "QX-ZJJ-1#PAPER", "M2"),  # not an e-licence
            _material("e_licence", "QX-ZJJ-2#DRAFTCARD", "M3"),  # not published
            _material("e_licence", "居民身份证", "M4"),  # a title, not a type
        ],
    )
    errors = _import(session, [user])
    assert [loc for loc, _ in errors] == [
        "items[0] (QX-RSJ-1).materials[3].source_ref",  # the form: ITEM#OUTPUT
        "items[0] (QX-RSJ-1).materials[1].source_ref",
        "items[0] (QX-RSJ-1).materials[2].source_ref",
        "items[0] (QX-RSJ-1).materials[3].source_ref",
    ]
    assert "'QX-ZJJ-1#PAPER' is not an e-licence type" in errors[1][1]


def test_publishing_refuses_a_step_longer_than_the_legal_limit(session: Session) -> None:
    make_org(session)
    long = item("QX-RSJ-1", "QX-RSJ", steps=_steps(("acceptance", 1), ("review", 30)))
    ((loc, message),) = _import(session, [long])
    assert loc == "items[0] (QX-RSJ-1).steps[1].limit_days"
    assert "takes 30 working days, more than the item's legal time limit (20)" in message
