"""IFEval (Zhou et al., 2023): verifiable instructions, scored with this project's checkers.

0-shot, greedy, up to 1280 new tokens as in lm-eval. By default the prompt goes through the
model's chat template (``chat=False`` sends it raw, as lm-eval does without
``--apply_chat_template``). Metrics: prompt-level accuracy (every instruction of a prompt
followed) and instruction-level accuracy (each instruction on its own), strict and loose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from aicommons.engines.base import ChatMessage
from aicommons.evaluation.ifeval_checks import follows
from aicommons.evaluation.metrics import MetricValue, mean_metric
from aicommons.evaluation.tasks.base import Doc, Generate, Response, Task, TaskRequest, take


def score_response(doc: Mapping[str, Any], response: str) -> dict[str, Any]:
    """Strict and loose results for every instruction of one prompt."""
    ids = list(doc["instruction_id_list"])
    kwargs = [dict(k or {}) for k in doc["kwargs"]]
    strict = [follows(i, response, k, loose=False) for i, k in zip(ids, kwargs, strict=True)]
    loose = [follows(i, response, k, loose=True) for i, k in zip(ids, kwargs, strict=True)]
    return {
        "prompt_level_strict_acc": float(all(strict)),
        "prompt_level_loose_acc": float(all(loose)),
        "inst_level_strict": strict,
        "inst_level_loose": loose,
        "instruction_ids": ids,
    }


class IFEvalTask(Task):
    name: ClassVar[str] = "ifeval"
    source: ClassVar[str] = (
        "google-research/instruction_following_eval, input_data.jsonl (Apache-2.0)"
    )
    data_files: ClassVar[tuple[str, ...]] = ("ifeval/input_data.jsonl",)
    version: ClassVar[str] = "4"
    output_type: ClassVar[str] = "generate_until"
    default_chat: ClassVar[bool] = True
    metric_names: ClassVar[tuple[str, ...]] = ("prompt_level_strict_acc", "prompt_level_loose_acc")

    def load_docs(self, limit: int | None) -> list[Doc]:
        path = self.data_path("ifeval", "input_data.jsonl")
        with path.open("rb") as lines:
            items = [orjson.loads(line) for line in lines if line.strip()]
        return take([Doc(str(d["key"]), d) for d in items], limit)

    def requests(self, doc: Doc) -> list[TaskRequest]:
        prompt = str(doc.data["prompt"])
        max_tokens = self.options.max_tokens or 1280
        if not self.uses_chat:
            return [Generate(prompt=prompt, max_tokens=max_tokens)]
        return [Generate(messages=(ChatMessage("user", prompt),), max_tokens=max_tokens)]

    def process(self, doc: Doc, responses: Sequence[Response]) -> dict[str, Any]:
        (response,) = responses
        return {**score_response(doc.data, str(response)), "response": str(response)}

    def aggregate(self, records: Sequence[Mapping[str, Any]]) -> dict[str, MetricValue]:
        """lm-eval's aggregation: prompt-level means with stderr; instruction-level means
        over all instructions pooled (lm-eval reports no stderr for them)."""
        metrics = super().aggregate(records)
        for kind in ("strict", "loose"):
            pooled = [float(x) for r in records for x in r[f"inst_level_{kind}"]]
            metrics[f"inst_level_{kind}_acc"] = MetricValue(mean_metric(pooled).value)
        return metrics
