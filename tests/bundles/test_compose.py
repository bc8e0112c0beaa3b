"""Composition rules, one by one, on small hand-made items (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import item
from tongban.bundles.compose import CompositionError, ElementInfo, Ledger, Member, compose
from tongban.catalog.schemas import ItemIn

ELEMENTS = {
    "DE.NAME": ElementInfo("DE.NAME", "姓名", "string"),
    "DE.ID": ElementInfo("DE.ID", "公民身份号码", "string"),
    "DE.CERT": ElementInfo("DE.CERT", "不动产权证书号", "string"),
    "DE.ACCOUNT": ElementInfo("DE.ACCOUNT", "户号", "string"),
    "DE.ACCOUNT2": ElementInfo("DE.ACCOUNT2", "户号", "integer"),
}


def _item(code: str, **extra: Any) -> ItemIn:
    return ItemIn.model_validate(item(code, "QX-" + code.split("-")[1], **extra))


def _step(code: str, kind: str, days: int, responsible: str = "QX-A") -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "name_zh": code,
        "name_en": code,
        "responsible": responsible,
        "limit_days": days,
    }


def _field(code: str, element: str, required: bool = True) -> dict[str, Any]:
    return {
        "code": code,
        "label_zh": code,
        "label_en": code,
        "element": element,
        "required": required,
    }


def _material(code: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name_zh": extra.pop("name", code), "name_en": code, **extra}


def _check_accounting(ledger: Ledger) -> None:
    """Nothing is silently dropped: before − Σ removed = after, for every figure (a removed
    line's ``amount``: 1 for a form, field, material or step, trips, legal days; its
    ``amount_promised`` for promised days)."""
    for kind in ("forms", "fields", "materials", "steps", "visits"):
        before, after = getattr(ledger.before, kind), getattr(ledger.after, kind)
        assert before - sum(r.amount for r in ledger.removed[kind]) == after, kind
    for kind, amount in (("legal", "amount"), ("promised", "amount_promised")):
        removed = sum(getattr(r, amount) for r in ledger.removed["days"])
        assert ledger.before.days[kind] - removed == ledger.after.days[kind], kind


def test_same_element_is_asked_once_and_required_wins() -> None:
    a = _item("X-A-1", form=[_field("name", "DE.NAME", required=False), _field("id", "DE.ID")])
    b = _item("X-B-1", form=[_field("nm", "DE.NAME"), _field("cert", "DE.CERT")])
    ledger = compose([Member(a), Member(b)], elements=ELEMENTS)
    assert [f.element for f in ledger.fields] == ["DE.NAME", "DE.ID", "DE.CERT"]
    name = ledger.fields[0]
    assert name.asked_by == ("X-A-1#name", "X-B-1#nm")
    assert name.required is True
    [removal] = ledger.removed["fields"]
    assert (removal.item, removal.code, removal.rule, removal.kept_as) == (
        "X-B-1",
        "nm",
        "same_element",
        "X-A-1#name",
    )
    assert (ledger.before.forms, ledger.after.forms) == (2, 1)
    assert ledger.removed["forms"][0].kept_as == "X-A-1"
    _check_accounting(ledger)


def test_materials_removed_by_each_rule_with_reasons() -> None:
    registration = _item(
        "X-A-1",
        materials=[
            _material("M-ID", source="e_licence", source_ref="X-Z-9#IDCARD", elements=["DE.ID"]),
            _material("M-SEAL", source="e_licence", source_ref="no such licence"),
            _material("M-MARRIAGE", source="shared_data", source_ref="QX-MZJ"),
            _material("M-CONTRACT", name="合同"),
        ],
        outputs=[
            {
                "code": "CERT",
                "name_zh": "证书",
                "name_en": "Cert",
                "kind": "certificate",
                "e_licence": True,
                "elements": ["DE.CERT"],
            }
        ],
    )
    water = _item(
        "X-B-1",
        materials=[
            _material("M-CERT", source="item_output", source_ref="X-A-1#CERT"),
            _material("M-COPY", elements=["DE.CERT"]),
            _material("M-DEBIT", name="代扣协议", elements=["DE.ACCOUNT"]),
        ],
    )
    power = _item(
        "X-C-1", materials=[_material("M-DEBIT2", name="代扣协议", elements=["DE.ACCOUNT"])]
    )
    ledger = compose(
        [
            Member(registration),
            Member(water, depends_on=("X-A-1",)),
            Member(power, depends_on=("X-A-1",)),
        ],
        elements=ELEMENTS,
        e_licences={"X-Z-9#IDCARD"},
        departments={"QX-MZJ"},
    )
    rules = {(r.item, r.code): (r.rule, r.source) for r in ledger.removed["materials"]}
    assert rules == {
        ("X-A-1", "M-ID"): ("e_licence", "X-Z-9#IDCARD"),
        ("X-A-1", "M-MARRIAGE"): ("shared_data", "QX-MZJ"),
        ("X-B-1", "M-CERT"): ("member_output", "X-A-1#CERT"),
        ("X-C-1", "M-DEBIT2"): ("same_material", "X-B-1#M-DEBIT"),
    }
    # Nothing is removed by a guess: an e-licence type that does not exist, and a copy that
    # merely carries data the registration produces (it used to go as "every datum produced").
    assert [m.code for m in ledger.materials] == [
        "X-A-1#M-SEAL",
        "X-A-1#M-CONTRACT",
        "X-B-1#M-COPY",
        "X-B-1#M-DEBIT",
    ]
    assert ledger.materials[3].asked_by == ("X-B-1#M-DEBIT", "X-C-1#M-DEBIT2")
    _check_accounting(ledger)


def test_output_data_counts_only_from_members_it_depends_on() -> None:
    """A member's output replaces a material (or a field) only of a member that runs after it:
    the certificate is asked for when the consumer does not depend on the producer."""
    producer = _item(
        "X-A-1",
        materials=[],
        outputs=[
            {
                "code": "CERT",
                "name_zh": "证",
                "name_en": "C",
                "kind": "certificate",
                "elements": ["DE.CERT"],
            }
        ],
    )
    consumer = _item(
        "X-B-1",
        materials=[_material("M-CERT", source="item_output", source_ref="X-A-1#CERT")],
        form=[_field("cert", "DE.CERT")],
    )
    independent = compose([Member(producer), Member(consumer)], elements=ELEMENTS)
    assert independent.removed["materials"] == []
    assert "DE.CERT" in {f.element for f in independent.fields}
    dependent = compose(
        [Member(producer), Member(consumer, depends_on=("X-A-1",))], elements=ELEMENTS
    )
    assert [(r.rule, r.source) for r in dependent.removed["materials"]] == [
        ("member_output", "X-A-1#CERT")
    ]
    # The certificate number is produced by the registration: not asked of the applicant.
    assert "DE.CERT" not in {f.element for f in dependent.fields}
    assert dependent.produced == {"DE.CERT": "X-A-1#CERT"}
    assert [(r.code, r.rule) for r in dependent.removed["fields"]] == [("cert", "member_output")]
    _check_accounting(independent)
    _check_accounting(dependent)


def test_steps_single_window_and_critical_path() -> None:
    def steps(review: int) -> list[dict[str, Any]]:
        return [
            _step("S1", "acceptance", 1),
            _step("S2", "review", review),
            _step("S3", "delivery", 2),
        ]

    a = _item("X-A-1", steps=steps(5), time_limit={"legal": 10, "promised": 8})
    b = _item("X-B-1", steps=steps(3), time_limit={"legal": 6, "promised": 6})
    c = _item("X-C-1", steps=steps(4), time_limit={"legal": 9, "promised": 7})
    ledger = compose(
        [Member(a), Member(b, depends_on=("X-A-1",)), Member(c, depends_on=("X-A-1",))],
        elements=ELEMENTS,
    )
    assert [s.code for s in ledger.steps] == [
        "BUNDLE#acceptance",
        "X-A-1#S2",
        "X-B-1#S2",
        "X-C-1#S2",
        "BUNDLE#delivery",
    ]
    assert ledger.before.steps == 9
    assert ledger.after.steps == 5
    # The first member's acceptance and delivery become the bundle's; the others go.
    assert (
        sorted(r.rule for r in ledger.removed["steps"])
        == ["single_delivery"] * 2 + ["single_window_acceptance"] * 2
    )
    # Every removed line and every addition is named in both languages.
    removed = [r for kind in ledger.removed.values() for r in kind]
    assert all(r.name and r.name_en for r in removed), [r for r in removed if not r.name_en]
    assert all(a.name and a.name_en for kind in ledger.added.values() for a in kind)
    # Legal: own parts are 10-3=7, 6-3=3, 9-3=6; B and C run side by side after A:
    # 1 (acceptance) + 7 + max(3, 6) + 2 (delivery) = 16, against 10 + 6 + 9 = 25 before.
    assert ledger.before.days == {"legal": 25, "promised": 21}
    assert ledger.after.days["legal"] == 16
    assert ledger.critical_path["legal"] == ["X-A-1", "X-C-1"]
    days = {(r.item, r.rule): r.amount for r in ledger.removed["days"]}
    assert days == {
        ("X-B-1", "parallel_review"): 3,
        ("BUNDLE", "single_window_acceptance"): 3 * 1 - 1,
        ("BUNDLE", "single_delivery"): 3 * 2 - 2,
    }
    _check_accounting(ledger)


def test_visits_one_trip_serves_all() -> None:
    a = _item("X-A-1", visits=2)
    b = _item("X-B-1", visits=1)
    c = _item("X-C-1", visits=0)
    ledger = compose([Member(a), Member(b), Member(c)], elements=ELEMENTS)
    assert (ledger.before.visits, ledger.after.visits) == (3, 2)
    assert [r.item for r in ledger.removed["visits"]] == ["X-B-1"]
    _check_accounting(ledger)


def test_cycle_and_unknown_dependency_are_errors() -> None:
    a, b = _item("X-A-1"), _item("X-B-1")
    with pytest.raises(CompositionError, match="dependency cycle: X-A-1 → X-B-1 → X-A-1"):
        compose(
            [Member(a, depends_on=("X-B-1",)), Member(b, depends_on=("X-A-1",))], elements=ELEMENTS
        )
    with pytest.raises(CompositionError, match="depends on X-Z-9, which is not a member"):
        compose([Member(a, depends_on=("X-Z-9",))], elements=ELEMENTS)


def test_conflicting_definitions_are_reported_not_hidden() -> None:
    a = _item("X-A-1", form=[_field("acct", "DE.ACCOUNT")])
    b = _item("X-B-1", form=[_field("acct", "DE.ACCOUNT2")])
    ledger = compose([Member(a), Member(b)], elements=ELEMENTS)
    [conflict] = ledger.conflicts
    assert conflict.kind == "definition"
    assert conflict.elements == ("DE.ACCOUNT", "DE.ACCOUNT2")
    # Both stay on the form: a conflict is never merged away.
    assert {f.element for f in ledger.fields} == {"DE.ACCOUNT", "DE.ACCOUNT2"}


def test_composition_is_deterministic() -> None:
    members = [Member(_item(f"X-A-{i}", visits=i % 3)) for i in range(1, 8)]
    first = compose(members, elements=ELEMENTS).as_dict()
    assert compose(list(members), elements=ELEMENTS).as_dict() == first


def test_the_joint_acceptance_is_the_strictest_and_the_leads() -> None:
    """The slowest member's acceptance was charged to every path (the bundle's acceptance took
    the longest member limit), and the single-window steps went to the first member's
    department, not the bundle's lead."""
    fast = _item(
        "X-A-1",
        steps=[_step("S1", "acceptance", 1), _step("S2", "review", 4), _step("S3", "delivery", 1)],
        time_limit={"legal": 6, "promised": 6},
    )
    slow = _item(
        "X-B-1",
        steps=[_step("S1", "acceptance", 5), _step("S2", "review", 2), _step("S3", "delivery", 3)],
        time_limit={"legal": 10, "promised": 10},
    )
    ledger = compose([Member(fast), Member(slow)], elements=ELEMENTS, lead="QX-LEAD")
    window = {s.code: s for s in ledger.steps if s.item is None}
    assert window["BUNDLE#acceptance"].limit_days == 1
    assert window["BUNDLE#delivery"].limit_days == 1
    assert {s.lane for s in window.values()} == {"QX-LEAD"}
    # Own parts: A 6-2=4, B 10-8=2, side by side: 1 + max(4, 2) + 1 = 6, not 5 + 4 + 3 = 12.
    assert ledger.after.days["legal"] == 6
    assert ledger.critical_path["legal"] == ["X-A-1"]
    _check_accounting(ledger)


