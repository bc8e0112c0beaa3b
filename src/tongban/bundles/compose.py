"""Composing a one-thing bundle: deterministic, explained, and never silent.

Input: the bundle's members (each an item's content, its stage and what it depends on), the
bundle's lead department and the sources that exist (e-licence types, shared data). Output: a
``Ledger`` with the figures before and after, and every removed form, field, material, step,
visit and day with the rule that removed it and the source that makes it unnecessary.

For every figure, ``before − Σ removed = after`` (a removed line has an ``amount``: 1 for a form,
a field, a material or a step; trips for visits; days for days). Nothing is removed by a guess:
every removed line names a source that exists and, for another member's output, runs before the
member whose line it removes.

Rules (each has a stable id, used in the ledger):

- ``one_form`` (一表通用): the first member's form grows into the one unified form; every other
  member's form is folded into it.
- ``same_element``: a field whose data element is already asked by an earlier member is asked
  once; it merges into the first field that asked it. ``required`` wins over optional. It comes
  before ``member_output``: a datum on the form already (the producer itself asks it of the
  applicant) is taken from the form, and nothing waits for the producer to record it.
- ``member_output`` (fields and materials): the datum or the document is produced by a member
  that runs before the member asking for it (an ancestor in the dependency graph). For a
  material its ``source`` is ``item_output`` and its ``source_ref`` names ``ITEM#OUTPUT`` of such
  a member; for a field, an output of such a member carries the field's data element. The
  applicant is not asked; the case fills the datum when the producing member's step completes.
  An output of a member that does *not* run before stays asked for.
- ``e_licence``: a material whose ``source_ref`` names an e-licence type that exists (an output
  of a published item marked ``e_licence``).
- ``shared_data``: a material available from a shared data source of the catalogue: its
  ``source`` is ``shared_data`` and its ``source_ref`` names a department that exists (after the
  data-sharing hub, a granted resource), or every data element it carries is listed in
  ``shared_sources``.
- ``same_material``: the same material (same carried data elements, or the same name when it
  carries none) asked by several members is submitted once.
- ``single_window_acceptance`` and ``single_delivery``: one acceptance at the single window and
  one delivery replace each member's own (the ledger lists them under ``added``). They belong to
  the bundle's lead department. Their limit is the shortest of the members' own (the strictest
  law binds the joint step).
- Days: before is the sum of the members' limits (separate applications, one after another).
  A member's own part is its limit less its own acceptance and delivery days, spent along its
  chain of steps. After is the longest path of the graph the case engine runs
  (``links_between`` the composed steps, the one function the engine and the BPMN export read):
  acceptance, the members' own parts along the dependency graph, delivery. Removed: the members
  off the critical path (``parallel_review``, their days), a member with no step of its own
  (``no_own_steps``: the engine spends none of its days), and the window days saved
  (``single_window_acceptance``, ``single_delivery``).
- Visits are counted per trip: a member with ``visits`` ≥ 1 makes one trip to submit, with
  ``visits`` ≥ 2 one more to collect its result, and any further trips its own. The bundle makes
  one trip to submit (``single_window_visit`` removes the others), one to collect unless every
  member that needs one delivers by post or electronically (``single_delivery_visit``,
  ``remote_delivery``), and keeps each member's further trips.

Conflicts are reported, not hidden: two distinct data elements with the same Chinese name but a
different type, format or allowed values are probably one datum defined twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tongban.catalog.completeness import item_gaps, recorded, time_limit, visits
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
    """One removed thing: what (``item``/``code``/``name``), by which rule, the ``source`` that
    makes it unnecessary (a member's output, an e-licence type, a department sharing the data,
    the unified form or the bundle's own step), and how much of its figure it removes."""

    item: str
    code: str
    name: str  # Chinese
    rule: str
    reason: str
    kept_as: str | None = None
    name_en: str = ""
    amount: int = 1
    source: str = ""
    #: for days: the promised days it removes (``amount`` is the legal days)
    amount_promised: int = 0


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
    #: the department that holds the datum by law (数据来源), for information: nothing is
    #: prefilled from it until the data-sharing hub fetches the datum
    authority: str | None = None


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
    #: fields the applicant is not asked: a member that runs before produces them, and the case
    #: fills them when that member's step completes (element → "ITEM#OUTPUT")
    produced: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CompositionError(ValueError):
    """The bundle cannot be composed (a cycle, a dependency on a non-member)."""


class IncompleteMembers(CompositionError):
    """Members whose items have not recorded what composition counts (materials, steps, time
    limits, visits): a figure is never made from a part nobody stated."""

    def __init__(self, gaps: Mapping[str, list[str]]) -> None:
        listed = "; ".join(f"{code}: {', '.join(parts)}" for code, parts in gaps.items())
        super().__init__(f"members with parts not yet recorded — {listed}")
        self.gaps = dict(gaps)


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
    lead: str = "",
    e_licences: Collection[str] = (),
    departments: Collection[str] | None = None,
    shared_sources: Mapping[str, str] | None = None,
    authoritative: Mapping[str, str] | None = None,
) -> Ledger:
    """Compose the members (already filtered to those that apply) into one service.

    ``lead`` is the bundle's lead department (its single-window steps are the lead's; the first
    member's department when not given). ``e_licences`` are the e-licence types that exist
    (``ITEM#OUTPUT`` of outputs marked ``e_licence``); ``departments`` the department codes
    that exist (a material shared by an unknown department stays asked; None: not checked).
    ``shared_sources`` maps a data element to the department that shares it through the hub.
    ``authoritative`` maps an element to its legally authoritative source (information on the
    unified form, never a claim that it is prefilled).
    Every member's item must be complete (``tongban.catalog.completeness``): an incomplete one
    raises ``IncompleteMembers`` naming what is not recorded.
    """
    incomplete = {
        m.item.implementation_code: item_gaps(m.item) for m in members if item_gaps(m.item)
    }
    if incomplete:
        raise IncompleteMembers(incomplete)
    order = topological_order(
        [Node(m.item.implementation_code, m.stage, m.depends_on) for m in members]
    )
    by_code = {m.item.implementation_code: m for m in members}
    ancestors = _ancestors(members)
    lead = lead or (by_code[order[0]].item.department if order else "")
    removed: dict[str, list[Any]] = {k: [] for k in FIGURES}
    producers = _producers(order, by_code)

    forms_before, fields_before, unified_fields, produced = _fields(
        order, by_code, ancestors, producers, removed, authoritative or {}
    )
    materials_before, unified_materials = _materials(
        order,
        by_code,
        ancestors,
        removed,
        e_licences=set(e_licences),
        departments=None if departments is None else set(departments),
        shared=dict(shared_sources or {}),
    )
    steps, steps_before, bundle_steps, added = _steps(order, by_code, lead, removed)
    depends = {c: list(by_code[c].depends_on) for c in order}
    days_before, days_after, critical = _days(order, by_code, steps, bundle_steps, depends, removed)
    visits_before, visits_after = _visits(order, by_code, removed)

    conflicts = _conflicts({f.element: f for f in unified_fields}, elements)
    notes = []
    if days_after["legal"] > days_before["legal"]:
        notes.append("the bundle's legal time is longer than the members' sum")
    return Ledger(
        before=Figures(
            forms_before, fields_before, materials_before, steps_before, visits_before, days_before
        ),
        after=Figures(
            1 if unified_fields else 0,
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
        produced=produced,
    )


FIGURES = ("forms", "fields", "materials", "steps", "visits", "days")


def _producers(order: Sequence[str], by_code: Mapping[str, Member]) -> dict[str, dict[str, str]]:
    """Per member, the data elements its outputs carry: element → ``ITEM#OUTPUT``."""
    found: dict[str, dict[str, str]] = {}
    for code in order:
        own: dict[str, str] = {}
        for output in by_code[code].item.outputs:
            for element in output.elements:
                own.setdefault(element, f"{code}#{output.code}")
        found[code] = own
    return found


def _fields(
    order: Sequence[str],
    by_code: Mapping[str, Member],
    ancestors: Mapping[str, set[str]],
    producers: Mapping[str, Mapping[str, str]],
    removed: dict[str, list[Any]],
    authoritative: Mapping[str, str],
) -> tuple[int, int, list[UnifiedField], dict[str, str]]:
    fields: dict[str, dict[str, Any]] = {}
    produced: dict[str, str] = {}
    forms_before = fields_before = 0
    for code in order:
        item = by_code[code].item
        if item.form:
            forms_before += 1
        for f in item.form:
            fields_before += 1
            if f.element in fields:
                kept = fields[f.element]
                kept["asked_by"].append(f"{code}#{f.code}")
                kept["required"] = kept["required"] or f.required
                first = kept["asked_by"][0]
                removed["fields"].append(
                    Removal(
                        code,
                        f.code,
                        f.label_zh,
                        "same_element",
                        f"{f.element} is already asked by {first}",
                        first,
                        f.label_en,
                        source=first,
                    )
                )
                continue
            source = next(
                (
                    producers[a][f.element]
                    for a in order
                    if a in ancestors[code] and f.element in producers[a]
                ),
                None,
            )
            if source is not None:
                produced.setdefault(f.element, source)
                removed["fields"].append(
                    Removal(
                        code,
                        f.code,
                        f.label_zh,
                        "member_output",
                        f"{f.element} is produced by {source}, which runs before {code}",
                        name_en=f.label_en,
                        source=source,
                    )
                )
                continue
            fields[f.element] = {
                "element": f.element,
                "label_zh": f.label_zh,
                "label_en": f.label_en,
                "required": f.required,
                "asked_by": [f"{code}#{f.code}"],
            }
    # A datum that the applicant is asked anyway (for a member that does not run after its
    # producer) is on the form: nothing waits for the producer to record it.
    produced = {e: src for e, src in produced.items() if e not in fields}
    with_forms = [c for c in order if by_code[c].item.form]
    # The first member's form grows into the unified form; every other form is folded into it
    # (when no field is left to ask, every form goes and no unified form is needed).
    keep = with_forms[:1] if fields else []
    for code in with_forms:
        if code in keep:
            continue
        removed["forms"].append(
            Removal(
                code,
                code,
                by_code[code].item.name_zh,
                "one_form",
                "its form is folded into the bundle's one unified form"
                if keep
                else "every datum it asks is produced by the bundle itself",
                keep[0] if keep else None,
                by_code[code].item.name_en,
                source=keep[0] if keep else "BUNDLE",
            )
        )
    unified = [
        UnifiedField(
            element=f["element"],
            label_zh=f["label_zh"],
            label_en=f["label_en"],
            required=f["required"],
            asked_by=tuple(f["asked_by"]),
            authority=authoritative.get(f["element"]),
        )
        for f in fields.values()
    ]
    return forms_before, fields_before, unified, produced


def _materials(
    order: Sequence[str],
    by_code: Mapping[str, Member],
    ancestors: Mapping[str, set[str]],
    removed: dict[str, list[Any]],
    *,
    e_licences: set[str],
    departments: set[str] | None,
    shared: Mapping[str, str],
) -> tuple[int, list[UnifiedMaterial]]:
    outputs = {f"{code}#{o.code}": code for code in order for o in by_code[code].item.outputs}
    kept: dict[tuple[str, ...], dict[str, Any]] = {}
    before = 0
    for code in order:
        for m in recorded(by_code[code].item, "materials"):
            before += 1
            rule, reason, source = _material_source(
                m, code, outputs, ancestors[code], e_licences, departments, shared
            )
            if rule:
                removed["materials"].append(
                    Removal(code, m.code, m.name_zh, rule, reason, name_en=m.name_en, source=source)
                )
                continue
            key = _material_key(m.elements, m.name_zh)
            if key in kept:
                first = kept[key]
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
                        source=first["asked_by"][0],
                    )
                )
                continue
            kept[key] = {
                "code": f"{code}#{m.code}",
                "name_zh": m.name_zh,
                "name_en": m.name_en,
                "necessity": m.necessity.value,
                "asked_by": [f"{code}#{m.code}"],
            }
    unified = [
        UnifiedMaterial(k["code"], k["name_zh"], k["name_en"], k["necessity"], tuple(k["asked_by"]))
        for k in kept.values()
    ]
    return before, unified


