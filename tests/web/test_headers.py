"""A strict Content-Security-Policy and X-Frame-Options on every response, and templates that
keep working under it: no inline script, no ``on*=`` handler, no ``style=`` attribute."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import make_org
from tongban.web.headers import CSP

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tongban"
#: templates that are no page: the archive's summary, the receipt and the one-time notice are
#: rendered to PDF (WeasyPrint)
NOT_PAGES = {
    "cases/templates/archive/summary.html",
    "cases/templates/receipts/_doc.html",
    "cases/templates/receipts/receipt.html",
    "cases/templates/receipts/notice.html",
}


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/catalog",
        "/apply",
        "/status",
        "/api/v1/items",
        "/no-such-page",
        "/api/v1/no-such",
        "/static/tongban.css",
        "/healthz",
        "/openapi.json",
    ],
)
def test_every_response_carries_the_policy(client: TestClient, session: Session, path: str) -> None:
    make_org(session)
    response = client.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert "script-src 'self';" in CSP
    assert response.headers["x-frame-options"] == "DENY"


def test_an_error_and_a_refusal_carry_it_too(client: TestClient) -> None:
    refused = client.post("/login", data={"username": "x", "password": "y"})
    assert refused.status_code == 403
    assert refused.headers["content-security-policy"] == CSP
    assert refused.headers["x-frame-options"] == "DENY"


def test_the_api_docs_may_load_swagger_ui_and_nothing_else_may(client: TestClient) -> None:
    docs = client.get("/api/docs")
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


def _templates() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("templates/**/*.html")
        if str(p.relative_to(PACKAGE)) not in NOT_PAGES
    )


def test_no_template_has_inline_script_handlers_or_styles() -> None:
    templates = _templates()
    assert len(templates) > 30
    found = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE)
        for script in re.finditer(r"<script\b([^>]*)>", text):
            attrs = script.group(1)
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                found.append(f"{where}: inline <script{attrs}>")
        found += [f"{where}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+\s*=", text)]
        found += [f"{where}: {m.group(0)}" for m in re.finditer(r"\sstyle\s*=", text)]
        found += [f"{where}: <style>" for _ in re.finditer(r"<style\b", text)]
        found += [f"{where}: javascript: URL" for _ in re.finditer(r"javascript:", text)]
    assert found == []
