"""The hardened YAML loader every file format shares (the catalogue's own cases are in
tests/catalog/test_io.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from tongban.kit.safeyaml import HAVE_LIBYAML, YamlRefused, load_yaml, read_yaml, too_big_message

_loaders = pytest.mark.parametrize(
    "fast",
    [False, pytest.param(True, marks=pytest.mark.skipif(not HAVE_LIBYAML, reason="no libyaml"))],
)


@_loaders
def test_refusals_name_the_kind_of_file(fast: bool) -> None:
    with pytest.raises(YamlRefused) as info:
        load_yaml(b"a: &x 1\n", "f.yaml", max_bytes=100, what="widget file", fast=fast)
    assert info.value.code == "yaml_refused"
    assert info.value.message == "f.yaml: the widget file cannot be read"
    (error,) = info.value.errors
    assert error.loc == "f.yaml: line 1 column 4"
    assert error.message == "anchors (&x) are not allowed in a widget file"


@_loaders
def test_every_duplicate_key_is_listed(fast: bool) -> None:
    text = b"a: 1\nb:\n  c: 1\n  c: 2\na: 3\n"
    with pytest.raises(YamlRefused) as info:
        load_yaml(text, "f.yaml", max_bytes=100, fast=fast)
    assert sorted((e.loc, e.message) for e in info.value.errors) == [
        ("f.yaml: line 4 column 3", "duplicate key 'c' (first on line 3)"),
        ("f.yaml: line 5 column 1", "duplicate key 'a' (first on line 1)"),
    ]


def test_the_size_limit_is_checked_before_parsing() -> None:
    with pytest.raises(YamlRefused) as info:
        load_yaml(b"[" * 101, "f.yaml", max_bytes=100)
    assert [(e.loc, e.message) for e in info.value.errors] == [
        ("f.yaml", "file is larger than 100 bytes")
    ]
    assert too_big_message(5 * 1024 * 1024) == "file is larger than 5 MB"


def test_read_yaml_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(YamlRefused) as info:
        read_yaml(tmp_path / "nope.yaml", max_bytes=100)
    assert info.value.errors[0].loc == "nope.yaml"
    assert "no such file" in info.value.errors[0].message


@_loaders
def test_lines_are_remembered_for_validation_errors(fast: bool) -> None:
    class Row(BaseModel):
        n: int

    class Doc(BaseModel):
        rows: list[Row]

    loaded = load_yaml(b"rows:\n  - n: 1\n  - n: x\n", "f.yaml", max_bytes=100, fast=fast)
    assert loaded.line_of(("rows", 1, "n")) == 3
    assert loaded.line_of(("rows", 5)) == 1  # the deepest part that exists
    with pytest.raises(ValidationError) as info:
        Doc.model_validate(loaded.data)
    (error,) = loaded.field_errors(info.value, "f.yaml")
    assert error.loc == "f.yaml: rows.1.n (line 3)"
