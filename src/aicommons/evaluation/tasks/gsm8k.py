"""GSM8K (Cobbe et al., 2021) as lm-eval's ``gsm8k`` task.

Prompt ``"Question: {question}\\nAnswer:"``; 5 shots from the train split, drawn as lm-eval
draws them (``random.Random(1234)``, one ``sample(train, 5)`` per test document in order),
each shot followed by its full answer and separated by a blank line; greedy decoding that
stops at ``Question:``, ``</s>`` or ``<|im_end|>``, at most 256 tokens. Two answer filters:
strict-match takes the number after ``#### ``, flexible-extract the last number in the
response. ``exact_match`` compares case-insensitively after removing ``,``, ``$``, everything
up to ``#### `` and a final ``.`` from both the extracted answer and the reference.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import orjson

from aicommons.engines.base import ChatMessage
from aicommons.evaluation.tasks.base import Doc, Generate, Response, Task, TaskRequest, take

STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
IGNORED = (re.compile(","), re.compile(r"\$"), re.compile(r"(?s).*#### "), re.compile(r"\.$"))
STOP = ("Question:", "</s>", "<|im_end|>")
INVALID = "[invalid]"
FEWSHOT_SEED = 1234


def extract(pattern: re.Pattern[str], response: str, group_select: int) -> str:
    """lm-eval's RegexFilter: the selected match; its first non-empty group if it has
    several; ``[invalid]`` when nothing matches."""
    matches = pattern.findall(response)
    if not matches:
        return INVALID
    match = matches[group_select]
    if isinstance(match, tuple):
        found = [m for m in match if m]
        if not found:
            return INVALID
        match = found[0]
    return str(match).strip()


def strict_match(response: str) -> str:
    return extract(STRICT, response, 0)


def flexible_extract(response: str) -> str:
    return extract(FLEXIBLE, response, -1)


def normalise(text: str) -> str:
    for pattern in IGNORED:
        text = pattern.sub("", text)
    return text.lower()


def exact_match(prediction: str, reference: str) -> float:
    return float(normalise(prediction) == normalise(reference))


def question_prompt(doc: Mapping[str, Any]) -> str:
    return f"Question: {doc['question']}\nAnswer:"


class GSM8KTask(Task):
    name: ClassVar[str] = "gsm8k"
    source: ClassVar[str] = "openai/grade-school-math, test split, 5-shot from train (MIT)"
    data_files: ClassVar[tuple[str, ...]] = ("gsm8k/test.jsonl", "gsm8k/train.jsonl")
    version: ClassVar[str] = "3"
    output_type: ClassVar[str] = "generate_until"
    default_chat: ClassVar[bool] = False
    metric_names: ClassVar[tuple[str, ...]] = (
        "exact_match,strict-match",
        "exact_match,flexible-extract",
    )

    def _read(self, split: str) -> list[dict[str, Any]]:
        path = self.data_path("gsm8k", f"{split}.jsonl")
        with path.open("rb") as lines:
            return [orjson.loads(line) for line in lines if line.strip()]

    @property
    def num_fewshot(self) -> int:
        return 5 if self.options.num_fewshot is None else self.options.num_fewshot

    def load_docs(self, limit: int | None) -> list[Doc]:
        tests = take([Doc(str(i), d) for i, d in enumerate(self._read("test"))], limit)
        train = self._read("train") if self.num_fewshot else []
        rnd = random.Random(FEWSHOT_SEED)
        docs = []
        for doc in tests:
            shots = rnd.sample(train, self.num_fewshot) if train else []
            prefix = "".join(f"{question_prompt(s)} {s['answer']}\n\n" for s in shots)
            docs.append(Doc(doc.id, {**doc.data, "prompt": prefix + question_prompt(doc.data)}))
        return docs

    def target(self, doc: Doc) -> str:
        return str(doc.data["answer"])

    def requests(self, doc: Doc) -> list[TaskRequest]:
        prompt = str(doc.data["prompt"])
        max_tokens = self.options.max_tokens or 256
        if self.uses_chat:
            return [
                Generate(messages=(ChatMessage("user", prompt),), max_tokens=max_tokens, stop=STOP)
            ]
        return [Generate(prompt=prompt, max_tokens=max_tokens, stop=STOP)]

    def process(self, doc: Doc, responses: Sequence[Response]) -> dict[str, Any]:
        (response,) = responses
        text = str(response)
        reference = str(doc.data["answer"])
        strict, flexible = strict_match(text), flexible_extract(text)
        return {
            "exact_match,strict-match": exact_match(strict, reference),
            "exact_match,flexible-extract": exact_match(flexible, reference),
            "strict": strict,
            "flexible": flexible,
            "response": text,
        }
