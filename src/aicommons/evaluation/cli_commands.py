"""``aicommons eval``: list the runnable tasks, run them against a catalog model in-process,
list stored runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from aicommons.cli_support import run_async
from aicommons.config import Settings
from aicommons.engines.base import Engine
from aicommons.errors import NotFoundError
from aicommons.store.database import Database


@click.group("eval")
def eval_group() -> None:
    """Evaluation harness: capability, bias, instruction following and governance probes."""


async def start_engine(settings: Settings, db: Database, name: str) -> Engine:
    """Start the engine of catalog model ``name`` (models file or database) in this process."""
    from aicommons.engines.registry import EngineRegistry
    from aicommons.gateway.catalog import DEFAULT_MODELS_FILE, read_models_file
    from aicommons.store.model_configs import ModelConfigs

    specs = read_models_file(settings.models_file or DEFAULT_MODELS_FILE)
    specs += await ModelConfigs(db).list()
    spec = next((s for s in specs if s.name == name), None)
    if spec is None:
        known = ", ".join(s.name for s in specs) or "none"
        raise NotFoundError(f"no model {name!r}; known models: {known}", param="model")
    engine = EngineRegistry().create(spec)
    await engine.start()
    return engine


def task_table(data_dir: Path | None) -> str:
    """The runnable tasks, one line each: name, kind, documents, source."""
    from aicommons.evaluation.tasks.registry import runnable_tasks

    rows = [
        f"{t.name:18} {t.output_type:16} {t.num_docs:>6} docs  {t.source}"
        for t in runnable_tasks(data_dir)
    ]
    where = f"data directory: {data_dir}" if data_dir else "no data directory set"
    return "\n".join([f"Runnable tasks ({where}):", *rows])


class RunCommand(click.Command):
    """``eval run`` whose help ends with the tasks that can run here."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        data_dir = ctx.params.get("data_dir") or Settings().eval_data_dir
        formatter.write_paragraph()
        # Written as is: one task a line reads better than re-wrapped text.
        formatter.write("".join(f"  {line}\n" for line in task_table(data_dir).splitlines()))


@eval_group.command("list")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Benchmark files (default AICOMMONS_EVAL_DATA_DIR).",
)
def eval_list(data_dir: Path | None) -> None:
    """The tasks that can run with the data at hand, with their source and size."""
    click.echo(task_table(data_dir or Settings().eval_data_dir))


@eval_group.command("run", cls=RunCommand)
@click.option("--model", "model", required=True, help="A model name from `aicommons models list`.")
@click.option(
    "--task", "tasks", multiple=True, required=True, help="Repeat for several tasks (see below)."
)
@click.option("--limit", type=int, default=None, help="Documents per task (per subset).")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Benchmark files (default AICOMMONS_EVAL_DATA_DIR).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="lm-eval's --output_path: a .json file, or a folder for <model>/results_<date>.json.",
)
@click.option(
    "--log-samples", is_flag=True, help="Also write lm-eval's samples_<task>_<date>.jsonl files."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one CSV row per metric here.",
)
@click.option(
    "--samples",
    "samples_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every document's lm-eval sample record (and its task) to one JSONL file.",
)
@click.option("--chat/--no-chat", default=None, help="Use the chat template (default per task).")
@click.option("--num-fewshot", type=int, default=None)
@click.option("--max-tokens", type=int, default=None, help="Generation limit per answer.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write cached responses.")
@click.option("--progress/--no-progress", default=True)
def eval_run(
    model: str,
    tasks: tuple[str, ...],
    limit: int | None,
    data_dir: Path | None,
    output: Path | None,
    log_samples: bool,
    csv_path: Path | None,
    samples_path: Path | None,
    chat: bool | None,
    num_fewshot: int | None,
    max_tokens: int | None,
    no_cache: bool,
    progress: bool,
) -> None:
    """Run tasks against MODEL and store the results, e.g.
    ``aicommons eval run --model smollm2-135m-instruct --task bbq --limit 20``."""
    from aicommons.evaluation.tasks.base import TaskOptions

    options = TaskOptions(
        data_dir=data_dir, chat=chat, num_fewshot=num_fewshot, max_tokens=max_tokens
    )
    from aicommons.evaluation.export import to_csv, to_lm_eval_json, write_lm_eval_files

    records, samples = run_async(_run)(model, list(tasks), limit, options, not no_cache, progress)
    document = to_lm_eval_json(records)
    if output is not None:
        logged = samples if log_samples else {}
        written = write_lm_eval_files(output, document, logged, datetime.now(UTC))
        click.echo(f"results: {written}", err=True)
    else:
        click.echo(json.dumps(document["results"], indent=2, default=str))
    if csv_path is not None:
        csv_path.write_text(to_csv(records), encoding="utf-8")
    if samples_path is not None:
        lines = (
            json.dumps({"task": task, **sample}, default=str, ensure_ascii=False) + "\n"
            for task, task_samples in samples.items()
            for sample in task_samples
        )
        samples_path.write_text("".join(lines), encoding="utf-8")


