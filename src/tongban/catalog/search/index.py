"""The search index of item versions on both databases (decision 0005).

SQLite: the FTS5 table ``item_search`` (rowid = item_version.id, one column per document
column). PostgreSQL: ``item_search(version_id, document tsvector)`` with a GIN index, each
lexeme led by its column's letter (``PG_PREFIX``), so the index answers a query exactly. The
index finds the matches; ``catalog.search.rank`` orders them, the same on both. Both tables are
made by the migration and are not in the models' metadata.

A query reaches the database as one bound parameter (the FTS5 MATCH text or the tsquery text),
built from tokens that hold only letters, digits and CJK characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    TableClause,
    bindparam,
    cast,
    column,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from tongban.catalog.models import ItemVersion, Material, SearchSynonym, ServiceItem
from tongban.catalog.search import text as tx
from tongban.org.models import Department

# PostgreSQL: the letter that starts each lexeme of a column (``t身份`` in the name, ``b身份`` in
# the body), so that a term names its columns in the lexeme itself. Weights would need positions
# and make the GIN index lossy: every candidate rechecked against its whole document.
PG_PREFIX = {"title": "t", "codes": "c", "pinyin": "p", "initials": "i", "body": "b"}
# A whole code without its separators is a lexeme of its own (``w…``): a prefix of a code's first
# part would otherwise expand over every item's whole code (100,000 lexemes for ``qx``, 40 ms).
# A prefix term reaches the whole codes from this length on; a shorter one finds the code's parts.
PG_WHOLE = "w"
PG_WHOLE_PREFIX_MIN = 5

FTS5_DDL = (
    "CREATE VIRTUAL TABLE item_search USING fts5("
    "title, codes, pinyin, initials, body, "
    "tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')"
)
PG_DDL = (
    "CREATE TABLE item_search ("
    "version_id integer PRIMARY KEY REFERENCES item_version (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    "CREATE INDEX ix_item_search_document ON item_search USING gin (document)",
)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


# ---------------------------------------------------------------- documents


def _documents(session: Session, version_ids: Sequence[int]) -> dict[int, tx.SearchDocument]:
    rows = session.execute(
        select(
            ItemVersion.id,
            ItemVersion.name_zh,
            ItemVersion.name_en,
            ServiceItem.implementation_code,
            ServiceItem.basic_code,
            Department.name_zh,
            Department.name_en,
        )
        .join(ServiceItem, ServiceItem.id == ItemVersion.item_id)
        .join(Department, Department.id == ItemVersion.department_id)
        .where(ItemVersion.id.in_(version_ids))
    ).all()
    materials: dict[int, list[str]] = {}
    for version_id, zh, en in session.execute(
        select(Material.version_id, Material.name_zh, Material.name_en).where(
            Material.version_id.in_(version_ids)
        )
    ):
        materials.setdefault(version_id, []).extend((zh, en))
    return {
        vid: tx.document(
            name_zh=zh,
            name_en=en,
            codes=[code, basic],
            department=f"{dzh} {den}",
            materials=materials.get(vid, []),
        )
        for vid, zh, en, code, basic, dzh, den in rows
    }


def index_versions(session: Session, version_ids: Iterable[int]) -> None:
    """(Re)write the search documents of these versions: the one place the index changes."""
    ids = sorted(set(version_ids))
    if not ids:
        return
    session.flush()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        docs = _documents(session, chunk)
        if _is_pg(session):
            _write_pg(session, docs)
        else:
            _write_fts5(session, chunk, docs)


def _write_fts5(session: Session, ids: list[int], docs: dict[int, tx.SearchDocument]) -> None:
    session.execute(text("DELETE FROM item_search WHERE rowid = :id"), [{"id": i} for i in ids])
    if docs:
        session.execute(
            text(
                "INSERT INTO item_search (rowid, title, codes, pinyin, initials, body) "
                "VALUES (:id, :title, :codes, :pinyin, :initials, :body)"
            ),
            [{"id": vid, **{c: getattr(d, c) for c in tx.COLUMNS}} for vid, d in docs.items()],
        )


def pg_lexemes(doc: tx.SearchDocument) -> list[str]:
    """The lexemes of a document: each token behind its column's letter (``PG_PREFIX``), a whole
    code behind ``PG_WHOLE``."""
    wholes = set(doc.wholes.split())
    return [
        (PG_WHOLE if c == tx.CODES and token in wholes else PG_PREFIX[c]) + token
        for c in tx.COLUMNS
        for token in getattr(doc, c).split()
    ]


def _write_pg(session: Session, docs: dict[int, tx.SearchDocument]) -> None:
    if not docs:
        return
    session.execute(
        text(
            "INSERT INTO item_search (version_id, document) "
            "VALUES (:id, array_to_tsvector(CAST(:lexemes AS text[]))) "
            "ON CONFLICT (version_id) DO UPDATE SET document = excluded.document"
        ),
        [{"id": vid, "lexemes": pg_lexemes(d)} for vid, d in docs.items()],
    )


def reindex(session: Session) -> int:
    """Rebuild the whole index; returns the number of versions indexed."""
    session.execute(text("DELETE FROM item_search"))
    ids = list(session.scalars(select(ItemVersion.id).order_by(ItemVersion.id)))
    index_versions(session, ids)
    refresh_statistics(session, len(ids))
    return len(ids)


# ---------------------------------------------------------------- queries


def synonym_groups(session: Session) -> list[list[str]]:
    return [
        list(s.terms) for s in session.scalars(select(SearchSynonym).order_by(SearchSynonym.id))
    ]


def _fts5_term(term: str, prefix: bool) -> str:
    return f'"{term}"' + ("*" if prefix else "")


def fts5_match(query: tx.Query) -> str:
    """The FTS5 MATCH expression; every term is a quoted string of letters, digits, CJK."""
    alternatives = []
    for alt in query.alternatives:
        groups = []
        for group in alt.groups:
            branches = []
            for b in group.branches:
                terms = [
                    _fts5_term(t, b.prefix_last and i == len(b.terms) - 1)
                    for i, t in enumerate(b.terms)
                ]
                branches.append("{" + " ".join(b.columns) + "} : (" + " AND ".join(terms) + ")")
            groups.append("(" + " OR ".join(branches) + ")")
        alternatives.append("(" + " AND ".join(groups) + ")")
    return " OR ".join(alternatives)


def _pg_term(term: str, columns: tuple[str, ...], prefix: bool) -> str:
    star = ":*" if prefix else ""
    letters = [PG_PREFIX[c] for c in columns]
    if tx.CODES in columns and (not prefix or len(term) >= PG_WHOLE_PREFIX_MIN):
        letters.append(PG_WHOLE)
    return "(" + " | ".join(f"'{letter}{term}'{star}" for letter in letters) + ")"


def tsquery(query: tx.Query) -> str:
    """The tsquery text; every lexeme is quoted and holds letters, digits, CJK only."""
    alternatives = []
    for alt in query.alternatives:
        groups = []
        for group in alt.groups:
            branches = []
            for b in group.branches:
                terms = [
                    _pg_term(t, b.columns, b.prefix_last and i == len(b.terms) - 1)
                    for i, t in enumerate(b.terms)
                ]
                branches.append("(" + " & ".join(terms) + ")")
            groups.append("(" + " | ".join(branches) + ")")
        alternatives.append("(" + " & ".join(groups) + ")")
    return " | ".join(alternatives)


# The columns of a strong match: a match there ranks before a match in the body only.
STRONG_COLUMNS = (tx.TITLE, tx.CODES, tx.PINYIN, tx.INITIALS)


def restricted(query: tx.Query, columns: tuple[str, ...]) -> tx.Query:
    """The query matching within ``columns`` only (empty when it cannot match there)."""
    alternatives = []
    for alt in query.alternatives:
        groups = []
        for group in alt.groups:
            branches = tuple(
                replace(b, columns=cols)
                for b in group.branches
                if (cols := tuple(c for c in b.columns if c in columns))
            )
            if not branches:
                break
            groups.append(tx.Group(branches))
        else:
            alternatives.append(tx.Alternative(tuple(groups)))
    return replace(query, alternatives=tuple(alternatives))


SEARCH_TABLE: TableClause = table("item_search", column("rowid"), column("version_id"))


class Tier(NamedTuple):
    """One tier of the matches, for a join driven by ``SEARCH_TABLE`` and cut by a ``LIMIT``:
    the version id, the match condition, and the order the index reads the matches in."""

    version_id: ColumnElement[int]
    match: ColumnElement[bool]
    order: tuple[ColumnElement[Any], ...]


def tier_source(session: Session, query: tx.Query, strong: bool) -> Tier | None:
    """One tier of the matches: the strong tier matches in the name, codes or pinyin; the weak
    one only elsewhere. The ``LIMIT`` stops the match early instead of reading every match (the
    order among the matches read is ``catalog.search.rank``'s). SQLite reads them in descending
    version order (FTS5 walks its rowids either way). PostgreSQL in the order the GIN index's
    bitmap gives: an ``ORDER BY`` there reads and joins every match before the first row (one
    second for a common word at 100,000 items). None when the tier is empty."""
    full = query
    strong_query = restricted(full, STRONG_COLUMNS)
    if strong and strong_query.empty:
        return None
    if _is_pg(session):
        tsq = tsquery(full)
        if strong:
            tsq = tsquery(strong_query)
        elif not strong_query.empty:
            tsq = f"({tsq}) & !({tsquery(strong_query)})"
        document: ColumnElement[Any] = literal_column("item_search.document")
        vid: ColumnElement[int] = literal_column("item_search.version_id", Integer)
        return Tier(vid, document.op("@@")(cast(bindparam("tsq", tsq), TSQUERY)), ())
    m = fts5_match(full)
    if strong:
        m = fts5_match(strong_query)
    elif not strong_query.empty:
        m = f"({m}) NOT ({fts5_match(strong_query)})"
    me: ColumnElement[Any] = literal_column("item_search")
    rowid: ColumnElement[int] = literal_column("item_search.rowid", Integer)
    return Tier(rowid, me.op("MATCH")(bindparam("m", m)), (rowid.desc(),))


def index_items(session: Session, item_ids: Iterable[int]) -> None:
    """Every version of these items (an import's one call)."""
    wanted = sorted(set(item_ids))
    ids: list[int] = []
    for start in range(0, len(wanted), 500):
        ids += session.scalars(
            select(ItemVersion.id).where(ItemVersion.item_id.in_(wanted[start : start + 500]))
        )
    index_versions(session, ids)


def refresh_statistics(session: Session, changed_rows: int) -> None:
    """After a bulk import on PostgreSQL, gather the planner's statistics of the catalogue's
    tables at once (PostgreSQL's advice after a bulk load: without them the search plans as for
    empty tables, seconds a query at 10,000 items, until autovacuum's next pass). SQLite plans
    without statistics; a small import leaves it to autovacuum."""
    if not _is_pg(session) or changed_rows < ANALYZE_AFTER_ROWS:
        return
    for name in _ANALYZED:  # our own table names, never input
        session.execute(text(f"ANALYZE {name}"))
    # The GIN index's pending list (its fast update) merged into the index now: a search
    # otherwise scans the list, every new document of the import, until autovacuum comes by.
    session.execute(text("SELECT gin_clean_pending_list('ix_item_search_document')"))


ANALYZE_AFTER_ROWS = 1000
_ANALYZED = (
    "service_item",
    "item_version",
    "item_search",
    "item_material",
    "item_form_field",
    "item_step",
    "item_output",
)
