"""Matched spans of a name, and the name as HTML with them marked: the text is escaped piece by
piece and only the ``<mark>`` tags are ours, so a name holding markup stays text."""

from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import Markup, escape
from pypinyin import Style, lazy_pinyin

from tongban.catalog.search import text as tx


@lru_cache(maxsize=8192)
def _char_key(ch: str) -> tuple[str, str]:
    """The pinyin and the initial of a character ('' for a non-CJK character); cached, as the
    ranking marks up to a thousand names a search."""
    if not tx.is_cjk(ch):
        return "", ""
    return lazy_pinyin(ch)[0].lower(), lazy_pinyin(ch, style=Style.FIRST_LETTER)[0].lower()


def _char_keys(name: str) -> tuple[list[str], list[str]]:
    """Per character of the name: its pinyin and its initial ('' for a non-CJK character)."""
    keys = [_char_key(ch) for ch in name]
    return [k[0] for k in keys], [k[1] for k in keys]


def _pinyin_spans(keys: list[str], needle: str) -> list[tuple[int, int]]:
    """Runs of characters whose keys, joined, spell the needle (the last one possibly begun)."""
    found = []
    for start in range(len(keys)):
        spelled, end = "", start
        while end < len(keys) and keys[end]:
            spelled += keys[end]
            end += 1
            if spelled.startswith(needle):
                found.append((start, end))
                break
            if not needle.startswith(spelled):
                break
    return found


def spans(name: str, needles: tuple[str, ...]) -> list[tuple[int, int]]:
    """Merged (start, end) spans of the name that the query's terms match."""
    if not name or not needles:
        return []
    normal = tx.normalise(name)
    if len(normal) != len(name):
        normal = name.lower()
    found: list[tuple[int, int]] = []
    keys: tuple[list[str], list[str]] | None = None
    for needle in needles:
        word = r"(?<![0-9a-z])" if needle.isascii() else ""
        hits = [(m.start(), m.end()) for m in re.finditer(word + re.escape(needle), normal)]
        found += hits
        hit = bool(hits)
        if not hit and needle.isascii() and needle.isalpha() and len(needle) >= 2:
            keys = keys or _char_keys(name)
            for table in keys:
                found += _pinyin_spans(table, needle)
    found.sort()
    merged: list[tuple[int, int]] = []
    for s, e in found:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def mark(name: str, needles: tuple[str, ...]) -> Markup:
    out, at = [], 0
    for s, e in spans(name, needles):
        out.append(escape(name[at:s]))
        out.append(Markup("<mark>") + escape(name[s:e]) + Markup("</mark>"))
        at = e
    out.append(escape(name[at:]))
    return Markup("").join(out)
