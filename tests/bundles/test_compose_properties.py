"""The ledger's promises, on random bundles (hypothesis, bounded by count):

- before − Σ removed = after, for every figure (days legal and promised too);
- every removed line names a source that exists and, for a member's output, runs before the
  member whose line it removes;
- no figure falls below the number of distinct things the members still need;
- composing twice gives the same ledger, and the order the members are listed in changes no
  figure.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import item
from tongban.bundles.compose import ElementInfo, Ledger, Member, compose
from tongban.catalog.schemas import ItemIn

ELEMENT_CODES = [f"DE.E{i}" for i in range(8)]
ELEMENTS = {c: ElementInfo(c, c, "string") for c in ELEMENT_CODES}
DEPARTMENTS = ["QX-A", "QX-B", "QX-C"]
E_LICENCES = {"QX-Z-1#ID", "QX-Z-2#SEAL"}
FIGURES = ("forms", "fields", "materials", "steps", "visits")


@st.composite
def members(draw: st.DrawFn) -> list[Member]:
    count = draw(st.integers(min_value=1, max_value=5))
    codes = [f"X-M-{i}" for i in range(count)]
    outputs: dict[str, list[str]] = {}
    built: list[Member] = []
    for i, code in enumerate(codes):
        out_elements = draw(st.lists(st.sampled_from(ELEMENT_CODES), max_size=2, unique=True))
        outputs[code] = ["OUT"] if out_elements or draw(st.booleans()) else []
        depends = tuple(sorted(draw(st.sets(st.sampled_from(codes[:i]), max_size=2))) if i else ())
        fields = draw(st.lists(st.sampled_from(ELEMENT_CODES), max_size=4, unique=True))
        materials = []
        for j in range(draw(st.integers(min_value=0, max_value=4))):
            kind = draw(st.sampled_from(["applicant", "item_output", "e_licence", "shared_data"]))
            material: dict[str, Any] = {
                "code": f"M{j}",
                "name_zh": draw(st.sampled_from(["身份证", "合同", "证明", "照片"])),
                "name_en": "m",
                "elements": draw(st.lists(st.sampled_from(ELEMENT_CODES), max_size=2, unique=True)),
            }
            if kind == "item_output":
                material["source"] = "item_output"
                producer = draw(st.sampled_from(codes))
                material["source_ref"] = f"{producer}#OUT"
            elif kind == "e_licence":
                material["source"] = "e_licence"
                material["source_ref"] = draw(st.sampled_from([*sorted(E_LICENCES), "QX-Z-9#NO"]))
            elif kind == "shared_data":
                material["source"] = "shared_data"
                material["source_ref"] = draw(st.sampled_from([*DEPARTMENTS, "QX-UNKNOWN"]))
            materials.append(material)
        steps = []
        if draw(st.booleans()):
            steps.append(_step("S0", "acceptance", draw(st.integers(0, 3))))
        for j in range(draw(st.integers(min_value=0, max_value=3))):
            steps.append(_step(f"R{j}", "review", draw(st.integers(0, 5))))
        if draw(st.booleans()):
            steps.append(_step("S9", "delivery", draw(st.integers(0, 3))))
        window = sum(s["limit_days"] for s in steps if s["kind"] in ("acceptance", "delivery"))
        legal = window + draw(st.integers(min_value=0, max_value=20))
        data = item(
            code,
            draw(st.sampled_from(DEPARTMENTS)),
            form=[
                {"code": f"F{k}", "label_zh": e, "label_en": e, "element": e}
                for k, e in enumerate(fields)
            ],
            materials=materials,
            steps=steps,
            outputs=[
                {
                    "code": "OUT",
                    "name_zh": "结果",
                    "name_en": "out",
                    "kind": "certificate",
                    "elements": out_elements,
                }
            ]
            if outputs[code]
            else [],
            time_limit={"legal": legal, "promised": draw(st.integers(window, legal))},
            visits=draw(st.integers(min_value=0, max_value=3)),
            channels=draw(st.sampled_from([["window"], ["window", "mail"], ["online"]])),
        )
        built.append(Member(ItemIn.model_validate(data), 1, depends))
    return built


def _step(code: str, kind: str, days: int) -> dict[str, Any]:
    return {
        "code": code,
        "kind": kind,
        "name_zh": code,
        "name_en": code,
        "responsible": "QX-A",
        "limit_days": days,
    }


def _compose(listed: list[Member]) -> Ledger:
    return compose(
        listed,
        elements=ELEMENTS,
        lead="QX-A",
        e_licences=E_LICENCES,
        departments=DEPARTMENTS,
    )


def _ancestors(listed: list[Member]) -> dict[str, set[str]]:
    deps = {m.item.implementation_code: set(m.depends_on) for m in listed}
    found: dict[str, set[str]] = {}

    def walk(code: str) -> set[str]:
        if code not in found:
            found[code] = set()
            for d in deps[code]:
                found[code] |= {d} | walk(d)
        return found[code]

    for code in deps:
        walk(code)
    return found


@settings(max_examples=150, deadline=None)
@given(members())
def test_the_ledger_adds_up_and_names_real_sources(listed: list[Member]) -> None:
    ledger = _compose(listed)
    for figure in FIGURES:
        gone = sum(r.amount for r in ledger.removed[figure])
        assert getattr(ledger.before, figure) - gone == getattr(ledger.after, figure), figure
    for kind, amount in (("legal", "amount"), ("promised", "amount_promised")):
        gone = sum(getattr(r, amount) for r in ledger.removed["days"])
        assert ledger.before.days[kind] - gone == ledger.after.days[kind], kind

    by_code = {m.item.implementation_code: m.item for m in listed}
    ancestors = _ancestors(listed)
    outputs = {f"{c}#{o.code}" for c, i in by_code.items() for o in i.outputs}
    kept_fields = {ref for f in ledger.fields for ref in f.asked_by}
    kept_materials = {ref for m in ledger.materials for ref in m.asked_by}
    for figure in ("fields", "materials", "forms", "steps"):
        for line in ledger.removed[figure]:
            assert line.source, (figure, line)
            if line.rule == "member_output":
                assert line.source in outputs, line
                producer = line.source.split("#", 1)[0]
                assert producer in ancestors[line.item], f"{producer} does not run before {line}"
            elif line.rule == "e_licence":
                assert line.source in E_LICENCES, line
            elif line.rule == "shared_data":
                assert line.source in DEPARTMENTS, line
            elif line.rule == "same_element":
                assert line.source in kept_fields, line
            elif line.rule == "same_material":
                assert line.source in kept_materials, line

    # Never below what is still needed: every element asked and not produced before its asker,
    # every step that is not a merged acceptance or delivery, a trip when anyone must come.
    needed = {
        f.element
        for code, it in by_code.items()
        for f in it.form
        if not any(f.element in o.elements for a in ancestors[code] for o in by_code[a].outputs)
    }
    assert ledger.after.fields >= len(needed)
    own_steps = sum(
        1
        for it in by_code.values()
        for s in it.steps
        if s.kind.value not in ("acceptance", "delivery")
    )
    assert ledger.after.steps >= own_steps
    if any(it.visits for it in by_code.values()):
        assert ledger.after.visits >= 1

    assert _compose(listed).as_dict() == ledger.as_dict()  # deterministic
    shuffled = _compose(list(reversed(listed)))
    for figure in FIGURES:
        assert getattr(shuffled.after, figure) == getattr(ledger.after, figure), figure
    assert shuffled.after.days == ledger.after.days
