"""A fast path for large, plain YAML files (a province's catalogue: 100,000 items, 200 MB).

PyYAML builds a Python object per node and constructs every value in Python: 4 ms an item, so
a province's file takes minutes. rapidyaml (``ryml``, C++) parses the same text a hundred times
faster and emits it as JSON, which the standard library reads in C. The two parsers do not read
every scalar alike (YAML 1.1 against 1.2: ``012``, ``1_000``, ``~``, ``2024-01-01``, ``1e3``), and
rapidyaml knows nothing of our refusals (anchors, tags, duplicate keys, depth), so the fast path
is taken only where the result is provably what ``tongban.kit.safeyaml``'s own loader gives:

- the bytes hold none of ``& * ! %`` and no document marker (``---``, ``...``) at a line's
  start: no anchors, aliases, tags, directives or second documents to vet;
- rapidyaml parses the text and its JSON parses back;
- no value is a float (the two disagree on exponents; no field of ours is a float), no key
  is one that our loader's resolvers would read as something else than a string, and no string
  value is one that they would read otherwise (an integer, a date, null, a boolean) unless it is
  a JSON literal (``'990123'``), which rapidyaml keeps quoted only when the file quoted it: so
  every scalar has the same value in both;
- no mapping repeats a key, no key is a merge key (``<<``), and nothing nests deeper than the
  loader's limit.

Anything else returns None and the caller uses the careful loader, which then gives its exact
messages with lines. The fast path has no lines: ``YamlDocument`` computes them with the careful
loader the first time an error needs one (``safeyaml.load_yaml``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

try:
    import ryml  # type: ignore[import-untyped]

    HAVE_RYML: Final = True
except ImportError:  # pragma: no cover - rapidyaml is a dependency; without it, the slow path
    HAVE_RYML = False  # type: ignore[misc]

FAST_MIN_BYTES: Final = 256 * 1024
"""Below this the careful loader is fast enough and gives its lines at once."""

_MARKS: Final = re.compile(rb"[&*!%?@`]")


def _unvetted(data: bytes) -> bool:
    """Something only the careful loader vets: a document marker at a line's start, or one of
    the indicators ``& * ! % ? @ ` `` where a node would start (at a line's start after the
    indentation, after ``: ``, ``- ``, ``? ``, or after ``[ { ,``): an anchor, alias, tag,
    directive, complex key or reserved character. The same characters inside a text
    (``5%～12%``, ``QX-*-0301``, a comment) do not count."""
    if data.startswith((b"---", b"...")) or b"\n---" in data or b"\n..." in data:
        return True
    for mark in _MARKS.finditer(data):
        at = mark.start()
        if data[at] == 0x25 and (at == 0 or data[at - 1] == 0x0A):  # a directive
            return True
        line = data.rfind(b"\n", 0, at) + 1
        hash_at = data.find(b"#", line, at)
        if (
            hash_at >= 0
            and (hash_at == line or data[hash_at - 1] in b" \t")
            and b"'" not in data[line:hash_at]
            and b'"' not in data[line:hash_at]
        ):
            continue  # in a comment (no quote before it on the line that could hide the "#")
        before = at - 1
        spaced = False
        while before >= 0 and data[before] in b" \t":
            before -= 1
            spaced = True
        if before < 0 or data[before] == 0x0A:
            return True
        if data[before] in b"[{," or (spaced and data[before] in b":-?"):
            return True
    return False


# rapidyaml writes a plain scalar that is a JSON literal bare (990123, 0.00, true, null) and keeps
# a quoted one quoted: a JSON string that is such a literal was quoted in the file, and is a
# string for the careful loader too. A string that is not one (012, 1_000, ~, 2024-01-01, True)
# may have been plain, where the careful loader reads it otherwise.
_JSON_LITERAL: Final = re.compile(
    r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null"
)


class _Ambiguous(Exception):
    """The fast result might differ from the careful loader's."""


def fast_load(
    data: bytes,
    resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]],
    max_depth: int,
    *,
    min_bytes: int = FAST_MIN_BYTES,
) -> Any | None:
    """The document ``data`` holds, or None when the fast path cannot vouch for it.

    ``resolvers`` is the careful loader's implicit resolver table (first character → tag and
    pattern); ``max_depth`` its nesting limit; a file under ``min_bytes`` goes the careful way."""
    if not HAVE_RYML or len(data) < min_bytes or _unvetted(data):
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        tree = ryml.parse_in_arena(data)
        text = ryml.emit_json(tree)
        del tree
        loaded = json.loads(text, object_pairs_hook=_no_duplicates)
    except (_Ambiguous, ValueError, RecursionError, RuntimeError):
        return None
    except Exception:  # rapidyaml's own parse errors: the careful loader names them
        return None
    try:
        _check_all(loaded, resolvers, max_depth)
    except _Ambiguous:
        return None
    return loaded


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs) or "<<" in out:
        raise _Ambiguous
    return out


def _check_all(
    root: Any,
    resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]],
    max_depth: int,
) -> None:
    """Raise ``_Ambiguous`` if a string might have been read otherwise by the careful loader,
    a float appears (PyYAML 1.1 and rapidyaml disagree on exponents, and no field of ours is a
    float), or the nesting is too deep. One pass, iterative, over every container."""
    table = {first: [rx for tag, rx in rows if tag != "tag:yaml.org,2002:str"]
             for first, rows in resolvers.items() if first}  # fmt: skip
    get = table.get
    literal = _JSON_LITERAL.fullmatch
    plain: set[str] = set()  # texts already found unambiguous (codes and kinds recur)
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise _Ambiguous
        if type(node) is dict:
            for key in node:
                if key not in plain:
                    rows = get(key[:1])
                    if rows and any(rx.match(key) for rx in rows):
                        raise _Ambiguous
                    plain.add(key)
            values: Any = node.values()
        else:
            values = node
        for value in values:
            kind = type(value)
            if kind is str:
                if value in plain:
                    continue
                rows = get(value[:1])
                if rows:
                    if any(rx.match(value) for rx in rows) and not literal(value):
                        raise _Ambiguous
                    plain.add(value)
            elif kind is dict or kind is list:
                stack.append((value, depth + 1))
            elif kind is float:
                raise _Ambiguous
