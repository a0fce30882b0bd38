"""IFEval instruction checkers (Zhou et al., 2023), written for this project.

One function per instruction id found in IFEval's ``input_data.jsonl`` (25 ids). Each takes
the response and the instruction's kwargs and says whether the response follows the
instruction, with the reference implementation's rules (lm-evaluation-harness's
``lm_eval/tasks/ifeval/instructions.py``): the same regexes, keywords and markers used as
regular expressions (not escaped), "less than" strict and "at least" inclusive, sentences
counted by NLTK's Punkt with the ``punkt_tab`` English parameters, words for capital-word
frequency by NLTK's word tokenizer, languages by langdetect. tests/evaluation/
test_ifeval_reference.py runs the reference's checkers beside these on the same responses.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from aicommons.evaluation.language import UNDETERMINED, detect_language
from aicommons.evaluation.sentences import count_sentences, word_tokens

Checker = Callable[[str, Mapping[str, Any]], bool]
CHECKERS: dict[str, Checker] = {}


def checker(instruction_id: str) -> Callable[[Checker], Checker]:
    def register(func: Checker) -> Checker:
        CHECKERS[instruction_id] = func
        return func

    return register


def compare(actual: int, relation: str, wanted: int) -> bool:
    """IFEval's two relations: "less than" (strict) and "at least"."""
    if relation == "less than":
        return actual < wanted
    if relation == "at least":
        return actual >= wanted
    raise ValueError(f"unknown relation {relation!r}")


def count_words(text: str) -> int:
    """Runs of word characters, as NLTK's ``RegexpTokenizer(r"\\w+")`` finds them."""
    return len(re.findall(r"\w+", text))


def pattern(text: str) -> re.Pattern[str]:
    """A keyword or marker as the reference uses it: a regular expression, case-insensitive.
    One that does not compile (the reference would fail) is matched literally."""
    try:
        return re.compile(text, flags=re.IGNORECASE)
    except re.error:
        return re.compile(re.escape(text), flags=re.IGNORECASE)


# -- change_case ---------------------------------------------------------------------------


@checker("change_case:capital_word_frequency")
def capital_word_frequency(response: str, kw: Mapping[str, Any]) -> bool:
    capitals = [w for w in word_tokens(response) if w.isupper()]
    return compare(len(capitals), kw["capital_relation"], int(kw["capital_frequency"]))


@checker("change_case:english_capital")
def english_capital(response: str, kw: Mapping[str, Any]) -> bool:
    # A text langdetect cannot place is given the benefit of the doubt, as the reference does.
    return response.isupper() and detect_language(response) in ("en", UNDETERMINED)


@checker("change_case:english_lowercase")
def english_lowercase(response: str, kw: Mapping[str, Any]) -> bool:
    return response.islower() and detect_language(response) in ("en", UNDETERMINED)


# -- combination ---------------------------------------------------------------------------


@checker("combination:repeat_prompt")
def repeat_prompt(response: str, kw: Mapping[str, Any]) -> bool:
    return response.strip().lower().startswith(str(kw["prompt_to_repeat"]).strip().lower())


@checker("combination:two_responses")
def two_responses(response: str, kw: Mapping[str, Any]) -> bool:
    """Exactly two different responses separated by six asterisks."""
    parts = response.split("******")
    kept = []
    for index, part in enumerate(parts):
        if not part.strip():
            if 0 < index < len(parts) - 1:
                return False
        else:
            kept.append(part)
    return len(kept) == 2 and kept[0].strip() != kept[1].strip()


# -- detectable_content --------------------------------------------------------------------


@checker("detectable_content:number_placeholders")
def number_placeholders(response: str, kw: Mapping[str, Any]) -> bool:
    return len(re.findall(r"\[.*?\]", response)) >= int(kw["num_placeholders"])


@checker("detectable_content:postscript")
def postscript(response: str, kw: Mapping[str, Any]) -> bool:
    marker = str(kw["postscript_marker"]).strip()
    if marker == "P.P.S":
        found = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        found = r"\s*p\.\s?s\..*$"
    else:
        found = r"\s*" + marker.lower() + r".*$"
    return bool(re.findall(found, response.lower(), flags=re.MULTILINE))


# -- detectable_format ---------------------------------------------------------------------


@checker("detectable_format:constrained_response")
def constrained_response(response: str, kw: Mapping[str, Any]) -> bool:
    options = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
    return any(option in response.strip() for option in options)


@checker("detectable_format:json_format")
def json_format(response: str, kw: Mapping[str, Any]) -> bool:
    text = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        text = text.removeprefix(fence)
    text = text.removesuffix("```").strip()
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@checker("detectable_format:multiple_sections")
def multiple_sections(response: str, kw: Mapping[str, Any]) -> bool:
    splitter = str(kw["section_spliter"]).strip()
    sections = re.split(r"\s?" + splitter + r"\s?\d+\s?", response)
    return len(sections) - 1 >= int(kw["num_sections"])


@checker("detectable_format:number_bullet_lists")
def number_bullet_lists(response: str, kw: Mapping[str, Any]) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == int(kw["num_bullets"])


