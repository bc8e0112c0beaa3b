"""One owner of a request's transaction: the session dependency commits or rolls back, pages
call neither; a refused page action rolls back only itself (``web.deps.attempt``) and the page
redraws with the reason; a redirect announces a write only once it is committed.

The tests that look at what was committed use a database of their own and the app's real
``db_session`` (no test savepoints), and read the result in a fresh session."""

from __future__ import annotations

import ast
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import login, make_catalog, make_org, principal_of
from tongban import db
from tongban.app import create_app
from tongban.audit.models import AuditEvent
from tongban.catalog import service as catalog_service
from tongban.catalog.models import ItemVersion
from tongban.errors import FieldError, ValidationFailed
from tongban.migrate import upgrade

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tongban"
ITEM = "QX-RSJ-1"


# ---------------------------------------------------------------- no page ends a transaction


def page_modules() -> list[Path]:
    """Every module of the pages: ``*/pages.py`` and everything in a ``*/pages/`` package."""
    found = {p for p in PACKAGE.rglob("*.py") if p.stem == "pages" or "pages" in p.parts}
    return sorted(found)


def transaction_calls(source: str) -> list[tuple[int, str]]:
    """(line, name) of every ``….commit(…)`` and ``….rollback(…)`` in the source."""
    return [
        (node.lineno, node.func.attr)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"commit", "rollback"}
    ]


def test_the_scan_finds_the_calls_and_the_pages() -> None:
    """The test below would pass on a scan that sees nothing: make sure it sees."""
    source = "def f(s):\n    s.commit()\n    s.connection().rollback()\n    s.flush()\n"
    assert transaction_calls(source) == [(2, "commit"), (3, "rollback")]
    names = {str(p.relative_to(PACKAGE)) for p in page_modules()}
    assert {"catalog/pages.py", "cases/pages/apply.py", "cases/pages/case.py"} <= names
    assert any(n.startswith("bundles/pages") for n in names)


@pytest.mark.parametrize("module", page_modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_page_commits_or_rolls_back(module: Path) -> None:
    assert transaction_calls(module.read_text(encoding="utf-8")) == []


# ---------------------------------------------------------------- a database of the test's own


@pytest.fixture(params=["sqlite", "postgresql"])
def own_engine(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A migrated database of this test alone, made the application's database: the app's own
    ``db_session`` commits into it for real."""
    admin: Engine | None = None
    name = ""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'own.sqlite3'}")
    else:
        url = os.environ.get("TONGBAN_TEST_DATABASE_URL", "")
        if not url.startswith("postgresql"):
            pytest.skip("PostgreSQL runs when TONGBAN_TEST_DATABASE_URL names one")
        base = make_url(url)
        name = f"tongban_pagetx_{uuid.uuid4().hex[:12]}"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine = db.make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        monkeypatch.setattr(db, "_engine", engine)
        monkeypatch.setattr(db, "_factory", sessionmaker(engine, expire_on_commit=False))
        with Session(engine, expire_on_commit=False) as session:
            make_org(session)
            make_catalog(session)
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.dispose()


@pytest.fixture
def own_client(own_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(run_worker=False), base_url="http://testserver") as client:
        yield client


def _edit_form(csrf: str, **changes: str) -> dict[str, Any]:
    """The edit form of the item as ``make_catalog`` made it, with some fields changed."""
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "lock_version": "",
        "name_zh": "就业登记",
        "name_en": f"Item {ITEM}",
        "item_type": "administrative_licence",
        "department": "QX-RSJ",
        "description": "",
        "legal": "20",
        "promised": "5",
        "visits": "1",
        "channels": ["window", "online"],
        "lb_law": ["《中华人民共和国行政许可法》"],
        "lb_article": ["第四十二条"],
        "lb_text": ["二十日内作出决定"],
    }
    form.update(changes)
    return form


def _versions(engine: Engine) -> list[tuple[int, str, int]]:
    """(version, status, promised days) of the item, read in a fresh session."""
    with Session(engine) as fresh:
        item = catalog_service.get_item(
            session=fresh, principal=principal_of(fresh, "reform"), implementation_code=ITEM
        )
        return [
            (v.version_no, v.status, promised)
            for v in item.versions
            for promised in [
                catalog_service.get_item(
                    session=fresh,
                    principal=principal_of(fresh, "reform"),
                    implementation_code=ITEM,
                    version_no=v.version_no,
                ).item.time_limit.promised
            ]
        ]


def _audited(engine: Engine, action: str) -> int:
    with Session(engine) as fresh:
        return (
            fresh.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            )
            or 0
        )


# ---------------------------------------------------------------- through a page


def test_a_refused_edit_redraws_the_form_with_the_reason_and_writes_nothing(
    own_client: TestClient, own_engine: Engine
) -> None:
    csrf = login(own_client, "reform")
    before = _versions(own_engine)
    answer = own_client.post(
        f"/catalog/{ITEM}/edit", data=_edit_form(csrf, promised="30"), follow_redirects=False
    )
    assert answer.status_code == 422
    assert 'name="promised"' in answer.text  # the form again, not an error page
    assert 'value="30"' in answer.text  # with what the user typed
    assert "承诺办结时限不得超过法定办结时限。" in answer.text  # next to the field
    assert _versions(own_engine) == before
    assert _audited(own_engine, "item.save_draft") == 0


def test_a_refusal_after_the_action_wrote_takes_its_writes_back(
    own_client: TestClient, own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request still commits (the page answered the refusal itself): only the savepoint
    around the action keeps what the action wrote before it was refused out of the database."""
    real_save = catalog_service.save_draft

    def save_then_refuse(**kwargs: Any) -> ItemVersion:
        real_save(**kwargs)
        raise ValidationFailed(
            "the draft is invalid; nothing was saved", errors=[FieldError("name_zh", "no")]
        )

    monkeypatch.setattr(catalog_service, "save_draft", save_then_refuse)
    csrf = login(own_client, "reform")
    before = _versions(own_engine)
    answer = own_client.post(
        f"/catalog/{ITEM}/edit", data=_edit_form(csrf, promised="6"), follow_redirects=False
    )
    assert answer.status_code == 422
    assert _versions(own_engine) == before
    assert _audited(own_engine, "item.save_draft") == 0
    # …while what the request did outside the action (the login it resolved) stays usable.
    assert own_client.get(f"/catalog/{ITEM}/edit").status_code == 200


def test_a_saved_edit_is_committed_before_the_redirect(
    own_client: TestClient, own_engine: Engine
) -> None:
    csrf = login(own_client, "reform")
    answer = own_client.post(
        f"/catalog/{ITEM}/edit", data=_edit_form(csrf, promised="6"), follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/catalog/{ITEM}?saved=1"
    # Read at once, in another session, as the GET the browser sends next would.
    assert _versions(own_engine) == [(1, "published", 5), (2, "draft", 6)]
    assert _audited(own_engine, "item.save_draft") == 1


def test_a_commit_that_fails_sends_no_redirect(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dependency commits before the response goes out (``DbSession`` is function-scoped):
    a commit that fails is the busy page, never a 303 that announced a write."""
    make_org(session)
    make_catalog(session)
    csrf = login(client, "reform")

    def fail() -> None:
        raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(session, "commit", fail)
    answer = client.post(
        f"/catalog/{ITEM}/edit", data=_edit_form(csrf, promised="6"), follow_redirects=False
    )
    assert answer.status_code == 503
    assert "location" not in answer.headers
    assert "系统繁忙" in answer.text
