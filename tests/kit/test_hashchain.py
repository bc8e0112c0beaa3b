"""Tests for the hash-chain helpers."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from tongban.audit.models import AUDIT_LOG
from tongban.cases.models import CASE_EVENTS
from tongban.kit.hashchain import (
    GENESIS,
    Chain,
    Links,
    canonical_json,
    chain_hash,
    chains,
    check,
    register_chain,
    verify_chain,
)
from tongban.models import load_all_models

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


# --- Chain descriptions: the hashes stored before there was one implementation -------------

# Computed by the code that wrote these chains before ``Chain`` existed (``audit.record`` and
# ``cases.events._payload`` fed to ``chain_hash``): stored rows must keep verifying.
OLD_AUDIT = (
    "8cb91b364bd06ea173c086c2987dbff79ad165dcafd59a5de1a45dbd2bd17f8c",
    "bd1b4d8840e10552baeaa6e9830233b0932c347bf973cb0083251b115ce174e2",
)
OLD_CASE = (
    "942aed870b0d99365d73466c55b3399c54f97941bb024ca6aad643781b5ed4e8",
    "a72acadff3cfe83244d7b2a27101582b3fb047b6c35b4f0bf200549df8c9a3b8",
)
AT = datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=UTC)


def _audit_rows() -> list[dict[str, Any]]:
    first = {
        "id": 1,
        "actor_user_id": None,
        "action": "item.published",
        "object_type": "item",
        "object_key": "QX-1",
        "detail": {"version": 2, "名": "张三"},
        "prev_hash": None,
        "hash": OLD_AUDIT[0],
    }
    second = {
        "id": 2,
        "actor_user_id": None,
        "action": "login",
        "object_type": "user",
        "object_key": "frontdesk",
        "detail": {},
        "prev_hash": OLD_AUDIT[0],
        "hash": OLD_AUDIT[1],
    }
    return [first, second]


def _case_rows() -> list[dict[str, Any]]:
    common = {"case_id": 1, "at": AT, "actor_id": None, "step_id": None}
    return [
        {
            **common,
            "id": 10,
            "seq": 1,
            "action": "submitted",
            "data": {"subject": "QX-RSJ-A"},
            "prev_hash": None,
            "hash": OLD_CASE[0],
        },
        {
            **common,
            "id": 11,
            "seq": 2,
            "action": "note",
            "data": {"text": "一"},
            "prev_hash": OLD_CASE[0],
            "hash": OLD_CASE[1],
        },
    ]


def test_the_audit_chain_hashes_as_before() -> None:
    rows = _audit_rows()
    assert AUDIT_LOG.digest(None, rows[0]) == OLD_AUDIT[0]
    assert AUDIT_LOG.digest(OLD_AUDIT[0], rows[1]) == OLD_AUDIT[1]
    assert check(AUDIT_LOG, rows) == (2, None)


def test_the_case_chain_hashes_as_before() -> None:
    rows = _case_rows()
    assert CASE_EVENTS.digest(None, rows[0]) == OLD_CASE[0]
    assert check(CASE_EVENTS, rows, key=1, head=(2, OLD_CASE[1])) == (2, None)


def test_links_number_and_chain_what_they_add() -> None:
    links = Links(CASE_EVENTS, 1, 0, None)
    for row in _case_rows():
        added = links.add({k: v for k, v in row.items() if k not in ("seq", "prev_hash", "hash")})
        assert (added["seq"], added["prev_hash"], added["hash"]) == (
            row["seq"],
            row["prev_hash"],
            row["hash"],
        )
    assert (links.count, links.head) == (2, OLD_CASE[1])
    assert len(links.take()) == 2
    assert (links.from_count, links.rows) == (2, [])


@pytest.mark.parametrize(
    ("tamper", "kind", "position"),
    [
        (lambda rows: rows[0].update(action="forged"), "altered", 1),
        (lambda rows: rows[1].update(hash="1" * 64), "altered", 2),
        (lambda rows: rows[1].update(prev_hash="2" * 64), "unlinked", 2),
        (lambda rows: rows[1].update(seq=3), "missing", 2),
        (lambda rows: rows.pop(), "truncated", 1),
        (lambda rows: rows.clear(), "truncated", 0),
    ],
)
def test_check_names_the_first_break(
    tamper: Callable[[list[dict[str, Any]]], object], kind: str, position: int
) -> None:
    rows = _case_rows()
    tamper(rows)
    _, broken = check(CASE_EVENTS, rows, key=1, head=(2, OLD_CASE[1]))
    assert broken is not None
    assert (broken.chain, broken.table, broken.key) == ("case_event", "case_event", 1)
    assert (broken.kind, broken.position) == (kind, position)
    if rows:
        assert broken.row_id == rows[position - 1]["id"]
        assert f"row id {broken.row_id}" in str(broken)


def test_without_a_head_a_truncated_tail_passes() -> None:
    assert check(AUDIT_LOG, _audit_rows()[:1]) == (1, None)


def test_every_domain_chain_is_registered_once() -> None:
    load_all_models()
    assert {c.name for c in chains()} >= {"audit", "case_event"}
    assert register_chain(AUDIT_LOG) is AUDIT_LOG  # the same description again is harmless
    other = Chain(name="audit", model=AUDIT_LOG.model, fields=AUDIT_LOG.fields[:1])
    with pytest.raises(ValueError, match="already registered"):
        register_chain(other)
