"""Usage totals rebuilt from the ledger's request records (what a crash may lose of them)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aicommons.ledger.rebuild import rebuild_usage
from aicommons.ledger.writer import LedgerWriter
from aicommons.store.database import Database
from aicommons.store.usage import UsageDelta, UsageStore

NOV_28 = int(datetime(2026, 11, 28, 12, tzinfo=UTC).timestamp())
NOV_29 = int(datetime(2026, 11, 29, 9, tzinfo=UTC).timestamp())


def request(
    key: str, status: str, created: int, tokens: int, joules: float = 0.0
) -> dict[str, Any]:
    return {
        "id": f"req_{key}_{created}_{status}",
        "tenant_id": "ten_lab",
        "key_id": key,
        "model": "m",
        "status": status,
        "prompt_tokens": tokens,
        "completion_tokens": 2 * tokens,
        "created": created,
        "energy": {"joules": joules, "gco2e": joules / 100} if joules else None,
    }


async def test_usage_is_rebuilt_from_request_records(database: Database) -> None:
    writer = LedgerWriter(database)
    await writer.start()
    for payload in (
        request("key_a", "ok", NOV_28, 10, joules=2.0),
        request("key_a", "ok", NOV_29, 5, joules=1.0),
        request("key_a", "error", NOV_29, 1),
        request("key_a", "refused", NOV_29, 0),  # refused requests count nothing
        request("key_b", "cancelled", NOV_29, 3),
    ):
        await writer.append("request.completed", payload)
    await writer.append("admin.tenant.created", {"target": "ten_lab"})
    await writer.close()
    usage = UsageStore(database)
    # What the batches had written before a crash: one request of the 29th is missing.
    await usage.add({("2026-11-29", "ten_lab", "key_a", "m"): UsageDelta(1, 0, 5, 10, 1.0, 0.01)})

    dry = await rebuild_usage(database, dry_run=True)
    assert (dry.records, dry.rows, dry.changed_rows) == (4, 3, 3)
    assert len(await usage.totals(None)) == 1  # a dry run writes nothing

    report = await rebuild_usage(database, since=date(2026, 11, 29))
    assert (report.records, report.rows, report.first_day) == (3, 2, "2026-11-29")
    totals = await usage.totals(None)
    assert totals[("2026-11-29", "ten_lab", "key_a", "m")] == UsageDelta(2, 1, 6, 12, 1.0, 0.01)
    assert totals[("2026-11-29", "ten_lab", "key_b", "m")] == UsageDelta(1, 1, 3, 6)
    assert ("2026-11-28", "ten_lab", "key_a", "m") not in totals  # before --since: untouched
    await rebuild_usage(database)
    assert (await usage.totals(None))[("2026-11-28", "ten_lab", "key_a", "m")].requests == 1
    assert (await rebuild_usage(database, dry_run=True)).changed_rows == 0
