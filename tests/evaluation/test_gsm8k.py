"""GSM8K answer extraction and exact match as lm-eval's regexes and ignore rules define them."""

from __future__ import annotations

import random

import pytest

from aicommons.errors import ConfigError
from aicommons.evaluation.tasks.base import Generate, TaskOptions
from aicommons.evaluation.tasks.gsm8k import (
    GSM8KTask,
    exact_match,
    flexible_extract,
    strict_match,
)
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA
REFERENCE = "She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18"


@pytest.mark.parametrize(
    ("response", "strict", "flexible"),
    [
        ("9 * 2 = 18\n#### 18", "18", "18"),
        ("The answer is $18.", "[invalid]", "$18."),
        ("#### 1,000 dollars", "1,000", "1,000"),
        ("It went from 5 to -3", "[invalid]", "-3"),
        ("#### 12 but then 7", "12", "7"),
        ("no numbers here", "[invalid]", "[invalid]"),
    ],
)
def test_extraction(response: str, strict: str, flexible: str) -> None:
    assert strict_match(response) == strict
    assert flexible_extract(response) == flexible


def test_exact_match_ignores_commas_dollars_and_a_final_period() -> None:
    assert exact_match("$18.", REFERENCE) == 1.0
    assert exact_match("18", REFERENCE) == 1.0
    assert exact_match("1,000", "#### 1000") == 1.0
    assert exact_match("[invalid]", REFERENCE) == 0.0
    assert exact_match("180", REFERENCE) == 0.0


def test_five_shot_prompt_uses_lm_eval_sampling() -> None:
    task = GSM8KTask(TaskOptions(data_dir=DATA))
    docs = task.load_docs(2)
    (request,) = task.requests(docs[0])
    assert isinstance(request, Generate) and request.prompt is not None
    assert request.stop == ("Question:", "</s>", "<|im_end|>")
    assert request.prompt.count("Question: ") == 6
    assert request.prompt.endswith(f"Question: {docs[0].data['question']}\nAnswer:")
    train = task._read("train")
    first_shot = random.Random(1234).sample(train, 5)[0]
    assert request.prompt.startswith(f"Question: {first_shot['question']}\nAnswer: ")
    assert docs[0].data["prompt"] != docs[1].data["prompt"][: len(docs[0].data["prompt"])]


def test_scoring_a_response() -> None:
    task = GSM8KTask(TaskOptions(data_dir=DATA, num_fewshot=0))
    doc = task.load_docs(1)[0]  # Janet's ducks: 18
    assert task.process(doc, ["She makes 18 dollars.\n#### 18"])["exact_match,strict-match"] == 1
    record = task.process(doc, ["She makes $18 a day."])
    assert record["exact_match,strict-match"] == 0
    assert record["exact_match,flexible-extract"] == 1


def test_missing_data_dir_says_how_to_set_it() -> None:
    with pytest.raises(ConfigError, match="AICOMMONS_EVAL_DATA_DIR"):
        GSM8KTask().load_docs(1)
