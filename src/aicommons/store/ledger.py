"""The ledger table and its queries. Rows are only ever inserted; nothing here updates or
deletes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from aicommons.store.tables import Base

GENESIS_HASH = "0" * 64


def timestamp(moment: datetime) -> str:
    """How ``created_at`` is written (and hashed): ISO 8601 in UTC with microseconds."""
    if moment.tzinfo is None:
        raise ValueError("ledger timestamps must be timezone-aware")
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One chained record as stored (`aicommons.ledger.records` says how it is hashed)."""

    seq: int
    prev_hash: str
    hash: str
    kind: str
    created_at: datetime
    payload: Mapping[str, Any]

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


class LedgerRow(Base):
    """One chained record (see aicommons.ledger.records for what is hashed)."""

    __tablename__ = "ledger_records"

    # Assigned by the writer, never by the database, so the chain decides the order.
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)

    def to_record(self) -> LedgerRecord:
        return LedgerRecord(
            self.seq, self.prev_hash, self.hash, self.kind, self.created_at, self.payload
        )


class LedgerAnchor(Base):
    """A head the chain once had. Truncating the chain's tail leaves a valid shorter chain;
    an anchor beyond the new end (or with another hash) shows it."""

    __tablename__ = "ledger_anchors"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


_COLUMNS = (
    LedgerRow.seq,
    LedgerRow.prev_hash,
    LedgerRow.hash,
    LedgerRow.kind,
    LedgerRow.created_at,
    LedgerRow.payload,
)


def _records(rows: Sequence[Any]) -> list[LedgerRecord]:
    return [LedgerRecord(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


async def read_head(conn: AsyncConnection) -> ChainHead:
    """The last record's seq and hash, or the genesis head of an empty ledger."""
    query = select(LedgerRow.seq, LedgerRow.hash).order_by(LedgerRow.seq.desc()).limit(1)
    row = (await conn.execute(query)).first()
    return ChainHead() if row is None else ChainHead(row[0], row[1])


async def insert_records(conn: AsyncConnection, records: Sequence[LedgerRecord]) -> None:
    """Insert a chained batch (the caller owns the transaction)."""
    rows = [
        {
            "seq": r.seq,
            "prev_hash": r.prev_hash,
            "hash": r.hash,
            "kind": r.kind,
            "created_at": r.created_at,
            "payload": dict(r.payload),
        }
        for r in records
    ]
    await conn.execute(insert(LedgerRow), rows)


async def page_after(conn: AsyncConnection, after_seq: int, limit: int) -> list[LedgerRecord]:
    """Up to ``limit`` records with seq above ``after_seq``, in seq order."""
    query = select(*_COLUMNS).where(LedgerRow.seq > after_seq).order_by(LedgerRow.seq).limit(limit)
    return _records((await conn.execute(query)).all())


async def recent(
    conn: AsyncConnection, limit: int, before: int | None = None
) -> list[LedgerRecord]:
    """The newest ``limit`` records (below seq ``before`` if given), newest first."""
    query = select(*_COLUMNS).order_by(LedgerRow.seq.desc()).limit(limit)
    if before is not None:
        query = query.where(LedgerRow.seq < before)
    return _records((await conn.execute(query)).all())


async def has_hash(conn: AsyncConnection, digest: str) -> bool:
    """Whether any record has this hash (used only to explain a broken chain)."""
    query = select(LedgerRow.seq).where(LedgerRow.hash == digest).limit(1)
    return (await conn.execute(query)).first() is not None


async def newest_anchor(conn: AsyncConnection) -> tuple[int, str, datetime] | None:
    """The newest anchor's seq, hash and time."""
    query = (
        select(LedgerAnchor.seq, LedgerAnchor.hash, LedgerAnchor.created_at)
        .order_by(LedgerAnchor.seq.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else (row[0], row[1], row[2])


async def add_anchor(conn: AsyncConnection, head: ChainHead, at: datetime) -> None:
    row = {"seq": head.seq, "hash": head.hash, "created_at": at}
    await conn.execute(insert(LedgerAnchor), [row])


async def anchors(conn: AsyncConnection) -> list[tuple[int, str]]:
    query = select(LedgerAnchor.seq, LedgerAnchor.hash).order_by(LedgerAnchor.seq)
    return [(r[0], r[1]) for r in (await conn.execute(query)).all()]


async def hash_at(conn: AsyncConnection, seq: int) -> str | None:
    query = select(LedgerRow.hash).where(LedgerRow.seq == seq)
    return (await conn.execute(query)).scalar_one_or_none()
