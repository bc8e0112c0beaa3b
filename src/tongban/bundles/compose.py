"""Composing a one-thing bundle: deterministic, explained, and never silent.

Input: the bundle's members (each an item's content, its stage and what it depends on) and the
shared-data sources. Output: a ``Ledger`` with the figures before and after, and every removed
form, field, material, step, visit and day with the rule that removed it.

Rules (each has a stable id, used in the ledger):

- ``one_form`` (一表通用): the first member's form grows into the one unified form; every other
  member's form is folded into it.
- ``same_element``: a field whose data element is already asked by an earlier member is asked
  once; it merges into the first field that asked it. ``required`` wins over optional.
- ``member_output``: a material whose data comes from another member's output (its ``source_ref``
  names a member, or every element it carries is produced by a member it depends on).
- ``e_licence``: a material available as an electronic licence (电子证照).
- ``shared_data``: a material available from a shared data source (数据共享): the material's
  declared source, or a source that the data-sharing hub lists for all its elements.
- ``same_material``: the same material (same carried data elements, or the same name when it
  carries none) asked by several members is submitted once.
- ``single_window_acceptance`` and ``single_delivery``: one acceptance at the single window and
  one delivery replace each member's own (the ledger lists them under ``added``).
- Time: before is the sum of the members' limits (separate applications, one after another);
  after is the bundle's acceptance, the critical path through the dependency graph (members'
  limits without their own acceptance and delivery, independent members in parallel), and the
  bundle's delivery.
- Visits: before is the sum; after is the most that any one applicable member needs (one trip
  to the single window serves them all).

Conflicts are reported, not hidden: two distinct data elements with the same Chinese name but a
different type, format or allowed values are probably one datum defined twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tongban.catalog.schemas import ItemIn
from tongban.org import units

MERGED_STEP_KINDS = {"acceptance": "single_window_acceptance", "delivery": "single_delivery"}


@dataclass(frozen=True)
class ElementInfo:
    """What composition needs to know about a data element."""

    code: str
    name_zh: str
    data_type: str
    format: str = ""
    allowed_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Member:
    item: ItemIn
    stage: int = 1
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Removal:
    item: str
    code: str
    name: str  # Chinese
    rule: str
    reason: str
    kept_as: str | None = None
    name_en: str = ""


@dataclass(frozen=True)
class Addition:
    """Something the bundle adds in place of what it removed (its single-window steps)."""

    code: str
    name: str  # Chinese
    reason: str
    name_en: str = ""


@dataclass(frozen=True)
class UnifiedField:
    element: str
    label_zh: str
    label_en: str
    required: bool
    asked_by: tuple[str, ...]  # "ITEM#FIELD" for every member field merged here
    prefilled_from: str | None = None  # the authoritative source department, when known


@dataclass(frozen=True)
class UnifiedMaterial:
    code: str
    name_zh: str
    name_en: str
    necessity: str
    asked_by: tuple[str, ...]


@dataclass(frozen=True)
class ComposedStep:
    code: str
    kind: str
    name_zh: str
    name_en: str
    responsible: str
    limit_days: int
    item: str | None  # None for the bundle's own single-window steps
    lane: str


@dataclass(frozen=True)
class Conflict:
    kind: str
    elements: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class Figures:
    forms: int
    fields: int
    materials: int
    steps: int
    visits: int
    days: dict[str, int]


@dataclass
class Ledger:
    before: Figures
    after: Figures
    removed: dict[str, list[Any]]
    added: dict[str, list[Addition]]
    fields: list[UnifiedField]
    materials: list[UnifiedMaterial]
    steps: list[ComposedStep]
    conflicts: list[Conflict]
    critical_path: dict[str, list[str]]
    members: list[str]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CompositionError(ValueError):
    """The bundle cannot be composed (a cycle, a dependency on a non-member)."""


@dataclass(frozen=True)
class Node:
    """A member as the dependency graph sees it."""

    code: str
    stage: int = 1
    depends_on: tuple[str, ...] = ()


def topological_order(nodes: Sequence[Node]) -> list[str]:
    """Codes in dependency order (stable: by stage, then list order); raises on a cycle or on a
    dependency that is not a member."""
    position = {n.code: i for i, n in enumerate(nodes)}
    for n in nodes:
        for dep in n.depends_on:
            if dep not in position:
                raise CompositionError(f"{n.code} depends on {dep}, which is not a member")
    by_code = {n.code: n for n in nodes}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(code: str, trail: list[str]) -> None:
        if state.get(code) == 2:
            return
        if state.get(code) == 1:
            cycle = [*trail[trail.index(code) :], code]
            raise CompositionError("dependency cycle: " + " → ".join(cycle))
        state[code] = 1
        for dep in by_code[code].depends_on:
            visit(dep, [*trail, code])
        state[code] = 2
        order.append(code)

    for n in sorted(nodes, key=lambda n: (n.stage, position[n.code])):
        visit(n.code, [])
    return order


def _material_key(elements: Sequence[str], name_zh: str) -> tuple[str, ...]:
    return tuple(sorted(set(elements))) if elements else ("name:" + name_zh.strip(),)


def compose(
    members: Sequence[Member],
    *,
    elements: Mapping[str, ElementInfo],
    shared_sources: Mapping[str, str] | None = None,
    authoritative: Mapping[str, str] | None = None,
) -> Ledger:
    """Compose the members (already filtered to those that apply) into one service.

    ``shared_sources`` maps a data element code to the department that shares it; a material
    whose every element is shared needs no upload. ``authoritative`` maps an element to its
    legally authoritative source, from which the unified form is prefilled.
    """
    shared = dict(shared_sources or {})
    order = topological_order(
        [Node(m.item.implementation_code, m.stage, m.depends_on) for m in members]
    )
    by_code = {m.item.implementation_code: m for m in members}
    removed: dict[str, list[Any]] = {
        k: [] for k in ("forms", "fields", "materials", "steps", "visits", "days")
    }
    ancestors = _ancestors(members)

    # ---- forms and fields
    fields: dict[str, dict[str, Any]] = {}
    forms_before = 0
    fields_before = 0
    for code in order:
        item = by_code[code].item
        if item.form:
            forms_before += 1
        for f in item.form:
            fields_before += 1
            ref = f"{code}#{f.code}"
            if f.element in fields:
                kept = fields[f.element]
                kept["asked_by"].append(ref)
                kept["required"] = kept["required"] or f.required
                removed["fields"].append(
                    Removal(
                        code,
                        f.code,
                        f.label_zh,
                        "same_element",
                        f"{f.element} is already asked by {kept['asked_by'][0]}",
                        kept["asked_by"][0],
                        f.label_en,
                    )
                )
            else:
                fields[f.element] = {
                    "element": f.element,
                    "label_zh": f.label_zh,
                    "label_en": f.label_en,
                    "required": f.required,
                    "asked_by": [ref],
                }
    forms_after = 1 if fields else 0
    with_forms = [c for c in order if by_code[c].item.form]
    # The first member's form grows into the unified form; every other form is folded into it.
    for code in with_forms[1:]:
        if forms_after:
            removed["forms"].append(
                Removal(
                    code,
                    code,
                    by_code[code].item.name_zh,
                    "one_form",
                    "its form is folded into the bundle's one unified form",
                    with_forms[0],
                    by_code[code].item.name_en,
                )
            )
    unified_fields = [
        UnifiedField(
            element=f["element"],
            label_zh=f["label_zh"],
            label_en=f["label_en"],
            required=f["required"],
            asked_by=tuple(f["asked_by"]),
            prefilled_from=(authoritative or {}).get(f["element"]),
        )
        for f in fields.values()
    ]

    # ---- materials
    outputs_by_member = {
        code: {e for o in by_code[code].item.outputs for e in o.elements} for code in order
    }
    output_refs = {f"{code}#{o.code}" for code in order for o in by_code[code].item.outputs}
    kept_materials: dict[tuple[str, ...], dict[str, Any]] = {}
    materials_before = 0
    for code in order:
        for m in by_code[code].item.materials:
            materials_before += 1
            ref_item = m.source_ref.split("#", 1)[0]
            produced = (
                set().union(*(outputs_by_member[a] for a in ancestors[code]))
                if ancestors[code]
                else set()
            )
            rule, reason = "", ""
            if m.source.value == "item_output" and (
                ref_item in by_code or m.source_ref in output_refs
            ):
                rule, reason = "member_output", f"produced by member {m.source_ref}"
            elif m.elements and set(m.elements) <= produced:
                rule, reason = (
                    "member_output",
                    "every datum it carries is produced by an earlier member",
                )
            elif m.source.value == "e_licence":
                rule, reason = "e_licence", f"available as an e-licence ({m.source_ref})"
            elif m.source.value == "shared_data":
                rule, reason = (
                    "shared_data",
                    f"shared by {m.source_ref or 'its authoritative source'}",
                )
            elif m.elements and all(e in shared for e in m.elements):
                sources = sorted({shared[e] for e in m.elements})
                rule, reason = (
                    "shared_data",
                    "every datum it carries is shared by " + ", ".join(sources),
                )
            if rule:
                removed["materials"].append(
                    Removal(code, m.code, m.name_zh, rule, reason, name_en=m.name_en)
                )
                continue
            key = _material_key(m.elements, m.name_zh)
            if key in kept_materials:
                first = kept_materials[key]
                first["asked_by"].append(f"{code}#{m.code}")
                removed["materials"].append(
                    Removal(
                        code,
                        m.code,
                        m.name_zh,
                        "same_material",
                        f"the same material is already asked by {first['asked_by'][0]}",
                        first["asked_by"][0],
                        m.name_en,
                    )
                )
                continue
            kept_materials[key] = {
                "code": f"{code}#{m.code}",
                "name_zh": m.name_zh,
                "name_en": m.name_en,
                "necessity": m.necessity.value,
                "asked_by": [f"{code}#{m.code}"],
            }
    unified_materials = [
        UnifiedMaterial(k["code"], k["name_zh"], k["name_en"], k["necessity"], tuple(k["asked_by"]))
        for k in kept_materials.values()
    ]

    # ---- steps
    steps: list[ComposedStep] = []
    steps_before = 0
    merged: dict[str, list[tuple[str, Any]]] = {"acceptance": [], "delivery": []}
    for code in order:
        item = by_code[code].item
        for s in item.steps:
            steps_before += 1
            if s.kind.value in MERGED_STEP_KINDS:
                merged[s.kind.value].append((code, s))
                continue
            lane = units.lane_of(s.responsible, item.department)
            steps.append(
                ComposedStep(
                    f"{code}#{s.code}",
                    s.kind.value,
                    s.name_zh,
                    s.name_en,
                    s.responsible,
                    s.limit_days,
                    code,
                    lane,
                )
            )
    lead = by_code[order[0]].item.department if order else ""
    bundle_steps: dict[str, ComposedStep] = {}
    for kind, rule in MERGED_STEP_KINDS.items():
        found = merged[kind]
        if not found:
            continue
        limit = max(s.limit_days for _, s in found)
        name = {
            "acceptance": ("一窗受理", "Single-window acceptance"),
            "delivery": ("统一出件", "Single delivery"),
        }[kind]
        bundle_steps[kind] = ComposedStep(
            f"BUNDLE#{kind}", kind, name[0], name[1], "single_window", limit, None, lead
        )
        for code, s in found:
            removed["steps"].append(
                Removal(
                    code,
                    s.code,
                    s.name_zh,
                    rule,
                    f"replaced by the bundle's {name[1].lower()}",
                    f"BUNDLE#{kind}",
                    s.name_en,
                )
            )
    added: dict[str, list[Addition]] = {"steps": []}
    for step in bundle_steps.values():
        added["steps"].append(
            Addition(
                step.code,
                step.name_zh,
                f"replaces the members' own {step.kind} steps",
                step.name_en,
            )
        )
    if "acceptance" in bundle_steps:
        steps.insert(0, bundle_steps["acceptance"])
    if "delivery" in bundle_steps:
        steps.append(bundle_steps["delivery"])

    # ---- time
    days_before = {
        "legal": sum(by_code[c].item.time_limit.legal for c in order),
        "promised": sum(by_code[c].item.time_limit.promised for c in order),
    }
    days_after: dict[str, int] = {}
    critical: dict[str, list[str]] = {}
    for kind in ("legal", "promised"):
        own = {}
        for code in order:
            item = by_code[code].item
            limit = getattr(item.time_limit, kind)
            merged_days = sum(s.limit_days for s in item.steps if s.kind.value in MERGED_STEP_KINDS)
            own[code] = max(limit - merged_days, 0)
        finish: dict[str, int] = {}
        via: dict[str, str | None] = {}
        for code in order:
            deps = by_code[code].depends_on
            start = max((finish[d] for d in deps), default=0)
            via[code] = max(deps, key=lambda d: finish[d]) if deps else None
            finish[code] = start + own[code]
        end = max(order, key=lambda c: finish[c]) if order else None
        path: list[str] = []
        while end is not None:
            path.append(end)
            end = via[end]
        critical[kind] = list(reversed(path))
        edges = sum(s.limit_days for s in bundle_steps.values())
        days_after[kind] = (max(finish.values()) if finish else 0) + edges
    saved = days_before["legal"] - days_after["legal"]
    parallel = [c for c in order if c not in critical["legal"]]
    if parallel:
        removed["days"].append(
            Removal(
                "BUNDLE",
                "parallel",
                "并联办理",
                "parallel_review",
                f"{len(parallel)} members run beside the critical path: " + ", ".join(parallel),
                name_en="Parallel review",
            )
        )
    if bundle_steps:
        removed["days"].append(
            Removal(
                "BUNDLE",
                "single_window",
                "一窗受理、统一出件",
                "single_window_acceptance",
                "each member's own acceptance and delivery days are replaced by the bundle's",
                name_en="Single-window acceptance and delivery",
            )
        )

    # ---- visits
    visits_before = sum(by_code[c].item.visits for c in order)
    visits_after = max((by_code[c].item.visits for c in order), default=0)
    busiest = max(order, key=lambda c: by_code[c].item.visits) if order else None
    for code in order:
        trips = by_code[code].item.visits
        if trips and code != busiest:
            removed["visits"].append(
                Removal(
                    code,
                    code,
                    by_code[code].item.name_zh,
                    "single_window_visit",
                    f"its {trips} trip(s) are served by the bundle's single window",
                    name_en=by_code[code].item.name_en,
                )
            )

    conflicts = _conflicts(fields, elements)
    notes = []
    if saved < 0:
        notes.append("the bundle's legal time is longer than the members' sum")
    return Ledger(
        before=Figures(
            forms_before, fields_before, materials_before, steps_before, visits_before, days_before
        ),
        after=Figures(
            forms_after,
            len(unified_fields),
            len(unified_materials),
            len(steps),
            visits_after,
            days_after,
        ),
        removed=removed,
        added=added,
        fields=unified_fields,
        materials=unified_materials,
        steps=steps,
        conflicts=conflicts,
        critical_path=critical,
        members=order,
        notes=notes,
    )


def _ancestors(members: Sequence[Member]) -> dict[str, set[str]]:
    deps = {m.item.implementation_code: set(m.depends_on) for m in members}
    result: dict[str, set[str]] = {}

    def walk(code: str) -> set[str]:
        if code not in result:
            result[code] = set()
            for d in deps.get(code, ()):
                result[code] |= {d} | walk(d)
        return result[code]

    for code in deps:
        walk(code)
    return result


def _conflicts(fields: Mapping[str, Any], elements: Mapping[str, ElementInfo]) -> list[Conflict]:
    by_name: dict[str, list[ElementInfo]] = {}
    for code in fields:
        info = elements.get(code)
        if info is not None:
            by_name.setdefault(info.name_zh, []).append(info)
    out: list[Conflict] = []
    for name, infos in by_name.items():
        if len(infos) < 2:
            continue
        shapes = {(i.data_type, i.format, i.allowed_values) for i in infos}
        codes = tuple(sorted(i.code for i in infos))
        if len(shapes) > 1:
            out.append(
                Conflict(
                    "definition",
                    codes,
                    f"'{name}' is defined by {', '.join(codes)} "
                    "with different type, format or allowed values",
                )
            )
        else:
            out.append(
                Conflict(
                    "duplicate",
                    codes,
                    f"'{name}' is defined twice ({', '.join(codes)}); it is asked twice",
                )
            )
    return out


def step_links(ledger: Ledger, depends_on: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """The links between the composed steps (``ComposedStep.code``), as the case engine runs
    them: one function, read by the engine (a case's ``step_link`` rows), the BPMN export and the
    ledger, so that what the ledger counts and the chart shows is what a case will do.

    A member's own steps run in order. Its first step waits for the last step of every member
    it depends on (through a member without steps of its own, for that member's inputs), or for
    the single window's acceptance when it depends on nothing. Delivery waits for every member
    that nothing depends on."""
    by_member: dict[str, list[str]] = {}
    window: dict[str, str] = {}
    for step in ledger.steps:
        if step.item is None:
            window.setdefault(step.kind, step.code)
        else:
            by_member.setdefault(step.item, []).append(step.code)
    acceptance, delivery = window.get("acceptance"), window.get("delivery")
    start = [acceptance] if acceptance else []

    def exits(member: str, seen: frozenset[str] = frozenset()) -> list[str]:
        """The steps after which a member counts as done."""
        own = by_member.get(member)
        if own:
            return [own[-1]]
        found = [
            e
            for d in depends_on.get(member, ())
            if d not in seen
            for e in exits(d, seen | {member})
        ]
        return found or start

    links: list[tuple[str, str]] = []
    for member in ledger.members:
        own = by_member.get(member, [])
        links += list(itertools.pairwise(own))
        if own:
            entries = [e for d in depends_on.get(member, ()) for e in exits(d)] or start
            links += [(e, own[0]) for e in dict.fromkeys(entries)]
    if delivery:
        needed = {d for m in ledger.members for d in depends_on.get(m, ())}
        ends = [e for m in ledger.members if m not in needed for e in exits(m)] or start
        links += [(e, delivery) for e in dict.fromkeys(ends)]
    return list(dict.fromkeys(links))
