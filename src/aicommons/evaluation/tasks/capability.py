"""Capability benchmarks scored by log-likelihood, in their authors' file formats, with
lm-evaluation-harness's prompts (``lm_eval/tasks/hellaswag``, ``arc``, ``piqa``).

Files are read from the data directory (they are not shipped here):

- ``hellaswag/hellaswag_val.jsonl`` (rowanz/hellaswag): ``activity_label``, ``ctx_a``,
  ``ctx_b``, ``endings``, ``label``;
- ``arc/ARC-Easy-Test.jsonl`` and ``arc/ARC-Challenge-Test.jsonl`` (AI2's ARC-V1 files, with a
  nested ``question.stem``/``question.choices``, or the flat Hugging Face layout);
- ``piqa/valid.jsonl`` with ``piqa/valid-labels.lst`` (the PIQA release).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import orjson

from aicommons.evaluation.tasks.base import Doc, take
from aicommons.evaluation.tasks.multiple_choice import MultipleChoiceTask


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as lines:
        return [orjson.loads(line) for line in lines if line.strip()]


def hellaswag_preprocess(text: str) -> str:
    """lm-eval's HellaSwag cleaning: ``[title]`` becomes a sentence break, other bracketed
    tags go, double spaces collapse."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


class HellaSwagTask(MultipleChoiceTask):
    name: ClassVar[str] = "hellaswag"
    source: ClassVar[str] = "rowanz/hellaswag, hellaswag_val.jsonl (MIT); not shipped"
    data_files: ClassVar[tuple[str, ...]] = ("hellaswag/hellaswag_val.jsonl",)

    def load_docs(self, limit: int | None) -> list[Doc]:
        items = read_jsonl(self.data_path("hellaswag", "hellaswag_val.jsonl"))
        return take([Doc(str(d.get("ind", i)), d) for i, d in enumerate(items)], limit)

    def context(self, doc: Doc) -> str:
        d = doc.data
        ctx = f"{d['ctx_a']} {str(d['ctx_b']).capitalize()}"
        return hellaswag_preprocess(f"{d['activity_label']}: {ctx}")

    def choices(self, doc: Doc) -> list[str]:
        return [hellaswag_preprocess(e) for e in doc.data["endings"]]

    def gold(self, doc: Doc) -> int:
        return int(doc.data["label"])


class _ARCTask(MultipleChoiceTask):
    file: ClassVar[str]

    def load_docs(self, limit: int | None) -> list[Doc]:
        items = read_jsonl(self.data_path("arc", self.file))
        return take([Doc(str(d["id"]), self._flatten(d)) for d in items], limit)

    @staticmethod
    def _flatten(d: dict[str, Any]) -> dict[str, Any]:
        """AI2's nested layout or the Hugging Face one, as question/texts/labels/answer."""
        question = d["question"]
        if isinstance(question, dict):
            choices = question["choices"]
            texts = [c["text"] for c in choices]
            labels = [c["label"] for c in choices]
            question = question["stem"]
        else:
            texts, labels = list(d["choices"]["text"]), list(d["choices"]["label"])
        return {"question": question, "texts": texts, "labels": labels, "answer": d["answerKey"]}

    def context(self, doc: Doc) -> str:
        return f"Question: {doc.data['question']}\nAnswer:"

    def choices(self, doc: Doc) -> list[str]:
        return list(doc.data["texts"])

    def gold(self, doc: Doc) -> int:
        return list(doc.data["labels"]).index(doc.data["answer"])


class ARCEasyTask(_ARCTask):
    name: ClassVar[str] = "arc_easy"
    file: ClassVar[str] = "ARC-Easy-Test.jsonl"
    source: ClassVar[str] = "AI2 ARC-V1, ARC-Easy test (CC BY-SA 4.0); not shipped"
    data_files: ClassVar[tuple[str, ...]] = ("arc/ARC-Easy-Test.jsonl",)


class ARCChallengeTask(_ARCTask):
    name: ClassVar[str] = "arc_challenge"
    file: ClassVar[str] = "ARC-Challenge-Test.jsonl"
    source: ClassVar[str] = "AI2 ARC-V1, ARC-Challenge test (CC BY-SA 4.0); not shipped"
    data_files: ClassVar[tuple[str, ...]] = ("arc/ARC-Challenge-Test.jsonl",)


class PIQATask(MultipleChoiceTask):
    name: ClassVar[str] = "piqa"
    source: ClassVar[str] = "PIQA release, valid.jsonl and valid-labels.lst (AFL-3.0); not shipped"
    data_files: ClassVar[tuple[str, ...]] = ("piqa/valid.jsonl", "piqa/valid-labels.lst")

    def load_docs(self, limit: int | None) -> list[Doc]:
        items = read_jsonl(self.data_path("piqa", "valid.jsonl"))
        labels = self.data_path("piqa", "valid-labels.lst").read_text().split()
        docs = [
            Doc(str(i), {**d, "label": int(lab)})
            for i, (d, lab) in enumerate(zip(items, labels, strict=True))
        ]
        return take(docs, limit)

    def context(self, doc: Doc) -> str:
        return f"Question: {doc.data['goal']}\nAnswer:"

    def choices(self, doc: Doc) -> list[str]:
        return [doc.data["sol1"], doc.data["sol2"]]

    def gold(self, doc: Doc) -> int:
        return int(doc.data["label"])
