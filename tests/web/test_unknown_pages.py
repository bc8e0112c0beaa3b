"""An address with no page gets an error page in the reader's language (and the API its JSON
error), never Starlette's bare ``{"detail": "Not Found"}`` (issue 12, point 9)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import assert_refused


def test_an_unknown_page_is_a_page_in_chinese_then_english(client: TestClient) -> None:
    page = client.get("/no-such-page")
    assert_refused(page, 404, "page_not_found")
    assert page.headers["content-type"].startswith("text/html")
    assert "此地址没有页面" in page.text
    assert "Traceback" not in page.text
    client.get("/lang/en")
    english = client.get("/no-such-page")
    assert "there is no page at this address" in english.text


def test_an_unknown_api_route_and_a_wrong_method_say_so_in_json(client: TestClient) -> None:
    assert_refused(client.get("/api/v1/no-such-thing"), 404, "page_not_found")
    assert client.get("/api/v1/no-such-thing").json()["message"] == (
        "there is no page at this address"
    )
    assert_refused(client.delete("/api/v1/items"), 405, "method_not_allowed")
    assert_refused(client.put("/catalog"), 405, "method_not_allowed")
