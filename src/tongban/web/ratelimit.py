"""Limits on lookups that anyone may make without logging in (the applicant's status check by
case number and ID number), so that nobody can try ID numbers against a case number, or case
numbers against an ID number, at machine speed.

* per client address: 30 lookups in any 10 minutes, and growing delays after 10 failures;
* per (client address, case number): growing delays after 5 failures in an hour;
* per case number, from everyone together: growing delays of at most a minute after 20
  failures, for addresses that have failed themselves: an address without a recent failure is
  never held back by what others tried (``StatusLookups``).
Anonymous applications are limited per client address too (``AnonymousIntake``).

A lookup takes its place in the failure windows before it runs (so parallel requests cannot all
pass the check first) and gives it back when it succeeds. The counts live in this process (a
sliding window per key): several nodes behind a balancer each count their own share. Behind a
reverse proxy, ``TONGBAN_FORWARDED_ALLOW_IPS`` names the proxies whose ``X-Forwarded-For`` is
trusted, or every client would share the proxy's address.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fastapi import Request

from tongban.errors import NotFound, TooManyRequests
from tongban.web.deps import CurrentPrincipal

MAX_KEY = 80  # longer keys (a made-up "case number") are cut: they cannot grow the table


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
        self._next_sweep = 0.0

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _wait(self, key: str, now: float) -> float:
        hits = self._recent(key, now)
        if hits is None or len(hits) < self.limit:
            return 0.0
        return hits[0] + self.window - now

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may hit again (0 when it may now)."""
        with self._lock:
            return self._wait(key[:MAX_KEY], self._clock())

    def hit(self, key: str) -> float:
        """Count a hit now; returns its time (to give it back with ``unhit``)."""
        with self._lock:
            now = self._clock()
            self._hits.setdefault(key[:MAX_KEY], deque()).append(now)
            self._sweep(now)
            return now

    def unhit(self, key: str, at: float) -> None:
        with self._lock:
            hits = self._hits.get(key[:MAX_KEY])
            if hits is not None and at in hits:
                hits.remove(at)

    def _sweep(self, now: float) -> None:
        """Forget keys whose window has passed, at most once per tenth of a window."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window / 10
        cutoff = now - self.window
        for stale in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
            del self._hits[stale]


class FailureDelay:
    """Growing delays after failures: once ``free`` failures of a key fall within ``window``
    seconds, each further attempt must wait ``2 ** (failures - free)`` seconds after the last
    failure, at most ``cap`` — slower and slower for a guesser, never a long lock-out for the
    real person (who waits ``cap`` seconds at most)."""

    def __init__(
        self, free: int, window: float, cap: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.free, self.cap = free, cap
        self.failures = SlidingWindow(10**6, window, clock)
        self._clock = clock

    def wait(self, key: str) -> float:
        with self.failures._lock:
            hits = self.failures._recent(key[:MAX_KEY], self._clock())
            if not hits or len(hits) < self.free:
                return 0.0
            gap = min(2.0 ** (len(hits) - self.free), self.cap)
            return max(hits[-1] + gap - self._clock(), 0.0)

    def count(self, key: str) -> int:
        """Failures of ``key`` within the window."""
        with self.failures._lock:
            return len(self.failures._recent(key[:MAX_KEY], self._clock()) or ())

    def fail(self, key: str) -> float:
        """Count a failure now; returns its time (to give it back with ``failures.unhit``)."""
        return self.failures.hit(key)


@dataclass
class StatusLookups:
    """The limits of the status lookup. They cost the guesser, never the applicant:

    * per client address: 30 lookups in any 10 minutes;
    * per (client address, case number): after 5 failures in an hour, growing delays (1, 2,
      4 … seconds after the last failure, at most an hour);
    * per client address, over every number: after 10 failures in an hour, the same growing
      delays (a guesser going through sequential case numbers);
    * per case number, from everyone together: after 20 failures in an hour, growing delays of
      at most a minute, and only for addresses that have failed recently. An address without a
      recent failure (the applicant at home, the window) is never held back by what others
      tried against the number, so many addresses buy a guesser one guess each, not a lock-out.
    """

    per_client: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 600))
    failures_per_client_case: FailureDelay = field(
        default_factory=lambda: FailureDelay(5, 3600, 3600)
    )
    failures_per_client: FailureDelay = field(default_factory=lambda: FailureDelay(10, 3600, 3600))
    failures_per_case: FailureDelay = field(default_factory=lambda: FailureDelay(20, 3600, 60))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def before(self, client: str, number: str) -> Callable[[bool], None]:
        """Refuse (429) beyond a limit; otherwise count the lookup and hold its places in the
        failure windows. Call what it returns with whether the lookup found the case."""
        pair, case = f"{client} {number.upper()}", number.upper()
        with self._lock:  # check and take the places together
            fresh = self.failures_per_client.count(client) == 0
            wait = max(
                self.per_client.wait(client),
                self.failures_per_client_case.wait(pair),
                self.failures_per_client.wait(client),
                0.0 if fresh else self.failures_per_case.wait(case),
            )
            if wait > 0:
                minutes = max(1, math.ceil(wait / 60))
                raise TooManyRequests(
                    "too many status lookups; try again in %(minutes)s minutes",
                    data={"retry_after": math.ceil(wait), "minutes": minutes},
                    params={"minutes": minutes},
                    code="rate_limited",
                )
            self.per_client.hit(client)
            held = (
                self.failures_per_client_case.fail(pair),
                self.failures_per_client.fail(client),
                self.failures_per_case.fail(case),
            )

        def done(found: bool) -> None:
            if found:  # a success is no failure: give the places back
                self.failures_per_client_case.failures.unhit(pair, held[0])
                self.failures_per_client.failures.unhit(client, held[1])
                self.failures_per_case.failures.unhit(case, held[2])

        return done

    @contextlib.contextmanager
    def guard(self, client: str, number: str) -> Iterator[None]:
        """``with lookups.guard(client, number): <the lookup>``: refused (429) beyond a limit;
        a ``NotFound`` inside counts as a failure, anything else gives the places back."""
        done = self.before(client, number)
        try:
            yield
        except NotFound:
            done(False)
            raise
        except BaseException:
            done(True)
            raise
        done(True)


@dataclass
class AnonymousIntake:
    """Applications submitted without logging in (the apply page, the intake API), counted per
    client address whether they succeed or not: 5 in any minute, 20 in any hour. Staff at the
    window and signed-in applicants are not counted here."""

    per_minute: SlidingWindow = field(default_factory=lambda: SlidingWindow(5, 60))
    per_hour: SlidingWindow = field(default_factory=lambda: SlidingWindow(20, 3600))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, client: str) -> None:
        """Refuse (429, ``intake_rate_limited``) beyond a limit; otherwise count this one."""
        with self._lock:
            wait = max(self.per_minute.wait(client), self.per_hour.wait(client))
            if wait > 0:
                minutes = max(1, math.ceil(wait / 60))
                raise TooManyRequests(
                    "too many applications from this address; try again in %(minutes)s minutes",
                    data={"retry_after": math.ceil(wait), "minutes": minutes},
                    params={"minutes": minutes},
                    code="intake_rate_limited",
                )
            self.per_minute.hit(client)
            self.per_hour.hit(client)


def anonymous_checks() -> AnonymousIntake:
    """The looser limit of the apply page's *Continue* and *Change* rounds (each reads and
    stores the files chosen): 30 in any minute, 200 in any hour per address."""
    return AnonymousIntake(SlidingWindow(30, 60), SlidingWindow(200, 3600))


def anonymous_intake(request: Request, principal: CurrentPrincipal) -> None:
    """Dependency of the intake routes: an anonymous submission takes its place in the
    application's ``AnonymousIntake`` (made in ``create_app``) or is refused."""
    if principal is None:
        limiter: AnonymousIntake = request.app.state.anonymous_intake
        limiter.check(client_address(request))


