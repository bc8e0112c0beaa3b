"""The BPMN export runs in a real engine (SpiffWorkflow) as the case engine runs the bundle.

For every demo bundle and several sets of answers (all first answers, all last answers, every
answer of every question once, and a mixed set), the WHOLE bundle's export is run with the answers
as the process's input: its gateways decide on them. The steps it visits are exactly the steps
that ``intake.plan_bundle`` plans for the same answers, each once, in an order the plan's links
allow; the personalised export (the same answers given to the export) visits the same steps.
Where nothing applies, the engine refuses the application: the process then visits no step and
ends at its refusal end event."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tongban.bundles import bpmn
from tongban.bundles import service as bundle_service
from tongban.bundles.compose import ComposedStep, Ledger
from tongban.bundles.io import read_bundles
from tongban.bundles.schemas import BundleIn
from tongban.cases.service import intake
from tongban.cli import common
from tongban.cli.main import app
from tongban.config import get_settings
from tongban.demo.loader import BUNDLES_FILE, load_demo
from tongban.errors import ValidationFailed

SpiffWorkflow = pytest.importorskip("SpiffWorkflow")
from SpiffWorkflow import TaskState  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.parser import BpmnParser  # noqa: E402

MODEL = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
#: every bundle the demo ships, whatever is added to it
DEMO_BUNDLES = [b.code for b in read_bundles(BUNDLES_FILE).bundles]


@pytest.fixture
def demo(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    load_demo(session=session)
    session.commit()
    yield session
    monkeypatch.undo()
    get_settings.cache_clear()


def answer_sets(bundle: BundleIn) -> list[dict[str, str]]:
    """All first answers, all last answers, a mix (the i-th question's i-th answer), and every
    answer of every question once (the others at their first): for the civil-servant career,
    each of its mutually exclusive events."""
    questions = bundle.questions
    first = {q.code: q.answers[0].code for q in questions}
    sets = [
        first,
        {q.code: q.answers[-1].code for q in questions},
        {q.code: q.answers[i % len(q.answers)].code for i, q in enumerate(questions)},
    ]
    sets += [{**first, q.code: a.code} for q in questions for a in q.answers]
    unique: list[dict[str, str]] = []
    for s in sets:
        if s not in unique:
            unique.append(s)
    return unique


def run(xml: str, process_id: str, answers: dict[str, str]) -> tuple[list[str], list[str]]:
    """Run the process to its end with the answers as its input data, doing every person's
    task and completing every started service task; the tasks done in order, and the end
    events reached."""
    parser = BpmnParser()
    parser.add_bpmn_str(xml.encode())
    workflow = BpmnWorkflow(parser.get_spec(process_id))
    (start,) = workflow.get_tasks(state=TaskState.READY)
    start.data = {bpmn.ANSWERS: dict(answers)}
    done: list[str] = []
    seen: set[Any] = set()

    def advance() -> None:
        """Let the engine run what it runs by itself (gateways, events, send tasks), and note
        the tasks that finished since, in the order they finished."""
        workflow.do_engine_steps()
        finished = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.id not in seen]
        for task in sorted(finished, key=lambda t: t.last_state_change):
            seen.add(task.id)
            done.append(task.task_spec.name)

    advance()
    for _ in range(1000):
        # Service tasks (payments, automatic checks) wait, started, for the system that does
        # them: complete those, then do one person's task.
        started = workflow.get_tasks(state=TaskState.STARTED)
        for task in started:
            task.complete()
        advance()
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        if not ready and not started:
            break
        if ready:
            ready[0].run()
            advance()
    assert workflow.is_completed(), f"the process did not end for {answers}"
    ends = [n for n in done if n.startswith("EndEvent_")]
    return [n for n in done if n.startswith("Step_")], ends


def step_id(code: str) -> str:
    return f"Step_{bpmn._safe(code)}"


def check(demo: Session, code: str, answers: dict[str, str], whole: str) -> set[str]:
    """Run the whole and the personalised export with these answers against the plan; the
    steps visited."""
    process_id = "Process_" + bpmn._safe(code)
    visited, ends = run(whole, process_id, answers)
    personal = bpmn.bundle_bpmn(session=demo, principal=None, code=code, answers=answers)
    assert 'isExecutable="true"' in personal
    visited_personal, ends_personal = run(personal, process_id, answers)
    bundle = bundle_service.get_bundle(session=demo, principal=None, code=code).bundle
    if not bundle_service.applicable(bundle, answers):
        # The engine refuses an application where nothing applies; the process visits no step
        # and ends at its refusal, the personalised one too.
        with pytest.raises(ValidationFailed) as refused:
            intake.plan_bundle(code, answers, demo, None)
        assert refused.value.code == "nothing_applies"
        assert visited == visited_personal == [], (code, answers)
        assert ends == ends_personal == ["EndEvent_Refused"], (code, answers)
        return set()
    steps, links, _limits, _required = intake.plan_bundle(code, answers, demo, None)
    planned = [step_id(s.key) for s in steps]
    counts = Counter(visited)
    assert set(counts) == set(planned), (code, answers, set(counts) ^ set(planned))
    assert all(n == 1 for n in counts.values()), (code, answers, counts)
    assert sorted(visited_personal) == sorted(visited), (code, answers)
    assert ends == ends_personal == ["EndEvent_1"], (code, answers)
    for order in (visited, visited_personal):
        position = {name: i for i, name in enumerate(order)}
        for a, b in links:
            assert position[step_id(a)] < position[step_id(b)], (code, answers, a, b)
    return set(visited)


@pytest.mark.parametrize("code", DEMO_BUNDLES)
def test_spiffworkflow_runs_the_whole_bundle_as_the_engine_plans_it(
    demo: Session, code: str
) -> None:
    bundle = bundle_service.get_bundle(session=demo, principal=None, code=code).bundle
    whole = bpmn.bundle_bpmn(session=demo, principal=None, code=code)
    process = ET.fromstring(whole).find(f"{MODEL}process")
    assert process is not None
    assert process.get("isExecutable") == "true"
    tasks = [el.get("id") for el in process if el.tag.endswith("Task")]
    # The whole bundle's process holds every member's steps.
    ledger = bundle_service.compose_definition(session=demo, bundle=bundle, answers=None)
    assert sorted(tasks) == sorted(step_id(s.code) for s in ledger.steps)
    runs = {frozenset(check(demo, code, answers, whole)) for answers in answer_sets(bundle)}
    if any(m.when for m in bundle.members):
        assert len(runs) > 1  # the answers decide: not every set runs the same steps


PROPERTY = {"has_gas": "yes", "has_tv": "no", "has_broadband": "yes"}


def test_the_api_exports_the_personalised_process(demo: Session, client: TestClient) -> None:
    query = [("answer", f"{q}={a}") for q, a in PROPERTY.items()]
    response = client.get("/api/v1/bundles/property-transfer/bpmn", params=query)
    assert response.status_code == 200, response.text
    expected = bpmn.bundle_bpmn(
        session=demo, principal=None, code="property-transfer", answers=PROPERTY
    )
    assert response.text == expected
    assert "conditionExpression" not in response.text  # only the members that apply
    assert "Step_QX_TV_0001" not in response.text
    assert "Step_QX_GAS_0001" in response.text
    whole = client.get("/api/v1/bundles/property-transfer/bpmn").text
    assert "conditionExpression" in whole
    assert "Step_QX_TV_0001" in whole


@pytest.mark.parametrize(
    "query",
    [
        [("answer", "has_gas=maybe"), ("answer", "has_tv=no"), ("answer", "has_broadband=no")],
        [("answer", "has_gas=yes")],  # the other deciding questions are not answered
        [("answer", "colour=red")],
        [("answer", "has_gas")],  # not QUESTION=ANSWER
    ],
)
def test_bad_answers_are_refused_as_compose_refuses_them(
    demo: Session, client: TestClient, query: list[tuple[str, str]]
) -> None:
    response = client.get("/api/v1/bundles/property-transfer/bpmn", params=query)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "answers_invalid"
    if all("=" in v for _, v in query):
        answers = dict(v.split("=", 1) for _, v in query)
        composed = client.post(
            "/api/v1/bundles/property-transfer/compose", json={"answers": answers}
        )
        assert composed.status_code == 422
        assert composed.json()["code"] == response.json()["code"]
        assert composed.json()["errors"] == response.json()["errors"]


@pytest.fixture
def cli(demo: Session, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI, on the demo's session."""

    def scope() -> Iterator[Session]:
        yield demo

    monkeypatch.setattr(common, "_scope", scope)
    return CliRunner()


def test_the_cli_exports_the_personalised_process(demo: Session, cli: CliRunner) -> None:
    args = [f"--answer={q}={a}" for q, a in PROPERTY.items()]
    result = cli.invoke(app, ["bundle", "export-bpmn", "property-transfer", *args])
    assert result.exit_code == 0, result.output
    expected = bpmn.bundle_bpmn(
        session=demo, principal=None, code="property-transfer", answers=PROPERTY
    )
    assert result.stdout == expected
    bad = cli.invoke(app, ["bundle", "export-bpmn", "property-transfer", "-a", "has_gas=maybe"])
    assert bad.exit_code == 1
    assert "answers_invalid" in bad.stderr
    assert "answers.has_gas: 'maybe' is not an answer" in bad.stderr


def test_the_single_window_step_is_skipped_when_no_member_that_has_one_applies() -> None:
    """A case has the single window's acceptance only if a member that applies had one: here
    only B, which applies when q is yes; A always applies and has no acceptance of its own."""
    steps = [
        ComposedStep("BUNDLE#acceptance", "acceptance", "受理", "", "single_window", 1, None, "D"),
        ComposedStep("A#S1", "review", "审查", "", "x", 1, "A", "D"),
        ComposedStep("B#S1", "review", "审查", "", "x", 1, "B", "D"),
    ]
    ledger = Ledger({}, {}, {}, {}, [], [], steps, [], {}, ["A", "B"])  # type: ignore[arg-type]
    graph = bpmn.build_graph(
        ledger,
        {"A": [], "B": []},
        "D",
        when={"A": {}, "B": {"q": ["yes"]}},
        window={"acceptance": ["B"]},
    )
    xml = bpmn.to_xml(graph, process_id="Process_t", name="t", lanes=[("D", "D")])
    visited, ends = run(xml, "Process_t", {"q": "yes"})
    assert visited[0] == "Step_BUNDLE_acceptance"
    assert sorted(visited) == ["Step_A_S1", "Step_BUNDLE_acceptance", "Step_B_S1"]
    visited, ends = run(xml, "Process_t", {"q": "no"})
    assert visited == ["Step_A_S1"]
    assert ends == ["EndEvent_1"]
