"""Reading a province's YAML catalogue a thousand items at a time (issue 11, point 6).

The whole-document reader holds the file, the parser's tree, the data and the models of every
item at once: 4 GB for 100,000 items. A file laid out as the exporter writes it (``format`` and
``elements`` first, then ``items:`` and its entries, each starting with ``- `` at the start of a
line, up to the end of the file) is cut at those lines into chunks of ``CHUNK_ITEMS`` entries,
each read by the same hardened loader (``tongban.kit.safeyaml``) as a list of its own:

- a first pass reads every chunk, keeps what the cross-references need (``refs.FileIndex``:
  codes, parents, outputs; the line of each entry) and spools the chunk's data (``marshal``, our
  own temporary file) for the second pass, which validates and checks the items chunk by chunk
  (and the import inserts them);
- a line of a problem is found by the careful loader on that chunk alone, offset by the
  chunk's first line.

Cutting there cannot change the data: a line starting with ``- `` is a new entry of the
top-level sequence in the whole document too, except inside a quoted text, which would then be
left open at the end of its chunk, and the chunk refused. Whatever the loader refuses or
cannot vouch for in a chunk (and any other layout) sends the file back to the whole-document
reader (``None``), which gives its own exact messages.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tongban.catalog.io.document import (
    MAX_FILE_BYTES,
    YAML_SUFFIXES,
    Loc,
    _path_text,
    _top_code,
)
from tongban.catalog.io.refs import FileIndex
from tongban.kit.fastyaml import HAVE_RYML
from tongban.kit.safeyaml import YamlDocument, YamlRefused, load_yaml

if HAVE_RYML:
    import ryml  # type: ignore[import-untyped]

CHUNK_ITEMS: Final = 1000
STREAM_MIN_BYTES: Final = 4 * 1024 * 1024
"""Smaller files are read whole (a few thousand items fit in memory)."""
WHAT: Final = "catalogue file"

_ITEMS_KEY: Final = re.compile(rb"items:[ \t]*(#.*)?\r?\n?")
_ENTRY: Final = re.compile(rb"- \S")


@dataclass
class Chunk:
    """Entries ``first_index``… of the items, at bytes ``offset``… of the file, from line
    ``first_line``; the line of each entry."""

    offset: int
    size: int
    first_index: int
    first_line: int
    entry_lines: list[int]


class StreamMismatch(Exception):
    """The second pass read an item otherwise than the first pass's quick look (a scalar
    rapidyaml and our loader read differently): the caller reads the file whole instead."""


@dataclass
class StreamedYaml:
    """A YAML catalogue read chunk by chunk: its head (``format``, ``elements``; with lines),
    its chunks of items, and what the cross-references need of every item."""

    path: Path
    name: str
    head: YamlDocument
    chunks: list[Chunk]
    index: FileIndex
    entry_lines: list[int]
    codes: list[str]
    """Each item's code as a place names it (empty when it has none)."""

    @property
    def count(self) -> int:
        return len(self.entry_lines)

    def close(self) -> None:
        """Nothing is held open between the passes (kept for the callers' ``finally``)."""

    def batches(self) -> Iterator[ItemBatch]:
        """The items chunk by chunk, each read by the hardened loader (the second pass).
        Raises ``StreamMismatch`` if an item is not what the first pass saw."""
        with self.path.open("rb") as fh:
            for chunk in self.chunks:
                fh.seek(chunk.offset)
                data = fh.read(chunk.size)
                try:
                    loaded = load_yaml(data, self.name, max_bytes=MAX_FILE_BYTES, what=WHAT)
                except YamlRefused as exc:
                    raise StreamMismatch from exc
                rows = loaded.data
                if not isinstance(rows, list) or len(rows) != len(chunk.entry_lines):
                    raise StreamMismatch
                for k, row in enumerate(rows):
                    self._verify(chunk.first_index + k, row, rows, k)
                yield ItemBatch(self, chunk, rows, [loaded])
                del rows, loaded
                _release_memory()

    def _verify(self, i: int, row: Any, rows: list[Any], k: int) -> None:
        seen = FileIndex()
        seen.add(i, row)
        code = next(iter(seen.item_codes), None)
        if (code or "") != self.codes[i] or _top_code({"items": rows}, "items", k) != self.codes[i]:
            raise StreamMismatch
        if code is None or self.index.item_codes.get(code) != i:
            return  # no code, or a second entry of a code (reported as such)
        if seen.parents.get(code) != self.index.parents.get(code):
            raise StreamMismatch
        if seen.outputs.get(code) != self.index.outputs.get(code):
            raise StreamMismatch

    def place(self, loc: Loc) -> str:
        """``items[5] (CODE) (line 80)`` for an item's entry itself, from the first pass (the
        place of an earlier entry named in a message)."""
        if len(loc) == 2 and loc[0] == "items" and isinstance(loc[1], int):
            i = loc[1]
            code = self.codes[i]
            text = f"items[{i}] ({code})" if code else f"items[{i}]"
            return f"{text} (line {self.entry_lines[i]})"
        return self.head_place(loc)

    def head_place(self, loc: Loc) -> str:
        path = _path_text(loc, self.head.data)
        line = self.head.line_of(loc)
        return f"{path} (line {line})" if path and line else path


