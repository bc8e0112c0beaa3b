"""Case engine speed: steps per second through tongban's case engine, SpiffWorkflow and the floor.

Three contenders run the same two processes in the same run, each on its own SQLite file in one
temporary directory, all with the settings ``tongban.db.make_engine`` gives SQLite (WAL journal,
``synchronous=NORMAL``, foreign keys on, a busy timeout):

1. **engine**: ``tongban.cases.service`` itself. One ``submit_application`` per case, then one
   ``complete_step`` per ready step, each in its own transaction on the contender's connection
   (and, apart, each in its own pooled session, as the web edge runs an officer's request).
2. **spiff**: SpiffWorkflow (PyPI ``spiffworkflow``) running the same processes as BPMN. Each
   request loads the workflow from its row, runs one user task, runs the engine steps, serializes
   the workflow with ``BpmnWorkflowSerializer.serialize_json`` and updates the row, in its own
   committed transaction. ``spiff_lean`` is the same with the specification kept out of the
   stored state (the optimisation SpiffWorkflow's serialization guide describes).
3. **floor**: the least SQL a one-row-per-step engine must run per step, through bare
   ``sqlite3``: update the step (conditional on its version), append the event, make the next
   steps ready, commit.

The processes: a 10-step item (acceptance, eight reviews, delivery) and a 60-step bundle (twelve
member items whose own acceptance and delivery the bundle replaces with one of each, members in
parallel along a dependency graph). Contenders run in interleaved rounds so that a busy machine
slows all of them alike; only step completions count in the rates.

A separate database holds 1,000,000 ``case_step`` rows for the workbench query ("my open steps,
by due date"), whose p95 is printed in milliseconds.

Run alone: ``.venv/bin/python bench/cases.py`` (full) or ``--quick`` (under a minute).
``--profile`` profiles the engine's step completion instead and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from SpiffWorkflow import TaskState  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.parser import BpmnParser  # noqa: E402
from SpiffWorkflow.bpmn.serializer import (  # noqa: E402
    DEFAULT_CONFIG,
    BpmnWorkflowSerializer,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import (  # noqa: E402
    BpmnWorkflowConverter,
)
from sqlalchemy import Connection, Engine, func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from tongban.auth.models import Role, User  # noqa: E402
from tongban.auth.principal import Principal, Scope  # noqa: E402
from tongban.bundles import bpmn as bundle_bpmn  # noqa: E402
from tongban.bundles import service as bundle_service  # noqa: E402
from tongban.bundles.schemas import BundleDocument  # noqa: E402
from tongban.cases import events  # noqa: E402
from tongban.cases import service as case_service  # noqa: E402
from tongban.cases.models import Case, CaseStep, StepLink  # noqa: E402
from tongban.cases.schemas import ApplicationIn  # noqa: E402
from tongban.catalog import service as catalog_service  # noqa: E402
from tongban.catalog.schemas import CatalogDocument  # noqa: E402
from tongban.db import make_engine, set_engine  # noqa: E402
from tongban.kit import workdays  # noqa: E402
from tongban.migrate import upgrade  # noqa: E402
from tongban.org import service as org_service  # noqa: E402
from tongban.org.models import Department, Jurisdiction  # noqa: E402
from tongban.org.schemas import OrgDocument  # noqa: E402

# ---------------------------------------------------------------- sizes

FULL = {"cases_10": 10_000, "cases_60": 500, "workbench_runs": 200, "workbench_budget": 0}
QUICK = {"cases_10": 100, "cases_60": 6, "workbench_runs": 50, "workbench_budget": 8}
#: SpiffWorkflow needs tens of milliseconds per step on the 60-step case; its per-step rate does
#: not depend on how many cases there are (one row per case), so the full run caps its counts.
SPIFF_CAP = {"cases_10": 2_000, "cases_60": 100}
WORKBENCH_ROWS = 1_000_000
WORKBENCH_DEPARTMENTS = 50
APPLICANT_ID = "11010519491231002X"

# ---------------------------------------------------------------- the synthetic org and catalogue

PROVINCE, CITY, COUNTY = "990000", "990100", "990123"
PROVINCE_PATH = f"/{PROVINCE}/"
ITEM_10 = "BENCH-10"
BUNDLE_60 = "bench-60"
#: the middle steps (reviews, then a decision) of each of the twelve members: 10 x 5 + 2 x 4 = 58,
#: plus the bundle's single acceptance and single delivery = 60 steps
MEMBER_MIDDLE = [5] * 10 + [4] * 2
#: members run in parallel along this graph: two roots, fan-outs, joins, three sinks
MEMBER_DEPENDS: dict[int, list[int]] = {
    0: [],
    1: [0],
    2: [0],
    3: [0],
    4: [1],
    5: [2],
    6: [3],
    7: [4, 5],
    8: [5, 6],
    9: [7],
    10: [8],
    11: [],
}
STEPS_60 = 60


def _member(i: int) -> str:
    return f"BENCH-M{i:02d}"


def _step(code: str, kind: str, dept: str, days: int) -> dict[str, Any]:
    names = {
        "acceptance": ("受理", "Acceptance"),
        "review": ("审查", "Review"),
        "decision": ("决定", "Decision"),
        "delivery": ("送达", "Delivery"),
    }[kind]
    return {
        "code": code,
        "kind": kind,
        "name_zh": names[0],
        "name_en": names[1],
        "responsible": dept,
        "limit_days": days,
    }


def _item(code: str, dept: str, middle: list[str]) -> dict[str, Any]:
    steps = [_step("S0", "acceptance", dept, 1)]
    steps += [_step(f"S{i + 1}", kind, dept, 3) for i, kind in enumerate(middle)]
    steps.append(_step(f"S{len(middle) + 1}", "delivery", dept, 1))
    return {
        "implementation_code": code,
        "basic_code": code,
        "name_zh": code,
        "name_en": code,
        "type": "public_service",
        "department": dept,
        "steps": steps,
        "time_limit": {"legal": 20, "promised": 10},
    }


def synthetic_world() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(org, catalogue, bundles) documents: one county, 13 departments, one officer."""
    departments = [f"BD{i:02d}" for i in range(len(MEMBER_MIDDLE) + 1)]
    org = {
        "jurisdictions": [
            {
                "code": PROVINCE,
                "name_zh": "基准省",
                "name_en": "Bench Province",
                "children": [
                    {
                        "code": CITY,
                        "name_zh": "基准市",
                        "name_en": "Bench City",
                        "children": [{"code": COUNTY, "name_zh": "基准县", "name_en": "County"}],
                    }
                ],
            }
        ],
        "departments": [
            {"code": d, "name_zh": d, "name_en": d, "jurisdiction": COUNTY} for d in departments
        ],
        "users": [
            {
                "username": "bench.officer",
                "display_name": "Bench officer",
                "password": "bench-password-1",
                "grants": [{"role": "officer", "jurisdiction": PROVINCE}],
            }
        ],
    }
    items = [_item(ITEM_10, departments[0], ["review"] * 8)]
    for i, middle in enumerate(MEMBER_MIDDLE):
        items.append(
            _item(_member(i), departments[i + 1], ["review"] * (middle - 1) + ["decision"])
        )
    depth: dict[int, int] = {}
    for i in sorted(MEMBER_DEPENDS):
        depth[i] = 1 + max((depth[d] for d in MEMBER_DEPENDS[i]), default=0)
    bundles = {
        "bundles": [
            {
                "code": BUNDLE_60,
                "name_zh": "基准一件事",
                "name_en": "Bench bundle",
                "kind": "life_event",
                "lead_department": departments[1],
                "members": [
                    {
                        "item": _member(i),
                        "stage": depth[i],
                        "depends_on": [_member(d) for d in MEMBER_DEPENDS[i]],
                    }
                    for i in range(len(MEMBER_MIDDLE))
                ],
            }
        ]
    }
    return org, {"elements": [], "items": items}, bundles


