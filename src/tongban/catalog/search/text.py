"""Text into search tokens, the same way for documents and queries (decision 0005).

Chinese is indexed as character bigrams and unigrams (FTS5's unicode61 and PostgreSQL's
parsers do not segment CJK), the Chinese name also as pinyin syllables and syllable bigrams
and as bigrams of initials (``pypinyin``). Latin letters and digits are lower-cased words.
Every token is made of letters, digits and CJK characters only: no character of any query
syntax (FTS5 or tsquery) can reach the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

from pypinyin import lazy_pinyin

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
_IS_CJK = re.compile(rf"[{_CJK}]")

# Columns of the search document; ranks weigh them in this order (title first).
TITLE, CODES, PINYIN, INITIALS, BODY = "title", "codes", "pinyin", "initials", "body"
COLUMNS = (TITLE, CODES, PINYIN, INITIALS, BODY)
WORD_COLUMNS = (TITLE, CODES, BODY)


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII) and lower case."""
    if not unicodedata.is_normalized("NFKC", text):  # (the check is the cheaper call)
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


def runs(text: str) -> list[str]:
    """The runs of CJK characters and of Latin letters/digits; everything else separates."""
    return _RUN.findall(normalise(text))


def is_cjk(run: str) -> bool:
    return bool(_IS_CJK.match(run))


def cjk_grams(run: str) -> list[str]:
    """Unigrams and bigrams of a CJK run."""
    chars = list(run)
    return chars + [a + b for a, b in pairwise(chars)]


def _pinyin_of(run: str) -> list[str]:
    return [p for p in lazy_pinyin(run, errors="ignore") if p.isascii() and p.isalpha()]


def pinyin_tokens(text: str) -> tuple[list[str], list[str], str]:
    """(syllables and syllable bigrams, initial bigrams, the whole pinyin) of the Chinese runs
    of a text. One conversion per run (pypinyin is the indexer's slowest part): an initial is
    its syllable's first letter, and the whole pinyin the runs' syllables joined (a phrase never
    spans two runs, so segmenting each run gives the whole text's syllables)."""
    syllables: list[str] = []
    initials: list[str] = []
    whole: list[str] = []
    for run in runs(text):
        if not is_cjk(run):
            continue
        sy = _pinyin_of(run)
        whole += sy
        syllables += sy + [a + b for a, b in pairwise(sy)]
        initials += [a[0] + b[0] for a, b in pairwise(sy)]
    return syllables, initials, "".join(whole)


def word_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    for run in runs(text):
        tokens += cjk_grams(run) if is_cjk(run) else [run]
    return tokens


def code_tokens(*codes: str) -> list[str]:
    """A code's parts and the whole code with its separators dropped."""
    tokens: list[str] = []
    for code in codes:
        parts = runs(code)
        tokens += parts
        if len(parts) > 1:
            tokens.append("".join(parts))
    return tokens


@dataclass(frozen=True)
class SearchDocument:
    """The tokens of one item version, per column, each a space-separated string."""

    title: str
    codes: str
    pinyin: str
    initials: str
    body: str
    wholes: str = ""  # the tokens of ``codes`` that are a whole code without its separators

    def columns(self) -> dict[str, list[str]]:
        return {c: getattr(self, c).split() for c in COLUMNS}


def _join(tokens: list[str]) -> str:
    return " ".join(dict.fromkeys(t for t in tokens if t))


def document(
    *,
    name_zh: str,
    name_en: str,
    codes: list[str],
    department: str,
    materials: list[str],
) -> SearchDocument:
    syllables, initials, whole = pinyin_tokens(name_zh)
    return SearchDocument(
        title=_join(word_tokens(name_zh) + word_tokens(name_en)),
        codes=_join(code_tokens(*codes)),
        wholes=_join([t for c in codes if len(parts := runs(c)) > 1 for t in ["".join(parts)]]),
        pinyin=_join([*syllables, whole]),
        initials=_join(initials),
        body=_join(word_tokens(department) + [t for m in materials for t in word_tokens(m)]),
    )


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class Branch:
    """All ``terms`` within ``columns``; the last term may be a prefix."""

    columns: tuple[str, ...]
    terms: tuple[str, ...]
    prefix_last: bool = False


