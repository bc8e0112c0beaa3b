"""Every error code the source can give is listed in docs/errors.md, and the list names no code
the source has stopped giving.

The codes are found in the source with ``ast``, in every way a code is set:

* ``default_code = "..."`` in a class deriving from ``AppError``;
* ``code="..."`` given to such a class (``raise Conflict(..., code="step_not_ready")``,
  ``ValidationFailed.of(..., code=...)``);
* a literal passed to a function that hands one of its parameters on as the ``code`` of an
  error (``insert_once(session, row, "...", "already_voted")``);
* a literal ``"code"`` in a dict that is an error body (one with a ``"message"`` too).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "tongban"
DOCS = ROOT / "docs" / "errors.md"
#: fewer codes than this means the scan has stopped finding them
FLOOR = 100


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SOURCE.rglob("*.py"))]


def _base_names(node: ast.ClassDef) -> set[str]:
    return {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}


def error_classes(modules: list[tuple[Path, ast.Module]]) -> set[str]:
    """``AppError`` and every class deriving from it, anywhere in the source."""
    classes = [n for _, tree in modules for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    known = {"AppError"}
    grown = True
    while grown:
        grown = False
        for c in classes:
            if c.name not in known and _base_names(c) & known:
                known.add(c.name)
                grown = True
    return known


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "of":  # ValidationFailed.of(...)
        func = func.value
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _local_shadows(tree: ast.Module, errors: set[str]) -> set[str]:
    """Names of error classes that a module defines as something else (``compose.Conflict``,
    a clash between two data elements, is no error)."""
    return {
        n.name
        for n in tree.body
        if isinstance(n, ast.ClassDef) and n.name in errors and not _base_names(n) & errors
    }


def _error_calls(tree: ast.Module, errors: set[str]) -> Iterator[ast.Call]:
    mine = errors - _local_shadows(tree, errors)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called_name(node) in mine:
            yield node


def _code_passers(
    modules: list[tuple[Path, ast.Module]], errors: set[str]
) -> dict[str, tuple[int, str]]:
    """Functions that give one of their parameters as the ``code`` of an error they raise:
    name → (position, parameter name)."""
    out: dict[str, tuple[int, str]] = {}
    for _, tree in modules:
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            kwonly = [a.arg for a in fn.args.kwonlyargs]
            for call in _error_calls(ast.Module(body=fn.body, type_ignores=[]), errors):
                for kw in call.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Name):
                        name = kw.value.id
                        if name in params:
                            out[fn.name] = (params.index(name), name)
                        elif name in kwonly:
                            out[fn.name] = (-1, name)
    return out


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def source_codes() -> dict[str, list[str]]:
    """Every code set in the source → where (``path:line``)."""
    modules = _modules()
    errors = error_classes(modules)
    passers = _code_passers(modules, errors)
    found: dict[str, list[str]] = {}

    def add(code: str | None, path: Path, node: ast.AST) -> None:
        if code is not None:
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            found.setdefault(code, []).append(where)

    for path, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in errors:
                for stmt in node.body:
                    targets = (
                        stmt.targets
                        if isinstance(stmt, ast.Assign)
                        else [stmt.target]
                        if isinstance(stmt, ast.AnnAssign)
                        else []
                    )
                    if any(isinstance(t, ast.Name) and t.id == "default_code" for t in targets):
                        add(_literal(stmt.value), path, stmt)  # type: ignore[attr-defined]
            elif isinstance(node, ast.Call) and _called_name(node) in passers:
                position, name = passers[_called_name(node)]  # type: ignore[index]
                given = [kw.value for kw in node.keywords if kw.arg == name]
                if not given and 0 <= position < len(node.args):
                    given = [node.args[position]]
                for value in given:
                    add(_literal(value), path, node)
            elif isinstance(node, ast.Dict):
                keys = {_literal(k): v for k, v in zip(node.keys, node.values, strict=True) if k}
                if "code" in keys and "message" in keys:
                    add(_literal(keys["code"]), path, node)
        for call in _error_calls(tree, errors):
            for kw in call.keywords:
                if kw.arg == "code":
                    add(_literal(kw.value), path, call)
    return found


def documented_codes() -> set[str]:
    """The codes in the first column of the tables of docs/errors.md."""
    text = DOCS.read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*`([a-z][a-z0-9_]*)`\s*\|", text, flags=re.MULTILINE))


def test_the_scan_finds_the_codes_it_must() -> None:
    found = source_codes()
    assert len(found) > FLOOR, sorted(found)
    # one of each way a code is set
    for code in ("conflict", "yaml_refused", "step_not_ready", "already_voted", "request_invalid"):
        assert code in found, code
    assert "definition" not in found  # bundles.compose.Conflict is not an error


def test_every_code_is_snake_case() -> None:
    bad = [c for c in source_codes() if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", c)]
    assert not bad


def test_every_code_in_the_source_is_documented() -> None:
    missing = {c: where for c, where in source_codes().items() if c not in documented_codes()}
    assert not missing, f"add these codes to docs/errors.md: {missing}"


def test_every_documented_code_is_in_the_source() -> None:
    stale = documented_codes() - set(source_codes())
    assert not stale, f"docs/errors.md lists codes the source no longer gives: {sorted(stale)}"


def test_each_code_is_documented_once() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*`([a-z][a-z0-9_]*)`\s*\|", text, flags=re.MULTILINE)
    twice = sorted({c for c in rows if rows.count(c) > 1})
    assert not twice
