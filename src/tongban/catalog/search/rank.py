"""The relevance of a match, from its names alone, the same on both databases (decision 0005).

The index finds the matches (a bounded number of them, tier by tier); the order among them is
computed here, so that SQLite and PostgreSQL list a search's results in one order: a name that
holds the words as typed, then one that holds a synonym's words, then the rest; within each, the
larger share of the name the query's words cover (as written: a pinyin or initials match covers
nothing here, and is ranked by the rest), the earlier first cover, the shorter name. Plain
string searches, no pinyin: a thousand names rank in a few milliseconds.
"""

from __future__ import annotations

from tongban.catalog.search import text as tx

Relevance = tuple[int, float, int, int]


class Ranker:
    """The relevance of the matches of one query; each name is marked once (catalogues repeat
    names: one item in every county)."""

    def __init__(self, query: tx.Query) -> None:
        self.query = query
        self._names: dict[str, tuple[int, float, int]] = {}
        # An English name can only hold Latin words (a query of Chinese alone skips them).
        self._latin = any(n.isascii() for n in query.needles)

    def _name(self, name: str) -> tuple[int, float, int]:
        """(phrase class, share marked, first mark) of one name."""
        known = self._names.get(name)
        if known is not None:
            return known
        normal = tx.normalise(name)
        phrase = 2
        for position, words in enumerate(self.query.phrases):
            if words and all(w in normal for w in words):
                phrase = 0 if position == 0 else 1
                break
        covered = bytearray(len(normal))
        first = len(normal)
        for needle in self.query.needles:
            at = normal.find(needle)
            while at >= 0:
                if not (
                    needle.isascii()
                    and at
                    and normal[at - 1].isascii()
                    and normal[at - 1].isalnum()
                ):
                    covered[at : at + len(needle)] = b"\x01" * len(needle)
                    first = min(first, at)
                at = normal.find(needle, at + 1)
        share = round(sum(covered) / len(normal), 6) if normal else 0.0
        result = (phrase, share, first)
        self._names[name] = result
        return result

    def relevance(self, name_zh: str, name_en: str) -> Relevance:
        """A sort key of a match: lower ranks first."""
        zh = self._name(name_zh)
        en = self._name(name_en) if self._latin else (2, 0.0, 0)
        phrase = min(zh[0], en[0])
        share, start = (zh[1], zh[2]) if zh[1] >= en[1] else (en[1], en[2])
        return phrase, -share, start, len(name_zh)
