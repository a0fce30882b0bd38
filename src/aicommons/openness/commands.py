"""``aicommons openness`` (import and show records) and ``aicommons leaderboard``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from aicommons.cli_support import run_async
from aicommons.config import Settings
from aicommons.errors import NotFoundError
from aicommons.store.database import Database


async def _with_db(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    await db.migrate()
    return db


@click.group("openness")
def openness_group() -> None:
    """Model openness: MOF classes, OSAI index scores, the OSI Open Source AI Definition."""


@openness_group.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--model", default=None, help="Store a single file's record under this model name.")
def openness_import(path: Path, model: str | None) -> None:
    """Import MOF (*.yml) or OSAI index (*.yaml) records from a file or a folder."""
    from aicommons.openness.records import OpennessFormatError, load_path
    from aicommons.store.openness import OpennessStore

    try:
        loaded = load_path(path, model)
    except OpennessFormatError as exc:
        raise click.ClickException(str(exc)) from exc

    async def save() -> int:
        db = await _with_db(Settings())
        try:
            return await OpennessStore(db).save(loaded.records)
        finally:
            await db.close()

    count = run_async(save)()
    for why in loaded.skipped.values():
        click.echo(f"skipped {why}", err=True)
    click.echo(f"imported {count} record(s)")


@openness_group.command("show")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
def openness_show(model: str, as_json: bool) -> None:
    """Show what the imported records say about MODEL."""
    from aicommons.openness.records import OpennessRecord
    from aicommons.store.openness import OpennessStore

    async def load() -> list[OpennessRecord]:
        db = await _with_db(Settings())
        try:
            return await OpennessStore(db).for_model(model)
        finally:
            await db.close()

    records = run_async(load)()
    if not records:
        raise click.ClickException(str(NotFoundError(f"no openness record for {model!r}")))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return
    for r in records:
        click.echo(f"{r.record_name} [{r.source}]  producer: {r.producer}")
        click.echo(f"  licence: {r.licence or '-'}  origin: {r.origin or '-'}")
        if r.source == "mof":
            click.echo(f"  MOF: {r.mof_label}")
        else:
            click.echo(f"  OSAI index score: {r.osai_score}")
        reasons = "; ".join(str(x) for x in r.osaid.get("reasons", []))
        verdict = "passes" if r.osaid_passes else f"fails: {reasons}"
        click.echo(f"  OSI Open Source AI Definition check: {verdict}")


@click.command("leaderboard")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--chart", type=click.Path(path_type=Path), default=None, help="Write an SVG.")
def leaderboard_command(as_json: bool, chart: Path | None) -> None:
    """Scores, energy per 1,000 queries and openness of every evaluated or measured model."""
    from aicommons.evaluation.leaderboard import DatabaseSource, LeaderboardRow, leaderboard
    from aicommons.web.charts import leaderboard_chart as render_chart

    async def load() -> list[LeaderboardRow]:
        db = await _with_db(Settings())
        try:
            return await leaderboard(DatabaseSource(db))
        finally:
            await db.close()

    rows = run_async(load)()
    if chart is not None:
        chart.write_text(render_chart(rows), encoding="utf-8")
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    click.echo(
        f"{'model':32} {'capability':>10} {'tok/s':>7} {'Wh/1k q':>8} {'gCO2e/1k':>9} "
        f"{'MOF':>4} {'OSAI':>5} {'OSAID':>5}  licence"
    )
    for r in rows:
        click.echo(
            f"{r.model[:32]:32} {_num(r.capability, '.3f'):>10} {_num(r.tokens_per_s, '.1f'):>7} "
            f"{_num(r.wh_per_1000_queries, '.3f'):>8} {_num(r.gco2e_per_1000_queries, '.3f'):>9} "
            f"{_num(r.mof_class, 'd'):>4} {_num(r.osai_score, '.2f'):>5} "
            f"{_yes_no(r.osaid_passes):>5}  {r.licence or '-'}{'  *front' if r.on_front else ''}"
        )


def _num(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")
