"""Which handler runs each kind of job. A domain registers its handlers in its own ``jobs.py``
(``@handler("payment")``); the modules listed in :data:`HANDLER_MODULES` are imported the first
time a kind is looked up, so a worker and a web process know the same kinds."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

#: every module that registers handlers (a new domain adds one line: docs/module-template.md)
HANDLER_MODULES: tuple[str, ...] = ("tongban.cases.jobs", "tongban.notify.jobs")


@dataclass(frozen=True)
class JobRun:
    """What a handler is given: the job as claimed. ``key`` is the delivery key: an effect
    outside the database must happen once per key (a job may run again after a crash)."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


#: A handler does its effect outside the database first (idempotently, by ``run.key``), then
#: its writes in ``session``: they commit together with the job's being marked done.
Handler = Callable[[JobRun, Session], None]

_handlers: dict[str, Handler] = {}
_loaded = False


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        if kind in _handlers and _handlers[kind] is not function:
            raise RuntimeError(f"two handlers for the job kind {kind!r}")
        _handlers[kind] = function
        return function

    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in HANDLER_MODULES:
            importlib.import_module(module)
        _loaded = True


def lookup(kind: str) -> Handler | None:
    _load()
    return _handlers.get(kind)


def kinds() -> frozenset[str]:
    _load()
    return frozenset(_handlers)


@dataclass(frozen=True)
class Periodic:
    """Work that runs once per period however many runners there are: ``cron`` is when
    Procrastinate's workers start it on PostgreSQL; ``every`` the period whose claim (a row of
    ``periodic_run``) lets only one runner do it, on both databases."""

    name: str
    cron: str
    every: timedelta
    run: Callable[[Session], str]


_periodic: dict[str, Periodic] = {}


def periodic(
    name: str, *, cron: str, every: timedelta
) -> Callable[[Callable[[Session], str]], Callable[[Session], str]]:
    def register(function: Callable[[Session], str]) -> Callable[[Session], str]:
        _periodic[name] = Periodic(name, cron, every, function)
        return function

    return register


def periodic_tasks() -> list[Periodic]:
    _load()
    return sorted(_periodic.values(), key=lambda p: p.name)