@dataclass
class ItemBatch:
    """One chunk's items (raw data, as the loader gives them) and how to name a place in it."""

    file: StreamedYaml
    chunk: Chunk
    rows: list[Any]
    _loaded: list[YamlDocument]

    def place(self, loc: Loc) -> str:
        """A place of the file, ``items[i] (CODE).materials[2] (line L)``; an item of another
        chunk by its entry alone."""
        first = self.chunk.first_index
        if len(loc) < 2 or loc[0] != "items" or not isinstance(loc[1], int):
            return self.file.head_place(loc)
        k = loc[1] - first
        if not 0 <= k < len(self.rows):
            return self.file.place(loc[:2])
        text = _path_text(("items", k, *loc[2:]), {"items": self.rows})
        text = f"items[{loc[1]}" + text[len(f"items[{k}") :]
        if len(loc) == 2:
            return f"{text} (line {self.chunk.entry_lines[k]})"
        line = self._loaded[0].line_of((k, *loc[2:]))
        return f"{text} (line {line + self.chunk.first_line - 1})" if line else text


def _release_memory() -> None:
    """Hand the freed memory of a chunk back to the system (glibc keeps it otherwise, and a
    province's hundred chunks would add up); nothing elsewhere."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - not glibc
        return None


_LIBC: Final = _libc()


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(size)


def open_streamed(
    path: Path, *, min_bytes: int = STREAM_MIN_BYTES, chunk_items: int = CHUNK_ITEMS
) -> StreamedYaml | None:
    """The first pass over a large YAML catalogue laid out as the exporter writes it, or None:
    a small file, another layout, or a chunk rapidyaml cannot read (the whole-document reader
    then gives its exact messages). The first pass only looks at each item's code, parent and
    outputs (rapidyaml's tree, no Python data); the second pass checks that its loader reads
    them the same."""
    path = Path(path)
    if not HAVE_RYML or path.suffix.lower() not in YAML_SUFFIXES:
        return None
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if not min_bytes <= size <= MAX_FILE_BYTES:
        return None
    name = path.name or str(path)
    layout = _layout(path, chunk_items)
    if layout is None:
        return None
    head_size, chunks, entry_lines = layout
    try:
        head = load_yaml(_read(path, 0, head_size), name, max_bytes=MAX_FILE_BYTES, what=WHAT)
    except YamlRefused:
        return None
    if not isinstance(head.data, dict) or "items" in head.data:
        return None
    index = FileIndex()
    codes: list[str] = []
    with path.open("rb") as fh:
        for chunk in chunks:
            fh.seek(chunk.offset)
            if not _look(fh.read(chunk.size), chunk, index, codes):
                return None
            _release_memory()
    return StreamedYaml(path, name, head, chunks, index, entry_lines, codes)


def _look(data: bytes, chunk: Chunk, index: FileIndex, codes: list[str]) -> bool:
    """The code, parent and outputs of each item of a chunk, from rapidyaml's tree."""
    try:
        tree = ryml.parse_in_arena(data)
    except Exception:  # rapidyaml's parse errors: the whole-document reader names them
        return False
    root = tree.root_id()
    if not tree.is_seq(root) or tree.num_children(root) != len(chunk.entry_lines):
        return False
    node = tree.first_child(root)
    i = chunk.first_index
    while node != ryml.NONE:
        row: dict[str, Any] = {}
        if tree.is_map(node):
            for key in ("implementation_code", "parent"):
                child = tree.find_child(node, key.encode())
                if child != ryml.NONE and tree.has_val(child) and not tree.val_is_null(child):
                    row[key] = bytes(tree.val(child)).decode("utf-8")
            outputs = tree.find_child(node, b"outputs")
            if outputs != ryml.NONE and tree.is_seq(outputs):
                row["outputs"] = entries = []
                sub = tree.first_child(outputs)
                while sub != ryml.NONE:
                    entry: dict[str, Any] = {}
                    if tree.is_map(sub):
                        for key in ("code", "e_licence"):
                            child = tree.find_child(sub, key.encode())
                            if child != ryml.NONE and tree.has_val(child):
                                entry[key] = bytes(tree.val(child)).decode("utf-8")
                    entries.append(entry)
                    sub = tree.next_sibling(sub)
        index.add(i, row)
        code = row.get("implementation_code")
        codes.append(code.strip() if isinstance(code, str) else "")
        node = tree.next_sibling(node)
        i += 1
    return True


_BLOCK: Final = 8 * 1024 * 1024
_TOP_LINE: Final = re.compile(rb"^[^ \r\n][^\n]*", re.MULTILINE)
"""A line that starts at the left margin (not indented, not blank)."""
_QUIET: Final = re.compile(rb"(?:[ \t]*(?:#[^\n]*)?\r?\n)*")
"""Blank lines and comments."""


def _layout(path: Path, chunk_items: int) -> tuple[int, list[Chunk], list[int]] | None:
    """Where the head ends, and the chunks of the items: the entries are the lines that start
    with ``- `` after the top-level ``items:`` line; every other line there is indented, blank
    or a comment. None for any other layout. Reads the file in blocks of whole lines, looking
    only at the lines at the left margin."""
    chunks: list[Chunk] = []
    entry_lines: list[int] = []
    head_size: int | None = None
    start: Chunk | None = None
    base, line_base, carry = 0, 1, b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            data = carry + block
            cut = len(data) if not block else data.rfind(b"\n") + 1
            if cut == 0 and block:
                carry = data
                continue
            text, carry = data[:cut], data[cut:]
            counted, line = 0, line_base
            for match in _TOP_LINE.finditer(text):
                at = match.start()
                line += text.count(b"\n", counted, at)
                counted = at
                row = match.group()
                if head_size is None:
                    if _ITEMS_KEY.fullmatch(row + b"\n"):
                        head_size = base + at
                        after = at + len(row) + 1
                        quiet = _QUIET.match(text, after)
                        if quiet is None or not _ENTRY.match(text, quiet.end()):
                            return None  # "items:" then something else than an entry
                    elif row.startswith(b"items"):
                        return None  # "items: []", a flow sequence, …
                elif row.startswith(b"#"):
                    continue
                elif _ENTRY.match(row):
                    if start is None or len(start.entry_lines) == chunk_items:
                        if start is not None:
                            start.size = base + at - start.offset
                            chunks.append(start)
                        start = Chunk(base + at, 0, len(entry_lines), line, [])
                    start.entry_lines.append(line)
                    entry_lines.append(line)
                else:
                    return None  # another top-level key after the items, a marker, …
            line_base = line + text.count(b"\n", counted)
            base += len(text)
            if not block:
                break
    if head_size is None or start is None:
        return None
    start.size = base - start.offset
    chunks.append(start)
    return head_size, chunks, entry_lines