def test_a_result_sent_by_post_or_as_an_e_licence_needs_no_trip() -> None:
    """Visits are trips: the removed trips add up (they did not in the property transfer)."""
    counter = _item("X-A-1", visits=2, channels=["window"])
    posted = _item("X-B-1", visits=2, channels=["window", "mail"])
    licensed = _item(
        "X-C-1",
        visits=3,
        channels=["window"],
        outputs=[
            {"code": "L", "name_zh": "证", "name_en": "L", "kind": "licence", "e_licence": True}
        ],
    )
    ledger = compose([Member(counter), Member(posted), Member(licensed)], elements=ELEMENTS)
    assert ledger.before.visits == 7
    # One trip to submit, one to collect (the counter's result), the licence's own third trip.
    assert ledger.after.visits == 3
    rules = sorted((r.item, r.rule) for r in ledger.removed["visits"])
    assert rules == [
        ("X-B-1", "remote_delivery"),
        ("X-B-1", "single_window_visit"),
        ("X-C-1", "remote_delivery"),
        ("X-C-1", "single_window_visit"),
    ]
    _check_accounting(ledger)
    remote = compose([Member(posted), Member(licensed)], elements=ELEMENTS)
    assert remote.after.visits == 1 + 0 + 1  # submit, no trip to collect, the licence's own
    _check_accounting(remote)


