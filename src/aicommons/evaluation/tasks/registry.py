"""Tasks by name, and which of them can run with the data at hand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aicommons.errors import InvalidRequestError
from aicommons.evaluation.tasks.base import Task, TaskOptions
from aicommons.evaluation.tasks.bbq import BBQTask
from aicommons.evaluation.tasks.capability import (
    ARCChallengeTask,
    ARCEasyTask,
    HellaSwagTask,
    PIQATask,
)
from aicommons.evaluation.tasks.crows_pairs import CrowsPairsTask
from aicommons.evaluation.tasks.governance import GovernanceProbesTask
from aicommons.evaluation.tasks.gsm8k import GSM8KTask
from aicommons.evaluation.tasks.ifeval import IFEvalTask
from aicommons.evaluation.tasks.winobias import WinoBiasTask

TASKS: dict[str, type[Task]] = {
    task.name: task
    for task in (
        HellaSwagTask,
        ARCEasyTask,
        ARCChallengeTask,
        PIQATask,
        BBQTask,
        CrowsPairsTask,
        WinoBiasTask,
        GSM8KTask,
        IFEvalTask,
        GovernanceProbesTask,
    )
}


def task_names() -> list[str]:
    return sorted(TASKS)


@dataclass(frozen=True, slots=True)
class TaskListing:
    """A runnable task as `aicommons eval list` shows it."""

    name: str
    output_type: str
    source: str
    num_docs: int


def runnable_tasks(data_dir: Path | None) -> list[TaskListing]:
    """The tasks whose documents are all there (in ``data_dir`` or in the package), with
    their source and number of documents (reads every file: blocking I/O)."""
    listed = []
    for name in task_names():
        task = TASKS[name](TaskOptions(data_dir=data_dir))
        if task.is_runnable():
            listed.append(TaskListing(name, task.output_type, task.source, task.count_docs()))
    return listed


def require_runnable(task: Task) -> Task:
    """``task`` if its files are in the data directory, else an error naming what is
    missing and which tasks can run."""
    if task.is_runnable():
        return task
    runnable = [t.name for t in runnable_tasks(task.options.data_dir)]
    folder = task.options.data_dir or "the data directory (--data-dir, AICOMMONS_EVAL_DATA_DIR)"
    raise InvalidRequestError(
        f"task {task.name} cannot run: it reads {', '.join(task.data_files)} under {folder}, "
        f"which are not there ({task.source}); runnable tasks: {', '.join(runnable) or 'none'}",
        param="task",
    )


def create_task(name: str, options: TaskOptions | None = None) -> Task:
    """The task called ``name``; an unknown name gets an error listing the known ones."""
    task_class = TASKS.get(name)
    if task_class is None:
        raise InvalidRequestError(
            f"unknown task {name!r}; known tasks: {', '.join(task_names())}", param="task"
        )
    return task_class(options)
