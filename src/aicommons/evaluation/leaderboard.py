"""The open leaderboard: per model, each task's main scores with standard errors, speed,
energy and carbon per 1,000 queries, openness class, OSAID check, licence and origin.

Scores come in lm-evaluation-harness's results-JSON shape (``{"results": {task: {"acc,none":
.., "acc_stderr,none": ..}}}``), so any lm-eval run can be shown next to our own. The
``capability`` figure is the mean of the first main metric of the capability tasks a model
has results for (bias and governance tasks are shown, but not averaged: higher is not better
for them). The chart plots capability against energy per query with the Pareto front marked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeGuard

from aicommons.energy.carbon import JOULES_PER_KWH
from aicommons.openness.records import OpennessRecord
from aicommons.store.database import Database
from aicommons.store.evaluation import EvalStore
from aicommons.store.openness import OpennessStore

# Task -> its main metrics (lm-eval names; a filter after the comma), first one headline.
MAIN_METRICS: dict[str, tuple[str, ...]] = {
    "gsm8k": ("exact_match,flexible-extract", "exact_match,strict-match"),
    "ifeval": ("prompt_level_strict_acc", "inst_level_strict_acc"),
    "hellaswag": ("acc_norm", "acc"),
    "arc_easy": ("acc", "acc_norm"),
    "arc_challenge": ("acc_norm", "acc"),
    "piqa": ("acc_norm", "acc"),
    "winogrande": ("acc",),
    "boolq": ("acc",),
    "truthfulqa_mc1": ("acc",),
    "truthfulqa_mc2": ("acc",),
    "mmlu": ("acc",),
    "bbq": ("acc", "bias_ambig", "bias_disambig"),
    "crows_pairs": ("pct_stereotype",),
    "winobias": ("acc", "acc_gap"),
    "governance_probes": ("refusal_rate", "over_refusal_rate", "disclosure_rate"),
}
CAPABILITY_TASKS = frozenset(
    {"gsm8k", "ifeval", "hellaswag", "arc_easy", "arc_challenge", "piqa", "winogrande",
     "boolq", "truthfulqa_mc1", "truthfulqa_mc2", "mmlu"}
)  # fmt: skip
FALLBACK_METRICS = ("acc_norm", "acc", "exact_match")


@dataclass(frozen=True, slots=True)
class Score:
    metric: str
    value: float
    stderr: float | None


@dataclass(frozen=True, slots=True)
class EnergyFigure:
    """A model's measured energy per query on a fixed workload."""

    joules_per_query: float
    tokens_per_s: float | None
    method: str
    grid_country: str
    grid_g_per_kwh: float


@dataclass(slots=True)
class LeaderboardRow:
    model: str
    scores: dict[str, list[Score]] = field(default_factory=dict)
    capability: float | None = None
    tokens_per_s: float | None = None
    wh_per_1000_queries: float | None = None
    gco2e_per_1000_queries: float | None = None
    energy_method: str | None = None
    grid_country: str | None = None
    mof_class: int | None = None
    mof_label: str | None = None
    osai_score: float | None = None
    osaid_passes: bool | None = None
    osaid_source: str | None = None
    licence: str | None = None
    origin: str | None = None
    producer: str | None = None
    on_front: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- scores --------------------------------------------------------------------------------


def metrics_of(entry: Mapping[str, Any]) -> dict[str, Score]:
    """The metrics in one task's lm-eval results entry, named ``acc`` or ``m,filter``."""
    found: dict[str, Score] = {}
    for key, value in entry.items():
        metric, sep, filter_name = key.partition(",")
        if not sep or metric.endswith("_stderr") or not _is_number(value):
            continue
        name = metric if filter_name == "none" else f"{metric},{filter_name}"
        stderr = entry.get(f"{metric}_stderr,{filter_name}")
        found[name] = Score(name, float(value), float(stderr) if _is_number(stderr) else None)
    return found


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def main_scores(task: str, entry: Mapping[str, Any]) -> list[Score]:
    """The task's main metrics that the entry has (a fallback metric for unknown tasks)."""
    metrics = metrics_of(entry)
    wanted = MAIN_METRICS.get(task)
    if wanted is None:  # an unknown task: its first metric in FALLBACK_METRICS order
        fallback = (n for base in FALLBACK_METRICS for n in metrics if n.partition(",")[0] == base)
        wanted = tuple(fallback)[:1]
    return [metrics[n] for n in wanted if n in metrics]


def capability(scores: Mapping[str, Sequence[Score]]) -> float | None:
    """Mean headline score over the capability tasks present."""
    values = [s[0].value for task, s in scores.items() if task in CAPABILITY_TASKS and s]
    return sum(values) / len(values) if values else None


