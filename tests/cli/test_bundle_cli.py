"""The command line is the machine's operator: ``tongban bundle list/lint/ledger/export-bpmn``
see a draft bundle (they passed ``principal=None`` and saw only published ones, so a draft could
not be linted before publishing); anonymous readers of the API still see only published ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import tongban.db
from tests.bundles.test_bundles_api import _bundle, _world
from tongban.app import create_app
from tongban.bundles import service
from tongban.bundles.schemas import BundleDocument
from tongban.cli.main import app
from tongban.db import make_engine, set_engine


@pytest.fixture
def with_draft(committing_database: str) -> Iterator[Engine]:
    before = tongban.db._engine
    engine = make_engine(committing_database)
    with Session(engine, expire_on_commit=False) as session:
        _world(session)
        draft = _bundle(code="build-next", name_zh="开工一件事（修订）", status="draft")
        service.import_bundles(
            session=session, document=BundleDocument.model_validate({"bundles": [draft]})
        )
        session.commit()
    set_engine(engine)
    yield engine
    if before is not None:
        set_engine(before)
    engine.dispose()


def test_the_operator_sees_a_draft_and_anonymous_does_not(with_draft: Engine) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["bundle", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert "build-next" in listed.output
    linted = runner.invoke(app, ["bundle", "lint", "build-next"])
    assert linted.exit_code == 0, linted.output
    assert "no problems" in linted.output
    exported = runner.invoke(app, ["bundle", "export-bpmn", "build-next"])
    assert exported.exit_code == 0, exported.output
    assert "<bpmn:definitions" in exported.output or "definitions" in exported.output
    with TestClient(create_app()) as anonymous:
        codes = [b["code"] for b in anonymous.get("/api/v1/bundles").json()]
        assert codes == ["build"]
        hidden = anonymous.get("/api/v1/bundles/build-next")
        assert hidden.status_code == 404
