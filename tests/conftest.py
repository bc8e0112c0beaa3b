"""Database fixtures: one migrated database per run (SQLite file, or PostgreSQL when
TONGBAN_TEST_DATABASE_URL is set), and a transaction rolled back after every test.

No fixture here is autouse: pure unit tests (kit, file formats) need no database.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("TONGBAN_PASSWORD_PROFILE", "cheapest")
# The platform's own files (the demo bank's ledger, the notification log) of a test run stay
# out of the checkout.
os.environ.setdefault("TONGBAN_DATA_DIR", tempfile.mkdtemp(prefix="tongban-test-data-"))

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tongban.app import create_app
from tongban.db import make_engine, set_engine, transaction
from tongban.migrate import upgrade
from tongban.web.deps import db_session


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    url = os.environ.get("TONGBAN_TEST_DATABASE_URL")
    if not url:
        path: Path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    set_engine(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back: commits become savepoints."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    app = create_app(run_worker=False)

    def _db() -> Iterator[Session]:
        yield from transaction(session)

    app.dependency_overrides[db_session] = _db
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A PostgreSQL database of the test's own, migrated, dropped after it (tests whose
    processes or threads commit for real); skipped when no PostgreSQL is named."""
    url = os.environ.get("TONGBAN_TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        pytest.skip("PostgreSQL runs when TONGBAN_TEST_DATABASE_URL names one")
    name = f"tongban_jobs_{uuid.uuid4().hex[:8]}"
    base = url.rsplit("/", 1)[0]
    admin = make_engine(base + "/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        engine = make_engine(f"{base}/{name}")
        upgrade(engine)
        engine.dispose()
        yield f"{base}/{name}"
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def committing_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database of the test's own whose transactions commit for real: a SQLite file,
    then (when TONGBAN_TEST_DATABASE_URL names one) a PostgreSQL database from ``pg_database``."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_database")
        return url
    url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url
