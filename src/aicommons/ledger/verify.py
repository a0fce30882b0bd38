"""Verification: recompute every hash and link, in seq order, and name the first break."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from aicommons.ledger.records import GENESIS_HASH, LedgerRecord, computed_hash
from aicommons.store import ledger as table
from aicommons.store.database import Database

Reason = Literal[
    "hash mismatch", "broken link", "missing seq", "reordered", "truncated", "anchor mismatch"
]

_EXPLAIN: dict[Reason, str] = {
    "hash mismatch": "its content does not match its hash (edited record or edited hash)",
    "broken link": "its prev_hash is not the previous record's hash",
    "missing seq": "the record with this seq is missing (deleted)",
    "reordered": "an intact record out of place (it follows a record found elsewhere)",
    "truncated": "the chain ends before a head it once had (records removed from its end)",
    "anchor mismatch": "a head the chain once had is not in it any more (records rewritten)",
}


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome: how many records were intact, the head, and the first break if any."""

    ok: bool
    count: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: Reason | None = None

    def message(self) -> str:
        if self.ok or self.reason is None:
            return f"ok: {self.count} records, head {self.head_seq} {self.head_hash}"
        return f"broken at seq {self.broken_seq}: {self.reason}: {_EXPLAIN[self.reason]}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message()}


class ChainChecker:
    """Checks records one at a time, in seq order, from the genesis record."""

    def __init__(self) -> None:
        self.count = 0
        self.expected_seq = 1
        self.prev_hash = GENESIS_HASH

    def check(self, record: LedgerRecord) -> Reason | None:
        """None if ``record`` continues the chain, else why not (at ``expected_seq``)."""
        if record.seq != self.expected_seq:
            return "missing seq"
        if computed_hash(record) != record.hash:
            return "hash mismatch"
        if record.prev_hash != self.prev_hash:
            return "broken link"
        self.count += 1
        self.expected_seq += 1
        self.prev_hash = record.hash
        return None

    def ok(self) -> VerifyResult:
        return VerifyResult(True, self.count, self.expected_seq - 1, self.prev_hash)

    def broken(self, reason: Reason) -> VerifyResult:
        return VerifyResult(
            False, self.count, self.expected_seq - 1, self.prev_hash, self.expected_seq, reason
        )


def verify_records(
    records: Iterable[LedgerRecord], has_hash: Callable[[str], bool]
) -> VerifyResult:
    """Verify records given in seq order; ``has_hash`` says whether any record has a hash."""
    checker = ChainChecker()
    for record in records:
        reason = checker.check(record)
        if reason == "broken link" and has_hash(record.prev_hash):
            reason = "reordered"
        if reason is not None:
            return checker.broken(reason)
    return checker.ok()


async def verify_chain(
    db: Database, page_size: int = 2000, expect_head: tuple[int, str] | None = None
) -> VerifyResult:
    """Verify every record and link, then every anchor and ``expect_head`` (a head published
    earlier, as ``(seq, hash)``): the chain must still hold each of them."""
    result = await _verify_records(db, page_size)
    if not result.ok:
        return result
    async with db.engine.connect() as conn:
        heads = await table.anchors(conn)
        if expect_head is not None:
            heads.append(expect_head)
        for seq, digest in sorted(heads):
            if seq > result.head_seq:
                return replace(result, ok=False, broken_seq=result.head_seq + 1, reason="truncated")
            if await table.hash_at(conn, seq) != digest:
                return replace(result, ok=False, broken_seq=seq, reason="anchor mismatch")
    return result


async def _verify_records(db: Database, page_size: int) -> VerifyResult:
    checker = ChainChecker()
    async with db.engine.connect() as conn:
        while True:
            page = await table.page_after(conn, checker.expected_seq - 1, page_size)
            for record in page:
                reason = checker.check(record)
                if reason == "broken link" and await table.has_hash(conn, record.prev_hash):
                    reason = "reordered"
                if reason is not None:
                    return checker.broken(reason)
            if len(page) < page_size:
                return checker.ok()
