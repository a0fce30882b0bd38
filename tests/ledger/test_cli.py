"""`aicommons ledger verify|tail`, and CLI writes ledgered as admin actions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from aicommons.cli import main
from aicommons.store.database import Database
from aicommons.store.ledger import LedgerRow


@pytest.fixture
def run(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("AICOMMONS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AICOMMONS_DATABASE_URL", db_url)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_writes_are_ledgered_and_verify(run: CliRunner, db_url: str) -> None:
    invoke(run, "tenants", "add", "physics", "--weight", "2")
    secret = invoke(run, "keys", "create", "physics", "--name", "alice").strip().splitlines()[-1]
    key_id = invoke(run, "keys", "list").split()[0]
    invoke(run, "keys", "revoke", key_id)
    far = ["-o", "url=http://127.0.0.1:9/v1", "-o", "api_key=sk-hidden"]
    invoke(run, "models", "add", "far", "--engine", "upstream", *far)

    tail = [json.loads(line) for line in invoke(run, "ledger", "tail", "-n", "3").splitlines()]
    assert [r["payload"]["action"] for r in tail] == ["key.created", "key.revoked", "model.added"]
    assert [r["seq"] for r in tail] == [2, 3, 4]
    assert all(r["payload"]["via"].startswith("cli") for r in tail)
    assert tail[1]["payload"]["target"] == key_id
    details = {"engine": "upstream", "option_names": ["api_key", "url"]}
    assert tail[2]["payload"]["details"] == details
    everything = invoke(run, "ledger", "tail", "-n", "100")
    assert secret not in everything and "sk-hidden" not in everything

    assert invoke(run, "ledger", "verify").startswith("ok: 4 records")

    async def tamper() -> None:
        db = Database(db_url)
        async with db.engine.begin() as conn:
            edit = update(LedgerRow).where(LedgerRow.seq == 2).values(payload={"action": "none"})
            await conn.execute(edit)
        await db.close()

    asyncio.run(tamper())
    result = run.invoke(main, ["ledger", "verify"])
    assert result.exit_code == 1
    assert "broken at seq 2: hash mismatch" in result.output


def test_a_published_head_is_checked_by_verify(run: CliRunner) -> None:
    invoke(run, "tenants", "add", "physics")
    head = invoke(run, "ledger", "head").strip()
    seq, _, digest = head.partition(":")
    assert seq == "1" and len(digest) == 64
    assert invoke(run, "ledger", "verify", "--expect-head", head).startswith("ok: 1 records")
    invoke(run, "tenants", "add", "chemistry")  # the chain grows past the published head
    assert invoke(run, "ledger", "verify", "--expect-head", head).startswith("ok: 2 records")
    forged = run.invoke(main, ["ledger", "verify", "--expect-head", f"1:{'c' * 64}"])
    assert forged.exit_code == 1 and "anchor mismatch" in forged.output
    beyond = run.invoke(main, ["ledger", "verify", "--expect-head", f"9:{digest}"])
    assert beyond.exit_code == 1 and "truncated" in beyond.output
    assert run.invoke(main, ["ledger", "verify", "--expect-head", "nonsense"]).exit_code == 2
