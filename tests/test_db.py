"""The shared database types store exactly what SQLAlchemy's own types would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, bindparam, select
from sqlalchemy.dialects import sqlite

from tongban.db import UtcDateTime, make_engine

MOMENTS = [
    datetime(2026, 11, 28, 7, 27, 20, 123456, tzinfo=UTC),
    datetime(2026, 11, 28, 7, 27, 20, tzinfo=UTC),  # no microseconds: still six digits
    datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=8))),  # Shanghai: a day back
    datetime(999, 3, 4, 5, 6, 7, 8, tzinfo=UTC),  # a three-digit year is padded
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),  # a year on
]


def sqlalchemy_text(value: datetime) -> str:
    """What SQLAlchemy's SQLite DATETIME stores for the same instant in UTC."""
    dialect = sqlite.dialect()
    process = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    text = process(value.astimezone(UTC))
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_sqlite_timestamps_are_stored_as_sqlalchemy_stores_them(moment: datetime) -> None:
    dialect = sqlite.dialect()
    process = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    assert process(moment) == sqlalchemy_text(moment)


def test_sqlite_timestamps_read_back_as_the_same_instant() -> None:
    engine = make_engine("sqlite://")
    column = select(bindparam("at", type_=UtcDateTime()).label("at"))
    with engine.connect() as connection:
        for moment in MOMENTS[:3]:
            stored = connection.execute(column, {"at": moment}).scalar_one()
            assert stored == moment
            assert stored.tzinfo is not None


def test_naive_timestamps_are_refused_on_every_dialect() -> None:
    from sqlalchemy.dialects import postgresql

    naive = datetime(2026, 11, 28, 7, 27, 20)  # noqa: DTZ001 - the point of the test
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        process = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
        assert process is not None
        with pytest.raises(ValueError, match="naive datetime"):
            process(naive)


def test_a_moment_converted_again_gives_its_own_text_not_the_last_one() -> None:
    dialect = sqlite.dialect()
    process = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert process is not None
    first, second = MOMENTS[0], MOMENTS[1]
    equal_but_not_the_same = first + timedelta(0)
    texts = [process(m) for m in (first, first, second, equal_but_not_the_same, first)]
    assert texts == [sqlalchemy_text(m) for m in (first, first, second, first, first)]
