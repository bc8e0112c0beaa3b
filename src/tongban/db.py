"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from tongban.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: (moment, text) of the last timestamp converted for SQLite, shared by every column: one
#: tuple, so a thread always reads a matching pair
_last_timestamp: list[tuple[datetime | None, str | None]] = [(None, None)]


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a timezone-aware column")
    return value.astimezone(UTC)


def _sqlite_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    moment, text = _last_timestamp[0]
    if value is moment:
        return text
    text = _as_utc(value).isoformat(" ", "microseconds")[:26]
    _last_timestamp[0] = (value, text)
    return text


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both databases (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else _as_utc(value)

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, the text SQLAlchemy's own ``DATETIME`` stores (``2026-11-28
        07:27:20.000123``, always with microseconds, in UTC), made by ``isoformat`` in one call
        instead of a format string over seven fields, and the same moment converted once: a
        step an officer finishes stores one moment three times (acted, logged, next step
        ready). ``tests/test_db.py`` holds it to SQLAlchemy's own output."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_timestamp

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


def utcnow() -> datetime:
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (savepoints work then).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: SQLite has one writer; a transaction that read first and writes later would
    # fail at once ("database is locked") if another wrote meanwhile, so every transaction takes
    # the write lock when it begins and a second one waits (busy_timeout) instead of failing.
    # On the DBAPI connection itself: nothing of SQLAlchemy's statement machinery is needed.
    connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE")


def make_engine(url: str | None = None) -> Engine:
    url = url or get_settings().database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No JIT compilation on PostgreSQL: the platform's queries are short, and a plan whose
    # estimated cost passes jit_above_cost (a LIMIT over a long index scan does) spent 70 ms
    # compiling for a catalogue search that then ran in 60.
    return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c jit=off"})


_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _factory
    if _engine is None:
        _engine = make_engine()
        _factory = sessionmaker(_engine, expire_on_commit=False)
    return _engine


def set_engine(engine: Engine) -> None:
    """Point the application at another engine (tests, CLI ``--database``)."""
    global _engine, _factory
    _engine = engine
    _factory = sessionmaker(engine, expire_on_commit=False)


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _factory is not None
    return _factory


def transaction(session: Session) -> Iterator[Session]:
    """The edge owns the transaction: commit on success, roll back on error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def session_scope() -> Iterator[Session]:
    session = session_factory()()
    try:
        yield from transaction(session)
    finally:
        session.close()
