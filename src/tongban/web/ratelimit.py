"""Limits on lookups that anyone may make without logging in (the applicant's status check by
case number and ID number), so that nobody can try ID numbers against a case number, or case
numbers against an ID number, at machine speed.

The counts live in this process (a sliding window per key). One node serves the demo and a
county; several nodes behind a balancer each count their own share, which loosens the limit by
the number of nodes (docs/cases.md says so).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from tongban.errors import TooManyRequests


class SlidingWindow:
    """At most ``limit`` hits per key within any ``window`` seconds."""

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may hit again (0 when it may now)."""
        with self._lock:
            now = self._clock()
            hits = self._recent(key, now)
            if len(hits) < self.limit:
                return 0.0
            return hits[0] + self.window - now

    def hit(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)
            if len(self._hits) > 10_000:  # forget keys whose window has passed
                for stale in [
                    k for k, v in self._hits.items() if not v or v[-1] <= now - self.window
                ]:
                    del self._hits[stale]


@dataclass
class StatusLookups:
    """Per client address: 30 lookups in 10 minutes. Per case number: 5 failed lookups in an
    hour, after which that number answers no one until the hour has passed."""

    per_client: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 600))
    failures_per_case: SlidingWindow = field(default_factory=lambda: SlidingWindow(5, 3600))

    def before(self, client: str, number: str) -> None:
        wait = max(self.per_client.wait(client), self.failures_per_case.wait(number.upper()))
        if wait > 0:
            minutes = max(1, math.ceil(wait / 60))
            raise TooManyRequests(
                "too many status lookups; try again in %(minutes)s minutes",
                data={"retry_after": math.ceil(wait), "minutes": minutes},
                params={"minutes": minutes},
            )
        self.per_client.hit(client)

    def failed(self, number: str) -> None:
        self.failures_per_case.hit(number.upper())


def status_lookups(request: Request) -> StatusLookups:
    """The application's limiter (made in ``create_app``)."""
    limiter: StatusLookups = request.app.state.status_lookups
    return limiter


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
