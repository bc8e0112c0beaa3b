"""Every request body is bounded at the edge (issue 12, security): too large is refused with 413
before a route reads it, and the catalogue import is not read at all without credentials."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import assert_refused
from tongban.web.bodylimit import DEFAULT_LIMIT, MULTIPART_LIMIT


def test_a_form_or_json_body_over_a_megabyte_is_refused(client: TestClient) -> None:
    big = b"x" * (DEFAULT_LIMIT + 1)
    response = client.post(
        "/api/v1/cases", content=big, headers={"content-type": "application/json"}
    )
    assert_refused(response, 413, "body_too_large")
    page = client.post("/login", content=big, headers={"content-type": "text/plain"})
    assert page.status_code == 413
    assert 'data-code="body_too_large"' in page.text


def test_a_body_sent_without_its_length_is_counted_as_it_comes(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(3):
            yield b"y" * (DEFAULT_LIMIT // 2 + 1)

    response = client.post(
        "/api/v1/cases", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_refused(response, 413, "body_too_large")


def test_files_may_be_larger_up_to_their_own_limit(client: TestClient) -> None:
    response = client.post(
        "/api/v1/cases/X/uploads",
        files={"file": ("a.pdf", b"%PDF" + b"0" * (2 * DEFAULT_LIMIT), "application/pdf")},
        data={"purpose": "m"},
    )
    assert response.status_code != 413  # refused later, for what it is, not for its size
    too_big = client.post(
        "/api/v1/cases/X/uploads",
        content=b"0" * (MULTIPART_LIMIT + 1),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert_refused(too_big, 413, "body_too_large")


def test_an_anonymous_catalogue_import_is_not_read(client: TestClient) -> None:
    response = client.post(
        "/api/v1/catalog/import",
        content=b"{" + b" " * (5 * DEFAULT_LIMIT) + b"}",
        headers={"content-type": "application/json"},
    )
    assert_refused(response, 401, "not_authenticated")
