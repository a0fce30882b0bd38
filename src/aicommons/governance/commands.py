"""`aicommons apps ...`: register, list, show and classify applications (a thin layer over
`aicommons.governance.registration` and the classifier)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError

from aicommons.admin.commands import ApplicationRegistration, validated
from aicommons.admin.service import Actor, AdminService
from aicommons.cli_support import echo_json, run_async, with_admin, with_database
from aicommons.errors import InvalidRequestError
from aicommons.governance.classifier import classify
from aicommons.governance.facts import ApplicationFacts
from aicommons.governance.registration import (
    Checklist,
    missing_for,
    refusal_error,
)
from aicommons.governance.rules import default_rules
from aicommons.store.accounts import Accounts
from aicommons.store.applications import Application, Applications
from aicommons.store.database import Database

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


_DOCUMENT_FIELDS = ("name", "models", "checklist")


def read_document(path: Path) -> dict[str, Any]:
    """A YAML or JSON file holding {name, facts, models, checklist}, or the facts themselves
    with ``name``, ``models`` and ``checklist`` beside them at the top."""
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{path} must hold a mapping of facts")
    if "facts" in data:
        return data
    document = {k: data.pop(k) for k in _DOCUMENT_FIELDS if k in data}
    return {**document, "facts": data}


def parse_facts(data: dict[str, Any]) -> ApplicationFacts:
    try:
        return ApplicationFacts.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError(f"invalid facts: {exc}") from exc


def _line(app: Application) -> str:
    return f"{app.id}  {app.name:30} {app.tier:13} {app.status:8} tenant={app.tenant_id}"


@click.group()
def apps() -> None:
    """Applications: their declared purpose and its EU AI Act classification."""


@apps.command("classify")
@click.argument("facts_file", type=FILE)
@run_async
async def apps_classify(facts_file: Path) -> None:
    """Classify the facts in FACTS_FILE without registering anything."""
    document = await asyncio.to_thread(read_document, facts_file)
    rules = await asyncio.to_thread(default_rules)
    decision = classify(parse_facts(document["facts"]), rules, on=datetime.now(UTC).date())
    click.echo(decision.summary(), err=True)
    echo_json(decision.to_json())


@apps.command("register")
@click.option("--tenant", required=True, help="Tenant id or name.")
@click.option("--facts", "facts_file", type=FILE, required=True, help="YAML or JSON facts.")
@click.option("--name", default=None, help="Application name (default: 'name' in the file).")
@click.option("--model", "models_", multiple=True, help="A model the application uses.")
@run_async
async def apps_register(
    tenant: str, facts_file: Path, name: str | None, models_: tuple[str, ...]
) -> None:
    """Register an application; a prohibited purpose is stored as refused and exits 1."""
    document = await asyncio.to_thread(read_document, facts_file)
    app_name = name or document.get("name")
    if not app_name:
        raise click.UsageError("give --name or a 'name' in the facts file")
    command = validated(
        ApplicationRegistration,
        {
            "name": str(app_name),
            "facts": parse_facts(document["facts"]),
            "models": list(models_) or list(document.get("models") or []),
            "checklist": Checklist.model_validate(document.get("checklist") or {}),
        },
    )

    async def register(admin: AdminService, db: Database) -> Application:
        owner = await Accounts(db).get_tenant(tenant)
        return await admin.register_application(
            Actor.cli(), owner.id, command, served_models=None, today=datetime.now(UTC).date()
        )

    app = await with_admin(register)
    click.echo(_line(app))
    click.echo(app.decision.get("tiers"), err=True)
    for item in missing_for(app):
        click.echo(f"missing: {item}", err=True)
    if app.status == "refused":
        raise refusal_error(app)


@apps.command("list")
@click.option("--tenant", default=None, help="Only this tenant's applications.")
@run_async
async def apps_list(tenant: str | None) -> None:
    async def load(db: Database) -> list[Application]:
        tenant_id = (await Accounts(db).get_tenant(tenant)).id if tenant else None
        return await Applications(db).list_apps(tenant_id)

    for app in await with_database(load):
        click.echo(_line(app))


@apps.command("show")
@click.argument("app_id")
@run_async
async def apps_show(app_id: str) -> None:
    """Everything stored about one application, as JSON."""
    app = await with_database(lambda db: Applications(db).get(app_id))
    echo_json(
        {
            "id": app.id,
            "tenant_id": app.tenant_id,
            "name": app.name,
            "status": app.status,
            "tier": app.tier,
            "missing": missing_for(app),
            "models": app.models,
            "facts": app.facts,
            "checklist": app.checklist,
            "decision": app.decision,
        }
    )
