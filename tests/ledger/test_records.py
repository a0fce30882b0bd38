"""The hash chain and its verification, as pure functions."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from aicommons.ledger.records import (
    GENESIS_HASH,
    ChainHead,
    Entry,
    LedgerRecord,
    canonical_json,
    chain,
)
from aicommons.ledger.verify import verify_records

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entries(n: int) -> list[Entry]:
    return [
        Entry("request.completed", {"id": f"req_{i}", "tokens": i, "ms": i / 3}, T0 + timedelta(i))
        for i in range(n)
    ]


def verify(records: list[LedgerRecord]) -> tuple[bool, int | None, str | None]:
    hashes = {r.hash for r in records}
    result = verify_records(records, hashes.__contains__)
    return result.ok, result.broken_seq, result.reason


def test_canonical_json_is_order_free_and_compact() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_chain_starts_at_genesis_and_links() -> None:
    records = chain(ChainHead(), entries(5))
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert len({r.hash for r in records}) == 5
    assert verify(records) == (True, None, None)


def test_chain_continues_after_a_head() -> None:
    first = chain(ChainHead(), entries(3))
    more = chain(ChainHead(first[-1].seq, first[-1].hash), entries(2))
    assert [r.seq for r in more] == [4, 5] and more[0].prev_hash == first[-1].hash
    assert verify(first + more)[0]


def test_each_kind_of_tampering_is_named_at_its_seq() -> None:
    records = chain(ChainHead(), entries(8))
    edited = list(records)
    edited[3] = dataclasses.replace(records[3], payload={**records[3].payload, "tokens": 0})
    assert verify(edited) == (False, 4, "hash mismatch")

    assert verify(records[:5] + records[6:]) == (False, 6, "missing seq")

    swapped = list(records)
    swapped[2] = dataclasses.replace(records[5], seq=3)
    swapped[5] = dataclasses.replace(records[2], seq=6)
    assert verify(swapped) == (False, 3, "reordered")

    rehashed = list(records)
    rehashed[6] = dataclasses.replace(records[6], hash="f" * 64)
    assert verify(rehashed) == (False, 7, "hash mismatch")


def test_a_rewritten_record_with_a_recomputed_hash_breaks_the_next_link() -> None:
    records = chain(ChainHead(), entries(4))
    forged = chain(ChainHead(1, records[0].hash), [Entry(records[1].kind, {"id": "forged"}, T0)])[0]
    assert verify([records[0], forged, *records[2:]]) == (False, 3, "broken link")
