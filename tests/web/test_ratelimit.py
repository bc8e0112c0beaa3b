"""The sliding windows behind the limits on anonymous lookups, with a clock the test moves."""

from __future__ import annotations

import threading

import pytest

from tongban.errors import NotFound, TooManyRequests
from tongban.web.ratelimit import MAX_KEY, SlidingWindow, StatusLookups

NUMBER = "990123-20261128-000001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lookups(clock: Clock) -> StatusLookups:
    return StatusLookups(
        SlidingWindow(30, 600, clock), SlidingWindow(5, 3600, clock), SlidingWindow(50, 3600, clock)
    )


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


def test_five_failures_from_one_client_lock_that_number_for_that_client() -> None:
    clock = Clock()
    lookups = _lookups(clock)
    for _ in range(5):
        lookups.before("10.0.0.1", NUMBER)(False)
    with pytest.raises(TooManyRequests) as caught:
        lookups.before("10.0.0.1", NUMBER)
    assert caught.value.data == {"retry_after": 3600, "minutes": 60}
    assert caught.value.code == "rate_limited"
    lookups.before("10.0.0.2", NUMBER)(True)  # the applicant elsewhere still gets in
    lookups.before("10.0.0.1", NUMBER[:-1] + "2")(True)  # and another number is not locked
    clock.now += 3600
    lookups.before("10.0.0.1", NUMBER)(True)


def test_a_guesser_with_many_addresses_is_stopped_at_fifty_failures_per_number() -> None:
    lookups = _lookups(Clock())
    for i in range(50):
        lookups.before(f"10.0.{i}.1", NUMBER)(False)
    with pytest.raises(TooManyRequests) as caught:
        lookups.before("10.9.9.9", NUMBER)
    assert caught.value.code == "rate_limited"


def test_successes_give_their_places_back_and_parallel_lookups_cannot_all_pass() -> None:
    lookups = _lookups(Clock())
    for _ in range(20):
        lookups.before("10.0.0.1", NUMBER)(True)  # the applicant checking often is fine
    # Ten lookups at once from one client, none of them answered yet: only five get through.
    passed, refused = [], []

    def look() -> None:
        try:
            passed.append(lookups.before("10.0.0.7", NUMBER))
        except TooManyRequests:
            refused.append(1)

    threads = [threading.Thread(target=look) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(passed), len(refused)) == (5, 5)


def test_made_up_numbers_cannot_grow_the_table_without_bound() -> None:
    clock = Clock()
    window = SlidingWindow(5, 60, clock)
    window.hit("x" * 10_000)
    assert window.wait("x" * MAX_KEY) == 0
    for i in range(1000):
        window.hit(f"k{i}")
    clock.now += 61
    window.hit("late")  # a sweep on the way forgets what left its window
    assert window.wait("k1") == 0
    assert len(window._hits) == 1


def test_the_guard_counts_not_found_as_a_failure_and_nothing_else() -> None:
    lookups = _lookups(Clock())
    for _ in range(5):
        with pytest.raises(RuntimeError), lookups.guard("10.0.0.1", NUMBER):
            raise RuntimeError("the database went away")  # not the applicant's fault
    for _ in range(5):
        with pytest.raises(NotFound), lookups.guard("10.0.0.1", NUMBER):
            raise NotFound("no case with this number and ID number")
    with pytest.raises(TooManyRequests), lookups.guard("10.0.0.1", NUMBER):
        pass
