"""Reading YAML that a stranger wrote: one hardened loader for every file format.

Every import format (catalogue, organisation, bundles, calendar) is YAML a user uploads or
hands to the CLI, so each must be read the same careful way. ``load_yaml`` refuses, with the
line and column:

- files over ``max_bytes`` (checked before parsing; ``read_yaml`` checks the size on disk before
  reading) and text that is not UTF-8 (naming the offset of the first bad byte);
- anchors and aliases (no "billion laughs"), merge keys (``<<``), nesting deeper than
  ``MAX_DEPTH`` levels, and any tag beyond the safe ones (``!!python/...``);
- duplicate mapping keys, which PyYAML would silently resolve as "the last one wins";
- a scalar its tag cannot read (``2027-02-30`` as a date, ``!!int x``), naming the scalar.

Booleans are YAML 1.2's: only ``true``/``false`` (also ``True``, ``TRUE``, ``False``,
``FALSE``). PyYAML follows YAML 1.1, where ``yes``/``no``/``on``/``off``/``y``/``n`` are
booleans too, so the country code ``NO`` or a key ``off`` would silently become ``False`` (the
"Norway problem"); here they stay strings. A model's field decides what a string means: a
pydantic ``bool`` field still reads ``"yes"``/``"on"`` as true, a ``StrictBool`` refuses them.
Other scalars (integers, floats, dates, null) resolve as PyYAML does.

A large file that holds nothing to vet (no anchors, tags, directives, ambiguous scalars) is read
by ``tongban.kit.fastyaml`` (rapidyaml, a hundred times faster), which gives the very same data;
its lines are computed the first time an error needs one. Otherwise it uses libyaml's safe loader
when PyYAML has it (after one fast pass over the events, since
libyaml composes aliases and nesting in C) and the pure-Python one otherwise; both give the same
data and the same messages. The result remembers the line of every mapping key and sequence entry,
so a later validation error can say where in the file it is (``YamlDocument.line_of``).

A refusal is a ``YamlRefused`` (a ``ValidationFailed``, code ``yaml_refused``) whose rows are
located ``"<name>"`` or ``"<name>: line L column C"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NoReturn

import yaml
from pydantic import ValidationError
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tongban.errors import FieldError, ValidationFailed
from tongban.kit import fastyaml

__all__ = [
    "HAVE_LIBYAML",
    "MAX_DEPTH",
    "YamlDocument",
    "YamlRefused",
    "load_yaml",
    "place_loc",
    "read_yaml",
    "too_big_message",
]

MAX_DEPTH: Final = 64
HAVE_LIBYAML: Final = bool(getattr(yaml, "__with_libyaml__", False))

#: a path into the loaded data: mapping keys and 0-based sequence indexes
Loc = Sequence[Any]


class YamlRefused(ValidationFailed):
    """The file cannot be read as YAML, or holds something this loader refuses."""

    default_code = "yaml_refused"


@dataclass(frozen=True)
class YamlDocument:
    """The loaded data, and the line (1-based) of each of its mapping keys and sequence entries
    (kept by the ``id`` of the containers, which the document keeps alive)."""

    data: Any
    key_lines: dict[int, dict[Any, int]] = field(default_factory=dict, repr=False)
    entry_lines: dict[int, list[int]] = field(default_factory=dict, repr=False)
    careful: Callable[[], YamlDocument] | None = field(default=None, repr=False)
    """Set when the data came by the fast path (no lines): the careful load, run the first time
    a line is asked for (an error to locate), whose data is the same."""
    _with_lines: list[YamlDocument] = field(default_factory=list, repr=False)

    def line_of(self, loc: Loc) -> int | None:
        """The line of the deepest part of ``loc`` that is in the data, or None."""
        if self.careful is not None:
            if not self._with_lines:
                self._with_lines.append(self.careful())
            return self._with_lines[0].line_of(loc)
        node = self.data
        line: int | None = None
        for step in loc:
            if isinstance(node, dict) and step in node:
                line = self.key_lines.get(id(node), {}).get(step, line)
                node = node[step]
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                lines = self.entry_lines.get(id(node), [])
                line = lines[step] if step < len(lines) else line
                node = node[step]
            else:
                break
        return line

    def field_errors(
        self, exc: ValidationError, name: str, *, labels: Mapping[str, str] | None = None
    ) -> list[FieldError]:
        """Pydantic's errors about this data, each located ``<name>: a.0.b (line L)``
        (``<name>`` alone when the whole document is at fault).

        With ``labels`` (a top-level list → the key of its entries' code, ``{"bundles":
        "code"}``) a place is written ``bundles[1] (property-transfer).members[2].item``."""
        out: list[FieldError] = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            if labels is None:
                path = ".".join(str(step) for step in loc)
            else:
                path = self.path_text(loc, labels)
            line = self.line_of(loc)
            where = f"{name}: {path}" if path else name
            message = str(error["msg"]).removeprefix("Value error, ")
            out.append(FieldError(f"{where} (line {line})" if line else where, message))
        return out

    def path_text(self, loc: Loc, labels: Mapping[str, str]) -> str:
        """``bundles[1] (property-transfer).members[2].item``: 0-based indexes, and the code of a
        top-level entry (its key named by ``labels``) when it has one."""
        out = ""
        for i, step in enumerate(loc):
            if isinstance(step, int):
                out += f"[{step}]"
                if i == 1:
                    code = _entry_code(self.data, loc[0], step, labels)
                    out += f" ({code})" if code else ""
            else:
                out += ("." if out else "") + str(step)
        return out

    def locate(self, place: str, name: str) -> str:
        """``<name>: <place> (line L)`` for a place written as ``path_text`` writes it (a code
        in brackets is skipped; a part not in the file is located by the deepest part that is)."""
        line = self.line_of(place_loc(place))
        return f"{name}: {place} (line {line})" if line else f"{name}: {place}"


def _entry_code(data: Any, section: Any, index: int, labels: Mapping[str, str]) -> str:
    key = labels.get(str(section))
    rows = data.get(section) if key is not None and isinstance(data, dict) else None
    if not isinstance(rows, list) or not 0 <= index < len(rows):
        return ""
    row = rows[index]
    code = row.get(key) if isinstance(row, dict) else None
    return str(code).strip() if isinstance(code, str | int) and not isinstance(code, bool) else ""


_PLACE_PART: Final = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def place_loc(place: str) -> tuple[str | int, ...]:
    """``bundles[1] (x.y).members[2].item`` → ``("bundles", 1, "members", 2, "item")``."""
    bare = re.sub(r" \([^)]*\)", "", place)
    return tuple(
        int(index) if index else key for index, key in _PLACE_PART.findall(bare) if index or key
    )


def too_big_message(max_bytes: int) -> str:
    """``file is larger than 20 MB`` (or ``… than 1000 bytes`` for a limit not in whole MB)."""
    mb = 1024 * 1024
    limit = f"{max_bytes // mb} MB" if max_bytes % mb == 0 else f"{max_bytes} bytes"
    return f"file is larger than {limit}"


def read_yaml(path: Path, *, max_bytes: int, what: str = "YAML file") -> YamlDocument:
    """``load_yaml`` on a file, named in messages by its name; a file over ``max_bytes`` is
    refused from its size on disk, before a byte of it is read."""
    path = Path(path)
    name = path.name or str(path)
    try:
        if not path.is_file():
            _refuse(name, what, [FieldError(name, "no such file (or not a regular file)")])
        if path.stat().st_size > max_bytes:
            _refuse(name, what, [FieldError(name, too_big_message(max_bytes))])
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        _refuse(name, what, [FieldError(name, f"cannot read the file: {exc.strerror or exc}")])
    return load_yaml(data, name, max_bytes=max_bytes, what=what)


def load_yaml(
    data: bytes,
    name: str,
    *,
    max_bytes: int,
    what: str = "YAML file",
    fast: bool = HAVE_LIBYAML,
) -> YamlDocument:
    """Parse ``data`` (UTF-8, a BOM allowed) or raise ``YamlRefused`` listing what is wrong.

    ``name`` locates the messages; ``what`` names the kind of file in them ("aliases (*x) are not
    allowed in a catalogue file"); ``fast=False`` forces the pure-Python loader."""
    if len(data) > max_bytes:
        _refuse(name, what, [FieldError(name, too_big_message(max_bytes))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (bad byte at offset {exc.start})"
        _refuse(name, what, [FieldError(name, message)])
    if fast and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        quick = fastyaml.fast_load(data, _PyLoader.yaml_implicit_resolvers, MAX_DEPTH)
        if quick is not None:
            return YamlDocument(
                quick,
                careful=lambda: load_yaml(data, name, max_bytes=max_bytes, what=what, fast=False),
            )
    loader: _PyLoader | _CLoader | None = None
    try:
        if fast:
            _check_events(text, what)
            loader = _CLoader(text, what)
        else:
            loader = _PyLoader(text, what)
        raw = loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        _refuse(name, what, [_reader_error(name, text, exc, in_bytes=fast)])
    except yaml.MarkedYAMLError as exc:
        _refuse(name, what, [_yaml_error(name, exc)])
    except yaml.YAMLError as exc:
        _refuse(name, what, [FieldError(name, f"not valid YAML: {exc}")])
    finally:
        if loader is not None:
            loader.dispose()
    if loader.duplicates:
        _refuse(
            name,
            what,
            [
                FieldError(f"{name}: line {line} column {column}", message)
                for line, column, message in loader.duplicates
            ],
        )
    return YamlDocument(raw, loader.key_lines, loader.entry_lines)


def _refuse(name: str, what: str, errors: list[FieldError]) -> NoReturn:
    raise YamlRefused(f"{name}: the {what} cannot be read", errors=errors)


# --------------------------------------------------------------------------------------------
# The loaders
# --------------------------------------------------------------------------------------------


def _refuse_event(event: Any, depth: int, what: str) -> None:
    """Refuse an alias, an anchor, or nesting beyond ``MAX_DEPTH``."""
    mark: Any = event.start_mark
    anchor: str | None = getattr(event, "anchor", None)
    if isinstance(event, AliasEvent):
        raise ComposerError(None, None, f"aliases (*{anchor}) are not allowed in a {what}", mark)
    if anchor is not None:
        raise ComposerError(None, None, f"anchors (&{anchor}) are not allowed in a {what}", mark)
    if depth > MAX_DEPTH:
        raise ComposerError(None, None, f"nesting is deeper than {MAX_DEPTH} levels", mark)


_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_YAML12_BOOL: Final = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_YAML12_BOOL_VALUES: Final = {"true": True, "false": False}
_TAG_PREFIX: Final = "tag:yaml.org,2002:"
#: what a scalar that its tag cannot read was meant to be, for the message
_SCALAR_KINDS: Final = {
    "bool": "boolean (true or false)",
    "int": "integer",
    "float": "number",
    "timestamp": "date",
    "binary": "base64 text",
    "null": "null",
}


def _short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:python/name:os.system`` as written: ``!!python/name:os.system``."""
    return "!!" + tag.removeprefix(_TAG_PREFIX) if tag.startswith(_TAG_PREFIX) else tag


def _yaml12_booleans(loader: type[Any]) -> None:
    """Give ``loader`` (a class) YAML 1.2's implicit booleans instead of YAML 1.1's: its own
    copy of the resolvers without the bool one, then ``true``/``false`` in their three cases.
    The C loader resolves plain scalars through the same class attribute, so this serves both."""
    resolvers = {
        first: [(tag, rx) for tag, rx in entries if tag != _BOOL_TAG]
        for first, entries in loader.yaml_implicit_resolvers.items()
    }
    loader.yaml_implicit_resolvers = {first: rows for first, rows in resolvers.items() if rows}
    loader.add_implicit_resolver(_BOOL_TAG, _YAML12_BOOL, list("tTfF"))


class _TrackingConstructor(SafeConstructor):
    """Builds mappings and sequences while refusing merge keys and collecting duplicate keys,
    and remembers the line of every mapping key and sequence entry for error messages.
    Scalars that their tag cannot read, and tags beyond the safe ones, are refused as
    ``ConstructorError`` naming their place (PyYAML would raise ``ValueError`` and the like)."""

    what: str
    key_lines: dict[int, dict[Any, int]]
    entry_lines: dict[int, list[int]]
    duplicates: list[tuple[int, int, str]]

    def init_tracking(self, what: str) -> None:
        self.what = what
        self.key_lines = {}
        self.entry_lines = {}
        self.duplicates = []

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            if not isinstance(node, ScalarNode):
                raise
            kind = _SCALAR_KINDS.get(node.tag.removeprefix(_TAG_PREFIX), _short_tag(node.tag))
            raise ConstructorError(
                None, None, f"{node.value!r} is not a valid {kind}", node.start_mark
            ) from None

    def construct_yaml12_bool(self, node: ScalarNode) -> bool:
        """``!!bool`` as YAML 1.2 reads it: ``!!bool yes`` is refused, not true."""
        value = self.construct_scalar(node)
        return _YAML12_BOOL_VALUES[str(value).lower()]

    def construct_refused_tag(self, node: Node) -> NoReturn:
        raise ConstructorError(
            None,
            None,
            f"the tag {_short_tag(node.tag)} is not allowed in a {self.what}",
            node.start_mark,
        )

    def construct_tracked_map(self, node: MappingNode) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        yield data
        lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"merge keys (<<) are not allowed in a {self.what}",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "found an unhashable key",
                    key_node.start_mark,
                ) from None
            line = key_node.start_mark.line + 1
            if key in data:
                column = key_node.start_mark.column + 1
                message = f"duplicate key {key!r} (first on line {lines[key]})"
                self.duplicates.append((line, column, message))
                continue
            data[key] = self.construct_object(value_node, deep=False)
            lines[key] = line
        self.key_lines[id(data)] = lines

    def construct_tracked_seq(self, node: SequenceNode) -> Iterator[list[Any]]:
        data: list[Any] = []
        yield data
        data.extend(self.construct_object(child, deep=False) for child in node.value)
        self.entry_lines[id(data)] = [child.start_mark.line + 1 for child in node.value]


class _PyLoader(_TrackingConstructor, yaml.SafeLoader):
    """Pure-Python ``SafeLoader`` that checks every node as it composes it."""

    def __init__(self, stream: str, what: str) -> None:
        yaml.SafeLoader.__init__(self, stream)
        self.init_tracking(what)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            _refuse_event(self.peek_event(), self._depth, self.what)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _harden(loader: type[_TrackingConstructor]) -> None:
    """The tracking constructors, YAML 1.2 booleans and the refusal of unknown tags."""
    loader.add_constructor("tag:yaml.org,2002:map", loader.construct_tracked_map)  # type: ignore[type-var]
    loader.add_constructor("tag:yaml.org,2002:seq", loader.construct_tracked_seq)  # type: ignore[type-var]
    loader.add_constructor(_BOOL_TAG, loader.construct_yaml12_bool)  # type: ignore[type-var]
    loader.add_constructor(None, loader.construct_refused_tag)  # type: ignore[type-var]
    _yaml12_booleans(loader)


_harden(_PyLoader)

if HAVE_LIBYAML:

    class _CLoader(_TrackingConstructor, yaml.CSafeLoader):
        """libyaml's safe loader (much faster); ``_check_events`` must vet the text first,
        since libyaml composes aliases and nesting in C."""

        def __init__(self, stream: str, what: str) -> None:
            yaml.CSafeLoader.__init__(self, stream)
            self.init_tracking(what)

    _harden(_CLoader)


def _check_events(text: str, what: str) -> None:
    """One fast pass over libyaml's events: no anchors, no aliases, no deep nesting."""
    parser = yaml.CSafeLoader(text)
    try:
        depth = 0
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, CollectionStartEvent):
                depth += 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            _refuse_event(event, depth + (1 if isinstance(event, ScalarEvent) else 0), what)
    finally:
        parser.dispose()


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


def _yaml_error(name: str, exc: yaml.MarkedYAMLError) -> FieldError:
    mark = exc.problem_mark or exc.context_mark
    loc = f"{name}: line {mark.line + 1} column {mark.column + 1}" if mark else name
    message = exc.problem or exc.context or "not valid YAML"
    if exc.problem and exc.context:
        where = f" starting on line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message = f"{exc.context}{where}: {exc.problem}"
    return FieldError(loc, message)


def _reader_error(
    name: str, text: str, exc: yaml.reader.ReaderError, *, in_bytes: bool
) -> FieldError:
    # PyYAML reports a character index, libyaml a byte offset into the UTF-8 text.
    before = (
        text.encode("utf-8")[: exc.position].decode("utf-8", "replace")
        if in_bytes
        else text[: exc.position]
    )
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    return FieldError(
        f"{name}: line {line} column {column}",
        f"character U+{exc.character:04X} is not allowed in a YAML file",
    )
