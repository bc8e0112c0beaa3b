"""The catalogue as YAML: reading through the hardened loader of ``tongban.kit.safeyaml`` (its
refusals keep naming "a catalogue file"), and deterministic writing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from tongban.catalog.io.document import MAX_FILE_BYTES, Loc, _Loaded, _no_place, _path_text
from tongban.catalog.schemas import FORMAT_ID, CatalogDocument
from tongban.errors import FieldError
from tongban.kit.safeyaml import HAVE_LIBYAML, YamlRefused, load_yaml

WHAT: Final = "catalogue file"


def _yaml_raw(data: bytes, name: str, *, fast: bool = HAVE_LIBYAML) -> _Loaded:
    """The file's data with the YAML line of every place, or why it cannot be read."""
    try:
        loaded = load_yaml(data, name, max_bytes=MAX_FILE_BYTES, what=WHAT, fast=fast)
    except YamlRefused as exc:
        return _Loaded(None, _no_place, exc.errors)
    raw = loaded.data
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}"
        message = (
            f"the top level must be a mapping with 'format', 'elements' and 'items', not {kind}"
        )
        return _Loaded(None, _no_place, [FieldError(name, message)])

    def place(loc: Loc) -> str:
        path = _path_text(loc, raw)
        line = loaded.line_of(loc)
        return f"{path} (line {line})" if path and line else path

    return _Loaded(raw, place, [])


# libyaml's emitter (PyYAML's own, in Python, takes ten times as long: 75 s for 5,000 items). Block
# style, a sequence in a mapping at the mapping's indentation, multi-line strings as literal
# blocks. Without libyaml, PyYAML's emitter gives the same layout.
_Base: Any = yaml.CSafeDumper if HAVE_LIBYAML else yaml.SafeDumper


class _CatalogDumper(_Base):  # type: ignore[misc]
    """The catalogue's YAML writer."""


def _represent_str(dumper: Any, value: str) -> yaml.ScalarNode:
    style: str | None = None
    if "\x85" in value or "\u2028" in value or "\u2029" in value:
        style = '"'  # PyYAML mangles NEL/LS/PS outside double quotes; escaped there
    elif "\n" in value:
        style = "|"
    node: yaml.ScalarNode = dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)
    return node


_CatalogDumper.add_representer(str, _represent_str)


def _plain(doc: CatalogDocument) -> dict[str, Any]:
    """The document as plain data: enums as strings, values equal to the default left out
    (reading fills them back in, so nothing is lost), ``format`` always first."""
    data = doc.model_dump(mode="json", exclude_defaults=True)
    data.pop("format", None)
    return {"format": FORMAT_ID, **data}


def dump_yaml(doc: CatalogDocument) -> str:
    """The document as deterministic YAML text (what ``write_yaml`` writes)."""
    return yaml.dump(
        _plain(doc),
        Dumper=_CatalogDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=100,
        line_break="\n",
        explicit_start=False,
    )


def write_yaml(doc: CatalogDocument, path: Path) -> None:
    Path(path).write_text(dump_yaml(doc), encoding="utf-8", newline="")
