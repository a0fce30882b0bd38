"""Every IFEval instruction checker, with a response that follows it and one that does not."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from aicommons.evaluation.ifeval_checks import CHECKERS, count_sentences, follows, loose_variants
from aicommons.evaluation.tasks.ifeval import score_response
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA / "ifeval" / "input_data.jsonl"

CASES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "change_case:capital_word_frequency",
        {"capital_relation": "at least", "capital_frequency": 2},
        "The NASA and ESA teams met.",
        "The nasa team met.",
    ),
    (
        "change_case:capital_word_frequency",
        {"capital_relation": "less than", "capital_frequency": 2},
        "Only ONE shout.",
        "TWO LOUD WORDS.",
    ),
    (
        "change_case:english_capital",
        {},
        "THIS IS ALL IN CAPITAL LETTERS AND IT IS ENGLISH.",
        "This is not all capitals.",
    ),
    (
        "change_case:english_lowercase",
        {},
        "this is all lowercase and it is english.",
        "This has a capital.",
    ),
    (
        "combination:repeat_prompt",
        {"prompt_to_repeat": "Write a poem about the sea."},
        "Write a poem about the sea. The sea is wide.",
        "The sea is wide.",
    ),
    (
        "combination:two_responses",
        {},
        "First answer.\n******\nSecond answer.",
        "Same.\n******\nSame.",
    ),
    (
        "detectable_content:number_placeholders",
        {"num_placeholders": 2},
        "Dear [name], at [address].",
        "Dear [name].",
    ),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.S."},
        "Hello.\nP.S. See you soon.",
        "Hello. See you soon.",
    ),
    (
        "detectable_content:postscript",
        {"postscript_marker": "P.P.S"},
        "Hello.\nP.P.S. One more thing.",
        "Hello.\nP.S. One thing.",
    ),
    ("detectable_format:constrained_response", {}, "My answer is yes.", "Yes, definitely."),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', "{a: 1}"),
    (
        "detectable_format:multiple_sections",
        {"section_spliter": "SECTION", "num_sections": 2},
        "SECTION 1\nIntro.\nSECTION 2\nBody.",
        "SECTION 1\nEverything.",
    ),
    (
        "detectable_format:number_bullet_lists",
        {"num_bullets": 2},
        "* one\n* two",
        "* one\n* two\n- three",
    ),
    (
        "detectable_format:number_highlighted_sections",
        {"num_highlights": 2},
        "*first* and **second**",
        "*only one*",
    ),
    ("detectable_format:title", {}, "<<A Title>>\nText.", "A Title\nText."),
    (
        "keywords:existence",
        {"keywords": ["ocean", "salt"]},
        "The Ocean is salty.",
        "The ocean is wet.",
    ),
    (
        "keywords:forbidden_words",
        {"forbidden_words": ["bad"]},
        "This is badger country.",
        "This is Bad.",
    ),
    (
        "keywords:frequency",
        {"keyword": "cat", "relation": "at least", "frequency": 2},
        "Cat and cat.",
        "One cat.",
    ),
    (
        "keywords:frequency",
        {"keyword": "cat", "relation": "less than", "frequency": 2},
        "One cat.",
        "Cat and cat.",
    ),
    (
        "keywords:letter_frequency",
        {"letter": "z", "let_relation": "at least", "let_frequency": 2},
        "Zig zag.",
        "Zag.",
    ),
    (
        "language:response_language",
        {"language": "de"},
        "Das ist nicht mein Haus, und es ist groß.",
        "This is not my house and it is big.",
    ),
    (
        "length_constraints:nth_paragraph_first_word",
        {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "then"},
        "First part.\n\nThen, the second.",
        "First part.\n\nAfter that, the second.",
    ),
    (
        "length_constraints:number_paragraphs",
        {"num_paragraphs": 2},
        "One.\n***\nTwo.",
        "One.\n***\nTwo.\n***\nThree.",
    ),
    (
        "length_constraints:number_sentences",
        {"relation": "less than", "num_sentences": 3},
        "One sentence. Mr. Smith agrees!",
        "One. Two. Three. Four.",
    ),
    (
        "length_constraints:number_words",
        {"relation": "at least", "num_words": 5},
        "one two three four five",
        "one two",
    ),
    ("punctuation:no_comma", {}, "No commas here.", "Yes, a comma."),
    (
        "startend:end_checker",
        {"end_phrase": "Is there anything else I can help with?"},
        "Done. Is there anything else I can help with?",
        "Is there anything else I can help with? No.",
    ),
    ("startend:quotation", {}, '"Wrapped in quotes."', "Not wrapped."),
]


@pytest.mark.parametrize(("instruction", "kwargs", "good", "bad"), CASES)
def test_checker(instruction: str, kwargs: dict[str, Any], good: str, bad: str) -> None:
    assert follows(instruction, good, kwargs, loose=False)
    assert not follows(instruction, bad, kwargs, loose=False)


def test_every_instruction_in_the_data_has_a_tested_checker() -> None:
    ids = set()
    for line in DATA.read_bytes().splitlines():
        ids.update(orjson.loads(line)["instruction_id_list"])
    assert len(ids) == 25
    assert ids == set(CHECKERS)
    assert ids == {case[0] for case in CASES}


def test_empty_response_fails_every_instruction() -> None:
    assert not follows("keywords:forbidden_words", "  ", {"forbidden_words": ["x"]}, loose=True)


def test_loose_accepts_an_intro_line_and_markdown_stars() -> None:
    response = 'Sure, here you go:\n"**Quoted answer**"'
    assert not follows("startend:quotation", response, {}, loose=False)
    assert follows("startend:quotation", response, {}, loose=True)
    assert len(loose_variants("a\nb\nc")) == 8
    assert "b" in loose_variants("a\nb\nc")


def test_prompt_and_instruction_level() -> None:
    doc = {
        "instruction_id_list": ["punctuation:no_comma", "startend:quotation"],
        "kwargs": [{}, {}],
    }
    record = score_response(doc, 'Intro line\n"no commas"')
    assert record["inst_level_strict"] == [True, False]
    assert record["prompt_level_strict_acc"] == 0.0
    assert record["inst_level_loose"] == [True, True]
    assert record["prompt_level_loose_acc"] == 1.0


def test_sentence_counting() -> None:
    assert count_sentences("Dr. Who arrived. He left! Did he?") == 3
    assert count_sentences("Pi is 3.14 and e is 2.71.") == 1
    assert count_sentences("") == 0


def test_sentences_as_punkt_counts_them() -> None:
    """What the old regex splitter got wrong: a blank line does not end a sentence, a list
    number is a sentence of its own, initials do not end one, a capital letter word does."""
    assert count_sentences("First paragraph\n\nSecond paragraph") == 1
    assert count_sentences("Steps:\n1. Open it.\n2. Close it.") == 4
    assert count_sentences("J. K. Rowling wrote it.") == 1
    assert count_sentences("Plan A. Plan B.") == 2


def test_short_capitals_are_not_taken_for_english() -> None:
    """langdetect places "HELLO" and "OK" elsewhere, so English-capitals fails them."""
    assert not follows("change_case:english_capital", "HELLO", {}, loose=False)
    assert not follows("change_case:english_capital", "OK", {}, loose=False)
    assert follows("change_case:english_capital", "NASA AND ESA WORK WITH THE UN.", {}, False)
    assert not follows("change_case:english_lowercase", "ok", {}, loose=False)
