"""One set of step links: every demo case the engine made runs along exactly the sequence flows
of its bundle's BPMN export (for the same answers)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tongban.bundles import bpmn
from tongban.bundles import service as bundle_service
from tongban.bundles.compose import ComposedStep, Ledger, step_links
from tongban.cases import repository
from tongban.cases.models import Case
from tongban.cases.service import intake
from tongban.config import get_settings
from tongban.demo.loader import load_demo
from tongban.errors import ValidationFailed

MODEL = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


@pytest.fixture
def demo(session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.setenv("TONGBAN_UPLOAD_DIR", str(tmp_path / "uploads"))
    get_settings.cache_clear()
    load_demo(session=session)
    session.commit()
    yield session
    monkeypatch.undo()
    get_settings.cache_clear()


def _task_edges(xml: str) -> tuple[set[tuple[str, str]], dict[str, str]]:
    """The flows between tasks, through gateways; and each task's tag."""
    process = ET.fromstring(xml).find(f"{MODEL}process")
    assert process is not None
    tags = {el.get("id", ""): el.tag.removeprefix(MODEL) for el in process}
    out: dict[str, list[str]] = {}
    for flow in process.iter(f"{MODEL}sequenceFlow"):
        out.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))

    def reach(node: str) -> set[str]:
        found: set[str] = set()
        for target in out.get(node, []):
            found |= reach(target) if tags[target] == "parallelGateway" else {target}
        return found

    tasks = {n for n, tag in tags.items() if tag.endswith("Task")}
    edges = {(a, b) for a in tasks for b in reach(a) if b in tasks}
    return edges, tags


def _ids(codes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(f"Step_{bpmn._safe(a)}", f"Step_{bpmn._safe(b)}") for a, b in codes}


def test_the_demo_case_ran_along_its_bundles_bpmn(demo: Session) -> None:
    cases = list(demo.scalars(select(Case).where(Case.subject_kind == "bundle")))
    assert cases  # the demo county has a bundle case
    for case in cases:
        xml = bpmn.bundle_bpmn(
            session=demo, principal=None, code=case.subject_code, answers=case.answers
        )
        steps = {s.id: s.code for s in repository.steps_of(demo, case.id)}
        ran = {(steps[a], steps[b]) for a, b in repository.links_of(demo, case.id)}
        assert _ids(ran) == _task_edges(xml)[0], case.number


@pytest.mark.parametrize(
    "code", ["property-transfer", "civil-servant-career", "disability-benefits"]
)
def test_a_case_would_run_along_the_bpmn_of_its_bundle(demo: Session, code: str) -> None:
    """What intake plans (and inserts as the case's step links) is what the export draws, for
    the first and for the last answer of every question."""
    bundle = bundle_service.get_bundle(session=demo, principal=None, code=code).bundle
    for pick in (0, -1):
        answers = {q.code: q.answers[pick].code for q in bundle.questions}
        if not bundle_service.applicable(bundle, answers):
            # Nothing applies: refused, not a case with no steps that never ends.
            with pytest.raises(ValidationFailed) as refused:
                intake.plan_bundle(code, answers, demo, None)
            assert refused.value.code == "nothing_applies"
            continue
        _steps, links, _limits, _required = intake.plan_bundle(code, answers, demo, None)
        xml = bpmn.bundle_bpmn(session=demo, principal=None, code=code, answers=answers)
        assert links
        assert _ids(set(links)) == _task_edges(xml)[0], answers


# SpiffWorkflow runs the exports (the whole bundle's, deciding on the answers, and the
# personalised one) as intake plans them: tests/bundles/test_bpmn_spiff.py.


def _ledger(steps: list[tuple[str, str | None, str]], members: list[str]) -> Ledger:
    composed = [ComposedStep(c, kind, c, c, "x", 1, item, "D") for c, item, kind in steps]
    return Ledger({}, {}, {}, {}, [], [], composed, [], {}, members)  # type: ignore[arg-type]


def test_a_member_without_steps_passes_its_inputs_on() -> None:
    """B has no steps of its own (only acceptance and delivery, merged into the window's): C,
    which depends on B, waited for nothing and was ready before the case was accepted."""
    ledger = _ledger(
        [
            ("W#acceptance", None, "acceptance"),
            ("A#S1", "A", "review"),
            ("C#S1", "C", "review"),
            ("W#delivery", None, "delivery"),
        ],
        ["A", "B", "C"],
    )
    links = step_links(ledger, {"A": [], "B": ["A"], "C": ["B"]})
    assert set(links) == {
        ("W#acceptance", "A#S1"),
        ("A#S1", "C#S1"),
        ("C#S1", "W#delivery"),
    }
