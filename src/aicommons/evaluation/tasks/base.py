"""The task contract: documents in, engine requests out, responses scored per document,
per-document scores aggregated into metrics with standard errors."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import orjson

from aicommons.engines.base import ChatMessage, LoglikelihoodRequest, LoglikelihoodResult
from aicommons.errors import ConfigError
from aicommons.evaluation.metrics import MetricValue, mean_metric


@dataclass(frozen=True, slots=True)
class Generate:
    """A greedy generation: chat ``messages`` (the model's chat template applies) or a raw
    ``prompt``; stops at any of ``stop`` or after ``max_tokens``."""

    prompt: str | None = None
    messages: tuple[ChatMessage, ...] | None = None
    max_tokens: int = 256
    stop: tuple[str, ...] = ()


TaskRequest = LoglikelihoodRequest | Generate
Response = LoglikelihoodResult | str


def request_key(request: TaskRequest) -> str:
    """A stable SHA-256 of what is asked, the cache key within one model."""
    if isinstance(request, LoglikelihoodRequest):
        payload: dict[str, Any] = {
            "kind": "loglikelihood",
            "context": request.context,
            "continuation": request.continuation,
        }
    else:
        messages = (
            [[m.role, m.content] for m in request.messages]
            if request.messages is not None
            else None
        )
        payload = {
            "kind": "generate",
            "prompt": request.prompt,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "stop": list(request.stop),
            "temperature": 0,
        }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Doc:
    """One benchmark item; ``subset`` names its file or category where a task has several."""

    id: str
    data: Mapping[str, Any]
    subset: str = ""


@dataclass(slots=True)
class TaskOptions:
    """What a user may set for any task; tasks read the ``extra`` entries they know."""

    data_dir: Path | None = None
    chat: bool | None = None
    num_fewshot: int | None = None
    max_tokens: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """A benchmark. Subclasses load documents, build requests and score responses."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    output_type: ClassVar[str] = "multiple_choice"
    #: per-document values averaged (with stderr) by the default `aggregate`
    metric_names: ClassVar[tuple[str, ...]] = ()
    #: whether generations go through the chat template when the user does not say
    default_chat: ClassVar[bool] = False
    #: where the documents come from, for `aicommons eval list`
    source: ClassVar[str] = ""
    #: files (or folders) under the data directory the task reads; empty when the package
    #: ships the documents itself
    data_files: ClassVar[tuple[str, ...]] = ()
    #: metrics reported per subset as ``{metric}_{subset}`` (exported as lm-eval groups)
    subsets: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: TaskOptions | None = None) -> None:
        self.options = options or TaskOptions()

    @property
    def uses_chat(self) -> bool:
        return self.default_chat if self.options.chat is None else self.options.chat

    def data_path(self, *parts: str) -> Path:
        """A path under the data directory, with an error that says how to set it."""
        if self.options.data_dir is None:
            raise ConfigError(
                f"task {self.name} reads benchmark files, but no data directory is set: pass "
                "--data-dir or set AICOMMONS_EVAL_DATA_DIR to a folder holding "
                f"{'/'.join(parts)}"
            )
        path = self.options.data_dir.joinpath(*parts)
        if not path.exists():
            raise ConfigError(f"task {self.name}: {path} does not exist")
        return path

    def is_runnable(self) -> bool:
        """Whether every file the task reads is in the data directory."""
        if not self.data_files:
            return True
        folder = self.options.data_dir
        return folder is not None and all((folder / f).exists() for f in self.data_files)

    def count_docs(self) -> int:
        """How many documents the task has without a limit (blocking file I/O)."""
        return len(self.load_docs(None))

    def target(self, doc: Doc) -> str:
        """The expected answer as lm-eval's samples files show it ("" where none)."""
        return ""

    @abstractmethod
    def load_docs(self, limit: int | None) -> list[Doc]:
        """Read the documents (blocking file I/O; the runner calls it in a thread)."""

    @abstractmethod
    def requests(self, doc: Doc) -> list[TaskRequest]:
        """The engine requests needed to score ``doc``."""

    @abstractmethod
    def process(self, doc: Doc, responses: Sequence[Response]) -> dict[str, Any]:
        """Per-document record: metric values and whatever `aggregate` needs."""

    def aggregate(self, records: Sequence[Mapping[str, Any]]) -> dict[str, MetricValue]:
        """Mean and stderr of each of `metric_names` over the documents."""
        return {
            name: mean_metric([float(r[name]) for r in records if r.get(name) is not None])
            for name in self.metric_names
        }

    def config(self) -> dict[str, Any]:
        """Settings that shape the requests, recorded with every run."""
        return {
            "task": self.name,
            "version": self.version,
            "output_type": self.output_type,
            "chat": self.uses_chat if self.output_type == "generate_until" else None,
            "num_fewshot": self.options.num_fewshot,
            "max_tokens": self.options.max_tokens,
            **self.options.extra,
        }


def take(items: list[Doc], limit: int | None) -> list[Doc]:
    return items if limit is None else items[:limit]
