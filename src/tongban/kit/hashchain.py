"""Append-only, hash-chained logs: one implementation for every chain of the platform.

Each row stores ``(prev_hash, payload, hash)`` where
``hash = sha256(prev_hash_or_genesis + canonical_json(payload))`` as lower-case hex.  The
first row of a chain has ``prev_hash = None``, which is equivalent to :data:`GENESIS` (64
zeros).  Editing, deleting, inserting or reordering rows breaks the chain at that row.

A domain describes its log once as a :class:`Chain` (its table, which columns are hashed under
which payload names and encodings, the link columns, what splits the table into chains) and
registers it (:func:`register_chain`, next to its model). Then :func:`append` writes to it,
:func:`verify` checks it, and ``tongban audit verify`` checks every registered chain
(:func:`chains`). A chain may keep its head (length and newest hash) on a parent row, as cases
do: only then is dropping the newest rows caught.

Writers of one chain key are serialised, so two cannot read the same head and fork the chain;
writers of different keys (two cases) are not. See :func:`append`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Column, Table, bindparam, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from tongban.errors import Conflict
from tongban.kit.prepared import Prepared, cursor_of

__all__ = [
    "GENESIS",
    "Break",
    "Chain",
    "Field",
    "Head",
    "Links",
    "Report",
    "append",
    "canonical_json",
    "chain_hash",
    "chains",
    "check",
    "forget_head",
    "lock",
    "lock_chain",
    "register_chain",
    "verify",
    "verify_chain",
]

GENESIS: Final = "0" * 64
"""Previous-hash value of the first row of a chain."""

_HASH_RE: Final = re.compile(r"[0-9a-f]{64}")


#: one encoder for every call (``json.dumps`` with options builds a new one each time)
_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(obj: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no spaces, non-ASCII kept, NaN/Infinity refused."""
    return _CANONICAL.encode(obj).encode("utf-8")


def chain_hash(prev_hash: str | None, payload: Mapping[str, Any]) -> str:
    """SHA-256 hex of ``(prev_hash or GENESIS)`` followed by the canonical payload."""
    prev = GENESIS if prev_hash is None else prev_hash
    if not isinstance(prev, str) or _HASH_RE.fullmatch(prev) is None:
        raise ValueError(f"previous hash must be 64 lower-case hex characters, got {prev!r}")
    return hashlib.sha256(prev.encode("ascii") + canonical_json(payload)).hexdigest()


def verify_chain(
    rows: Iterable[tuple[str | None, Mapping[str, Any], str]],
    *,
    anchor: str | None = None,
) -> int | None:
    """Index of the first bad row, or None when the whole chain is intact.

    A row is bad when its ``prev_hash`` is not the stored hash of the row before it (for the
    first row: ``anchor``, by default the genesis value), or when its stored hash does not
    match its content.  Pass ``anchor`` to verify a segment that starts mid-chain.
    """
    expected_prev = GENESIS if anchor is None else anchor
    for index, (prev_hash, payload, stored_hash) in enumerate(rows):
        prev = GENESIS if prev_hash is None else prev_hash
        if prev != expected_prev:
            return index
        try:
            actual = chain_hash(prev, payload)
        except (TypeError, ValueError):
            return index
        if actual != stored_hash:
            return index
        expected_prev = stored_hash
    return None


# --- describing a chain ---------------------------------------------------------------------


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Field:
    """One hashed column: stored in ``column``, hashed as ``name`` after ``encode`` (the
    payload is JSON, so a datetime is hashed as its ISO text, for instance)."""

    name: str
    column: str
    encode: Callable[[Any], Any] = _same


@dataclass(frozen=True, slots=True)
class Head:
    """A parent row that keeps its chain's length and newest hash: one row per chain key, whose
    primary key is the key. Its row lock serialises the writers of that chain."""

    model: type[Any]
    count: str
    hash: str
    key: str = "id"


