"""The fast YAML path gives exactly the careful loader's data, or steps aside.

It is taken for large plain files only; every file below is given to it directly
(``min_bytes=0``) and compared with ``safeyaml.load_yaml``'s careful result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tongban.kit import fastyaml, safeyaml

DEMO = Path(__file__).resolve().parents[2] / "src" / "tongban" / "demo" / "data"


def _fast(data: bytes) -> Any:
    return fastyaml.fast_load(
        data, safeyaml._PyLoader.yaml_implicit_resolvers, safeyaml.MAX_DEPTH, min_bytes=0
    )


def _careful(data: bytes) -> Any:
    return safeyaml.load_yaml(data, "x.yaml", max_bytes=10**9, fast=False).data


@pytest.mark.parametrize("name", ["catalog.yaml", "org.yaml", "bundles.yaml"])
def test_the_demo_files_read_the_same_both_ways(name: str) -> None:
    data = (DEMO / name).read_bytes()
    fast = _fast(data)
    assert fast is not None, "the demo file should be plain enough for the fast path"
    assert fast == _careful(data)


PLAIN = (
    "a: 1\nb: -3\nc: true\nd: False\ne: null\nf: 名称\ng: [1, x, '012']\nh:\n  - k: v\n"
    "i: 'quoted'\nj: \"dq\"\nk: yes\nl: NO\nm: |\n  two\n  lines\nn: ''\n"
)


def test_plain_scalars_read_the_same_both_ways() -> None:
    fast = _fast(PLAIN.encode())
    careful = _careful(PLAIN.encode())
    assert fast is None or fast == careful
    # the quoted '012' is a number-like string: the fast path steps aside rather than guess
    assert fast is None


def test_a_file_with_only_unambiguous_scalars_takes_the_fast_path() -> None:
    text = "a: 1\nb: [x, y]\nc: {d: 名称, e: false}\nf: |\n  x\n  y\n"
    fast = _fast(text.encode())
    assert fast is not None
    assert fast == _careful(text.encode())


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",  # anchors and aliases
        "a: !!python/object:os.system x\n",  # tags
        "%YAML 1.2\n---\na: 1\n",  # directives
        "a: 1\n---\nb: 2\n",  # a second document
        "a: 012\n",  # YAML 1.1 octal: 10 for the careful loader
        "a: 1_000\n",
        "a: ~\n",
        "a: 2024-01-01\n",  # a date
        "a: 1e3\n",  # a string for PyYAML 1.1, a number for JSON
        "a: 1.5\n",  # a float: none of our fields
        "a: 1\na: 2\n",  # a duplicate key
        "<<: {a: 1}\n",  # a merge key
        "a: TRUE\n",
        "a: [" * 70 + "]" * 70 + "\n",  # deeper than the limit
        "a: [1, 2\n",  # not YAML at all
        "l:\n  - ?\n",  # an explicit (empty) key: null for the careful loader
        "a: @x\n",  # a reserved indicator
        "a: 'x # y', b: *x\n",  # a quote before the "#": not taken for a comment
    ],
)
def test_what_the_fast_path_cannot_vouch_for_goes_the_careful_way(text: str) -> None:
    assert _fast(text.encode()) is None


def test_a_large_file_reads_fast_and_finds_its_lines_when_asked(tmp_path: Path) -> None:
    rows = "".join(f"  - code: C{n}\n    name: 名称{n}\n" for n in range(20000))
    data = f"items:\n{rows}".encode()
    assert len(data) > fastyaml.FAST_MIN_BYTES
    document = safeyaml.load_yaml(data, "big.yaml", max_bytes=10**9)
    assert document.careful is not None  # it came by the fast path
    assert document.data["items"][19999] == {"code": "C19999", "name": "名称19999"}
    assert document.line_of(("items", 19999, "name")) == 40001


def test_a_control_character_is_refused_as_before() -> None:
    text = "items:\n" + "".join(f"  - c: C{n}\n" for n in range(30000)) + "  - c: \x07\n"
    with pytest.raises(safeyaml.YamlRefused):
        safeyaml.load_yaml(text.encode(), "bad.yaml", max_bytes=10**9)


SCALARS = [
    "1", "-3", "0", "-0", "00", "012", "0o12", "0x1F", "1_000", "1:20", "+5", "1.5", "1.", ".5",
    "1e3", ".inf", "-.inf", ".nan", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false",
    "yes", "no", "on", "off", "y", "n", "2024-01-01", "2024-01-01 10:00:00", "990123",
    "511A0138000000-511602000000-000-115113010833722043-1-00", "名称", "a b", "x#y", "5%", "",
    "QX-*-0301", "R&D", "=", "<<", "-", "?", "0.00", "1.50", "@x", "`x", "a # b", "#c", "*x",
    "&a x", "!t x", "% x",
]  # fmt: skip


def _scalar_text(value: str, style: int) -> str:
    if style == 1:
        return "'" + value.replace("'", "''") + "'"
    if style == 2:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def test_random_documents_read_the_same_or_go_the_careful_way() -> None:
    """Random mappings and lists of plain, single- and double-quoted scalars: the fast path
    either gives the careful loader's data or steps aside; never a different value."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    entry = st.tuples(st.sampled_from(SCALARS), st.integers(0, 2))
    taken: list[bool] = []

    @settings(max_examples=1500, deadline=None)
    @given(st.lists(st.tuples(entry, st.lists(entry, max_size=3)), min_size=1, max_size=8))
    def check(rows: list[tuple[tuple[str, int], list[tuple[str, int]]]]) -> None:
        lines = []
        for n, ((value, style), items) in enumerate(rows):
            lines.append(f"k{n}: {_scalar_text(value, style)}")
            lines.append(f"l{n}:" + ("" if items else " []"))
            lines.extend(f"  - {_scalar_text(v, s)}" for v, s in items)
        data = ("\n".join(lines) + "\n").encode()
        try:
            careful = _careful(data)
        except safeyaml.YamlRefused:
            assert _fast(data) is None
            return
        fast = _fast(data)
        taken.append(fast is not None)
        assert fast is None or fast == careful, data.decode()

    check()
    assert any(taken), "the fast path was never taken: the property proved nothing"
