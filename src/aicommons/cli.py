"""The `aicommons` command: a thin layer over the library; it works on the same database as
the server, so changes show up in a running server within its refresh interval."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from aicommons.admin.commands import (
    KeyCreate,
    LimitsSet,
    ModelCreate,
    TenantCreate,
    TenantUpdate,
    validated,
)
from aicommons.admin.service import Actor
from aicommons.cli_support import echo_json, run_async, with_admin, with_database
from aicommons.config import Settings
from aicommons.energy.commands import energy_group
from aicommons.evaluation.cli_commands import eval_group
from aicommons.governance.commands import apps
from aicommons.openness.commands import leaderboard_command, openness_group
from aicommons.store.accounts import Accounts
from aicommons.store.database import Database
from aicommons.store.model_configs import ModelConfigs
from aicommons.store.usage import Limits, Scope, UsageStore


@click.group()
def main() -> None:
    """AI Commons: fair, governed and measured access to open-weight models.

    Settings come from AICOMMONS_* environment variables (AICOMMONS_DATABASE_URL,
    AICOMMONS_DATA_DIR, AICOMMONS_MODELS_FILE, ...).
    """


@main.command()
@click.option("--host", default=None, help="Default 127.0.0.1 (AICOMMONS_HOST).")
@click.option("--port", type=int, default=None, help="Default 8000 (AICOMMONS_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the API and the models."""
    import uvicorn

    from aicommons.app import create_app

    settings = Settings()
    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = settings.model_copy(update=overrides)

    def announce(secret: str) -> None:
        click.secho(
            f"\nAdmin key (shown once, stored only as a hash; keep it safe):\n  {secret}\n",
            fg="yellow",
            err=True,
        )

    app = create_app(settings, announce_admin_key=announce)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        loop="uvloop",
        http="httptools",
        access_log=False,
    )


# -- models ------------------------------------------------------------------------------


@main.group()
def models() -> None:
    """Models added at run time (the models file lists the others)."""


@models.command("list")
@run_async
async def models_list() -> None:
    """List models stored in the database and the models file."""
    from aicommons.gateway.catalog import DEFAULT_MODELS_FILE, read_models_file

    settings = Settings()
    stored = await with_database(lambda db: ModelConfigs(db).list())
    file_specs = read_models_file(settings.models_file or DEFAULT_MODELS_FILE)
    for spec in [*file_specs, *stored]:
        click.echo(f"{spec.name:40} {spec.engine:22} {spec.source}")


@models.command("add")
@click.argument("name")
@click.option("--engine", required=True, help="llamacpp, upstream, sentence_transformers, ...")
@click.option("--option", "-o", "options", multiple=True, help="KEY=VALUE (VALUE may be JSON)")
@run_async
async def models_add(name: str, engine: str, options: tuple[str, ...]) -> None:
    """Add a model, e.g. ``models add llama3 --engine upstream -o url=http://h:8000/v1``."""
    data = {"name": name, "engine": engine, "options": dict(_parse_option(o) for o in options)}
    command = validated(ModelCreate, data)
    spec = await with_admin(lambda admin, _: admin.add_model(Actor.cli(), command))
    click.echo(f"added {spec.name} ({spec.engine})")


def _parse_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


@models.command("remove")
@click.argument("name")
@run_async
async def models_remove(name: str) -> None:
    """Remove a model added at run time."""
    await with_admin(lambda admin, _: admin.remove_model(Actor.cli(), name))
    click.echo(f"removed {name}")


# -- tenants -----------------------------------------------------------------------------


@main.group()
def tenants() -> None:
    """Organisations that share budgets, weights and applications."""


@tenants.command("list")
@run_async
async def tenants_list() -> None:
    for tenant in await with_database(lambda db: Accounts(db).list_tenants()):
        click.echo(f"{tenant.id}  {tenant.name:30} weight={tenant.weight:g}")


@tenants.command("add")
@click.argument("name")
@click.option("--weight", type=float, default=1.0, show_default=True, help="Fair-share weight.")
@run_async
async def tenants_add(name: str, weight: float) -> None:
    """Add a tenant (an organisation sharing budgets, weights and applications)."""
    command = validated(TenantCreate, {"name": name, "weight": weight})
    tenant = await with_admin(lambda admin, _: admin.create_tenant(Actor.cli(), command))
    click.echo(f"{tenant.id}  {tenant.name}")


@tenants.command("set-weight")
@click.argument("tenant")
@click.argument("weight", type=float)
@run_async
async def tenants_set_weight(tenant: str, weight: float) -> None:
    """Set a tenant's fair-share weight."""
    command = validated(TenantUpdate, {"weight": weight})
    updated = await with_admin(lambda admin, _: admin.update_tenant(Actor.cli(), tenant, command))
    click.echo(f"{updated.name} weight={updated.weight:g}")


@tenants.command("remove")
@click.argument("tenant")
@run_async
async def tenants_remove(tenant: str) -> None:
    """Delete a tenant and its keys."""
    await with_admin(lambda admin, _: admin.delete_tenant(Actor.cli(), tenant))
    click.echo(f"removed {tenant}")


# -- keys --------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """API keys: shown once at creation, stored hashed."""