def _material_source(
    m: Any,
    code: str,
    outputs: Mapping[str, str],
    ancestors: set[str],
    e_licences: set[str],
    departments: set[str] | None,
    shared: Mapping[str, str],
) -> tuple[str, str, str]:
    """(rule, reason, source) when a real source makes the material unnecessary, else empty."""
    source = m.source.value
    if source == "item_output":
        producer = outputs.get(m.source_ref)
        if producer is not None and producer in ancestors:
            return "member_output", f"produced by member {m.source_ref}", m.source_ref
        return "", "", ""  # not produced in this bundle before it is needed: still asked
    if source == "e_licence":
        if m.source_ref in e_licences:
            return "e_licence", f"available as an e-licence ({m.source_ref})", m.source_ref
        return "", "", ""
    if source == "shared_data" and m.source_ref:
        if departments is None or m.source_ref in departments:
            return "shared_data", f"shared by {m.source_ref}", m.source_ref
        return "", "", ""
    if m.elements and all(e in shared for e in m.elements):
        sources = sorted({shared[e] for e in m.elements})
        return (
            "shared_data",
            "every datum it carries is shared by " + ", ".join(sources),
            ", ".join(sources),
        )
    return "", "", ""


_WINDOW_NAMES = {
    "acceptance": ("一窗受理", "Single-window acceptance"),
    "delivery": ("统一出件", "Single delivery"),
}


