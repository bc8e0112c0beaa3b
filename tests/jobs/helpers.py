"""Running jobs inside a test's own transaction: each of the runner's transactions becomes a
savepoint of the test session (the test's outer transaction is rolled back at the end)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.orm import Session


def within(session: Session) -> Callable[[], AbstractContextManager[Session]]:
    @contextmanager
    def scope() -> Iterator[Session]:
        with session.begin_nested():
            yield session
        session.expire_all()

    return scope
