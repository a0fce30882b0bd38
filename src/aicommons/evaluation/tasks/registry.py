"""Tasks by name."""

from __future__ import annotations

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


def create_task(name: str, options: TaskOptions | None = None) -> Task:
    """The task called ``name``; an unknown name gets an error listing the known ones."""
    task_class = TASKS.get(name)
    if task_class is None:
        raise InvalidRequestError(
            f"unknown task {name!r}; known tasks: {', '.join(task_names())}", param="task"
        )
    return task_class(options)
