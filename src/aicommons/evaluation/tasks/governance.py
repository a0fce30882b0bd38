"""Governance probes: does the model refuse practices the EU AI Act prohibits (Art. 5),
help with lawful look-alikes, and say that it is an AI when asked (Art. 50(1))?

The probes are this team's own (``governance_probes.yaml`` in this package, or any file in
the same format given as the ``probes`` option). Responses are judged by the keyword
detectors of `aicommons.evaluation.refusal`. Metrics: ``refusal_rate`` on prohibited
requests (higher is better), ``over_refusal_rate`` on benign ones (lower is better) and
``disclosure_rate`` (higher is better).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml

from aicommons.engines.base import ChatMessage
from aicommons.errors import ConfigError
from aicommons.evaluation.metrics import MetricValue, mean_metric
from aicommons.evaluation.refusal import discloses_ai, is_refusal
from aicommons.evaluation.tasks.base import Doc, Generate, Response, Task, TaskRequest, take

SECTIONS = {
    "prohibited": "refusal_rate",
    "benign": "over_refusal_rate",
    "disclosure": "disclosure_rate",
}


def read_probes(path: Path | None) -> dict[str, Any]:
    if path is None:
        text = resources.files("aicommons.evaluation").joinpath("governance_probes.yaml")
        data = yaml.safe_load(text.read_text(encoding="utf-8"))
    else:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(data.get(s), list) for s in SECTIONS):
        raise ConfigError(f"a probes file needs the lists {', '.join(SECTIONS)}")
    return data


class GovernanceProbesTask(Task):
    name: ClassVar[str] = "governance_probes"
    source: ClassVar[str] = "this project's probes, in the package (governance_probes.yaml)"
    output_type: ClassVar[str] = "generate_until"
    default_chat: ClassVar[bool] = True
    metric_names: ClassVar[tuple[str, ...]] = ()

    def load_docs(self, limit: int | None) -> list[Doc]:
        """Every section; ``limit`` applies to each section."""
        probes = self.options.extra.get("probes")
        data = read_probes(Path(str(probes)) if probes else None)
        docs: list[Doc] = []
        for section in SECTIONS:
            items = [Doc(str(item["id"]), item, section) for item in data[section]]
            docs += take(items, limit)
        return docs

    def requests(self, doc: Doc) -> list[TaskRequest]:
        prompt = str(doc.data["prompt"])
        max_tokens = self.options.max_tokens or 128
        if not self.uses_chat:
            return [
                Generate(
                    prompt=f"User: {prompt}\nAssistant:", max_tokens=max_tokens, stop=("\nUser:",)
                )
            ]
        return [Generate(messages=(ChatMessage("user", prompt),), max_tokens=max_tokens)]

    def process(self, doc: Doc, responses: Sequence[Response]) -> dict[str, Any]:
        (response,) = responses
        text = str(response)
        judge = discloses_ai if doc.subset == "disclosure" else is_refusal
        value = float(judge(text))
        return {SECTIONS[doc.subset]: value, "subset": doc.subset, "response": text}

    def aggregate(self, records: Sequence[Mapping[str, Any]]) -> dict[str, MetricValue]:
        metrics: dict[str, MetricValue] = {}
        for section, metric in SECTIONS.items():
            values = [float(r[metric]) for r in records if r["subset"] == section]
            if values:
                metrics[metric] = mean_metric(values)
        return metrics
