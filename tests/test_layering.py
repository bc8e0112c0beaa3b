"""Dependencies run one way, read from the source with ``ast`` (imports inside functions count).

- The catalogue is below the bundles and the cases: nothing under ``tongban/catalog/`` imports
  ``tongban.bundles`` or ``tongban.cases`` (exports that need both live in ``tongban.exports``).
- The web layer is the edge: only ``tongban/web/``, the page modules (``*/pages.py``,
  ``*/pages/``), the JSON routes (``*/api.py``) and the app factory import ``tongban.web``;
  services, repositories, file formats and the CLI do not.
- ``tongban.kit`` and ``tongban.errors`` import no domain.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import tongban

SRC = Path(tongban.__file__).resolve().parent


def _modules(under: Path) -> Iterator[Path]:
    yield from sorted(under.rglob("*.py"))


def _imported(path: Path) -> set[str]:
    package = ".".join(("tongban", *path.relative_to(SRC).with_suffix("").parts[:-1]))
    return _imports_of(path.read_text(encoding="utf-8"), package)


def _imports_of(source: str, package: str) -> set[str]:
    """Every module ``source`` (a module of ``package``) imports, ``from a import b`` counted as
    ``a`` and ``a.b``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _offenders(paths: Iterator[Path], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in paths:
        bad = sorted(
            name
            for name in _imported(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        if bad:
            out.append(f"{path.relative_to(SRC)}: {', '.join(bad)}")
    return out


def test_the_catalogue_imports_neither_bundles_nor_cases() -> None:
    offenders = _offenders(_modules(SRC / "catalog"), ("tongban.bundles", "tongban.cases"))
    assert offenders == []


def _is_edge(path: Path) -> bool:
    parts = path.relative_to(SRC).parts
    return (
        parts[0] == "web"
        or parts == ("app.py",)
        or path.name in ("pages.py", "api.py")
        or "pages" in parts[:-1]
    )


def test_only_the_edge_imports_the_web_layer() -> None:
    inner = (path for path in _modules(SRC) if not _is_edge(path))
    assert _offenders(inner, ("tongban.web",)) == []


def test_the_check_sees_lazy_and_relative_imports() -> None:
    source = "def f():\n    from tongban.bundles import service\n    from ..cases import api\n"
    found = _imports_of(source, "tongban.catalog")
    assert {"tongban.bundles.service", "tongban.cases.api"} <= found


def test_the_kit_imports_no_domain() -> None:
    """``tongban.kit`` and ``tongban.errors`` are the floor: they import only each other."""
    floor = [*_modules(SRC / "kit"), SRC / "errors.py"]
    offenders = [
        f"{path.relative_to(SRC)}: {name}"
        for path in floor
        for name in sorted(_imported(path))
        if name.startswith("tongban.") and not name.startswith(("tongban.kit", "tongban.errors"))
    ]
    assert offenders == []