async def _run(
    model: str,
    tasks: list[str],
    limit: int | None,
    options: Any,
    use_cache: bool,
    progress: bool,
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    from aicommons.evaluation.export import lm_eval_sample
    from aicommons.evaluation.runner import run_fields, run_task
    from aicommons.evaluation.tasks.registry import create_task, require_runnable
    from aicommons.store.evaluation import EvalStore

    settings = Settings()
    if options.data_dir is None:
        options.data_dir = settings.eval_data_dir
    # Unknown names and tasks without their files fail before a model loads.
    selected = [require_runnable(create_task(name, options)) for name in tasks]
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
        store = EvalStore(db)
        engine = await start_engine(settings, db, model)
        records: list[dict[str, Any]] = []
        samples: dict[str, list[dict[str, Any]]] = {}
        try:
            for task in selected:
                result = await run_task(engine, task, limit, store if use_cache else None, progress)
                click.echo(_summary(result), err=True)
                names = list(result.metrics)
                samples[task.name] = [lm_eval_sample(r, names) for r in result.records]
                records.append(
                    {**run_fields(result), "id": result.run_id, "created_at": result.created_at}
                )
        finally:
            await engine.close()
    finally:
        await db.close()
    return records, samples


def _summary(result: Any) -> str:
    parts = [
        f"{name}={m.value:.4f}" + (f"±{m.stderr:.4f}" if m.stderr is not None else "")
        for name, m in result.metrics.items()
    ]
    return (
        f"{result.task}: {result.num_items} items in {result.duration_s:.1f}s "
        f"({result.items_per_s:.2f} items/s, {result.num_cached}/{result.num_requests} "
        f"requests cached)\n  " + "  ".join(parts)
    )


@eval_group.command("runs")
@click.option("--model", default=None)
@click.option("--task", default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table")
def eval_runs(model: str | None, task: str | None, fmt: str) -> None:
    """Stored runs, newest first."""

    run_async(_list)(model, task, fmt)


async def _list(model: str | None, task: str | None, fmt: str) -> None:
    from aicommons.evaluation.export import record_of, to_csv, to_lm_eval_json
    from aicommons.store.evaluation import EvalStore

    db = Database(Settings().resolved_database_url)
    try:
        await db.migrate()
        records = [record_of(run) for run in await EvalStore(db).runs(model, task)]
    finally:
        await db.close()
    if fmt == "csv":
        click.echo(to_csv(records), nl=False)
    elif fmt == "json":
        click.echo(json.dumps(to_lm_eval_json(records), indent=2, default=str))
    else:
        for r in records:
            headline = next(iter(r["metrics"].items()), ("-", {"value": None}))
            click.echo(
                f"{r['id']}  {r['created_at']:%Y-%m-%d %H:%M}  {r['model']:28} "
                f"{r['quantisation'] or '-':8} {r['task']:18} n={r['num_items']:<5} "
                f"{headline[0]}={headline[1]['value']}  {r['items_per_s']:.2f} items/s"
            )
