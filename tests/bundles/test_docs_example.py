"""The worked example of docs/bundles.md ("A worked example, counted by hand"), composed as a
newcomer would write it: every number the doc counts by hand is checked here."""

from __future__ import annotations

from typing import Any

from tongban.bundles.compose import ElementInfo, Member, compose
from tongban.catalog.schemas import ItemIn

ELEMENTS = {c: ElementInfo(c, c, "string") for c in ("DE.NAME", "DE.ID", "DE.PERMIT_NO")}


def _step(code: str, kind: str, days: int, department: str) -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "name_zh": code,
        "name_en": code,
        "responsible": department,
        "limit_days": days,
    }


def _item(code: str, department: str, **fields: Any) -> ItemIn:
    return ItemIn.model_validate(
        {
            "implementation_code": code,
            "basic_code": code,
            "name_zh": code,
            "name_en": code,
            "type": "public_service",
            "department": department,
            **fields,
        }
    )


PERMIT = _item(
    "X-PERMIT",
    "QX-ZJJ",
    form=[
        {"code": "F1", "label_zh": "姓名", "label_en": "Name", "element": "DE.NAME"},
        {"code": "F2", "label_zh": "身份证号", "label_en": "ID", "element": "DE.ID"},
    ],
    materials=[
        {
            "code": "M1",
            "name_zh": "身份证",
            "name_en": "ID card",
            "source": "e_licence",
            "source_ref": "X-IDCARD#CARD",
        },
        {"code": "M2", "name_zh": "施工合同", "name_en": "Contract"},
    ],
    outputs=[
        {
            "code": "PERMIT",
            "name_zh": "施工许可证",
            "name_en": "Permit",
            "kind": "licence",
            "elements": ["DE.PERMIT_NO"],
        }
    ],
    steps=[
        _step("S1", "acceptance", 1, "QX-ZJJ"),
        _step("S2", "review", 5, "QX-ZJJ"),
        _step("S3", "delivery", 2, "QX-ZJJ"),
    ],
    time_limit={"legal": 12, "promised": 10},
    visits=2,
    channels=["window"],
)
HIRE = _item(
    "X-HIRE",
    "QX-RSJ",
    form=[
        {"code": "F1", "label_zh": "姓名", "label_en": "Name", "element": "DE.NAME"},
        {"code": "F2", "label_zh": "许可证号", "label_en": "Permit no.", "element": "DE.PERMIT_NO"},
    ],
    materials=[
        {
            "code": "M1",
            "name_zh": "施工许可证",
            "name_en": "Permit",
            "source": "item_output",
            "source_ref": "X-PERMIT#PERMIT",
        },
        {"code": "M2", "name_zh": "施工合同", "name_en": "Contract"},
    ],
    steps=[
        _step("S1", "acceptance", 2, "QX-RSJ"),
        _step("S2", "review", 3, "QX-RSJ"),
        _step("S3", "delivery", 1, "QX-RSJ"),
    ],
    time_limit={"legal": 8, "promised": 6},
    visits=2,
    channels=["window", "mail"],
)


def test_the_worked_example_gives_the_numbers_the_doc_counts_by_hand() -> None:
    ledger = compose(
        [Member(PERMIT), Member(HIRE, depends_on=("X-PERMIT",))],
        elements=ELEMENTS,
        lead="QX-ZJJ",
        e_licences={"X-IDCARD#CARD"},
        departments={"QX-ZJJ", "QX-RSJ"},
    )
    figures = {
        k: (getattr(ledger.before, k), getattr(ledger.after, k))
        for k in ("forms", "fields", "materials", "steps", "visits")
    }
    assert figures == {
        "forms": (2, 1),
        "fields": (4, 2),
        "materials": (4, 1),
        "steps": (6, 4),
        "visits": (4, 2),
    }
    assert ledger.before.days == {"legal": 20, "promised": 16}
    assert ledger.after.days == {"legal": 16, "promised": 12}
    assert [f.element for f in ledger.fields] == ["DE.NAME", "DE.ID"]
    assert ledger.produced == {"DE.PERMIT_NO": "X-PERMIT#PERMIT"}
    assert [m.code for m in ledger.materials] == ["X-PERMIT#M2"]
    window = {s.code: s.limit_days for s in ledger.steps if s.item is None}
    assert window == {"BUNDLE#acceptance": 1, "BUNDLE#delivery": 1}
    removed = {
        (figure, r.item, r.code, r.rule, r.source, r.amount, r.amount_promised)
        for figure, lines in ledger.removed.items()
        for r in lines
    }
    assert removed == {
        ("forms", "X-HIRE", "X-HIRE", "one_form", "X-PERMIT", 1, 0),
        ("fields", "X-HIRE", "F1", "same_element", "X-PERMIT#F1", 1, 0),
        ("fields", "X-HIRE", "F2", "member_output", "X-PERMIT#PERMIT", 1, 0),
        ("materials", "X-PERMIT", "M1", "e_licence", "X-IDCARD#CARD", 1, 0),
        ("materials", "X-HIRE", "M1", "member_output", "X-PERMIT#PERMIT", 1, 0),
        ("materials", "X-HIRE", "M2", "same_material", "X-PERMIT#M2", 1, 0),
        ("steps", "X-HIRE", "S1", "single_window_acceptance", "BUNDLE#acceptance", 1, 0),
        ("steps", "X-HIRE", "S3", "single_delivery", "BUNDLE#delivery", 1, 0),
        (
            "days",
            "BUNDLE",
            "BUNDLE#acceptance",
            "single_window_acceptance",
            "BUNDLE#acceptance",
            2,
            2,
        ),
        ("days", "BUNDLE", "BUNDLE#delivery", "single_delivery", "BUNDLE#delivery", 2, 2),
        ("visits", "X-HIRE", "X-HIRE#submit", "single_window_visit", "BUNDLE#acceptance", 1, 0),
        ("visits", "X-HIRE", "X-HIRE#collect", "remote_delivery", "BUNDLE#delivery", 1, 0),
    }