def status_lookups(request: Request) -> StatusLookups:
    """The application's limiter (made in ``create_app``)."""
    limiter: StatusLookups = request.app.state.status_lookups
    return limiter


def client_address(request: Request) -> str:
    """The client's address; an IPv6 client counts by its /64, which one subscriber holds."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


@dataclass
class LoginAttempts:
    """Throttling of the login form (failed attempts only; a success costs nothing):

    * per client address: 30 failures in 10 minutes, then no more attempts from it until the
      window frees (a guesser trying many accounts);
    * per (client address, account): after 5 failures in 15 minutes, growing delays up to 5
      minutes;
    * per account, from everyone together: after 10 failures in 15 minutes, growing delays up
      to one minute (a guesser with many addresses slows down; the real person waits a minute
      at most)."""

    per_client: SlidingWindow = field(default_factory=lambda: SlidingWindow(30, 600))
    per_client_account: FailureDelay = field(default_factory=lambda: FailureDelay(5, 900, 300))
    per_account: FailureDelay = field(default_factory=lambda: FailureDelay(10, 900, 60))

    def check(self, client: str, username: str) -> None:
        """Refuse (429, ``login_throttled``) while a delay runs."""
        account = username.strip().lower()
        wait = max(
            self.per_client.wait(client),
            self.per_client_account.wait(f"{client} {account}"),
            self.per_account.wait(account),
        )
        if wait > 0:
            seconds = math.ceil(wait)
            raise TooManyRequests(
                "too many failed logins; try again in %(seconds)s seconds",
                data={"retry_after": seconds, "seconds": seconds},
                params={"seconds": seconds},
                code="login_throttled",
            )

    def failed(self, client: str, username: str) -> None:
        account = username.strip().lower()
        self.per_client.hit(client)
        self.per_client_account.fail(f"{client} {account}")
        self.per_account.fail(account)


def login_attempts(request: Request) -> LoginAttempts:
    """The application's login limiter (made in ``create_app``)."""
    limiter: LoginAttempts = request.app.state.login_attempts
    return limiter