def _steps(
    order: Sequence[str], by_code: Mapping[str, Member], lead: str, removed: dict[str, list[Any]]
) -> tuple[list[ComposedStep], int, dict[str, ComposedStep], dict[str, list[Addition]]]:
    steps: list[ComposedStep] = []
    before = 0
    merged: dict[str, list[tuple[str, Any]]] = {"acceptance": [], "delivery": []}
    for code in order:
        item = by_code[code].item
        for s in recorded(item, "steps"):
            before += 1
            if s.kind.value in MERGED_STEP_KINDS:
                merged[s.kind.value].append((code, s))
                continue
            steps.append(
                ComposedStep(
                    f"{code}#{s.code}",
                    s.kind.value,
                    s.name_zh,
                    s.name_en,
                    s.responsible,
                    s.limit_days,
                    code,
                    units.lane_of(s.responsible, item.department),
                )
            )
    bundle_steps: dict[str, ComposedStep] = {}
    for kind, rule in MERGED_STEP_KINDS.items():
        found = merged[kind]
        if not found:
            continue
        zh, en = _WINDOW_NAMES[kind]
        limit = min(s.limit_days for _, s in found)  # the strictest law binds the joint step
        bundle_steps[kind] = ComposedStep(
            f"BUNDLE#{kind}", kind, zh, en, "single_window", limit, None, lead
        )
        # The first member's step becomes the bundle's (as the first form grows into the unified
        # form); the others are removed into it.
        for code, s in found[1:]:
            removed["steps"].append(
                Removal(
                    code,
                    s.code,
                    s.name_zh,
                    rule,
                    f"replaced by the bundle's {en.lower()}",
                    f"BUNDLE#{kind}",
                    s.name_en,
                    source=f"BUNDLE#{kind}",
                )
            )
    added: dict[str, list[Addition]] = {
        "steps": [
            Addition(
                step.code,
                step.name_zh,
                f"replaces the members' own {step.kind} steps",
                step.name_en,
            )
            for step in bundle_steps.values()
        ]
    }
    if "acceptance" in bundle_steps:
        steps.insert(0, bundle_steps["acceptance"])
    if "delivery" in bundle_steps:
        steps.append(bundle_steps["delivery"])
    return steps, before, bundle_steps, added


