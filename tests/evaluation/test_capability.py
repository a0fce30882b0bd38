"""HellaSwag, ARC and PIQA from small files in their authors' formats."""

from __future__ import annotations

import json
from pathlib import Path

from aicommons.engines.base import LoglikelihoodRequest
from aicommons.evaluation.tasks.base import TaskOptions
from aicommons.evaluation.tasks.capability import hellaswag_preprocess
from aicommons.evaluation.tasks.registry import create_task


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_hellaswag_preprocess_matches_lm_eval() -> None:
    # lm-eval strips before removing tags, so a leading tag leaves its space behind.
    text = "[header] How to water a plant [title] Fill a watering can."
    assert hellaswag_preprocess(text) == " How to water a plant. Fill a watering can."
    assert hellaswag_preprocess("Cut it [title] Then rinse.") == "Cut it. Then rinse."


def test_hellaswag(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "hellaswag" / "hellaswag_val.jsonl",
        [{"ind": 4, "activity_label": "Removing ice from car", "ctx_a": "Then, the man writes.",
          "ctx_b": "THEN he", "endings": [" pours water.", "[step] drives away."], "label": "1"}],
    )  # fmt: skip
    task = create_task("hellaswag", TaskOptions(data_dir=tmp_path))
    (doc,) = task.load_docs(None)
    assert task.requests(doc) == [
        LoglikelihoodRequest(
            "Removing ice from car: Then, the man writes. Then he", " pours water."
        ),
        LoglikelihoodRequest(
            "Removing ice from car: Then, the man writes. Then he", "  drives away."
        ),
    ]
    assert task.gold(doc) == 1  # type: ignore[attr-defined]


def test_arc_both_layouts(tmp_path: Path) -> None:
    nested = {
        "id": "q1",
        "answerKey": "B",
        "question": {
            "stem": "Sky colour?",
            "choices": [{"text": "green", "label": "A"}, {"text": "blue", "label": "B"}],
        },
    }
    flat = {
        "id": "q2",
        "answerKey": "1",
        "question": "Two plus two?",
        "choices": {"text": ["four", "five"], "label": ["1", "2"]},
    }
    write_jsonl(tmp_path / "arc" / "ARC-Easy-Test.jsonl", [nested, flat])
    task = create_task("arc_easy", TaskOptions(data_dir=tmp_path))
    first, second = task.load_docs(None)
    assert task.requests(first)[1] == LoglikelihoodRequest(
        "Question: Sky colour?\nAnswer:", " blue"
    )
    assert task.gold(first) == 1 and task.gold(second) == 0  # type: ignore[attr-defined]


def test_piqa(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "piqa" / "valid.jsonl",
        [{"goal": "Open a jar", "sol1": "twist the lid", "sol2": "eat the lid"}],
    )
    (tmp_path / "piqa" / "valid-labels.lst").write_text("0\n")
    task = create_task("piqa", TaskOptions(data_dir=tmp_path))
    (doc,) = task.load_docs(None)
    assert task.requests(doc)[0] == LoglikelihoodRequest(
        "Question: Open a jar\nAnswer:", " twist the lid"
    )
    assert task.gold(doc) == 0  # type: ignore[attr-defined]
