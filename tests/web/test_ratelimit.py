"""The sliding windows behind the limits on anonymous lookups, with a clock the test moves."""

from __future__ import annotations

import contextlib
import threading

import pytest

from tongban.errors import NotFound, TooManyRequests
from tongban.web.ratelimit import MAX_KEY, FailureDelay, SlidingWindow, StatusLookups

NUMBER = "990123-20261128-000001"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lookups(clock: Clock) -> StatusLookups:
    return StatusLookups(
        SlidingWindow(30, 600, clock),
        FailureDelay(5, 3600, 3600, clock),
        FailureDelay(10, 3600, 3600, clock),
        FailureDelay(20, 3600, 60, clock),
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


def test_five_failures_from_one_client_slow_that_client_down_on_that_number() -> None:
    clock = Clock()
    lookups = _lookups(clock)
    for _ in range(5):
        lookups.before("10.0.0.1", NUMBER)(False)
    with pytest.raises(TooManyRequests) as caught:
        lookups.before("10.0.0.1", NUMBER)
    assert caught.value.data == {"retry_after": 1, "minutes": 1}
    assert caught.value.code == "rate_limited"
    lookups.before("10.0.0.2", NUMBER)(True)  # the applicant elsewhere still gets in
    lookups.before("10.0.0.1", NUMBER[:-1] + "2")(True)  # and another number is not locked
    clock.now += 3600
    lookups.before("10.0.0.1", NUMBER)(True)  # an hour without failures: free again


def test_growing_delays_per_client_and_number() -> None:
    clock = Clock()
    lookups = _lookups(clock)
    for _ in range(5):
        lookups.before("10.0.0.1", NUMBER)(False)
    waits = []
    for _ in range(6):
        with pytest.raises(TooManyRequests) as caught:
            lookups.before("10.0.0.1", NUMBER)
        waits.append(caught.value.data["retry_after"])
        clock.now += waits[-1]
        lookups.before("10.0.0.1", NUMBER)(False)
    assert waits == [1, 2, 4, 8, 16, 32]


def test_many_addresses_cannot_lock_the_applicant_out() -> None:
    """Ten addresses times five wrong ID numbers used to lock the number for an hour, even for
    the right ID number. Now each guessing address slows down, and an address without failures
    of its own (the applicant's) is never refused for what the others tried."""
    clock = Clock()
    lookups = _lookups(clock)
    guesses = 0
    for i in range(100):
        for _ in range(5):
            with contextlib.suppress(TooManyRequests):
                lookups.before(f"10.0.{i}.1", NUMBER)(False)
                guesses += 1
    assert guesses < 150  # after twenty, about one guess per fresh address
    lookups.before("192.168.1.20", NUMBER)(True)  # the applicant, the right ID number
    lookups.before("192.168.1.20", NUMBER)(True)  # and again: a success costs nothing
    with pytest.raises(TooManyRequests):  # the guessers are held back
        lookups.before("10.0.7.1", NUMBER)
    # An applicant who mistyped once waits at most a minute, however many guessed.
    lookups.before("192.168.1.21", NUMBER)(False)
    clock.now += 60
    lookups.before("192.168.1.21", NUMBER)(True)


def test_one_address_guessing_across_numbers_slows_down() -> None:
    clock = Clock()
    lookups = _lookups(clock)
    for i in range(10):
        lookups.before("10.0.0.1", f"{NUMBER[:-2]}{i:02}")(False)
    with pytest.raises(TooManyRequests):
        lookups.before("10.0.0.1", NUMBER[:-2] + "99")
    lookups.before("10.0.0.2", NUMBER[:-2] + "99")(True)


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