# -- Pareto front ----------------------------------------------------------------------------


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For ``(energy, score)`` points, which are Pareto-optimal (less energy, more score).

    A point is on the front unless another point has no more energy and no less score and is
    strictly better in one of them. Equal points are all on the front.
    """
    return [
        not any(
            (e2 <= e and s2 >= s) and (e2 < e or s2 > s)
            for j, (e2, s2) in enumerate(points)
            if j != i
        )
        for i, (e, s) in enumerate(points)
    ]


# -- rows ----------------------------------------------------------------------------------


def build_rows(
    results: Mapping[str, Mapping[str, Any]],
    energy: Mapping[str, EnergyFigure] | None = None,
    openness: Mapping[str, Sequence[OpennessRecord]] | None = None,
    models: Iterable[str] = (),
) -> list[LeaderboardRow]:
    """One row per model that has results or an energy figure, and per model in ``models``
    (e.g. those served), best capability first.

    ``results`` maps a model to an lm-eval results document; ``openness`` is keyed by the
    lower-cased model name.
    """
    energy = energy or {}
    openness = openness or {}
    rows = []
    for model in sorted(set(results) | set(energy) | set(models)):
        row = LeaderboardRow(model)
        for task, entry in sorted(dict(results.get(model, {}).get("results", {})).items()):
            scores = main_scores(task, entry)
            if scores:
                row.scores[task] = scores
        row.capability = capability(row.scores)
        if model in energy:
            _add_energy(row, energy[model])
        _add_openness(row, openness.get(model.lower(), ()))
        rows.append(row)
    _mark_front(rows)
    return sorted(rows, key=lambda r: (r.capability is None, -(r.capability or 0.0), r.model))


def _add_energy(row: LeaderboardRow, figure: EnergyFigure) -> None:
    joules = figure.joules_per_query * 1000
    row.wh_per_1000_queries = joules / 3600
    row.gco2e_per_1000_queries = joules / JOULES_PER_KWH * figure.grid_g_per_kwh
    row.tokens_per_s = figure.tokens_per_s
    row.energy_method = figure.method
    row.grid_country = figure.grid_country


def _add_openness(row: LeaderboardRow, records: Sequence[OpennessRecord]) -> None:
    by_source = {r.source: r for r in records}
    mof, osai = by_source.get("mof"), by_source.get("osai")
    if mof is not None:
        row.mof_class, row.mof_label = mof.mof_class, mof.mof_label
    if osai is not None:
        row.osai_score, row.origin = osai.osai_score, osai.origin
    first = mof or osai
    if first is not None:
        row.osaid_passes, row.osaid_source = first.osaid_passes, first.source
        row.licence = first.licence or (osai.licence if osai else None)
        row.producer = first.producer


def _mark_front(rows: Sequence[LeaderboardRow]) -> None:
    placed = [r for r in rows if r.capability is not None and r.wh_per_1000_queries is not None]
    points = [(r.wh_per_1000_queries or 0.0, r.capability or 0.0) for r in placed]
    for row, on_front in zip(placed, pareto_front(points), strict=True):
        row.on_front = on_front


# -- sources -------------------------------------------------------------------------------


class LeaderboardSource(Protocol):
    """Where the leaderboard's inputs come from."""

    async def results(self) -> dict[str, dict[str, Any]]: ...

    async def energy(self) -> dict[str, EnergyFigure]: ...

    async def openness(self) -> dict[str, list[OpennessRecord]]: ...


def runs_to_results(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """eval_runs rows (model, task, metrics {name: {value, stderr}}), newest first -> one lm-eval
    results document per model, keeping the newest run of each task."""
    documents: dict[str, dict[str, Any]] = {}
    for run in runs:
        results = documents.setdefault(str(run["model"]), {"results": {}})["results"]
        task = str(run["task"])
        if task in results:
            continue
        entry: dict[str, Any] = {"alias": task}
        for name, metric in dict(run["metrics"] or {}).items():
            base, _, filter_name = str(name).partition(",")
            filter_name = filter_name or "none"
            entry[f"{base},{filter_name}"] = metric.get("value")
            stderr = metric.get("stderr")
            entry[f"{base}_stderr,{filter_name}"] = "N/A" if stderr is None else stderr
        results[task] = entry
    return documents


class DatabaseSource:
    """Results from the evaluation harness's ``eval_runs`` table, energy
    from ``model_energy`` and openness from ``model_openness``."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._store = OpennessStore(db)

    async def results(self) -> dict[str, dict[str, Any]]:
        runs = await EvalStore(self._db).runs()
        return runs_to_results(
            [{"model": r.model, "task": r.task, "metrics": r.metrics} for r in runs]
        )

    async def energy(self) -> dict[str, EnergyFigure]:
        return {
            model: EnergyFigure(
                joules_per_query=row.joules_per_query,
                tokens_per_s=row.tokens_per_s,
                method=row.method,
                grid_country=row.grid_country,
                grid_g_per_kwh=row.grid_g_per_kwh,
            )
            for model, row in (await self._store.energy()).items()
        }

    async def openness(self) -> dict[str, list[OpennessRecord]]:
        return await self._store.all()


async def leaderboard(
    source: LeaderboardSource, models: Iterable[str] = ()
) -> list[LeaderboardRow]:
    """The rows, from any source; ``models`` get a row even with nothing measured yet."""
    return build_rows(
        await source.results(), await source.energy(), await source.openness(), models
    )
