"""The case map's layout: a step stands one column right of its latest input."""

from __future__ import annotations

from tongban.cases.pages.casemap import COL_GAP, NODE_W, MapStep, case_map


def _step(i: int, status: str = "waiting") -> MapStep:
    return MapStep(i, i, status, "review", f"环节{i}", f"Step {i}")


def test_parallel_members_share_a_column_and_a_join_stands_after_its_latest_input() -> None:
    # 1 → 2 → 3 → 5 and 1 → 4 → 5: 5 waits for 3 (column 3) and 4 (column 2)
    steps = [_step(1, "done"), _step(2, "done"), _step(3, "ready"), _step(4, "done"), _step(5)]
    links = [(1, 2), (2, 3), (3, 5), (1, 4), (4, 5)]
    drawn = case_map(steps, links)
    column = {n.step.id: (n.x - 8) // (NODE_W + COL_GAP) for n in drawn.nodes}
    assert column == {1: 0, 2: 1, 4: 1, 3: 2, 5: 3}
    same_column = [n for n in drawn.nodes if n.step.id in (2, 4)]
    assert len({n.y for n in same_column}) == 2  # one above the other, not on top
    assert (drawn.done, drawn.total, drawn.percent) == (3, 5, 60)
    assert len(drawn.edges) == 5
    assert sum(e.done for e in drawn.edges) == 4  # from 1 (twice), 2 and 4; not from 3
    assert drawn.width == 8 * 2 + 4 * (NODE_W + COL_GAP) - COL_GAP


def test_links_to_steps_of_another_case_and_an_empty_case_draw_nothing_wrong() -> None:
    drawn = case_map([_step(1)], [(1, 99), (98, 1)])
    assert [n.step.id for n in drawn.nodes] == [1]
    assert drawn.edges == []
    empty = case_map([], [])
    assert (empty.width, empty.height, empty.total, empty.percent) == (0, 0, 0, 0)