def test_the_critical_path_is_the_engines_graph() -> None:
    """The days follow the steps the engine runs (``links_between``): a member with no step of
    its own beyond acceptance and delivery spends none of its days, and passes its place in the
    graph on to the members that depend on it."""
    a = _item(
        "X-A-1",
        steps=[_step("S1", "acceptance", 1), _step("S2", "review", 3), _step("S3", "delivery", 1)],
        time_limit={"legal": 8, "promised": 5},
    )
    hollow = _item(
        "X-B-1",
        steps=[_step("S1", "acceptance", 1), _step("S3", "delivery", 1)],
        time_limit={"legal": 10, "promised": 10},
    )
    c = _item(
        "X-C-1",
        steps=[_step("S1", "acceptance", 1), _step("S2", "review", 2), _step("S3", "delivery", 1)],
        time_limit={"legal": 4, "promised": 4},
    )
    ledger = compose(
        [Member(a), Member(hollow, depends_on=("X-A-1",)), Member(c, depends_on=("X-B-1",))],
        elements=ELEMENTS,
    )
    # acceptance 1 + A's own 6 + C's own 2 + delivery 1 (B runs no step of its own)
    assert ledger.after.days["legal"] == 1 + 6 + 2 + 1
    assert ledger.critical_path["legal"] == ["X-A-1", "X-C-1"]
    rules = {(r.item, r.rule): r.amount for r in ledger.removed["days"]}
    assert rules[("X-B-1", "no_own_steps")] == 10 - 2
    _check_accounting(ledger)
