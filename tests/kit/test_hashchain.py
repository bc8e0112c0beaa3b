"""Tests for the hash-chain helpers."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import pytest

from tongban.kit.hashchain import GENESIS, canonical_json, chain_hash, verify_chain

Row = tuple[str | None, Mapping[str, Any], str]


def _build(payloads: list[Mapping[str, Any]], anchor: str | None = None) -> list[Row]:
    rows: list[Row] = []
    prev = anchor
    for payload in payloads:
        digest = chain_hash(prev, payload)
        rows.append((prev, payload, digest))
        prev = digest
    return rows


PAYLOADS: list[Mapping[str, Any]] = [
    {"event": "accepted", "case": "TB-2026-0001", "by": "张三"},
    {"event": "assigned", "case": "TB-2026-0001", "dept": "市场监管局"},
    {"event": "approved", "case": "TB-2026-0001", "fee_fen": 0},
    {"event": "closed", "case": "TB-2026-0001", "notes": ["ok", None, 1.5]},
]


# --- canonical_json -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"b": 1, "a": 2}, b'{"a":2,"b":1}'),
        ({"a": [1, 2, {"d": None, "c": True}]}, b'{"a":[1,2,{"c":true,"d":null}]}'),
        ({"name": "张三"}, '{"name":"张三"}'.encode()),
        ([], b"[]"),
        ("x", b'"x"'),
        ({"k": 'quote " and \\'}, b'{"k":"quote \\" and \\\\"}'),
    ],
)
def test_canonical_json(obj: Any, expected: bytes) -> None:
    assert canonical_json(obj) == expected


def test_canonical_json_is_key_order_independent() -> None:
    assert canonical_json({"x": 1, "y": {"b": 2, "a": 3}}) == canonical_json(
        {"y": {"a": 3, "b": 2}, "x": 1}
    )


def test_canonical_json_keeps_non_ascii_as_utf8() -> None:
    encoded = canonical_json({"部门": "市场监管局"})
    assert b"\\u" not in encoded
    assert encoded.decode("utf-8") == '{"部门":"市场监管局"}'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_canonical_json_refuses_non_finite_numbers(value: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": value})


# --- chain_hash ---------------------------------------------------------------------------


def test_chain_hash_definition() -> None:
    payload = {"b": 1, "a": "张"}
    expected = hashlib.sha256(b"0" * 64 + '{"a":"张","b":1}'.encode()).hexdigest()
    assert chain_hash(None, payload) == expected
    assert chain_hash(GENESIS, payload) == expected
    prev = "ab" * 32
    assert (
        chain_hash(prev, payload)
        == hashlib.sha256(prev.encode() + '{"a":"张","b":1}'.encode()).hexdigest()
    )


def test_chain_hash_known_value() -> None:
    # sha256("0"*64 + "{}")
    assert chain_hash(None, {}) == hashlib.sha256(("0" * 64 + "{}").encode()).hexdigest()
    assert len(chain_hash(None, {})) == 64


def test_chain_hash_depends_on_prev_and_payload() -> None:
    base = chain_hash(None, {"a": 1})
    assert chain_hash(None, {"a": 2}) != base
    assert chain_hash("f" * 64, {"a": 1}) != base


@pytest.mark.parametrize("prev", ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65])
def test_chain_hash_rejects_malformed_prev(prev: str) -> None:
    with pytest.raises(ValueError, match="previous hash must be 64 lower-case hex characters"):
        chain_hash(prev, {"a": 1})


# --- verify_chain -------------------------------------------------------------------------


def test_intact_chain_verifies() -> None:
    assert verify_chain(_build(PAYLOADS)) is None


def test_empty_chain_verifies() -> None:
    assert verify_chain([]) is None


def test_verify_accepts_a_generator() -> None:
    assert verify_chain(row for row in _build(PAYLOADS)) is None


def test_first_row_may_store_genesis_explicitly() -> None:
    rows = _build(PAYLOADS)
    first_prev, payload, digest = rows[0]
    assert first_prev is None
    rows[0] = (GENESIS, payload, digest)
    assert verify_chain(rows) is None


@pytest.mark.parametrize("index", range(len(PAYLOADS)))
def test_edited_payload_is_detected(index: int) -> None:
    rows = _build(PAYLOADS)
    prev, payload, digest = rows[index]
    rows[index] = (prev, {**payload, "event": "tampered"}, digest)
    assert verify_chain(rows) == index


@pytest.mark.parametrize("index", range(len(PAYLOADS)))
def test_edited_stored_hash_is_detected(index: int) -> None:
    rows = _build(PAYLOADS)
    prev, payload, _ = rows[index]
    rows[index] = (prev, payload, "1" * 64)
    assert verify_chain(rows) == index


def test_rehashed_edit_breaks_the_next_row() -> None:
    # An attacker recomputes the hash of row 1; row 2 no longer links to it.
    rows = _build(PAYLOADS)
    prev, payload, _ = rows[1]
    forged = {**payload, "dept": "other"}
    rows[1] = (prev, forged, chain_hash(prev, forged))
    assert verify_chain(rows) == 2


@pytest.mark.parametrize("index", [1, 2])
def test_deleted_row_is_detected(index: int) -> None:
    rows = _build(PAYLOADS)
    del rows[index]
    assert verify_chain(rows) == index


def test_deleted_first_row_is_detected() -> None:
    rows = _build(PAYLOADS)
    assert verify_chain(rows[1:]) == 0


def test_swapped_rows_are_detected() -> None:
    rows = _build(PAYLOADS)
    rows[1], rows[2] = rows[2], rows[1]
    assert verify_chain(rows) == 1


def test_truncated_tail_is_not_detectable_without_an_anchor() -> None:
    # Documented limitation: dropping the newest rows leaves a valid (shorter) chain.
    assert verify_chain(_build(PAYLOADS)[:2]) is None


def test_segment_verifies_with_anchor() -> None:
    rows = _build(PAYLOADS)
    anchor = rows[1][2]
    assert verify_chain(rows[2:], anchor=anchor) is None
    assert verify_chain(rows[2:]) == 0
    assert verify_chain(rows[2:], anchor="e" * 64) == 0


def test_malformed_prev_hash_is_a_bad_row_not_an_exception() -> None:
    rows = _build(PAYLOADS)
    _, payload, digest = rows[0]
    rows[0] = ("not-a-hash", payload, digest)
    assert verify_chain(rows, anchor="not-a-hash") == 0


def test_unserialisable_payload_is_a_bad_row() -> None:
    rows = _build(PAYLOADS[:1])
    prev, _, digest = rows[0]
    rows[0] = (prev, {"x": object()}, digest)
    assert verify_chain(rows) == 0
