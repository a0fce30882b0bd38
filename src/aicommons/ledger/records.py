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

from aicommons.store.ledger import GENESIS_HASH, ChainHead, LedgerRecord, timestamp

__all__ = [
    "GENESIS_HASH",
    "ChainHead",
    "Entry",
    "LedgerRecord",
    "canonical_json",
    "chain",
    "computed_hash",
    "record_hash",
    "timestamp",
]


def canonical_json(value: Any) -> bytes:
    """The one byte string a JSON value hashes as; raises TypeError/ValueError if not JSON."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


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


def computed_hash(record: LedgerRecord) -> str:
    """What ``record``'s hash must be, given its content and its link."""
    return record_hash(record.prev_hash, record.kind, record.created_at, record.payload)


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