@dataclass(frozen=True)
class Group:
    """One run of the query: any of its branches."""

    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class Alternative:
    """Every group (AND); one alternative per synonym substitution."""

    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Query:
    alternatives: tuple[Alternative, ...] = ()
    needles: tuple[str, ...] = field(default=())  # what to highlight
    # The runs of the text as typed, then of each synonym substitution (the ranking's phrases).
    phrases: tuple[tuple[str, ...], ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.alternatives


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin gives the common CJK block."""
    chars = "".join(chr(c) for c in range(0x4E00, 0x9FA6))
    return frozenset(p for p in lazy_pinyin(chars, errors="ignore") if p.isascii() and p.isalpha())


@lru_cache(maxsize=1)
def _syllable_prefixes() -> frozenset[str]:
    return frozenset(s[:i] for s in syllables() for i in range(1, len(s) + 1))


def split_pinyin(text: str) -> list[str] | None:
    """Latin letters as pinyin syllables (longest first), the last one possibly unfinished;
    None when they are not pinyin."""
    known = syllables()
    n = len(text)
    best: dict[int, list[str] | None] = {n: []}

    def solve(i: int) -> list[str] | None:
        if i in best:
            return best[i]
        result: list[str] | None = None
        for j in range(min(n, i + 6), i, -1):
            piece = text[i:j]
            if piece in known:
                rest = solve(j)
                if rest is not None:
                    result = [piece, *rest]
                    break
        if result is None and text[i:] in _syllable_prefixes() and i > 0:
            result = [text[i:]]
        best[i] = result
        return result

    return solve(0)


def _group(run: str, last: bool) -> Group:
    """The branches of one run. Only the last run of the text, the one still being typed, is
    also a prefix (a word, an unfinished syllable, the start of the name's pinyin): a prefix of
    every code's first part (``qx``) costs PostgreSQL's index a scan of every item, and an
    earlier word is finished."""
    if is_cjk(run):
        terms = (run,) if len(run) == 1 else tuple(a + b for a, b in pairwise(run))
        return Group((Branch(WORD_COLUMNS, terms),))
    branches = [Branch(WORD_COLUMNS, (run,))]
    if last:
        branches.append(Branch(WORD_COLUMNS, (run,), prefix_last=True))
    if run.isalpha():
        pieces = split_pinyin(run)
        if pieces:
            unfinished = pieces[-1] not in syllables()
            if len(pieces) == 1:
                branches.append(Branch((PINYIN,), (run,), prefix_last=last and unfinished))
            else:
                grams = tuple(a + b for a, b in pairwise(pieces))
                branches.append(Branch((PINYIN,), grams, prefix_last=last and unfinished))
            if last:
                branches.append(Branch((PINYIN,), (run,), prefix_last=True))  # the whole name
        if 2 <= len(run) <= 6:
            branches.append(Branch((INITIALS,), tuple(a + b for a, b in pairwise(run))))
    return Group(tuple(branches))


MAX_ALTERNATIVES = 8


def parse(text: str, synonym_groups: list[list[str]]) -> Query:
    """The query a user typed, with each synonym group's other terms as alternatives."""
    base = " ".join(runs(text))
    if not base:
        return Query()
    variants = [base]
    for terms in synonym_groups:
        normal = [" ".join(runs(t)) for t in terms]
        for variant in list(variants):
            for term in normal:
                if term and term in variant:
                    for other in normal:
                        if other != term and len(variants) < MAX_ALTERNATIVES:
                            candidate = variant.replace(term, other)
                            if candidate not in variants:
                                variants.append(candidate)
                    break
    alternatives = tuple(
        Alternative(tuple(_group(r, i == len(runs_) - 1) for i, r in enumerate(runs_)))
        for runs_ in (v.split() for v in variants)
    )
    needles = tuple(dict.fromkeys(r for v in variants for r in v.split()))
    return Query(alternatives, needles, tuple(tuple(v.split()) for v in variants))
