"""The `aicommons` command: a thin layer over the library; it works on the same database as
the server, so changes show up in a running server within its refresh interval."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click

from aicommons.config import Settings
from aicommons.errors import AICommonsError, ConfigError
from aicommons.store.accounts import Accounts
from aicommons.store.database import Database
from aicommons.store.model_configs import ModelConfigs

P = ParamSpec("P")
R = TypeVar("R")


def run_async(func: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """Run an async command body; print platform errors as one line and exit non-zero."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return asyncio.run(func(*args, **kwargs))
        except (AICommonsError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


async def with_database(work: Callable[[Database], Awaitable[R]]) -> R:
    db = Database(Settings().resolved_database_url)
    try:
        await db.migrate()
        return await work(db)
    finally:
        await db.close()


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


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
    from aicommons.engines.registry import EngineRegistry

    EngineRegistry().get(engine)
    parsed = dict(_parse_option(o) for o in options)
    spec = await with_database(lambda db: ModelConfigs(db).add(name, engine, parsed))
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
    await with_database(lambda db: ModelConfigs(db).remove(name))
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
@click.option("--weight", type=float, default=1.0, show_default=True)
@run_async
async def tenants_add(name: str, weight: float) -> None:
    tenant = await with_database(lambda db: Accounts(db).create_tenant(name, weight))
    click.echo(f"{tenant.id}  {tenant.name}")


@tenants.command("set-weight")
@click.argument("tenant")
@click.argument("weight", type=float)
@run_async
async def tenants_set_weight(tenant: str, weight: float) -> None:
    updated = await with_database(lambda db: Accounts(db).update_tenant(tenant, weight=weight))
    click.echo(f"{updated.name} weight={updated.weight:g}")


@tenants.command("remove")
@click.argument("tenant")
@run_async
async def tenants_remove(tenant: str) -> None:
    await with_database(lambda db: Accounts(db).delete_tenant(tenant))
    click.echo(f"removed {tenant}")


# -- keys --------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """API keys: shown once at creation, stored hashed."""


@keys.command("create")
@click.argument("tenant")
@click.option("--name", default="default")
@click.option("--model", "models_", multiple=True, help="Limit the key to these models.")
@click.option("--application", default=None, help="Bind the key to an application id.")
@click.option("--expires-in-days", type=int, default=None)
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
    expires = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None

    async def create(db: Database) -> tuple[Any, str]:
        accounts = Accounts(db)
        owner = await accounts.get_tenant(tenant)
        return await accounts.create_key(
            owner.id,
            name,
            models=list(models_) or None,
            application_id=application,
            is_admin=admin,
            expires_at=expires,
        )

    key, secret = await with_database(create)
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
    await with_database(lambda db: Accounts(db).revoke_key(key_id))
    click.echo(f"revoked {key_id}")


from aicommons.evaluation.cli_commands import eval_group  # noqa: E402 - after `run_async`

main.add_command(eval_group)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
