"""A busy or unreachable database is a 503 that says to try again, on the API and the pages;
any other database error stays the defect it is (a 500)."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from tongban.catalog import service as catalog_service
from tongban.errors import Unavailable, database_unavailable


def _failing(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def search_items(**_: object) -> None:
        raise error

    monkeypatch.setattr(catalog_service, "search_items", search_items)


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),  # bare, as on the engine's hot path
        OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")),
        OperationalError("SELECT 1", {}, psycopg.OperationalError("server closed the connection")),
        psycopg.OperationalError("connection refused"),
    ],
    ids=["sqlite-bare", "sqlite-wrapped", "postgresql-wrapped", "postgresql-bare"],
)
def test_a_busy_or_lost_database_is_503_with_retry_after(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    _failing(monkeypatch, error)
    api = client.get("/api/v1/items")
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "5"
    body = api.json()
    assert body["code"] == "database_unavailable"
    assert "try again" in body["message"]

    page = client.get("/catalog")
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert "系统繁忙" in page.text
    assert "数据库繁忙或暂时无法连接，本次操作未保存任何内容" in page.text
    english = client.get("/catalog?lang=en")
    assert "The service is busy" in english.text


def test_any_other_database_error_is_not_dressed_up_as_busy(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing(monkeypatch, sqlite3.OperationalError("no such table: catalog_item"))
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        client.get("/api/v1/items")


@pytest.mark.parametrize(
    ("error", "busy"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("database table is locked"), True),
        (sqlite3.OperationalError("no such table: x"), False),
        (sqlite3.IntegrityError("UNIQUE constraint failed"), False),
        (psycopg.errors.LockNotAvailable("lock timeout"), True),
        (psycopg.errors.UniqueViolation("duplicate key"), False),
        (ValueError("database is locked"), False),
    ],
)
def test_which_errors_a_retry_may_cure(error: Exception, busy: bool) -> None:
    found = database_unavailable(error)
    assert (found is not None) is busy
    if found is not None:
        assert isinstance(found, Unavailable)
        assert found.status == 503