@dataclass(frozen=True, slots=True)
class Chain:
    """How one log is hashed and linked.

    ``key`` names the column that splits the table into independent chains (one per case);
    None makes the table one chain. ``order`` is the column the chain follows; ``seq``, when
    set, is numbered 1, 2, … within each chain, so a missing row is named as such.
    """

    name: str
    model: type[Any]
    fields: tuple[Field, ...]
    key: str | None = None
    order: str = "id"
    seq: str | None = None
    prev: str = "prev_hash"
    hash: str = "hash"
    id: str = "id"
    head: Head | None = None

    @property
    def table(self) -> Table:
        table = self.model.__table__
        assert isinstance(table, Table)
        return table

    def payload(self, row: Mapping[Any, Any]) -> dict[str, Any]:
        """What is hashed of a row (given by column names)."""
        return {f.name: f.encode(row[f.column]) for f in self.fields}

    def digest(self, prev: str | None, row: Mapping[Any, Any]) -> str:
        return chain_hash(prev, self.payload(row))

    def columns(self) -> tuple[str, ...]:
        """Every column verification reads, each once."""
        named = [self.id, self.order, self.seq, self.key, self.prev, self.hash]
        named += [f.column for f in self.fields]
        return tuple(dict.fromkeys(c for c in named if c is not None))


_REGISTRY: dict[str, Chain] = {}


def register_chain(chain: Chain) -> Chain:
    """Make ``chain`` known to :func:`chains` (and so to ``tongban audit verify``); done once,
    next to the chain's model, so that loading the models registers every chain."""
    known = _REGISTRY.get(chain.name)
    if known is not None and known != chain:
        raise ValueError(f"another chain is already registered as {chain.name!r}")
    _REGISTRY[chain.name] = chain
    return chain


def chains() -> tuple[Chain, ...]:
    """Every registered chain, in registration order."""
    return tuple(_REGISTRY.values())


# --- appending ------------------------------------------------------------------------------


def _lock_id(name: str) -> int:
    """Signed 64-bit advisory-lock key of a name (stable across processes)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def _lock_name(chain: Chain, key: Any) -> str:
    return chain.name if chain.key is None else f"{chain.name}:{key}"


def lock_chain(session: Session, name: str) -> None:
    """Serialise the appenders that lock ``name`` until the transaction ends.

    On PostgreSQL this takes a transaction-scoped advisory lock keyed by the name. On SQLite
    every transaction begins IMMEDIATE (see :mod:`tongban.db`), so writers are already
    serialised and nothing is done.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_id(name)})


def lock(session: Session, chain: Chain, key: Any = None) -> None:
    """Serialise the appenders of one chain key (only of that key) until the transaction ends.

    A chain with a head is locked by reading its head row ``FOR UPDATE`` (:func:`append`); one
    without takes an advisory lock named after the chain and the key.
    """
    lock_chain(session, _lock_name(chain, key))


