"""``%`` and ``_`` typed into a search are characters, not LIKE wildcards: ``q=%`` used to match
every item. Every LIKE the source builds escapes its pattern (``autoescape=True``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import make_catalog, make_org

SOURCE = Path(__file__).resolve().parents[2] / "src" / "tongban"


@pytest.mark.parametrize("q", ["%", "_", "%%", "__", "%_%"])
def test_wildcards_match_nothing(client: TestClient, session: Session, q: str) -> None:
    make_org(session)
    make_catalog(session)
    assert client.get("/api/v1/items", params={"q": "就业登记"}).json()["total"] >= 1
    found = client.get("/api/v1/items", params={"q": q})
    assert found.status_code == 200
    assert found.json()["total"] == 0, found.json()
    for page in ("/catalog", "/apply", "/elements"):
        shown = client.get(page, params={"q": q})
        assert shown.status_code == 200
        assert "施工许可" not in shown.text
    # Around a word they add nothing: the same items as the word alone.
    word = client.get("/api/v1/items", params={"q": "就业"}).json()["items"]
    wrapped = client.get("/api/v1/items", params={"q": f"{q}就业{q}"}).json()["items"]
    assert [i["implementation_code"] for i in wrapped] == [i["implementation_code"] for i in word]


def test_every_like_of_the_source_escapes_its_pattern() -> None:
    """A LIKE built by SQLAlchemy takes ``escape`` (``.like``, ``.ilike``) or ``autoescape=True``
    (``.startswith``, ``.endswith``, ``.contains`` on a column, which is how the source builds
    them: the jurisdiction subtrees); a bare ``.like`` of a user's text would take ``%`` live."""
    unescaped = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"like", "ilike", "notlike", "notilike"}
                and not {k.arg for k in node.keywords} & {"escape", "autoescape"}
            ):
                unescaped.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert unescaped == []
    subtree = (SOURCE / "catalog" / "repository.py").read_text(encoding="utf-8")
    assert subtree.count(".startswith(") == subtree.count("autoescape=True")
