"""Ledger records and their hash chain, as pure functions (no I/O).

A record's hash is the SHA-256 of the canonical JSON of ``prev_hash``, ``kind``,
``created_at`` and ``payload``: keys sorted, no spaces, UTF-8, no NaN. The ``seq`` is not
hashed: it is the record's place, and the links (each record names its predecessor's hash)
are what fix the order, so renumbering, removing or swapping records breaks a link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """The one byte string a JSON value hashes as; raises TypeError/ValueError if not JSON."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def timestamp(moment: datetime) -> str:
    """How ``created_at`` enters the hash: ISO 8601 in UTC with microseconds."""
    if moment.tzinfo is None:
        raise ValueError("ledger timestamps must be timezone-aware")
    return moment.isoformat(timespec="microseconds")


def record_hash(prev_hash: str, kind: str, created_at: datetime, payload: Mapping[str, Any]) -> str:
    body = {
        "prev_hash": prev_hash,
        "kind": kind,
        "created_at": timestamp(created_at),
        "payload": payload,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """What a caller appends: a dotted kind and JSON metadata."""

    kind: str
    payload: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One chained record as stored."""

    seq: int
    prev_hash: str
    hash: str
    kind: str
    created_at: datetime
    payload: Mapping[str, Any]

    def computed_hash(self) -> str:
        return record_hash(self.prev_hash, self.kind, self.created_at, self.payload)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
            "kind": self.kind,
            "created_at": timestamp(self.created_at),
            "payload": dict(self.payload),
        }


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where the chain stands: the last seq and its hash (0 and the genesis hash when empty)."""

    seq: int = 0
    hash: str = GENESIS_HASH


def chain(head: ChainHead, entries: Iterable[Entry]) -> list[LedgerRecord]:
    """Number and link ``entries`` after ``head``."""
    records: list[LedgerRecord] = []
    seq, prev = head.seq, head.hash
    for entry in entries:
        seq += 1
        digest = record_hash(prev, entry.kind, entry.created_at, entry.payload)
        records.append(LedgerRecord(seq, prev, digest, entry.kind, entry.created_at, entry.payload))
        prev = digest
    return records