class Links:
    """Rows about to be appended to one chain key: each numbered and linked to the one before,
    starting from the head read (``count`` rows, newest hash ``head``)."""

    __slots__ = ("chain", "count", "from_count", "head", "key", "rows")

    def __init__(self, chain: Chain, key: Any, count: int, head: str | None) -> None:
        self.chain = chain
        self.key = key
        self.from_count = count
        self.count = count
        self.head = head
        self.rows: list[dict[str, Any]] = []

    def add(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The row to insert for ``values`` (by column name): its key, number and links added."""
        chain = self.chain
        row = dict(values)
        if chain.key is not None:
            row[chain.key] = self.key
        self.count += 1
        if chain.seq is not None:
            row[chain.seq] = self.count
        digest = chain.digest(self.head, row)
        row[chain.prev] = self.head
        row[chain.hash] = digest
        self.head = digest
        self.rows.append(row)
        return row

    def take(self) -> list[dict[str, Any]]:
        """The rows added since the last write; from now on the head read is the one moved to."""
        rows, self.rows = self.rows, []
        self.from_count = self.count
        return rows


@dataclass(frozen=True, slots=True)
class _Statements:
    """A chain's statements for one dialect, compiled once (:mod:`tongban.kit.prepared`):
    appending runs on every audited action and every case event."""

    head: Prepared | None
    last: Prepared
    insert: Prepared
    move_head: Prepared | None
    #: columns inserted, with what each takes when the row does not name it
    defaults: tuple[tuple[str, Callable[[], Any]], ...]


def _none() -> Any:
    return None


def _default_of(column: Column[Any]) -> Callable[[], Any]:
    default = column.default
    if default is None:
        return _none
    if default.is_scalar:
        value = default.arg  # type: ignore[attr-defined]
        return lambda: value
    if default.is_callable:
        make = default.arg  # type: ignore[attr-defined]
        return lambda: make(None)  # SQLAlchemy wraps it to take an execution context
    raise ValueError(f"column {column.name}: only Python-side defaults are supported")


def _build(chain: Chain, dialect: Dialect) -> _Statements:
    table = chain.table
    key = chain.key
    written = [
        c
        for c in table.columns
        if not (c.primary_key and c.autoincrement in (True, "auto"))
        and not (c.server_default is not None and c.default is None)
    ]
    insert_row = table.insert().values({c.name: bindparam(c.name, type_=c.type) for c in written})
    newest = select(table.c[chain.hash], table.c[chain.seq or chain.order])
    if key is not None:
        newest = newest.where(table.c[key] == bindparam("key", type_=table.c[key].type))
    newest = newest.order_by(table.c[chain.order].desc()).limit(1)
    head = move_head = None
    if chain.head is not None:
        spec, parent = chain.head, chain.head.model.__table__
        at_key = parent.c[spec.key] == bindparam("key", type_=parent.c[spec.key].type)
        head = Prepared(
            select(parent.c[spec.count], parent.c[spec.hash]).where(at_key).with_for_update(),
            dialect,
        )
        move_head = Prepared(
            update(parent)
            .where(at_key, parent.c[spec.count] == bindparam("from_count"))
            .values(
                {
                    spec.count: bindparam("to_count", type_=parent.c[spec.count].type),
                    spec.hash: bindparam("to_hash", type_=parent.c[spec.hash].type),
                }
            ),
            dialect,
        )
    return _Statements(
        head=head,
        last=Prepared(newest, dialect),
        insert=Prepared(insert_row, dialect),
        move_head=move_head,
        defaults=tuple((c.name, _default_of(c)) for c in written),
    )


_COMPILED: dict[tuple[str, str, str], _Statements] = {}


def _statements(chain: Chain, dialect: Dialect) -> _Statements:
    found = _COMPILED.get((chain.name, dialect.name, dialect.driver))
    if found is None:
        found = _COMPILED[(chain.name, dialect.name, dialect.driver)] = _build(chain, dialect)
    return found


def _read_head(cursor: Any, sql: _Statements, chain: Chain, key: Any) -> tuple[int, str | None]:
    """The key's row count (0 when the chain is not numbered) and newest hash."""
    if sql.head is not None:
        count, newest_hash = sql.head.execute(cursor, key=key).fetchone()
        return count, newest_hash
    newest = sql.last.execute(cursor, key=key).fetchone()
    if newest is None:
        return 0, None
    return (newest[1] if chain.seq is not None else 0), newest[0]


def append(
    session: Session, chain: Chain, values: Mapping[str, Any], *, key: Any = None
) -> dict[str, Any]:
    """Append one row to the chain key and return it (by column name).

    Serialises the key's writers first: a chain with a head reads its head row ``FOR UPDATE``
    (the row lock of that key only), one without takes the key's advisory lock (:func:`lock`).
    Then the previous hash (the head's, or the newest row's), the new hash, the head moved
    from where it was read (a Conflict if someone moved it anyway), the row inserted. Columns
    the row does not name take their Python-side defaults, before hashing.
    """
    if chain.head is None:
        lock(session, chain, key)
    cursor, dialect = cursor_of(session)
    sql = _statements(chain, dialect)
    if sql.head is not None:
        count, previous = sql.head.execute(cursor, key=key).fetchone()
    else:
        newest = sql.last.execute(cursor, key=key).fetchone()
        count, previous = (
            (0, None) if newest is None else (newest[1] if chain.seq else 0, newest[0])
        )
    links = Links(chain, key, count, previous)
    row = links.add(
        {name: values[name] if name in values else make() for name, make in sql.defaults}
    )
    if sql.move_head is not None:
        moved = sql.move_head.execute(
            cursor, key=key, from_count=count, to_count=links.count, to_hash=links.head
        )
        if moved.rowcount != 1:
            raise Conflict(
                "the %(chain)s chain was appended to by someone else just now; try again",
                params={"chain": chain.name},
                data={"chain": chain.name, "key": key},
                code="chain_moved",
            )
        forget_head(session, chain, key)
    sql.insert.execute(cursor, **row)
    return row


def forget_head(session: Session, chain: Chain, key: Any) -> None:
    """A head row already loaded in this session reloads its count and hash when next read
    (the prepared statements bypass the session)."""
    head = chain.head
    if head is None:
        return
    loaded = session.identity_map.get(identity_key(head.model, key))
    if loaded is not None:
        session.expire(loaded, [head.count, head.hash])


# --- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link of one chain key.

    ``kind``: ``missing`` (a number is skipped; ``found`` is the number there instead),
    ``unlinked`` (its ``prev_hash`` is not the hash of the row before), ``altered`` (its hash
    does not match its content), ``truncated`` (the rows end before the head says; ``found``
    is the head's count). ``position`` counts the key's rows from 1.
    """

    chain: str
    table: str
    key: Any
    position: int
    row_id: Any
    kind: str
    reason: str
    found: Any = None

    def __str__(self) -> str:
        where = f"{self.table}" + ("" if self.key is None else f" key {self.key}")
        row = "no row" if self.row_id is None else f"row id {self.row_id}"
        return f"{where}, {row} (position {self.position}): {self.reason}"


@dataclass(slots=True)
class Report:
    """What :func:`verify` found in one chain: rows and chain keys checked, the first break of
    each broken key."""

    chain: str
    table: str
    rows: int = 0
    keys: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def _row_break(
    chain: Chain, key: Any, position: int, row: Mapping[Any, Any], expected_prev: str
) -> Break | None:
    def broken(kind: str, reason: str, found: Any = None) -> Break:
        table = chain.table.name
        return Break(chain.name, table, key, position, row[chain.id], kind, reason, found)

    if chain.seq is not None and row[chain.seq] != position:
        found = row[chain.seq]
        return broken("missing", f"row {position} is missing ({chain.seq} {found} here)", found)
    prev = row[chain.prev]
    if (GENESIS if prev is None else prev) != expected_prev:
        return broken("unlinked", f"its {chain.prev} is not the hash of the row before it")
    try:
        actual = chain.digest(prev, row)
    except (TypeError, ValueError) as exc:
        return broken("altered", f"its content cannot be hashed ({exc})")
    if actual != row[chain.hash]:
        return broken("altered", "its hash does not match its content")
    return None


def check(
    chain: Chain,
    rows: Iterable[Mapping[Any, Any]],
    *,
    key: Any = None,
    head: tuple[int, str | None] | None = None,
) -> tuple[int, Break | None]:
    """Rows seen and the first break of one chain key's rows (in chain order, by column
    name); ``head`` is the ``(count, hash)`` its head row holds, for a chain with one."""
    expected_prev, count, last_id, first = GENESIS, 0, None, None
    for row in rows:
        count += 1
        if first is None:
            first = _row_break(chain, key, count, row, expected_prev)
            expected_prev, last_id = row[chain.hash], row[chain.id]
    if first is None and head is not None:
        head_count, head_hash = head
        if count != head_count or (expected_prev if count else None) != head_hash:
            first = Break(
                chain.name,
                chain.table.name,
                key,
                count,
                last_id,
                "truncated",
                f"the chain ends at row {count}, its head says {head_count}",
                head_count,
            )
    return count, first


def _heads(session: Session, chain: Chain) -> dict[Any, tuple[int, str | None]]:
    assert chain.head is not None
    table = chain.head.model.__table__
    found = session.execute(
        select(
            table.c[chain.head.key], table.c[chain.head.count], table.c[chain.head.hash]
        ).order_by(table.c[chain.head.key])
    )
    return {key: (count, digest) for key, count, digest in found}


def _grouped(session: Session, chain: Chain) -> Iterator[tuple[Any, Iterator[Mapping[Any, Any]]]]:
    """The table's rows streamed in chain order, one group per chain key."""
    table = chain.table
    order = [table.c[chain.order]]
    if chain.key is not None:
        order.insert(0, table.c[chain.key])
    stmt = select(*(table.c[c] for c in chain.columns())).order_by(*order)
    result = session.execute(stmt.execution_options(yield_per=2000)).mappings()
    if chain.key is None:
        yield None, iter(result)
        return
    pending: list[Mapping[Any, Any]] = []
    current: Any = None
    for row in result:
        if pending and row[chain.key] != current:
            yield current, iter(pending)
            pending = []
        current = row[chain.key]
        pending.append(row)
    if pending:
        yield current, iter(pending)


def verify(session: Session, chain: Chain) -> Report:
    """Check every row of ``chain`` as stored; the first break of each chain key."""
    report = Report(chain.name, chain.table.name)
    heads = _heads(session, chain) if chain.head is not None else None
    for key, rows in _grouped(session, chain):
        head = None if heads is None else heads.pop(key, (0, None))
        count, broken = check(chain, rows, key=key, head=head)
        report.rows += count
        report.keys += 1
        if broken is not None:
            report.breaks.append(broken)
    for key, head in (heads or {}).items():
        # A head with no rows at all: every row of that key was removed.
        _, broken = check(chain, (), key=key, head=head)
        if broken is not None:
            report.keys += 1
            report.breaks.append(broken)
    return report
