"""The case map: a case's steps as a picture, one column per stage of the graph (a step stands
one column right of its latest input), coloured by status, so that an officer or the applicant
sees at a glance which departments work in parallel, what is done and what waits for what.

Laid out here, drawn as SVG by ``templates/cases/_casemap.html``; no script is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tongban.cases import repository

NODE_W, NODE_H = 168, 46
COL_GAP, ROW_GAP, PAD = 36, 12, 8


@dataclass(frozen=True)
class MapStep:
    """What the map needs of a step."""

    id: int
    position: int
    status: str
    kind: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class MapNode:
    step: MapStep
    x: int
    y: int

    @property
    def number(self) -> int:
        return self.step.position + 1


@dataclass(frozen=True)
class MapEdge:
    path: str  # an SVG path from the input's right side to the step's left side
    done: bool  # the input is finished


@dataclass(frozen=True)
class CaseMap:
    width: int
    height: int
    nodes: list[MapNode]
    edges: list[MapEdge]
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


FINISHED = ("done", "skipped")


def case_map(steps: Iterable[MapStep], links: Iterable[tuple[int, int]]) -> CaseMap:
    """Columns by longest path from the first steps; within a column, in step order."""
    by_id = {s.id: s for s in sorted(steps, key=lambda s: s.position)}
    inputs: dict[int, list[int]] = {i: [] for i in by_id}
    for before, after in links:
        if before in by_id and after in by_id:
            inputs[after].append(before)
    column: dict[int, int] = {}

    def column_of(step_id: int, seen: frozenset[int] = frozenset()) -> int:
        if step_id not in column:
            earlier = [i for i in inputs[step_id] if i not in seen]
            column[step_id] = 1 + max((column_of(i, seen | {step_id}) for i in earlier), default=-1)
        return column[step_id]

    columns: dict[int, list[MapStep]] = {}
    for step_id, step in by_id.items():
        columns.setdefault(column_of(step_id), []).append(step)
    nodes: dict[int, MapNode] = {}
    for c, members in columns.items():
        for r, step in enumerate(members):
            nodes[step.id] = MapNode(
                step, PAD + c * (NODE_W + COL_GAP), PAD + r * (NODE_H + ROW_GAP)
            )
    edges = []
    for after, befores in inputs.items():
        for before in befores:
            a, b = nodes[before], nodes[after]
            x1, y1 = a.x + NODE_W, a.y + NODE_H // 2
            x2, y2 = b.x, b.y + NODE_H // 2
            bend = (x2 - x1) // 2
            edges.append(
                MapEdge(
                    f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}",
                    a.step.status in FINISHED,
                )
            )
    width = PAD * 2 + len(columns) * (NODE_W + COL_GAP) - COL_GAP if columns else 0
    rows = max((len(m) for m in columns.values()), default=0)
    height = PAD * 2 + rows * (NODE_H + ROW_GAP) - ROW_GAP if rows else 0
    done = sum(1 for s in by_id.values() if s.status in FINISHED)
    return CaseMap(width, height, list(nodes.values()), edges, done, len(by_id))


def map_of(session: Session, case_id: int) -> CaseMap:
    """The map of a case as stored now."""
    return case_map(
        (
            MapStep(r.id, r.position, r.status, r.kind, r.name_zh, r.name_en)
            for r in repository.steps_of(session, case_id)
        ),
        repository.links_of(session, case_id),
    )
