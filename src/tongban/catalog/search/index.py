"""The search index of item versions on both databases (decision 0005).

SQLite: the FTS5 table ``item_search`` (rowid = item_version.id, one column per document
column), ranked by ``bm25``. PostgreSQL: ``item_search(version_id, document tsvector)`` with a
GIN index, the columns as weights (A title, B pinyin and initials, C codes, D body), ranked by
``ts_rank``. Both tables are made by the migration and are not in the models' metadata.

A query reaches the database as one bound parameter (the FTS5 MATCH text or the tsquery text),
built from tokens that hold only letters, digits and CJK characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Float,
    Integer,
    TableClause,
    bindparam,
    cast,
    column,
    func,
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

# Weights of the columns: title, codes, pinyin, initials, body.
FTS5_WEIGHTS = {"title": 10.0, "codes": 4.0, "pinyin": 6.0, "initials": 3.0, "body": 1.0}
PG_WEIGHT = {"title": "A", "codes": "C", "pinyin": "B", "initials": "B", "body": "D"}
PG_RANK_WEIGHTS = "{0.1, 0.4, 0.6, 1.0}"  # D, C, B, A

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


def _write_pg(session: Session, docs: dict[int, tx.SearchDocument]) -> None:
    if not docs:
        return
    vector = " || ".join(
        f"setweight(array_to_tsvector(CAST(:{c} AS text[])), '{PG_WEIGHT[c]}')" for c in tx.COLUMNS
    )
    session.execute(
        text(
            f"INSERT INTO item_search (version_id, document) VALUES (:id, {vector}) "  # noqa: S608
            "ON CONFLICT (version_id) DO UPDATE SET document = excluded.document"
        ),
        [{"id": vid, **d.columns()} for vid, d in docs.items()],
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


def tsquery(query: tx.Query) -> str:
    """The tsquery text; every lexeme is quoted and holds letters, digits, CJK only."""
    alternatives = []
    for alt in query.alternatives:
        groups = []
        for group in alt.groups:
            branches = []
            for b in group.branches:
                weights = "".join(sorted({PG_WEIGHT[c] for c in b.columns}))
                terms = [
                    f"'{t}':" + ("*" if b.prefix_last and i == len(b.terms) - 1 else "") + weights
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


def tier_source(
    session: Session, query: tx.Query, strong: bool
) -> tuple[ColumnElement[int], ColumnElement[bool], ColumnElement[float]] | None:
    """(version id, match condition, score; lower ranks first) of one tier of the matches:
    the strong tier matches in the name, codes or pinyin; the weak one only elsewhere. For a
    join driven by ``SEARCH_TABLE`` in descending version order, so that a ``LIMIT`` stops
    the match early instead of ranking every match. None when the tier is empty."""
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
        q = cast(bindparam("tsq", tsq), TSQUERY)
        document: ColumnElement[Any] = literal_column("item_search.document")
        vid: ColumnElement[int] = literal_column("item_search.version_id", Integer)
        score = -func.ts_rank(literal_column(f"'{PG_RANK_WEIGHTS}'"), document, q, 1, type_=Float)
        return vid, document.op("@@")(q), score
    m = fts5_match(full)
    if strong:
        m = fts5_match(strong_query)
    elif not strong_query.empty:
        m = f"({m}) NOT ({fts5_match(strong_query)})"
    weights = [FTS5_WEIGHTS[c] for c in tx.COLUMNS]
    me: ColumnElement[Any] = literal_column("item_search")
    return (
        literal_column("item_search.rowid", Integer),
        me.op("MATCH")(bindparam("m", m)),
        func.bm25(me, *weights, type_=Float),
    )


def hits(session: Session, query: tx.Query) -> CTE:
    """(version_id, score) of the versions matching; a lower score ranks first."""
    if _is_pg(session):
        stmt = text(
            "SELECT s.version_id AS version_id, "  # noqa: S608 (constant weights; the query is a bound parameter)
            f"-ts_rank('{PG_RANK_WEIGHTS}', s.document, q.q, 1) AS score "
            "FROM item_search s, CAST(:tsq AS tsquery) AS q(q) WHERE s.document @@ q.q"
        ).bindparams(tsq=tsquery(query))
    else:
        weights = ", ".join(str(FTS5_WEIGHTS[c]) for c in tx.COLUMNS)
        stmt = text(
            f"SELECT rowid AS version_id, bm25(item_search, {weights}) AS score "  # noqa: S608 (constant weights; the query is a bound parameter)
            "FROM item_search WHERE item_search MATCH :m"
        ).bindparams(m=fts5_match(query))
    # Materialised: the match runs once, not once per row of the joins around it.
    return stmt.columns(version_id=Integer, score=Float).cte("hits").prefix_with("MATERIALIZED")


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
