"""Multiple choice by log-likelihood, scored as lm-evaluation-harness scores it.

Each choice becomes the request ``(context, target_delimiter + choice)``; ``acc`` takes the
choice with the highest log-likelihood, ``acc_norm`` the highest per character of the
choice (see `aicommons.evaluation.metrics.multiple_choice_scores`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from aicommons.engines.base import LoglikelihoodRequest, LoglikelihoodResult
from aicommons.evaluation.metrics import argmax, multiple_choice_scores
from aicommons.evaluation.tasks.base import Doc, Response, Task, TaskRequest


def logprobs_of(responses: Sequence[Response]) -> list[float]:
    values = []
    for response in responses:
        if not isinstance(response, LoglikelihoodResult):
            raise TypeError("a multiple-choice task expects log-likelihood results")
        values.append(response.logprob)
    return values


class MultipleChoiceTask(Task):
    """A context, a list of choices, one gold index; subclasses say how docs map to them."""

    output_type: ClassVar[str] = "multiple_choice"
    metric_names: ClassVar[tuple[str, ...]] = ("acc", "acc_norm")
    target_delimiter: ClassVar[str] = " "

    @abstractmethod
    def context(self, doc: Doc) -> str: ...

    @abstractmethod
    def choices(self, doc: Doc) -> list[str]: ...

    @abstractmethod
    def gold(self, doc: Doc) -> int: ...

    def target(self, doc: Doc) -> str:
        return str(self.gold(doc))

    def requests(self, doc: Doc) -> list[TaskRequest]:
        context = self.context(doc)
        return [
            LoglikelihoodRequest(context, self.target_delimiter + choice)
            for choice in self.choices(doc)
        ]

    def process(self, doc: Doc, responses: Sequence[Response]) -> dict[str, Any]:
        logprobs = logprobs_of(responses)
        record: dict[str, Any] = dict(
            multiple_choice_scores(logprobs, self.choices(doc), self.gold(doc))
        )
        record["pred"] = argmax(logprobs)
        record["subset"] = doc.subset
        return record