@keys.command("create")
@click.argument("tenant")
@click.option("--name", default="default", help="A name to recognise the key by.")
@click.option("--model", "models_", multiple=True, help="Limit the key to these models.")
@click.option("--application", default=None, help="Bind the key to an application id.")
@click.option("--expires-in-days", type=int, default=None, help="The key stops working then.")
@click.option("--admin", is_flag=True, help="An operator key for the admin API.")
@run_async
async def keys_create(
    tenant: str,
    name: str,
    models_: tuple[str, ...],
    application: str | None,
    expires_in_days: int | None,
    admin: bool,
) -> None:
    """Create a key; its secret is printed once, on standard output."""
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    data = {
        "tenant": tenant,
        "name": name,
        "models": list(models_) or None,
        "application_id": application,
        "expires_at": expires,
        "admin": admin,
    }
    command = validated(KeyCreate, data)
    key, secret = await with_admin(lambda service, _: service.create_key(Actor.cli(), command))
    click.echo(f"{key.id}  (shown once, keep it safe)", err=True)
    click.echo(secret)


@keys.command("list")
@click.option("--tenant", default=None)
@run_async
async def keys_list(tenant: str | None) -> None:
    async def load(db: Database) -> list[Any]:
        accounts = Accounts(db)
        tenant_id = (await accounts.get_tenant(tenant)).id if tenant else None
        return await accounts.list_keys(tenant_id)

    for key in await with_database(load):
        state = "revoked" if key.revoked_at else "active"
        click.echo(f"{key.id}  {key.prefix}...  {key.name:20} {state}  tenant={key.tenant_id}")


@keys.command("revoke")
@click.argument("key_id")
@run_async
async def keys_revoke(key_id: str) -> None:
    """Revoke a key: it stops working on every replica within a second."""
    await with_admin(lambda admin, _: admin.revoke_key(Actor.cli(), key_id))
    click.echo(f"revoked {key_id}")


# -- limits and usage --------------------------------------------------------------------


@main.group()
def limits() -> None:
    """Token budgets and rate limits of a tenant or a key (a running server sees them within
    its cache interval)."""


def _scope(tenant: str | None, key: str | None) -> tuple[Scope, str]:
    if (tenant is None) == (key is None):
        raise click.UsageError("give exactly one of --tenant and --key")
    return ("tenant", tenant) if tenant is not None else ("key", key or "")


@limits.command("set")
@click.option("--tenant", default=None, help="tenant id or name")
@click.option("--key", default=None, help="key id")
@click.option("--tokens-per-day", type=int, default=None, help="Tokens a day (UTC).")
@click.option("--tokens-per-month", type=int, default=None, help="Tokens a calendar month.")
@click.option("--requests-per-minute", type=int, default=None, help="Requests in any 60 s.")
@click.option("--tokens-per-minute", type=int, default=None, help="Tokens in any 60 s.")
@click.option("--max-parallel", type=int, default=None, help="Requests running at once.")
@run_async
async def limits_set(tenant: str | None, key: str | None, **values: int | None) -> None:
    """Set the limits (options not given are removed)."""
    scope, ident = _scope(tenant, key)
    command = validated(LimitsSet, values)
    limits = await with_admin(lambda admin, _: admin.set_limits(Actor.cli(), scope, ident, command))
    echo_json(limits.as_dict())


@limits.command("show")
@click.option("--tenant", default=None, help="tenant id or name")
@click.option("--key", default=None, help="key id")
@run_async
async def limits_show(tenant: str | None, key: str | None) -> None:
    scope, ident = _scope(tenant, key)

    async def read(db: Database) -> Limits:
        accounts = Accounts(db)
        if scope == "tenant":
            scope_id = (await accounts.get_tenant(ident)).id
        else:
            scope_id = (await accounts.get_key(ident)).id
        return await UsageStore(db).limits(scope, scope_id)

    echo_json((await with_database(read)).as_dict())


@main.command()
@click.option("--tenant", default=None, help="tenant id or name; default all tenants")
@click.option("--days", type=int, default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print JSON rows")
@run_async
async def usage(tenant: str | None, days: int, as_json: bool) -> None:
    """Tokens, requests and energy by day, model and key."""
    last = datetime.now(UTC).date()
    first = last - timedelta(days=days - 1)

    async def read(db: Database) -> list[Any]:
        tenant_id = (await Accounts(db).get_tenant(tenant)).id if tenant else None
        return await UsageStore(db).rows(tenant_id, first, last)

    rows = await with_database(read)
    if as_json:
        echo_json([{c.name: getattr(r, c.name) for c in r.__table__.columns} for r in rows])
        return
    click.echo(f"{'day':10}  {'tenant':22} {'key':22} {'model':28} {'req':>6} {'tokens':>10}")
    for r in rows:
        tokens = r.prompt_tokens + r.completion_tokens
        click.echo(
            f"{r.day:10}  {r.tenant_id:22} {r.key_id:22} {r.model[:28]:28} "
            f"{r.requests:>6} {tokens:>10}"
        )


# -- ledger ------------------------------------------------------------------------------


@main.group()
def ledger() -> None:
    """The hash-chained record of requests and admin actions."""


@ledger.command("verify")
@run_async
async def ledger_verify() -> None:
    """Recompute every hash and link; exit 1 naming the first broken record."""
    from aicommons.ledger.verify import verify_chain

    result = await with_database(verify_chain)
    if not result.ok:
        raise click.ClickException(result.message())
    click.echo(result.message())


@ledger.command("tail")
@click.option("-n", "count", type=click.IntRange(1, 10_000), default=20, show_default=True)
@run_async
async def ledger_tail(count: int) -> None:
    """Print the newest records, oldest first, one JSON object a line."""
    from aicommons.store import ledger as table

    async def load(db: Database) -> list[Any]:
        async with db.engine.connect() as conn:
            return await table.recent(conn, count)

    for record in reversed(await with_database(load)):
        click.echo(json.dumps(record.to_dict(), ensure_ascii=False))


main.add_command(apps)
main.add_command(energy_group)
main.add_command(openness_group)
main.add_command(leaderboard_command)
main.add_command(eval_group)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