def _days(
    order: Sequence[str],
    by_code: Mapping[str, Member],
    steps: Sequence[ComposedStep],
    bundle_steps: Mapping[str, ComposedStep],
    depends: Mapping[str, Sequence[str]],
    removed: dict[str, list[Any]],
) -> tuple[dict[str, int], dict[str, int], dict[str, list[str]]]:
    """Before: the members' limits one after another. After: the longest path of the graph the
    case engine runs (``links_between`` the composed steps: the one function the engine and the
    BPMN export read too); a member's own part (its limit less its own acceptance and delivery
    days) is spent along its chain of steps, the bundle's acceptance and delivery take their
    limit. The removed lines add up to the difference, legal (``amount``) and promised
    (``amount_promised``) alike."""
    links = links_between(steps, order, depends)
    codes = [s.code for s in steps]
    incoming: dict[str, list[str]] = {c: [] for c in codes}
    for a, b in links:
        incoming[b].append(a)
    first_of: dict[str, str] = {}
    for s in steps:
        if s.item is not None:
            first_of.setdefault(s.item, s.code)
    merged_days = {
        code: {
            k: sum(s.limit_days for s in recorded(by_code[code].item, "steps") if s.kind.value == k)
            for k in MERGED_STEP_KINDS
        }
        for code in order
    }
    before: dict[str, int] = {}
    after: dict[str, int] = {}
    critical: dict[str, list[str]] = {}
    lines: dict[tuple[str, str, str], dict[str, Any]] = {}

    def line(item: str, code: str, name: tuple[str, str], rule: str, reason: str) -> dict[str, Any]:
        return lines.setdefault(
            (item, code, rule),
            {
                "item": item,
                "code": code,
                "name": name,
                "rule": rule,
                "reason": reason,
                "legal": 0,
                "promised": 0,
            },
        )

    for kind in ("legal", "promised"):
        own = {
            c: getattr(time_limit(by_code[c].item), kind) - sum(merged_days[c].values())
            for c in order
        }
        before[kind] = sum(getattr(time_limit(by_code[c].item), kind) for c in order)
        weight = {s.code: s.limit_days for s in bundle_steps.values()}
        weight.update({first: own[member] for member, first in first_of.items()})
        finish: dict[str, int] = {}
        via: dict[str, str | None] = {}
        for code in _in_link_order(codes, incoming):
            slowest = max(incoming[code], key=lambda c: finish[c]) if incoming[code] else None
            via[code] = slowest
            finish[code] = (finish[slowest] if slowest else 0) + weight.get(code, 0)
        end = max(codes, key=lambda c: finish[c]) if codes else None
        path: list[str] = []
        while end is not None:
            path.append(end)
            end = via[end]
        on_path = list(dict.fromkeys(s.item for s in steps if s.code in path and s.item))
        critical[kind] = [c for c in order if c in on_path]
        after[kind] = finish[path[0]] if path else 0
        for code in order:
            if code in critical[kind] or not own[code]:
                continue
            item = by_code[code].item
            if code in first_of:
                entry = line(
                    code,
                    code,
                    (item.name_zh, item.name_en),
                    "parallel_review",
                    "runs beside the critical path",
                )
            else:
                entry = line(
                    code,
                    code,
                    (item.name_zh, item.name_en),
                    "no_own_steps",
                    "it has no step of its own beyond the bundle's acceptance and delivery",
                )
            entry[kind] += own[code]
        for k, step in bundle_steps.items():
            saved = sum(merged_days[c][k] for c in order) - step.limit_days
            entry = line(
                "BUNDLE",
                step.code,
                (step.name_zh, step.name_en),
                MERGED_STEP_KINDS[k],
                f"the members' own {k} days are replaced by the bundle's",
            )
            entry[kind] += saved
    for entry in lines.values():
        if entry["legal"] or entry["promised"]:
            removed["days"].append(
                Removal(
                    entry["item"],
                    entry["code"],
                    entry["name"][0],
                    entry["rule"],
                    entry["reason"],
                    name_en=entry["name"][1],
                    amount=entry["legal"],
                    source="BUNDLE#parallel"
                    if entry["rule"] == "parallel_review"
                    else entry["code"]
                    if entry["item"] == "BUNDLE"
                    else "BUNDLE#acceptance",
                    amount_promised=entry["promised"],
                )
            )
    return before, after, critical