# ---------------------------------------------------------------- SQLite, the same for everyone

PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
)


#: how the engine's connections begin a transaction on SQLite (``tongban.db._sqlite_begin``)
BEGIN = "BEGIN IMMEDIATE"


def peer_connect(path: Path) -> sqlite3.Connection:
    """A bare connection with the PRAGMAs ``tongban.db.make_engine`` sets; transactions are
    begun explicitly with ``BEGIN IMMEDIATE``, as the engine's connections do."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def pragma_line(fetch: Callable[[str], Any]) -> str:
    names = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
    return " ".join(f"{n}={fetch(f'PRAGMA {n}')}" for n in names)


def engine_pragmas(engine: Engine) -> str:
    with engine.connect() as conn:
        return pragma_line(lambda sql: conn.exec_driver_sql(sql).scalar())


def peer_pragmas(conn: sqlite3.Connection) -> str:
    return pragma_line(lambda sql: conn.execute(sql).fetchone()[0])


# ---------------------------------------------------------------- tallies and rounds


@dataclass
class Tally:
    steps: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    cases: int = 0
    submit_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float:
        """Steps per second of this process's CPU time: less sensitive to a busy machine."""
        return self.steps / self.cpu_seconds if self.cpu_seconds else 0.0


@contextmanager
def timed(tally: Tally) -> Iterator[None]:
    start, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        tally.seconds += time.perf_counter() - start
        tally.cpu_seconds += time.process_time() - cpu
        tally.steps += 1


class Contender(Protocol):
    name: str
    tally: Tally

    def run_batch(self, count: int) -> None:
        """Submit ``count`` cases (untimed or timed apart), then complete all their steps."""


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_rounds(contenders: list[tuple[Contender, int]], rounds: int) -> None:
    """Each contender's cases in ``rounds`` batches, contenders alternating (their order rotates
    every round), so that load on the machine falls on all of them alike."""
    batches = [split(count, rounds) for _, count in contenders]
    for r in range(rounds):
        order = list(range(len(contenders)))
        order = order[r % len(order) :] + order[: r % len(order)]
        for i in order:
            if batches[i][r]:
                contender = contenders[i][0]
                contender.run_batch(batches[i][r])
                print(
                    f"  round {r + 1}/{rounds} {contender.name}: {contender.tally.cases} cases, "
                    f"{contender.tally.rate:.1f} steps/s",
                    file=sys.stderr,
                    flush=True,
                )


@dataclass(frozen=True)
class StepGraph:
    """A process's steps (positions) and links, and the order in which its steps become ready
    when each is done as soon as it is: wave by wave, each wave by position. Every contender's
    driver walks its cases in this order, without asking its database between two steps."""

    steps: int
    links: list[tuple[int, int]]

    def incoming(self) -> dict[int, int]:
        """How many inputs each position waits for."""
        waits = dict.fromkeys(range(self.steps), 0)
        for _, b in self.links:
            waits[b] += 1
        return waits

    def order(self) -> list[tuple[int, list[int]]]:
        """Each position in the order it is done, with its successors."""
        successors: dict[int, list[int]] = {p: [] for p in range(self.steps)}
        for a, b in self.links:
            successors[a].append(b)
        waits = self.incoming()
        done: list[tuple[int, list[int]]] = []
        ready = [p for p in range(self.steps) if not waits[p]]
        while ready:
            now_ready: list[int] = []
            for p in ready:
                done.append((p, successors[p]))
                for s in successors[p]:
                    waits[s] -= 1
                    if not waits[s]:
                        now_ready.append(s)
            ready = sorted(now_ready)
        assert len(done) == self.steps, "the graph has a cycle"
        return done


