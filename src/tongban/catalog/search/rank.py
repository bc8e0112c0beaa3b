"""The relevance of a match, from its names alone, the same on both databases (decision 0005).

The index finds the matches (a bounded number of them, tier by tier); the order among them is
computed here, so that SQLite and PostgreSQL list a search's results in one order: a name that
holds the words as typed, then one that holds a synonym's words, then the rest; within each, the
larger share of the name the query's terms mark (characters, pinyin, initials), the earlier
first mark, the shorter name.
"""

from __future__ import annotations

from tongban.catalog.search import highlight
from tongban.catalog.search import text as tx

Relevance = tuple[int, float, int, int]


def _phrase_class(query: tx.Query, names: list[str]) -> int:
    for position, phrase in enumerate(query.phrases):
        if phrase and any(all(run in name for run in phrase) for name in names):
            return 0 if position == 0 else 1
    return 2


def _coverage(name: str, needles: tuple[str, ...]) -> tuple[float, int]:
    if not name:
        return 0.0, 0
    found = highlight.spans(name, needles)
    if not found:
        return 0.0, len(name)
    return sum(e - s for s, e in found) / len(name), found[0][0]


def relevance(query: tx.Query, name_zh: str, name_en: str) -> Relevance:
    """A sort key of a match: lower ranks first."""
    normal = [tx.normalise(name_zh), tx.normalise(name_en)]
    zh_share, zh_start = _coverage(name_zh, query.needles)
    en_share, en_start = _coverage(name_en, query.needles)
    share, start = (zh_share, zh_start) if zh_share >= en_share else (en_share, en_start)
    return _phrase_class(query, normal), -round(share, 6), start, len(name_zh)
