"""Every integer a request carries (path, query, form, body) is bounded at the edge: 2**63 is a
422 that names the field, never an overflow in the database (a 500)."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

import annotated_types
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tests.factories import login, make_org
from tongban.app import create_app

BIG = 2**63


def _bounds(metadata: list[Any]) -> set[str]:
    found: set[str] = set()
    for m in metadata:
        for x in [m, *getattr(m, "metadata", [])]:
            if isinstance(x, annotated_types.Ge | annotated_types.Gt):
                found.add("low")
            if isinstance(x, annotated_types.Le | annotated_types.Lt):
                found.add("high")
    return found


def _ints(tp: Any, seen: set[type]) -> Iterator[tuple[str, list[Any]]]:
    """(where, constraints) of every ``int`` inside a type, through models and containers."""
    origin = typing.get_origin(tp)
    if tp is int:
        yield "", []
    elif origin is typing.Annotated:
        base, *meta = typing.get_args(tp)
        for loc, found in _ints(base, seen):
            yield loc, found + list(meta)
    elif origin in (typing.Union, types.UnionType, list, tuple, dict, set, frozenset):
        for arg in typing.get_args(tp):
            if arg not in (type(None), Ellipsis):
                yield from _ints(arg, seen)
    elif isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
        seen.add(tp)
        for name, f in tp.model_fields.items():
            for loc, found in _ints(f.annotation, seen):
                yield f"{tp.__name__}.{name}{loc}", found + list(f.metadata)


def _params(dependant: Dependant) -> Iterator[tuple[str, list[Any]]]:
    for p in (
        dependant.path_params
        + dependant.query_params
        + dependant.body_params
        + dependant.header_params
        + dependant.cookie_params
    ):
        for loc, found in _ints(p.field_info.annotation, set()):
            yield p.name + (f" ({loc})" if loc else ""), found + list(p.field_info.metadata)
    for sub in dependant.dependencies:
        yield from _params(sub)


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router.routes, prefix + route.include_context.prefix)


def test_every_integer_of_every_route_has_both_bounds() -> None:
    app: FastAPI = create_app(run_worker=False)
    routes = list(_routes(app.routes))
    assert len(routes) > 80  # the walk reaches the included routers
    unbounded = [
        f"{sorted(route.methods)} {path}: {name}"
        for path, route in routes
        for name, found in _params(route.dependant)
        if _bounds(found) != {"low", "high"}
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("GET", f"/api/v1/items?offset={BIG}", None, "query.offset"),
        ("GET", f"/api/v1/items/QX-X-1?version={BIG}", None, "query.version"),
        (
            "PATCH",
            "/api/v1/items/QX-X-1/draft",
            {"changes": {}, "lock_version": BIG},
            "lock_version",
        ),
        ("POST", "/api/v1/items/QX-X-1/publish", {"lock_version": BIG}, "lock_version"),
        ("PUT", "/api/v1/bundles/B-1/draft", {"bundle": {}, "lock_version": BIG}, "lock_version"),
        ("GET", f"/api/v1/workbench?offset={BIG}", None, "query.offset"),
        ("GET", "/api/v1/workbench?limit=-1", None, "query.limit"),
        ("POST", f"/api/v1/steps/{BIG}/complete", {"lock_version": 1}, "path.step_id"),
        ("POST", "/api/v1/steps/1/complete", {"lock_version": BIG}, "lock_version"),
        (
            "POST",
            "/api/v1/steps/1/return",
            {"lock_version": 1, "to_step_id": BIG, "reason": "again"},
            "to_step_id",
        ),
        ("POST", f"/api/v1/steps/1/sign?lock_version={BIG}", {"party": "a"}, "query.lock_version"),
        ("POST", "/api/v1/steps/1/pay", {"lock_version": 1, "amount_fen": BIG}, "amount_fen"),
        ("POST", f"/api/v1/steps/{BIG}/vote", {"choice": "for"}, "path.step_id"),
        ("DELETE", f"/api/v1/tokens/{BIG}", None, "path.token_id"),
        ("POST", f"/admin/jobs/{BIG}/retry", None, "path.job_id"),
        ("GET", f"/cases/990123-20261128-000001/steps/{BIG}/decision", None, "path.step_id"),
        ("GET", f"/bundles/B-1/edit?saved={BIG}", None, "query.saved"),
    ],
)
def test_a_huge_integer_is_a_422_naming_the_field(
    client: TestClient, session: Session, method: str, url: str, body: Any, field: str
) -> None:
    make_org(session)
    csrf = login(client, "sysadmin")
    response = client.request(method, url, json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422, response.text[:500]
    if url.startswith("/api/"):
        assert response.json()["code"] == "request_invalid"
        assert field in [e["loc"] for e in response.json()["errors"]], response.json()
    else:
        assert 'data-code="request_invalid"' in response.text
        assert field in response.text


def test_text_with_a_nul_character_is_a_422_not_a_500(client: TestClient, session: Session) -> None:
    """Found by the property test on PostgreSQL, whose text cannot hold NUL: 422 nul_character
    and nothing written (SQLite keeps the character)."""
    make_org(session)
    csrf = login(client, "sysadmin")
    response = client.post(
        "/api/v1/tokens", json={"name": "a\x00b"}, headers={"X-CSRF-Token": csrf}
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        assert response.status_code == 422
        assert response.json()["code"] == "nul_character"
    else:
        assert response.status_code == 201
