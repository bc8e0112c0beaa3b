"""The sliding window behind the limits on anonymous lookups, with a clock the test moves."""

from __future__ import annotations

import pytest

from tongban.errors import TooManyRequests
from tongban.web.ratelimit import SlidingWindow, StatusLookups


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_allows_its_limit_then_waits_until_the_oldest_hit_leaves() -> None:
    clock = Clock()
    window = SlidingWindow(3, 60, clock)
    for _ in range(3):
        assert window.wait("a") == 0
        window.hit("a")
        clock.now += 10
    assert window.wait("a") == pytest.approx(30)  # the first hit, at 1000, leaves at 1060
    assert window.wait("b") == 0  # keys are counted apart
    clock.now = 1060.0
    assert window.wait("a") == 0


def test_failed_lookups_lock_a_case_number_for_everyone() -> None:
    clock = Clock()
    lookups = StatusLookups(SlidingWindow(30, 600, clock), SlidingWindow(5, 3600, clock))
    for i in range(5):
        lookups.before(f"10.0.0.{i}", "990123-20261128-000001")
        lookups.failed("990123-20261128-000001")
    with pytest.raises(TooManyRequests) as caught:
        lookups.before("10.0.0.99", "990123-20261128-000001")
    assert caught.value.data == {"retry_after": 3600, "minutes": 60}
    lookups.before("10.0.0.99", "990123-20261128-000002")  # another number is not locked
    clock.now += 3600
    lookups.before("10.0.0.99", "990123-20261128-000001")
