"""Statements compiled once per database dialect and run on the DBAPI cursor of a session's
own connection, inside the session's transaction.

For the few statements that run on every officer's action (completing a step, appending to a
case's event log), building, cache-keying and executing a Core statement costs ten times what
the database spends on it. A :class:`Prepared` keeps SQLAlchemy's compiler and type system (the
SQL is compiled by the dialect; values pass through each column type's own bind processor, so
rows are stored exactly as the ORM stores them) and skips the rest.

Use it only where a benchmark shows the need, and only with statements whose parameters are
scalars (no expanding ``IN`` lists). Whatever it writes is invisible to objects already loaded
in the session: the caller expires them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["Prepared", "PreparedSet", "cursor_of"]


class Prepared:
    """One statement compiled for one dialect; ``params`` turns values by name into what the
    DBAPI takes (a sequence for positional paramstyles, a dict for named ones)."""

    __slots__ = ("_convert", "_defaults", "_names", "_pick", "_positional", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        binds = compiled.binds
        self._positional = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if self._positional else list(binds)
        self._names = tuple(names)
        # Values written into the statement (``.values(status="done")``) are binds with a value.
        self._defaults = {n: binds[n].value for n in names if not binds[n].required}
        pick = operator.itemgetter(*names) if names else (lambda _: ())
        self._pick: Callable[[Mapping[str, Any]], Any] = (
            (lambda v: (pick(v),)) if len(names) == 1 else pick
        )
        processors = [binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
        self._convert = tuple((i, f) for i, f in enumerate(processors) if f is not None)

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        out = list(self._pick({**self._defaults, **values} if self._defaults else values))
        for i, process in self._convert:
            if out[i] is not None:
                out[i] = process(out[i])
        if self._positional:
            return out
        return dict(zip(self._names, out, strict=True))

    def execute(self, cursor: Any, **values: Any) -> Any:
        cursor.execute(self.sql, self.params(values))
        return cursor

    def execute_many(self, cursor: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.params(r) for r in rows])


class PreparedSet:
    """A family of statements, built by ``build(dialect)`` the first time a dialect asks."""

    def __init__(self, build: Callable[[Dialect], Any]) -> None:
        self._build = build
        self._by_dialect: dict[str, Any] = {}

    def for_dialect(self, dialect: Dialect) -> Any:
        key = f"{dialect.name}+{dialect.driver}"
        found = self._by_dialect.get(key)
        if found is None:
            found = self._by_dialect[key] = self._build(dialect)
        return found


def cursor_of(session: Session) -> tuple[Any, Dialect]:
    """A DBAPI cursor on the session's connection (its transaction begun), and the dialect.
    Pending ORM changes are flushed first, as autoflush would before a query."""
    session.flush()
    connection: Connection = session.connection()
    return connection.connection.dbapi_connection.cursor(), connection.dialect  # type: ignore[union-attr]
