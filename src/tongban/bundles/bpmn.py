"""BPMN 2.0 export of a composed bundle: an executable process in a pool with a lane per
department, parallel gateways where members run side by side, and diagram information (BPMN DI)
so that any BPMN 2.0 tool draws it.

The flow is the case engine's own (``compose.step_links``): start → single-window acceptance →
the members' own steps along the dependency graph (a parallel split where one step feeds several,
a parallel join where one waits for several) → single delivery → end.

The whole bundle's process decides on the applicant's answers (the process variable ``answers``):
a member that applies only under some answers sits between an exclusive gate, whose flow into it
carries its ``when`` as a Python condition (SpiffWorkflow's expression language), and an exclusive
merge that its skip path reaches too. A personalised export (answers given) holds only the
members that apply, without conditions.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tongban.auth.principal import Principal
from tongban.bundles import compose, service
from tongban.bundles.compose import Ledger
from tongban.catalog import service as catalog_service

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
#: the language of the conditions (BPMN's ``expressionLanguage``): Python, as SpiffWorkflow runs
PYTHON = "https://docs.python.org/3/reference/expressions.html"
SIZES = {"task": (110, 70), "gateway": (50, 50), "event": (36, 36)}
COLUMN_WIDTH = 170
LANE_HEIGHT = 130
ROW_HEIGHT = 95
LANE_LABEL = 30
TASK_KIND = {
    "automatic_check": "serviceTask",
    "payment": "serviceTask",
    "notification": "sendTask",
    "onsite_verification": "userTask",
    "collective_decision": "userTask",
    "e_signature": "userTask",
}


@dataclass
class Node:
    id: str
    kind: str  # task | gateway | event
    tag: str  # BPMN element name
    name: str
    lane: str
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: list[tuple[str, str, str]] = field(default_factory=list)
    #: flow → the condition (a Python expression on the process data) under which it is taken
    conditions: dict[str, str] = field(default_factory=dict)
    #: exclusive gateway → its default flow (taken when no condition holds)
    defaults: dict[str, str] = field(default_factory=dict)

    def add(self, node: Node) -> Node:
        self.nodes[node.id] = node
        return node

    def connect(self, source: str, target: str) -> str:
        flow_id = f"Flow_{len(self.flows) + 1}"
        self.flows.append((flow_id, source, target))
        self.nodes[source].outgoing.append(flow_id)
        self.nodes[target].incoming.append(flow_id)
        return flow_id


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text)


#: The process's input: the applicant's answers, a dict question → answer in the task data.
ANSWERS = "answers"


def condition(when: Mapping[str, Sequence[str]]) -> str | None:
    """A member's ``when`` as a Python expression on the process data (what SpiffWorkflow's
    script engine evaluates): every question named has one of the allowed answers. ``None``
    when the member always applies."""
    if not when:
        return None
    return " and ".join(
        f"{ANSWERS}.get({json.dumps(q)}) in [{', '.join(json.dumps(a) for a in allowed)}]"
        for q, allowed in when.items()
    )


def any_of(conditions: Sequence[str | None]) -> str | None:
    """True when one of these holds; ``None`` (always) when one of them always holds."""
    if not conditions or any(c is None for c in conditions):
        return None
    found = list(dict.fromkeys(c for c in conditions if c is not None))
    return found[0] if len(found) == 1 else " or ".join(f"({c})" for c in found)


def build_graph(
    ledger: Ledger,
    depends_on: Mapping[str, Sequence[str]],
    lead: str,
    when: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    window: Mapping[str, Sequence[str]] | None = None,
) -> Graph:
    """The process the case engine runs: a task per composed step, a sequence flow per step
    link (``compose.step_links``, the engine's own), a parallel split where a step feeds
    several, a parallel join where one waits for several.

    ``when`` (member → its ``when``) makes the whole bundle's process decide on the answers:
    the chain of steps of a member that does not always apply sits between an exclusive
    gateway, whose flow into the chain carries the member's condition and whose default flow
    skips it, and an exclusive merge; so every join downstream is reached whether the member
    ran or not. ``window`` (step kind → the members that have such a step) does the same for
    the single window's acceptance and delivery, which a case has only if some member that
    applies has one. If no member always applies, a first gateway ends the process when none
    applies: the engine refuses such an application."""
    conditions = {m: condition(w) for m, w in (when or {}).items()}
    graph = Graph()
    ids: dict[str, str] = {}
    chains: dict[str, list[str]] = {}
    for step in ledger.steps:
        # The task's id is its step's code, as a case's steps are named: a chart, a running
        # engine and a case speak of the same steps.
        node_id = base = f"Step_{_safe(step.code)}"
        while node_id in graph.nodes:
            node_id = f"{base}_{len(graph.nodes)}"
        ids[step.code] = node_id
        lane = lead if step.item is None else step.lane
        tag = TASK_KIND.get(step.kind, "userTask")
        graph.add(Node(node_id, "task", tag, step.name_zh, lane))
        chains.setdefault(step.item or step.code, []).append(node_id)
    # A chain that applies only under some answers: its steps are entered through a gate and
    # left through a merge.
    entry_at: dict[str, str] = {}
    exit_at: dict[str, str] = {}
    gated: list[tuple[str, str, str, str, str]] = []  # gate, first, last, merge, condition
    for step in ledger.steps:
        key = step.item or step.code
        chain = chains[key]
        if step.item is None:
            cond = any_of([conditions.get(m) for m in (window or {}).get(step.kind, [])])
        else:
            cond = conditions.get(step.item)
        if cond is None or ids[step.code] != chain[0]:
            continue
        name = _safe(key)
        gate, merge = f"Gate_{name}", f"Merge_{name}"
        first, last = chain[0], chain[-1]
        graph.add(Node(gate, "gateway", "exclusiveGateway", "", graph.nodes[first].lane))
        graph.add(Node(merge, "gateway", "exclusiveGateway", "", graph.nodes[last].lane))
        entry_at[first], exit_at[last] = gate, merge
        gated.append((gate, first, last, merge, cond))

    links = [
        (exit_at.get(ids[a], ids[a]), entry_at.get(ids[b], ids[b]))
        for a, b in compose.step_links(ledger, depends_on)
    ]
    targets = {b for _, b in links}
    sources = {a for a, _ in links}
    roots = list(
        dict.fromkeys(e for e in (entry_at.get(n, n) for n in ids.values()) if e not in targets)
    )
    sinks = list(
        dict.fromkeys(e for e in (exit_at.get(n, n) for n in ids.values()) if e not in sources)
    )
    graph.add(Node("StartEvent_1", "event", "startEvent", "申请", lead))
    applies = any_of(list(conditions.values())) if ledger.members else None
    origin = "StartEvent_1"
    if applies is not None or not ledger.members:
        # Nothing may apply: the process ends there, as the engine refuses such an application.
        graph.add(Node("EndEvent_Refused", "event", "endEvent", "无适用事项，不予受理", lead))
    if applies is not None:
        origin = "Gate_Applies"
        graph.add(Node(origin, "gateway", "exclusiveGateway", "有适用事项？", lead))
        graph.connect("StartEvent_1", origin)
    if not ledger.members:
        graph.connect("StartEvent_1", "EndEvent_Refused")
        return graph
    graph.add(Node("EndEvent_1", "event", "endEvent", "办结", lead))
    links = [(origin, r) for r in roots] + links + [(s, "EndEvent_1") for s in sinks]
    if not ids:
        links = [(origin, "EndEvent_1")]
    outgoing: dict[str, list[str]] = {}
    incoming: dict[str, list[str]] = {}
    for a, b in links:
        outgoing.setdefault(a, []).append(b)
        incoming.setdefault(b, []).append(a)

    def exit_of(node: str) -> str:
        if len(outgoing[node]) < 2:
            return node
        split = "Fork" if node == origin else f"Split_{node}"
        if split not in graph.nodes:
            graph.add(Node(split, "gateway", "parallelGateway", "", graph.nodes[node].lane))
            graph.connect(node, split)
        return split

    def entry_of(node: str) -> str:
        if len(incoming[node]) < 2:
            return node
        join = "JoinAll" if node == "EndEvent_1" else f"Join_{node}"
        if join not in graph.nodes:
            graph.add(Node(join, "gateway", "parallelGateway", "", graph.nodes[node].lane))
            graph.connect(join, node)
        return join

    for a, b in links:
        graph.connect(exit_of(a), entry_of(b))
    for gate, first, last, merge, cond in gated:
        graph.conditions[graph.connect(gate, first)] = cond
        graph.defaults[gate] = graph.connect(gate, merge)
        graph.connect(last, merge)
    if applies is not None:
        (onward,) = graph.nodes[origin].outgoing
        graph.conditions[onward] = applies
        graph.defaults[origin] = graph.connect(origin, "EndEvent_Refused")
    return graph


def _columns(graph: Graph) -> dict[str, int]:
    preds: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for _, s, t in graph.flows:
        preds[t].append(s)
    col: dict[str, int] = {}

    def place(n: str) -> int:
        if n not in col:
            col[n] = 1 + max((place(p) for p in preds[n]), default=-1)
        return col[n]

    for n in graph.nodes:
        place(n)
    return col


def to_xml(graph: Graph, *, process_id: str, name: str, lanes: list[tuple[str, str]]) -> str:
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    b = "{{{}}}".format(NS["bpmn"])
    defs = ET.Element(
        f"{b}definitions",
        {
            "id": "Definitions_" + process_id,
            "targetNamespace": "https://tongban.example/bpmn",
            "exporter": "tongban",
            "exporterVersion": "2",
            "expressionLanguage": PYTHON,
        },
    )
    collab = ET.SubElement(defs, f"{b}collaboration", {"id": "Collaboration_1"})
    ET.SubElement(
        collab, f"{b}participant", {"id": "Participant_1", "name": name, "processRef": process_id}
    )
    process = ET.SubElement(
        defs, f"{b}process", {"id": process_id, "name": name, "isExecutable": "true"}
    )
    lane_set = ET.SubElement(process, f"{b}laneSet", {"id": "LaneSet_1"})
    for code, label in lanes:
        lane = ET.SubElement(lane_set, f"{b}lane", {"id": f"Lane_{_safe(code)}", "name": label})
        for node in graph.nodes.values():
            if node.lane == code:
                ET.SubElement(lane, f"{b}flowNodeRef").text = node.id
    for node in graph.nodes.values():
        attrs = {"id": node.id}
        if node.name:
            attrs["name"] = node.name
        if node.id in graph.defaults:
            attrs["default"] = graph.defaults[node.id]
        el = ET.SubElement(process, f"{b}{node.tag}", attrs)
        for f in node.incoming:
            ET.SubElement(el, f"{b}incoming").text = f
        for f in node.outgoing:
            ET.SubElement(el, f"{b}outgoing").text = f
    for flow_id, s, t in graph.flows:
        flow = ET.SubElement(
            process, f"{b}sequenceFlow", {"id": flow_id, "sourceRef": s, "targetRef": t}
        )
        if flow_id in graph.conditions:
            expression = ET.SubElement(
                flow,
                f"{b}conditionExpression",
                {"{{{}}}type".format(NS["xsi"]): "bpmn:tFormalExpression"},
            )
            expression.text = graph.conditions[flow_id]

    # Diagram interchange: columns left to right, a band per lane.
    col = _columns(graph)
    width = (max(col.values(), default=0) + 1) * COLUMN_WIDTH + LANE_LABEL + 40
    di, dc, dd = "{{{}}}".format(NS["bpmndi"]), "{{{}}}".format(NS["dc"]), "{{{}}}".format(NS["di"])
    diagram = ET.SubElement(defs, f"{di}BPMNDiagram", {"id": "BPMNDiagram_1"})
    plane = ET.SubElement(
        diagram, f"{di}BPMNPlane", {"id": "BPMNPlane_1", "bpmnElement": "Collaboration_1"}
    )

    def shape(element: str, x: int, y: int, w: int, h: int, horizontal: bool = False) -> None:
        attrs = {"id": f"{element}_di", "bpmnElement": element}
        if horizontal:
            attrs["isHorizontal"] = "true"
        s = ET.SubElement(plane, f"{di}BPMNShape", attrs)
        ET.SubElement(
            s, f"{dc}Bounds", {"x": str(x), "y": str(y), "width": str(w), "height": str(h)}
        )

    # Nodes that share a lane and a column are stacked in rows; a lane is as tall as its
    # tallest stack, so no two shapes ever overlap.
    row_of: dict[str, int] = {}
    stacks: dict[tuple[str, int], int] = {}
    for node in graph.nodes.values():
        key = (node.lane, col[node.id])
        row_of[node.id] = stacks.get(key, 0)
        stacks[key] = row_of[node.id] + 1
    rows = {
        code: max((n for (lane, _), n in stacks.items() if lane == code), default=1)
        for code, _ in lanes
    }
    heights = {code: max(LANE_HEIGHT, rows[code] * ROW_HEIGHT + 30) for code, _ in lanes}
    tops: dict[str, int] = {}
    y = 0
    for code, _ in lanes:
        tops[code] = y
        y += heights[code]
    shape("Participant_1", 0, 0, width, y, horizontal=True)
    for code, _ in lanes:
        shape(
            f"Lane_{_safe(code)}", LANE_LABEL, tops[code], width - LANE_LABEL, heights[code], True
        )
    centre: dict[str, tuple[int, int, int, int]] = {}
    for node in graph.nodes.values():
        w, h = SIZES[node.kind]
        cx = LANE_LABEL + 40 + col[node.id] * COLUMN_WIDTH + 55
        stacked = stacks[(node.lane, col[node.id])]
        block = stacked * ROW_HEIGHT
        cy = (
            tops[node.lane]
            + (heights[node.lane] - block) // 2
            + row_of[node.id] * ROW_HEIGHT
            + ROW_HEIGHT // 2
        )
        centre[node.id] = (cx, cy, w, h)
        shape(node.id, cx - w // 2, cy - h // 2, w, h)
    skips = {f for g, f in graph.defaults.items() if g != "Gate_Applies"}
    for flow_id, s, t in graph.flows:
        sx, sy, sw, sh = centre[s]
        tx, ty, tw, th = centre[t]
        edge = ET.SubElement(
            plane, f"{di}BPMNEdge", {"id": f"{flow_id}_di", "bpmnElement": flow_id}
        )
        points = [(sx + sw // 2, sy)]
        if flow_id in skips and sy == ty:
            # A member's skip path runs below its steps, from the gate's foot to the merge's.
            below = sy + SIZES["task"][1] // 2 + 10
            points = [(sx, sy + sh // 2), (sx, below), (tx, below), (tx, ty + th // 2)]
        elif sy != ty:
            mid = (sx + sw // 2 + tx - tw // 2) // 2
            points += [(mid, sy), (mid, ty)]
        if not (flow_id in skips and sy == ty):
            points.append((tx - tw // 2, ty))
        for x, y in points:
            ET.SubElement(edge, f"{dd}waypoint", {"x": str(x), "y": str(y)})
    ET.indent(defs)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(defs, encoding="unicode") + "\n"


def bundle_bpmn(
    *,
    session: Session,
    principal: Principal | None,
    code: str,
    answers: dict[str, str] | None = None,
    as_system: bool = False,
) -> str:
    detail = service.get_bundle(
        session=session, principal=principal, code=code, as_system=as_system
    )
    ledger = service.compose_definition(session=session, bundle=detail.bundle, answers=answers)
    members = service.applicable(detail.bundle, answers)
    depends_on = {m.item: list(m.depends_on) for m in members}
    lead = detail.bundle.lead_department
    when: dict[str, dict[str, list[str]]] = {}
    window: dict[str, list[str]] = {}
    if answers is None:
        # The whole bundle: the process itself decides, on the answers, what applies.
        when = {m.item: dict(m.when) for m in members}
        items = catalog_service.published_items(session=session, codes=list(when))
        for code_, item in items.items():
            for s in item.steps or ():
                if s.kind.value in compose.MERGED_STEP_KINDS:
                    window.setdefault(s.kind.value, []).append(code_)
    graph = build_graph(ledger, depends_on, lead, when, window)
    names = service.department_names(session=session)
    used = []
    for node in graph.nodes.values():
        if node.lane not in used:
            used.append(node.lane)
    ordered = [lead, *sorted(c for c in used if c != lead)]
    lanes = [(c, names.get(c, c)) for c in ordered]
    return to_xml(
        graph, process_id="Process_" + _safe(code), name=detail.bundle.name_zh, lanes=lanes
    )
