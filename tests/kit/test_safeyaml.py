"""The hardened YAML loader every file format shares (the catalogue's own cases are in
tests/catalog/test_io.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ValidationError

import tongban
from tongban.bundles.io import read_bundles
from tongban.catalog.io import parse_catalog
from tongban.kit.safeyaml import HAVE_LIBYAML, YamlRefused, load_yaml, read_yaml, too_big_message

DEMO = Path(tongban.__file__).parent / "demo" / "data"

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


# --------------------------------------------------------------------------- YAML 1.2 booleans


@_loaders
def test_booleans_are_yaml_1_2_only_true_and_false(fast: bool) -> None:
    text = (
        b"country: NO\n"  # the Norway problem: YAML 1.1 reads it as False
        b"off: 1\n"  # the key itself stays the string "off"
        b"on: yes\n"
        b"words: [y, n, Y, N, yes, no, Yes, No, on, off, ON, OFF, tRue]\n"
        b"booleans: [true, True, TRUE, false, False, FALSE, !!bool true]\n"
        b"quoted: ['true', \"false\"]\n"
    )
    data = load_yaml(text, "f.yaml", max_bytes=1000, fast=fast).data
    assert data == {
        "country": "NO",
        "off": 1,
        "on": "yes",
        "words": ["y", "n", "Y", "N", "yes", "no", "Yes", "No", "on", "off", "ON", "OFF", "tRue"],
        "booleans": [True, True, True, False, False, False, True],
        "quoted": ["true", "false"],
    }
    assert all(type(value) is str for value in data["words"])


@_loaders
def test_other_scalars_resolve_as_before(fast: bool) -> None:
    text = b"i: 12\nf: 1.5\nn: null\nt: ~\nd: 2027-01-01\ns: '12'\ninf: .inf\n"
    assert load_yaml(text, "f.yaml", max_bytes=1000, fast=fast).data == yaml.safe_load(text)


def test_the_yaml_1_1_booleans_stay_in_pyyaml_itself() -> None:
    # Only the hardened loader's own classes changed: PyYAML's loaders are untouched.
    assert yaml.safe_load("a: yes") == {"a": True}
    if HAVE_LIBYAML:
        assert yaml.load("a: off", Loader=yaml.CSafeLoader) == {"a": False}


@_loaders
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"a: !!bool yes\n", "'yes' is not a valid boolean (true or false)"),
        (b"a: 2027-02-30\n", "'2027-02-30' is not a valid date"),
        (b"a: !!int abc\n", "'abc' is not a valid integer"),
        (b"a: !!float x\n", "'x' is not a valid number"),
        (b"a: !!python/name:os.system\n", "the tag !!python/name:os.system is not allowed in a"),
        (b"a: !mine 1\n", "the tag !mine is not allowed in a widget file"),
    ],
)
def test_a_scalar_its_tag_cannot_read_is_refused_at_its_place(
    fast: bool, text: bytes, message: str
) -> None:
    with pytest.raises(YamlRefused) as info:
        load_yaml(text, "f.yaml", max_bytes=100, what="widget file", fast=fast)
    (error,) = info.value.errors
    assert error.loc == "f.yaml: line 1 column 4"
    assert error.message.startswith(message)


@pytest.mark.parametrize("name", ["catalog.yaml", "org.yaml", "bundles.yaml"])
def test_the_demo_data_reads_as_it_did(name: str) -> None:
    # The demo files hold no YAML 1.1 boolean word unquoted: YAML 1.2 reads them the same.
    data = (DEMO / name).read_bytes()
    assert load_yaml(data, name, max_bytes=len(data)).data == yaml.safe_load(data)


def test_a_bool_field_of_a_catalogue_still_reads_yes_and_no() -> None:
    # YAML 1.2 leaves `required: no` a string; the catalogue's pydantic `bool` fields read the
    # words "yes"/"no"/"on"/"off" as before, so such a file means what it meant.
    text = (DEMO / "catalog.yaml").read_text(encoding="utf-8")
    assert text.count("required: false") > 1
    assert text.count("e_licence: true") > 0
    worded = (
        text.replace("required: false", "required: no", 1)
        .replace("required: false", "required: off")
        .replace("e_licence: true", "e_licence: yes")
    )
    assert parse_catalog(worded.encode(), "catalog.yaml") == parse_catalog(
        text.encode(), "catalog.yaml"
    )


def test_words_yes_and_no_are_strings_in_catalogue_and_bundle_files(tmp_path: Path) -> None:
    element = (
        "format: tongban-catalog/1\nitems: []\nelements:\n"
        "  - {code: EL_ANSWER, name_zh: 答复, name_en: Answer, type: enum,"
        " allowed_values: [YES, NO, on, off]}\n"
    )
    (read,) = parse_catalog(element.encode(), "catalog.yaml").elements
    assert read.allowed_values == ["YES", "NO", "on", "off"]

    quoted = (DEMO / "bundles.yaml").read_text(encoding="utf-8")
    assert "'yes'" in quoted
    bare = quoted.replace("'yes'", "yes").replace("'no'", "no").replace("'Yes'", "Yes")
    path = tmp_path / "bundles.yaml"
    path.write_text(bare.replace("'No'", "No"), encoding="utf-8")
    assert read_bundles(path) == read_bundles(DEMO / "bundles.yaml")