# ---------------------------------------------------------------- 1. our engine


@dataclass
class EngineWorld:
    engine: Engine
    factory: sessionmaker[Session]
    principal: Principal
    #: the text of every statement sent while a contender counts (``EngineContender.counting``)
    statements: Counter[str] = field(default_factory=Counter)


def build_engine_world(path: Path) -> EngineWorld:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    set_engine(engine)
    org, catalog, bundles = synthetic_world()
    with Session(engine) as session:
        org_service.load_org(session=session, document=OrgDocument.model_validate(org))
        catalog_service.import_catalog(
            session=session, document=CatalogDocument.model_validate(catalog)
        )
        bundle_service.import_bundles(
            session=session, document=BundleDocument.model_validate(bundles)
        )
        session.commit()
        user_id = session.scalar(select(User.id).where(User.username == "bench.officer"))
    assert user_id is not None
    principal = Principal(
        user_id=user_id,
        username="bench.officer",
        display_name="Bench officer",
        scopes=(Scope(role=Role.OFFICER, jurisdiction_path=PROVINCE_PATH, department_id=None),),
    )
    return EngineWorld(engine, sessionmaker(engine, expire_on_commit=False), principal)


class EngineContender:
    """``via="connection"``: one connection held for the run, as the peers hold theirs (and as a
    worker holds its own), each completion in its own transaction on it (``connection.begin()``,
    commit); ``via="session"``: each completion in its own ORM session taken from the pool and
    committed, as the web edge runs an officer's request."""

    def __init__(
        self, world: EngineWorld, subject: dict[str, str], name: str, via: str = "connection"
    ) -> None:
        self.world = world
        self.subject = subject
        self.name = name
        self.via = via
        self.tally = Tally()
        self.completion_queries = 0
        self.serial = 0
        self.case_ids: list[int] = []
        #: while True, every statement a completion sends is counted (SQLite's trace callback
        #: on the connection: the engine's prepared statements bypass SQLAlchemy's events).
        #: Never on while timing.
        self.counting = False
        #: set by ``--profile``: completions (only they) run under it
        self.profiler: cProfile.Profile | None = None
        self._connection: Connection | None = None
        #: positions in the order they are done (``StepGraph.order``), from the first case on:
        #: the driver then walks each case as the floor's driver does, without a query between
        #: two steps (a wrong "ready" in the engine fails the claim, and the run with it)
        self.order: list[tuple[int, list[int]]] | None = None

    @property
    def connection(self) -> Connection:
        """The contender's own connection (``via="connection"``), opened at first use."""
        if self._connection is None:
            self._connection = self.world.engine.connect()
        return self._connection

    def submit(self) -> int:
        self.serial += 1
        application = ApplicationIn.model_validate(
            {
                **self.subject,
                "applicant": {"name": "张三", "id_no": APPLICANT_ID, "jurisdiction": COUNTY},
                "form": {},
                "idempotency_key": f"{self.name}-{self.serial:08d}",
            }
        )
        with self.world.factory() as session:
            case = case_service.submit_application(
                session=session, principal=self.world.principal, application=application
            )
            session.commit()
            return case.id

    def plan(self, case_id: int) -> list[tuple[int, int]]:
        """The driver's one look at a new case (not timed): its steps' ids and versions by
        position, as the floor's driver looks up its case's first step id."""
        with self.world.factory() as session:
            rows = session.execute(
                select(CaseStep.id, CaseStep.lock_version)
                .where(CaseStep.case_id == case_id)
                .order_by(CaseStep.position)
            ).all()
        return [(i, v) for i, v in rows]

    def ready(self, case_id: int) -> list[tuple[int, int]]:
        """The driver's look at the case (not timed): its ready steps and their versions."""
        with self.world.factory() as session:
            rows = session.execute(
                select(CaseStep.id, CaseStep.lock_version)
                .where(CaseStep.case_id == case_id, CaseStep.status == "ready")
                .order_by(CaseStep.position)
            ).all()
        return [(i, v) for i, v in rows]

    def complete(self, step_id: int, lock_version: int) -> None:
        """One officer's action: its own transaction, one call, commit."""
        if self.via == "session":
            with self.world.factory() as session:
                case_service.complete_step(
                    session=session,
                    principal=self.world.principal,
                    step_id=step_id,
                    lock_version=lock_version,
                    outcome={},
                )
                session.commit()
            return
        connection = self.connection
        with connection.begin():
            if self.counting:
                raw = connection.connection.dbapi_connection
                assert raw is not None
                raw.set_trace_callback(self._trace)
            case_service.complete_step(
                connection=connection,
                principal=self.world.principal,
                step_id=step_id,
                lock_version=lock_version,
                outcome={},
            )
            if self.counting:
                raw.set_trace_callback(None)

    def _trace(self, sql: str) -> None:
        self.completion_queries += 1
        # SQLite traces the statement with its values: put the placeholders back to group them
        shape = re.sub(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b", "?", " ".join(sql.split()))
        self.world.statements[shape[:150]] += 1

    def count_statements(self) -> float:
        """Statements per completion over one more case, counted (not timed)."""
        tally, queries = self.tally, self.completion_queries
        self.tally, self.completion_queries, self.counting = Tally(), 0, True
        try:
            self.run_batch(1)
            return self.completion_queries / self.tally.steps
        finally:
            self.tally, self.completion_queries, self.counting = tally, queries, False

    def run_batch(self, count: int) -> None:
        start = time.perf_counter()
        ids = [self.submit() for _ in range(count)]
        self.tally.submit_seconds += time.perf_counter() - start
        self.tally.cases += count
        self.case_ids += ids
        for case_id in ids:
            if self.order is None:  # the first case: asked step by step, and its shape kept
                self._walk_asking(case_id)
                self.order = StepGraph(*self.graph()).order()
                continue
            plan = self.plan(case_id)
            for position, _ in self.order:
                self._complete_timed(*plan[position])

    def _walk_asking(self, case_id: int) -> None:
        ready = self.ready(case_id)
        while ready:
            for step_id, version in ready:
                self._complete_timed(step_id, version)
            ready = self.ready(case_id)

    def _complete_timed(self, step_id: int, version: int) -> None:
        if self.profiler is not None:
            self.profiler.enable()
        with timed(self.tally):
            self.complete(step_id, version)
        if self.profiler is not None:
            self.profiler.disable()

    def check(self, steps_per_case: int) -> None:
        """Every case completed with every step done, no step made ready before one of its
        inputs was done, and the event chains of the first and last hundred cases intact."""
        done = left = early = 0
        before, after = CaseStep.__table__.alias("before"), CaseStep.__table__.alias("after")
        with self.world.factory() as session:
            first = self.case_ids[0]
            rows = session.scalar(
                select(func.count()).select_from(CaseStep).where(CaseStep.case_id == first)
            )
            for at in range(0, len(self.case_ids), 5_000):
                ids = self.case_ids[at : at + 5_000]
                done += (
                    session.scalar(
                        select(func.count())
                        .select_from(Case)
                        .where(Case.id.in_(ids), Case.status == "completed")
                    )
                    or 0
                )
                left += (
                    session.scalar(
                        select(func.count())
                        .select_from(CaseStep)
                        .where(CaseStep.case_id.in_(ids), CaseStep.status != "done")
                    )
                    or 0
                )
                early += (
                    session.scalar(
                        select(func.count())
                        .select_from(StepLink)
                        .join(before, before.c.id == StepLink.from_step_id)
                        .join(after, after.c.id == StepLink.to_step_id)
                        .where(before.c.case_id.in_(ids), after.c.ready_at < before.c.acted_at)
                    )
                    or 0
                )
            sample = {*self.case_ids[:100], *self.case_ids[-100:]}
            broken = [
                problem
                for case in session.scalars(select(Case).where(Case.id.in_(sample)))
                if (problem := events.verify_case(case, events.events_of(session, case.id)))
            ]
        assert rows == steps_per_case, f"{self.name}: a case has {rows} steps"
        assert done == len(self.case_ids), f"{self.name}: {done} of {len(self.case_ids)} finished"
        assert left == 0, f"{self.name}: {left} steps not done"
        assert early == 0, f"{self.name}: {early} steps made ready before an input was done"
        assert not broken, f"{self.name}: {broken[:3]}"
        assert self.tally.steps == steps_per_case * self.tally.cases

    def graph(self) -> tuple[int, list[tuple[int, int]]]:
        """The first case's steps and links as positions: the shape the floor reproduces."""
        with self.world.factory() as session:
            steps = session.execute(
                select(CaseStep.id, CaseStep.position).where(CaseStep.case_id == self.case_ids[0])
            ).all()
            position = {i: p for i, p in steps}
            links = session.execute(
                select(StepLink.from_step_id, StepLink.to_step_id).where(
                    StepLink.from_step_id.in_(position)
                )
            ).all()
        return len(steps), sorted((position[a], position[b]) for a, b in links)


# ---------------------------------------------------------------- 2. SpiffWorkflow


def sequential_bpmn(process_id: str, tasks: int) -> str:
    nodes = ["StartEvent_1", *[f"Task_{i}" for i in range(tasks)], "EndEvent_1"]
    body = ['<bpmn:startEvent id="StartEvent_1" />']
    body += [f'<bpmn:userTask id="Task_{i}" name="Step {i}" />' for i in range(tasks)]
    body.append('<bpmn:endEvent id="EndEvent_1" />')
    body += [
        f'<bpmn:sequenceFlow id="Flow_{i}" sourceRef="{a}" targetRef="{b}" />'
        for i, (a, b) in enumerate(itertools.pairwise(nodes))
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="Definitions_bench" targetNamespace="https://tongban.example/bench">'
        f'<bpmn:process id="{process_id}" isExecutable="true">{"".join(body)}</bpmn:process>'
        "</bpmn:definitions>"
    )


def executable(exported: str) -> str:
    """tongban's BPMN export, made runnable: marked executable (its events are named
    ``StartEvent_1``/``EndEvent_1``, clear of the task spec names SpiffWorkflow reserves)."""
    return exported.replace('isExecutable="false"', 'isExecutable="true"')


def parse_spec(xml: str, process_id: str) -> Any:
    parser = BpmnParser()
    parser.add_bpmn_str(xml.encode())
    return parser.get_spec(process_id)


SPECS: dict[str, Any] = {}


class LeanWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Keeps the process specification out of each stored workflow (it is stored once, by
    name), as SpiffWorkflow's serialization guide suggests for real applications."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["spec"] = workflow.spec.name
        dct["subprocess_specs"] = {}
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        workflow = self.target_class(SPECS[dct.pop("spec")], {}, deserializing=True)
        dct.pop("subprocess_specs", None)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def lean_serializer() -> Any:
    config = dict(DEFAULT_CONFIG)
    config[BpmnWorkflow] = LeanWorkflowConverter
    return BpmnWorkflowSerializer(registry=BpmnWorkflowSerializer.configure(config))


class SpiffContender:
    """An application built on SpiffWorkflow: one row per case holding the serialized workflow;
    each request loads it, runs one user task and the engine steps after it, saves it."""

    def __init__(self, path: Path, spec: Any, name: str, *, lean: bool = False) -> None:
        self.conn = peer_connect(path)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS workflow (id INTEGER PRIMARY KEY, spec TEXT NOT NULL, "
            "state TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1)"
        )
        self.spec = spec
        SPECS[spec.name] = spec
        self.serializer = lean_serializer() if lean else BpmnWorkflowSerializer()
        self.name = name
        self.tally = Tally()
        self.blob_bytes = 0
        self.unfinished = 0

    def submit(self) -> int:
        workflow = BpmnWorkflow(self.spec)
        workflow.do_engine_steps()
        self.conn.execute(BEGIN)
        cursor = self.conn.execute(
            "INSERT INTO workflow (spec, state) VALUES (?, ?)",
            (self.spec.name, self.serializer.serialize_json(workflow)),
        )
        self.conn.execute("COMMIT")
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def load(self, case_id: int) -> tuple[Any, int]:
        state, version = self.conn.execute(
            "SELECT state, version FROM workflow WHERE id = ?", (case_id,)
        ).fetchone()
        return self.serializer.deserialize_json(state), version

    def complete(self, case_id: int, task_id: UUID) -> Any:
        """One request: load, run the task, run the engine steps, save, commit."""
        self.conn.execute(BEGIN)
        try:
            workflow, version = self.load(case_id)
            workflow.get_task_from_id(task_id).run()
            workflow.do_engine_steps()
            state = self.serializer.serialize_json(workflow)
            updated = self.conn.execute(
                "UPDATE workflow SET state = ?, version = version + 1 WHERE id = ? AND version = ?",
                (state, case_id, version),
            )
            assert updated.rowcount == 1
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.blob_bytes = len(state)
        return workflow

    @staticmethod
    def ready(workflow: Any) -> list[UUID]:
        return [t.id for t in workflow.get_tasks(state=TaskState.READY, manual=True)]

    def run_batch(self, count: int) -> None:
        start = time.perf_counter()
        ids = [self.submit() for _ in range(count)]
        self.tally.submit_seconds += time.perf_counter() - start
        self.tally.cases += count
        for case_id in ids:
            workflow, _ = self.load(case_id)
            ready = self.ready(workflow)
            while ready:
                for task_id in ready:
                    with timed(self.tally):
                        workflow = self.complete(case_id, task_id)
                ready = self.ready(workflow)
            if not workflow.completed:
                self.unfinished += 1

    def check(self, steps_per_case: int) -> None:
        assert self.unfinished == 0, f"{self.name}: {self.unfinished} workflows did not finish"
        assert self.tally.steps == steps_per_case * self.tally.cases


def user_tasks(spec: Any) -> int:
    return sum(1 for s in spec.task_specs.values() if getattr(s, "manual", False))


# ---------------------------------------------------------------- 3. the floor

FLOOR_SCHEMA = """
CREATE TABLE IF NOT EXISTS fcase (id INTEGER PRIMARY KEY, number TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fstep (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES fcase (id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    responsible_department_id INTEGER,
    waits_for INTEGER NOT NULL,
    due_date TEXT,
    ready_at TEXT,
    acted_by_id INTEGER,
    acted_at TEXT,
    outcome TEXT NOT NULL DEFAULT '{}',
    lock_version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS ix_fstep_case_status ON fstep (case_id, status);
CREATE INDEX IF NOT EXISTS ix_fstep_open ON fstep (responsible_department_id, status, due_date);
CREATE TABLE IF NOT EXISTS fevent (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES fcase (id),
    step_id INTEGER REFERENCES fstep (id),
    at TEXT NOT NULL,
    actor_id INTEGER,
    action TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_fevent_case ON fevent (case_id);
"""


class FloorContender:
    """The least SQL per step: one conditional UPDATE of the step, one INSERT of the event, one
    UPDATE of the successors (their counters, and the status of those whose inputs are done),
    one COMMIT. The step graph is the engine's own, read from its first case."""

    def __init__(self, path: Path, graph: StepGraph, name: str) -> None:
        self.conn = peer_connect(path)
        self.conn.executescript(FLOOR_SCHEMA)
        self.steps = graph.steps
        self.order = graph.order()
        self.incoming = graph.incoming()
        self.name = name
        self.tally = Tally()
        self.unfinished = 0

    def submit(self) -> int:
        now = datetime.now(UTC).isoformat()
        self.conn.execute(BEGIN)
        case_id = self.conn.execute("INSERT INTO fcase (number) VALUES ('x')").lastrowid
        assert case_id is not None
        self.conn.executemany(
            "INSERT INTO fstep (case_id, position, kind, status, responsible_department_id, "
            "waits_for, due_date, ready_at) VALUES (?, ?, 'review', ?, ?, ?, ?, ?)",
            [
                (
                    case_id,
                    p,
                    "waiting" if self.incoming[p] else "ready",
                    1 + p % 13,
                    self.incoming[p],
                    None if self.incoming[p] else now[:10],
                    None if self.incoming[p] else now,
                )
                for p in range(self.steps)
            ],
        )
        self.conn.execute("COMMIT")
        return case_id

    def complete(self, case_id: int, step_id: int, version: int, successors: list[int]) -> None:
        now = datetime.now(UTC).isoformat()
        conn = self.conn
        conn.execute(BEGIN)
        claimed = conn.execute(
            "UPDATE fstep SET status = 'done', lock_version = lock_version + 1, acted_by_id = ?, "
            "acted_at = ?, outcome = ? WHERE id = ? AND lock_version = ? AND status = 'ready'",
            (1, now, "{}", step_id, version),
        )
        if claimed.rowcount != 1:
            conn.execute("ROLLBACK")
            raise RuntimeError(f"step {step_id} was changed by someone else")
        conn.execute(
            "INSERT INTO fevent (case_id, step_id, at, actor_id, action, data) "
            "VALUES (?, ?, ?, ?, 'step_done', ?)",
            (case_id, step_id, now, 1, "{}"),
        )
        if successors:
            marks = ",".join("?" * len(successors))
            conn.execute(
                "UPDATE fstep SET waits_for = waits_for - 1, "
                "status = CASE WHEN waits_for = 1 THEN 'ready' ELSE status END, "
                "ready_at = CASE WHEN waits_for = 1 THEN ? ELSE ready_at END "
                f"WHERE id IN ({marks})",
                (now, *successors),
            )
        conn.execute("COMMIT")

    def run_batch(self, count: int) -> None:
        start = time.perf_counter()
        ids = [self.submit() for _ in range(count)]
        self.tally.submit_seconds += time.perf_counter() - start
        self.tally.cases += count
        for case_id in ids:
            # Steps of one case are inserted together, so a step's id is the first id + position.
            first = self.conn.execute(
                "SELECT min(id) FROM fstep WHERE case_id = ?", (case_id,)
            ).fetchone()[0]
            for p, successors in self.order:
                with timed(self.tally):
                    self.complete(case_id, first + p, 1, [first + s for s in successors])

    def check(self, steps_per_case: int) -> None:
        left = self.conn.execute("SELECT count(*) FROM fstep WHERE status != 'done'").fetchone()[0]
        assert left == 0, f"{self.name}: {left} steps not done"
        assert self.tally.steps == steps_per_case * self.tally.cases


# ---------------------------------------------------------------- the workbench


def workbench_bench(path: Path, runs: int, budget: float) -> tuple[list[float], int, str]:
    """Timings (ms) of ``workbench`` for one department's officer, with 1,000,000 step rows;
    stops early (after at least ten runs) once ``budget`` seconds are spent, if one is given."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    set_engine(engine)
    counties = [f"9901{c:02d}" for c in range(1, 6)]
    per_county = WORKBENCH_DEPARTMENTS // len(counties)
    departments = [f"W{c}-{d:02d}" for c in range(len(counties)) for d in range(per_county)]
    org = {
        "jurisdictions": [
            {
                "code": PROVINCE,
                "name_zh": "基准省",
                "name_en": "Bench Province",
                "children": [
                    {
                        "code": CITY,
                        "name_zh": "基准市",
                        "name_en": "Bench City",
                        "children": [
                            {"code": c, "name_zh": f"县{c}", "name_en": f"County {c}"}
                            for c in counties
                        ],
                    }
                ],
            }
        ],
        "departments": [
            {
                "code": d,
                "name_zh": d,
                "name_en": d,
                "jurisdiction": counties[i // per_county],
            }
            for i, d in enumerate(departments)
        ],
        "users": [
            {
                "username": "wb.officer",
                "display_name": "Workbench officer",
                "password": "bench-password-1",
                "grants": [{"role": "officer", "jurisdiction": counties[0], "department": "W0-03"}],
            }
        ],
    }
    with Session(engine) as session:
        org_service.load_org(session=session, document=OrgDocument.model_validate(org))
        session.commit()
        user_id = session.scalar(select(User.id).where(User.username == "wb.officer"))
        dept_id, dept_path = session.execute(
            select(Department.id, Jurisdiction.path)
            .join(Jurisdiction, Jurisdiction.id == Department.jurisdiction_id)
            .where(Department.code == "W0-03")
        ).one()
        county_id = session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == counties[0]))
    assert user_id is not None
    assert county_id is not None
    engine.dispose()  # the loader switches the journal off while it fills; nobody else is in
    fill_steps(path, county_id)
    principal = Principal(
        user_id=user_id,
        username="wb.officer",
        display_name="Workbench officer",
        scopes=(Scope(role=Role.OFFICER, jurisdiction_path=dept_path, department_id=dept_id),),
    )
    factory = sessionmaker(engine, expire_on_commit=False)
    timings: list[float] = []
    found = 0
    deadline = time.perf_counter() + budget if budget else float("inf")
    for run in range(runs + 1):
        if run > 10 and time.perf_counter() > deadline:
            break
        with factory() as session:
            start = time.perf_counter()
            rows = case_service.workbench(session=session, principal=principal, limit=50)
            elapsed = (time.perf_counter() - start) * 1000
        assert all(step.responsible_department_id == dept_id for step, _ in rows)
        found = len(rows)
        if run:  # the first run warms the page cache
            timings.append(elapsed)
    pragmas = engine_pragmas(engine)
    engine.dispose()
    return timings, found, pragmas


def fill_steps(path: Path, county_id: int) -> None:
    """100,000 cases of 10 steps each, spread over the departments with pseudo-random (but
    repeatable) due dates; about 5 % of the steps ready, 55 % done, the rest waiting."""
    cases = WORKBENCH_ROWS // 10
    conn = peer_connect(path)
    # Loading only: the rows are consistent by construction, so no foreign-key look-ups; the
    # table's own indexes are dropped and re-created from their stored DDL (a sort is faster
    # than a million random B-tree inserts); a bigger page cache for this connection alone.
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    indexes = [
        (name, sql)
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'case_step' "
            "AND sql IS NOT NULL"
        )
    ]
    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    conn.execute(
        "CREATE TEMP TABLE wb_dept AS SELECT row_number() OVER (ORDER BY id) - 1 AS idx, id, "
        "jurisdiction_id AS jid FROM department"
    )
    conn.execute(
        """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
        INSERT INTO case_file (id, number, subject_kind, subject_code, status, applicant_name,
            applicant_id_no, applicant_phone, applicant_jurisdiction_id, form_data, answers,
            channel, idempotency_key, submitted_at, event_seq, lock_version)
        SELECT i, printf('WB-%08d', i), 'item', 'WB-1', 'in_progress', '张三', ?, '', ?,
            '{}', '{}', 'window', 'wb-' || i, datetime('now'), 0, 1 FROM n
        """,
        (cases, APPLICANT_ID, county_id),
    )
    now = datetime.now(UTC)
    today = workdays.local_date(now)
    conn.execute("CREATE TEMP TABLE wb_due (k INTEGER PRIMARY KEY, d TEXT NOT NULL)")
    conn.executemany(
        "INSERT INTO wb_due VALUES (?, ?)",
        [(k, (today + timedelta(days=k - 30)).isoformat()) for k in range(120)],
    )
    conn.execute(
        """
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1),
        h(i, x) AS (SELECT i, (i * 2654435761 + 12345) % 4294967291 FROM n)
        INSERT INTO case_step (case_id, position, item_code, code, kind, name_zh, name_en,
            status, responsible_department_id, responsible_jurisdiction_id, limit_days,
            waits_for, ready_at, due_date, due_provisional, calendar_version, outcome,
            lock_version)
        SELECT i / 10 + 1, i % 10, 'WB-1', 'WB-1#S' || (i % 10), 'review', '审查', 'Review',
            CASE WHEN x / 64 % 100 < 5 THEN 'ready'
                 WHEN x / 64 % 100 < 60 THEN 'done' ELSE 'waiting' END,
            d.id, d.jid, 5, 0, ?, due.d, 0, '', '{}', 1
        FROM h JOIN wb_dept AS d ON d.idx = h.x % ? JOIN wb_due AS due ON due.k = h.x / 6400 % 120
        """,
        (WORKBENCH_ROWS, now.replace(tzinfo=None).isoformat(sep=" "), WORKBENCH_DEPARTMENTS),
    )
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    count = conn.execute("SELECT count(*) FROM case_step").fetchone()[0]
    assert count == WORKBENCH_ROWS, count
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    assert mode == "wal", mode
    conn.close()


# ---------------------------------------------------------------- profile mode


def split_time(world: EngineWorld, contender: EngineContender, cases: int) -> None:
    """Without a profiler: of the wall time of a completion on the contender's connection, how
    much is beginning the transaction, the engine's call and the commit."""
    parts = dict.fromkeys(("begin", "complete_step", "commit"), 0.0)
    steps = 0
    connection = contender.connection
    assert contender.order is not None, "run a case first: the walk follows its shape"
    for _ in range(cases):
        plan = contender.plan(contender.submit())
        for position, _ in contender.order:
            step_id, version = plan[position]
            t0 = time.perf_counter()
            transaction = connection.begin()
            t1 = time.perf_counter()
            case_service.complete_step(
                connection=connection,
                principal=world.principal,
                step_id=step_id,
                lock_version=version,
                outcome={},
            )
            t2 = time.perf_counter()
            transaction.commit()
            t3 = time.perf_counter()
            for name, spent in zip(parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                parts[name] += spent
            steps += 1
    print(f"wall time per completion, no profiler ({steps} completions):")
    for name, spent in parts.items():
        print(f"  {name:18s} {spent * 1e6 / steps:8.1f} us")


def profile_engine(tmp: Path, cases: int) -> None:
    """Where the time of one step completion goes: its parts without a profiler, the SQL
    statements each completion sends, and cProfile over the completions alone."""
    world = build_engine_world(tmp / "profile.sqlite3")
    contender = EngineContender(world, {"item": ITEM_10}, "profile")
    contender.run_batch(3)  # warm caches
    split_time(world, contender, cases)
    print(f"statements per completion: {contender.count_statements():.2f}")
    for text, n in world.statements.most_common(40):
        print(f"  {n / 10:5.2f}  {text}")  # one case: 10 completions
    contender.tally = Tally()
    contender.profiler = cProfile.Profile()
    contender.run_batch(cases)
    steps = contender.tally.steps
    print(f"profiled {steps} completions of the 10-step item ({cases} cases)")
    print(f"completions per second under the profiler: {contender.tally.rate:.1f}")
    out = io.StringIO()
    stats = pstats.Stats(contender.profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    print(out.getvalue())


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts (under a minute)")
    parser.add_argument("--profile", action="store_true", help="profile the engine and stop")
    parser.add_argument("--cases-10", type=int, help="cases of the 10-step item (engine, floor)")
    parser.add_argument("--cases-60", type=int, help="cases of the 60-step bundle (engine, floor)")
    parser.add_argument("--spiff-cases-10", type=int, help="cases of the 10-step item (spiff)")
    parser.add_argument("--spiff-cases-60", type=int, help="cases of the 60-step bundle (spiff)")
    parser.add_argument("--workbench-runs", type=int, help="workbench queries timed")
    parser.add_argument(
        "--workbench-budget", type=float, help="seconds after which workbench runs stop (0: none)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    sizes = dict(QUICK if args.quick else FULL)
    cases_10 = args.cases_10 or sizes["cases_10"]
    cases_60 = args.cases_60 or sizes["cases_60"]
    spiff_10 = args.spiff_cases_10 or min(cases_10, SPIFF_CAP["cases_10"])
    spiff_60 = args.spiff_cases_60 or min(cases_60, SPIFF_CAP["cases_60"])
    runs = args.workbench_runs or sizes["workbench_runs"]
    budget = (
        args.workbench_budget if args.workbench_budget is not None else sizes["workbench_budget"]
    )
    began = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="tongban-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.profile:
            profile_engine(tmp, 30 if args.quick else 200)
            return
        world = build_engine_world(tmp / "engine.sqlite3")
        engine_10 = EngineContender(world, {"item": ITEM_10}, "engine-10")
        engine_60 = EngineContender(world, {"bundle": BUNDLE_60}, "engine-60")
        session_10 = EngineContender(world, {"item": ITEM_10}, "engine-session-10", via="session")
        # One case each first: the shapes the peers must reproduce.
        engine_10.run_batch(1)
        engine_60.run_batch(1)
        graph_10, graph_60 = StepGraph(*engine_10.graph()), StepGraph(*engine_60.graph())
        session_10.order = graph_10.order()
        assert (graph_10.steps, graph_60.steps) == (10, STEPS_60), (graph_10, graph_60)
        engine_10.tally = Tally()
        engine_60.tally = Tally()

        with Session(world.engine) as session:
            exported = bundle_bpmn.bundle_bpmn(session=session, principal=None, code=BUNDLE_60)
        spec_10 = parse_spec(sequential_bpmn("Process_bench_10", 10), "Process_bench_10")
        spec_60 = parse_spec(executable(exported), "Process_bench_60")
        assert (user_tasks(spec_10), user_tasks(spec_60)) == (10, STEPS_60)
        spiff_10c = SpiffContender(tmp / "spiff.sqlite3", spec_10, "spiff-10")
        spiff_60c = SpiffContender(tmp / "spiff.sqlite3", spec_60, "spiff-60")
        lean_10 = SpiffContender(tmp / "spiff-lean.sqlite3", spec_10, "spiff-lean-10", lean=True)
        lean_60 = SpiffContender(tmp / "spiff-lean.sqlite3", spec_60, "spiff-lean-60", lean=True)
        floor_10 = FloorContender(tmp / "floor.sqlite3", graph_10, "floor-10")
        floor_60 = FloorContender(tmp / "floor.sqlite3", graph_60, "floor-60")

        print(f"sqlite engine: {engine_pragmas(world.engine)}")
        print(f"sqlite spiff:  {peer_pragmas(spiff_10c.conn)}")
        print(f"sqlite floor:  {peer_pragmas(floor_10.conn)}")
        print(
            f"cases: engine {cases_10} x 10 steps, {cases_60} x 60 steps; spiff {spiff_10} x 10, "
            f"{spiff_60} x 60; floor {cases_10} x 10, {cases_60} x 60"
        )
        run_rounds(
            [
                (engine_10, cases_10),
                (session_10, cases_10),
                (spiff_10c, spiff_10),
                (lean_10, spiff_10),
                (floor_10, cases_10),
            ],
            args.rounds,
        )
        run_rounds(
            [
                (engine_60, cases_60),
                (spiff_60c, spiff_60),
                (lean_60, spiff_60),
                (floor_60, cases_60),
            ],
            args.rounds,
        )
        queries_10, queries_60 = engine_10.count_statements(), engine_60.count_statements()
        for contender, steps in (
            (engine_10, 10),
            (session_10, 10),
            (engine_60, STEPS_60),
            (spiff_10c, 10),
            (spiff_60c, STEPS_60),
            (lean_10, 10),
            (lean_60, STEPS_60),
            (floor_10, 10),
            (floor_60, STEPS_60),
        ):
            contender.check(steps)
        spiff_bytes = (spiff_10c.blob_bytes, spiff_60c.blob_bytes)
        lean_bytes = (lean_10.blob_bytes, lean_60.blob_bytes)
        world.engine.dispose()

        timings, found, wb_pragmas = workbench_bench(tmp / "workbench.sqlite3", runs, budget)
        print(f"sqlite workbench: {wb_pragmas}")

    p95 = statistics.quantiles(timings, n=20, method="inclusive")[18]
    engine_rate, spiff_rate, floor_rate = (
        engine_10.tally.rate,
        spiff_10c.tally.rate,
        floor_10.tally.rate,
    )
    engine_60_rate, spiff_60_rate = engine_60.tally.rate, spiff_60c.tally.rate
    figures = [
        ("engine_submit_10_per_s", engine_10.tally.cases / engine_10.tally.submit_seconds),
        ("engine_submit_60_per_s", engine_60.tally.cases / engine_60.tally.submit_seconds),
        ("engine_queries_per_step", queries_10),
        ("engine_queries_per_step_60", queries_60),
        ("engine_session_steps_per_s", session_10.tally.rate),
        ("ratio_session", session_10.tally.rate / spiff_rate),
        ("floor_fraction_session", session_10.tally.rate / floor_rate),
        ("engine_60_steps_per_s", engine_60_rate),
        ("spiff_60_steps_per_s", spiff_60_rate),
        ("spiff_state_bytes", spiff_bytes[0]),
        ("spiff_state_bytes_60", spiff_bytes[1]),
        ("spiff_lean_steps_per_s", lean_10.tally.rate),
        ("spiff_lean_60_steps_per_s", lean_60.tally.rate),
        ("spiff_lean_state_bytes_60", lean_bytes[1]),
        ("ratio_lean", engine_rate / lean_10.tally.rate),
        ("ratio_60_lean", engine_60_rate / lean_60.tally.rate),
        ("floor_60_steps_per_s", floor_60.tally.rate),
        ("floor_fraction_60", engine_60_rate / floor_60.tally.rate),
        ("engine_cpu_steps_per_s", engine_10.tally.cpu_rate),
        ("spiff_cpu_steps_per_s", spiff_10c.tally.cpu_rate),
        ("floor_cpu_steps_per_s", floor_10.tally.cpu_rate),
        ("ratio_cpu", engine_10.tally.cpu_rate / spiff_10c.tally.cpu_rate),
        ("ratio_60_cpu", engine_60.tally.cpu_rate / spiff_60c.tally.cpu_rate),
        ("workbench_rows", WORKBENCH_ROWS),
        ("workbench_runs", len(timings)),
        ("workbench_found", found),
        ("workbench_median_ms", statistics.median(timings)),
        ("elapsed_s", time.perf_counter() - began),
        ("engine_steps_per_s", engine_rate),
        ("spiff_steps_per_s", spiff_rate),
        ("floor_steps_per_s", floor_rate),
        ("ratio", engine_rate / spiff_rate),
        ("ratio_60", engine_60_rate / spiff_60_rate),
        ("floor_fraction", engine_rate / floor_rate),
        ("workbench_p95_ms", p95),
    ]
    for name, value in figures:
        print(f"{name}: {value:.3f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
