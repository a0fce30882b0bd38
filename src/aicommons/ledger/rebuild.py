"""Usage totals rebuilt from the ledger.

The usage table is an aggregate written in batches (a crash loses up to a second of it); the
ledger holds every request's record, committed before its answer. So the totals of any period
can be recomputed from the ledger and written back, which is what `aicommons usage rebuild`
does after a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from aicommons.ledger.stage import REQUEST_KIND
from aicommons.store import ledger as table
from aicommons.store.database import Database
from aicommons.store.usage import UsageDelta, UsageKey, UsageStore

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class RebuildReport:
    records: int
    rows: int
    changed_rows: int
    first_day: str | None


def delta_of_record(payload: Mapping[str, Any]) -> tuple[UsageKey, UsageDelta] | None:
    """The usage one request record adds (None for a refused request, which counts nothing)."""
    if payload.get("status") == "refused":
        return None
    day = datetime.fromtimestamp(int(payload["created"]), UTC).date().isoformat()
    energy = payload.get("energy") or {}
    key = (day, str(payload["tenant_id"]), str(payload["key_id"]), str(payload["model"]))
    delta = UsageDelta(
        requests=1,
        failed=0 if payload.get("status") == "ok" else 1,
        prompt_tokens=int(payload.get("prompt_tokens") or 0),
        completion_tokens=int(payload.get("completion_tokens") or 0),
        energy_joules=float(energy.get("joules") or 0.0),
        gco2e=float(energy.get("gco2e") or 0.0),
    )
    return key, delta


async def totals_from_ledger(
    db: Database, since: date | None
) -> tuple[int, dict[UsageKey, UsageDelta]]:
    """Every request record's usage from ``since`` on, summed per day, tenant, key and model."""
    totals: dict[UsageKey, UsageDelta] = {}
    count, after = 0, 0
    first = since.isoformat() if since else ""
    async with db.engine.connect() as conn:
        while True:
            page = await table.page_after(conn, after, _PAGE)
            for record in page:
                if record.kind != REQUEST_KIND:
                    continue
                found = delta_of_record(record.payload)
                if found is None or found[0][0] < first:
                    continue
                count += 1
                totals.setdefault(found[0], UsageDelta()).add(found[1])
            if len(page) < _PAGE:
                return count, totals
            after = page[-1].seq


async def rebuild_usage(
    db: Database, since: date | None = None, dry_run: bool = False
) -> RebuildReport:
    """Replace the usage rows from ``since`` on (all of them if None) by the ledger's totals."""
    count, totals = await totals_from_ledger(db, since)
    usage = UsageStore(db)
    current = await usage.totals(since)
    changed = sum(1 for k in totals.keys() | current.keys() if totals.get(k) != current.get(k))
    if not dry_run:
        await usage.replace(since, totals)
    first_day = min((k[0] for k in totals), default=None)
    return RebuildReport(count, len(totals), changed, first_day)
