"""Helpers for append-only, hash-chained logs.

Each row stores ``(prev_hash, payload, hash)`` where
``hash = sha256(prev_hash_or_genesis + canonical_json(payload))`` as lower-case hex.  The
first row of a chain has ``prev_hash = None``, which is equivalent to :data:`GENESIS` (64
zeros).  Editing, deleting, inserting or reordering rows breaks the chain at that row.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["GENESIS", "canonical_json", "chain_hash", "lock_chain", "verify_chain"]

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


def _chain_key(name: str) -> int:
    """Signed 64-bit advisory-lock key of a chain's name (stable across processes)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def lock_chain(session: Session, name: str) -> None:
    """Serialise appenders of the chain ``name`` until the transaction ends.

    Call it before reading the chain's head.  On PostgreSQL this takes a transaction-scoped
    advisory lock keyed by the chain's name, so two writers cannot read the same head and fork
    the chain.  On SQLite every transaction begins IMMEDIATE (see :mod:`tongban.db`), so
    writers are already serialised and nothing is done.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _chain_key(name)})
