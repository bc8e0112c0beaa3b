"""Every refusal the web-facing modules raise is a message id with a Chinese translation, so an
error page says it in the reader's language (the API keeps the English)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tongban.web.i18n import translations

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "tongban"
ERRORS = {
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "ValidationFailed",
    "TooManyRequests",
    "NotAuthenticated",
    "CsrfFailed",
}
#: modules whose errors reach pages or the API (the CLI's file readers are not among them)
MODULES = [
    "auth/access.py",
    "auth/service.py",
    "bundles/service.py",
    "calendar/io.py",
    "calendar/pages.py",
    "calendar/service.py",
    "cases/api.py",
    "cases/archive.py",
    "catalog/pages.py",
    "org/service.py",
    "web/deps.py",
    "web/ratelimit.py",
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "bundles" / "pages").glob("*.py")),
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "catalog" / "service").glob("*.py")),
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "cases" / "pages").glob("*.py")),
    *sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "cases" / "service").glob("*.py")),
]


def _messages(module: str) -> list[tuple[int, str | None]]:
    """(line, message) of every error built in the module; None where the message is made
    with an f-string. ``ValidationFailed.of(message, …)`` counts too."""
    found: list[tuple[int, str | None]] = []
    for node in ast.walk(ast.parse((PACKAGE / module).read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else ""
        if isinstance(func, ast.Attribute) and func.attr == "of":
            name = func.value.id if isinstance(func.value, ast.Name) else ""
        if name not in ERRORS:
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.append((node.lineno, first.value))
        elif isinstance(first, ast.JoinedStr):
            found.append((node.lineno, None))
    return found


@pytest.mark.parametrize("module", MODULES)
def test_refusals_are_translated_message_ids(module: str) -> None:
    zh = translations("zh_CN")
    messages = _messages(module)
    assert [line for line, m in messages if m is None] == [], "built with an f-string"
    untranslated = [(line, m) for line, m in messages if m and zh.gettext(m) == m]
    assert untranslated == []


def test_the_parse_finds_the_refusals() -> None:
    """The test above would pass on modules it cannot read: make sure it reads them."""
    found = [m for module in MODULES for _, m in _messages(module)]
    assert len(found) > 80
    assert "no step %(step)s" in found
    assert "wrong username or password" in found