@checker("detectable_format:number_highlighted_sections")
def number_highlighted_sections(response: str, kw: Mapping[str, Any]) -> bool:
    count = 0
    for highlight in re.findall(r"\*[^\n\*]*\*", response):
        if highlight.strip("*").strip():
            count += 1
    for highlight in re.findall(r"\*\*[^\n\*]*\*\*", response):
        if highlight.removeprefix("**").removesuffix("**").strip():
            count += 1
    return count >= int(kw["num_highlights"])


@checker("detectable_format:title")
def title(response: str, kw: Mapping[str, Any]) -> bool:
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", response))


# -- keywords ------------------------------------------------------------------------------


@checker("keywords:existence")
def keywords_existence(response: str, kw: Mapping[str, Any]) -> bool:
    return all(pattern(str(k)).search(response) for k in kw["keywords"])


@checker("keywords:forbidden_words")
def forbidden_words(response: str, kw: Mapping[str, Any]) -> bool:
    return not any(pattern(r"\b" + str(w) + r"\b").search(response) for w in kw["forbidden_words"])


@checker("keywords:frequency")
def keyword_frequency(response: str, kw: Mapping[str, Any]) -> bool:
    found = pattern(str(kw["keyword"]).strip()).findall(response)
    return compare(len(found), kw["relation"], int(kw["frequency"]))


@checker("keywords:letter_frequency")
def letter_frequency(response: str, kw: Mapping[str, Any]) -> bool:
    letters = Counter(response.lower())
    letter = str(kw["letter"]).strip().lower()
    return compare(letters[letter], kw["let_relation"], int(kw["let_frequency"]))


# -- language ------------------------------------------------------------------------------


@checker("language:response_language")
def response_language(response: str, kw: Mapping[str, Any]) -> bool:
    detected = detect_language(response)
    # Like the reference, a text whose language cannot be determined is not held against it.
    return detected in (UNDETERMINED, str(kw["language"]))


# -- length_constraints --------------------------------------------------------------------


@checker("length_constraints:nth_paragraph_first_word")
def nth_paragraph_first_word(response: str, kw: Mapping[str, Any]) -> bool:
    paragraphs = re.split(r"\n\n", response)
    count = sum(1 for p in paragraphs if p.strip())
    nth = int(kw["nth_paragraph"])
    if nth > count:
        return False
    paragraph = paragraphs[nth - 1].strip()
    if not paragraph:
        return False
    word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
    first = ""
    for letter in word:
        if letter in {".", ",", "?", "!", "'", '"'}:
            break
        first += letter.lower()
    return count == int(kw["num_paragraphs"]) and first == str(kw["first_word"]).lower()


@checker("length_constraints:number_paragraphs")
def number_paragraphs(response: str, kw: Mapping[str, Any]) -> bool:
    """Paragraphs are separated by the markdown divider ``***``."""
    paragraphs = re.split(r"\s?\*\*\*\s?", response)
    count = len(paragraphs)
    for index, paragraph in enumerate(paragraphs):
        if not paragraph.strip():
            if index in (0, len(paragraphs) - 1):
                count -= 1
            else:
                return False
    return count == int(kw["num_paragraphs"])


@checker("length_constraints:number_sentences")
def number_sentences(response: str, kw: Mapping[str, Any]) -> bool:
    return compare(count_sentences(response), kw["relation"], int(kw["num_sentences"]))


@checker("length_constraints:number_words")
def number_words(response: str, kw: Mapping[str, Any]) -> bool:
    return compare(count_words(response), kw["relation"], int(kw["num_words"]))


# -- punctuation and start/end -------------------------------------------------------------


@checker("punctuation:no_comma")
def no_comma(response: str, kw: Mapping[str, Any]) -> bool:
    return "," not in response


@checker("startend:end_checker")
def end_checker(response: str, kw: Mapping[str, Any]) -> bool:
    return response.strip().strip('"').lower().endswith(str(kw["end_phrase"]).strip().lower())


@checker("startend:quotation")
def quotation(response: str, kw: Mapping[str, Any]) -> bool:
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


# -- strict and loose ------------------------------------------------------------------------


def loose_variants(response: str) -> list[str]:
    """The response and the variants IFEval's loose evaluation also accepts: without its
    first line, its last line, or both, each also with every ``*`` removed."""
    lines = response.split("\n")
    without_first = "\n".join(lines[1:]).strip()
    without_last = "\n".join(lines[:-1]).strip()
    without_both = "\n".join(lines[1:-1]).strip()
    variants = [response, without_first, without_last, without_both]
    return [*variants, *(v.replace("*", "") for v in variants)]


def follows(instruction_id: str, response: str, kwargs: Mapping[str, Any], loose: bool) -> bool:
    """Whether ``response`` follows the instruction (an empty response never does)."""
    check = CHECKERS.get(instruction_id)
    if check is None:
        raise KeyError(f"no checker for IFEval instruction {instruction_id!r}")
    # The reference drops every empty argument (None, "", 0) before building a checker.
    arguments = {k: v for k, v in kwargs.items() if v}
    candidates = loose_variants(response) if loose else [response]
    return any(c.strip() and check(c, arguments) for c in candidates)