def _in_link_order(codes: Sequence[str], incoming: Mapping[str, Sequence[str]]) -> list[str]:
    """The steps so that every step comes after the steps it waits for (the links are a DAG:
    the members' dependency graph is checked for cycles first)."""
    done: set[str] = set()
    order: list[str] = []

    def visit(code: str) -> None:
        if code in done:
            return
        done.add(code)
        for before in incoming[code]:
            visit(before)
        order.append(code)

    for code in codes:
        visit(code)
    return order


def _visits(
    order: Sequence[str], by_code: Mapping[str, Member], removed: dict[str, list[Any]]
) -> tuple[int, int]:
    """Trips, counted one by one (see the module's rules)."""
    before = sum(visits(by_code[c].item) for c in order)
    submitting = [c for c in order if visits(by_code[c].item) >= 1]
    collecting = [c for c in order if visits(by_code[c].item) >= 2]
    in_person = [c for c in collecting if not _delivered_remotely(by_code[c].item)]
    after = (1 if submitting else 0) + (1 if in_person else 0)
    after += sum(max(visits(by_code[c].item) - 2, 0) for c in order)
    for code in submitting[1:]:
        item = by_code[code].item
        removed["visits"].append(
            Removal(
                code,
                f"{code}#submit",
                item.name_zh,
                "single_window_visit",
                f"its trip to submit is the bundle's one trip to the single window "
                f"(with {submitting[0]})",
                submitting[0],
                item.name_en,
                source="BUNDLE#acceptance",
            )
        )
    kept = in_person[:1]
    for code in collecting:
        if code in kept:
            continue
        item = by_code[code].item
        remote = code not in in_person
        removed["visits"].append(
            Removal(
                code,
                f"{code}#collect",
                item.name_zh,
                "remote_delivery" if remote else "single_delivery_visit",
                "its result is delivered by post or electronically: no trip to collect"
                if remote
                else f"its result is collected on the bundle's one trip (with {kept[0]})",
                None if remote else kept[0],
                item.name_en,
                source="BUNDLE#delivery",
            )
        )
    return before, after


