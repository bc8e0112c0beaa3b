"""Property-based test of the whole API (schemathesis over ``/openapi.json``): requests made up
from the schema, valid and not, with and without a token, never get a server error (5xx).

Bounded by examples per operation so that the whole test takes well under a minute; CI runs it
with the rest of the suite (marker ``property``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session

from tests.factories import make_catalog, make_org, principal_of
from tongban.app import create_app
from tongban.auth import service as auth_service
from tongban.db import transaction
from tongban.web.deps import db_session

APP = create_app(run_worker=False)
# The coverage phase (every boundary of every field) triples the time; the bounds of the
# integers have their own test (test_integer_bounds.py).
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    APP,
    config=schemathesis.config.SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": False}}}
    ),
)


@pytest.fixture
def token(session: Session) -> Iterator[str]:
    """The test's database behind the app (rolled back after it), a small world in it, and a
    token of the reform office, who may do the most."""
    make_org(session)
    make_catalog(session)
    _, secret = auth_service.create_token(
        session=session, principal=principal_of(session, "reform"), name="schemathesis"
    )
    session.commit()

    def _db() -> Iterator[Session]:
        yield from transaction(session)

    APP.dependency_overrides[db_session] = _db
    yield secret
    APP.dependency_overrides.clear()


@pytest.mark.property
@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: Any, token: str) -> None:
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        response = case.call(headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