def _delivered_remotely(item: ItemIn) -> bool:
    """Its result needs no trip: it can be mailed (邮寄), or every output is an e-licence."""
    by_mail = any(c.value == "mail" for c in item.channels)
    electronic = bool(item.outputs) and all(o.e_licence for o in item.outputs)
    return by_mail or electronic


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
    """:func:`links_between` the ledger's steps."""
    return links_between(ledger.steps, ledger.members, depends_on)


def links_between(
    steps: Sequence[ComposedStep], members: Sequence[str], depends_on: Mapping[str, Sequence[str]]
) -> list[tuple[str, str]]:
    """The links between the composed steps (``ComposedStep.code``), as the case engine runs
    them: one function, read by the engine (a case's ``step_link`` rows), the BPMN export and the
    ledger, so that what the ledger counts and the chart shows is what a case will do.

    A member's own steps run in order. Its first step waits for the last step of every member
    it depends on (through a member without steps of its own, for that member's inputs), or for
    the single window's acceptance when it depends on nothing. Delivery waits for every member
    that nothing depends on."""
    by_member: dict[str, list[str]] = {}
    window: dict[str, str] = {}
    for step in steps:
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
    for member in members:
        own = by_member.get(member, [])
        links += list(itertools.pairwise(own))
        if own:
            entries = [e for d in depends_on.get(member, ()) for e in exits(d)] or start
            links += [(e, own[0]) for e in dict.fromkeys(entries)]
    if delivery:
        needed = {d for m in members for d in depends_on.get(m, ())}
        ends = [e for m in members if m not in needed for e in exits(m)] or start
        links += [(e, delivery) for e in dict.fromkeys(ends)]
    return list(dict.fromkeys(links))
