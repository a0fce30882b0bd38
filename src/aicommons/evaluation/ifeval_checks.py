"""IFEval instruction checkers (Zhou et al., 2023), written for this project.

One function per instruction id found in IFEval's ``input_data.jsonl`` (25 ids). Each takes
the response and the instruction's kwargs and says whether the response follows the
instruction. The rules follow the paper's definitions and the reference implementation's
behaviour (regexes for highlights, bullets, sections, placeholders, postscripts; "less than"
is strict, "at least" inclusive). Differences: sentences are counted by a regex splitter
instead of NLTK's punkt, words for capital-word frequency by a regex tokenizer instead of
NLTK's ``word_tokenize``, and the language by `aicommons.evaluation.language` instead of
``langdetect``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from aicommons.evaluation.language import detect_language

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
    return len(re.findall(r"\w+", text))


_ABBREVIATIONS = frozenset(
    [
        *("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e"),
        *("inc", "ltd", "co", "no", "fig", "approx", "dept", "est"),
    ]
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s|$)|\n\s*\n")


def count_sentences(text: str) -> int:
    """Sentences ended by . ! ? (not after common abbreviations or single initials) or by a
    blank line."""
    count, start = 0, 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].strip()
        last = before.split()[-1].lower().rstrip(".") if before.split() else ""
        is_abbreviation = last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())
        if match.group().startswith(".") and is_abbreviation:
            continue
        if before:
            count += 1
        start = match.end()
    if text[start:].strip():
        count += 1
    return count


def word_tokens(text: str) -> list[str]:
    """Words and punctuation marks as separate tokens (like NLTK's word_tokenize)."""
    return re.findall(r"\w+(?:[-']\w+)*|[^\w\s]", text)


# -- change_case ---------------------------------------------------------------------------


@checker("change_case:capital_word_frequency")
def capital_word_frequency(response: str, kw: Mapping[str, Any]) -> bool:
    capitals = [w for w in word_tokens(response) if w.isupper()]
    return compare(len(capitals), kw["capital_relation"], int(kw["capital_frequency"]))


@checker("change_case:english_capital")
def english_capital(response: str, kw: Mapping[str, Any]) -> bool:
    return response.isupper() and detect_language(response) in ("en", "und")


@checker("change_case:english_lowercase")
def english_lowercase(response: str, kw: Mapping[str, Any]) -> bool:
    return response.islower() and detect_language(response) in ("en", "und")


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
    marker = str(kw.get("postscript_marker") or "P.S.")
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + re.escape(marker.lower()) + r".*$"
    return bool(re.findall(pattern, response.lower(), flags=re.MULTILINE))


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
    sections = re.split(r"\s?" + re.escape(splitter) + r"\s?\d+\s?", response)
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
    return all(re.search(re.escape(k), response, flags=re.IGNORECASE) for k in kw["keywords"])


@checker("keywords:forbidden_words")
def forbidden_words(response: str, kw: Mapping[str, Any]) -> bool:
    return not any(
        re.search(r"\b" + re.escape(w) + r"\b", response, flags=re.IGNORECASE)
        for w in kw["forbidden_words"]
    )


@checker("keywords:frequency")
def keyword_frequency(response: str, kw: Mapping[str, Any]) -> bool:
    found = re.findall(re.escape(str(kw["keyword"])), response, flags=re.IGNORECASE)
    return compare(len(found), kw["relation"], int(kw["frequency"]))


@checker("keywords:letter_frequency")
def letter_frequency(response: str, kw: Mapping[str, Any]) -> bool:
    letters = Counter(response.lower())
    return compare(letters[str(kw["letter"]).lower()], kw["let_relation"], int(kw["let_frequency"]))


# -- language ------------------------------------------------------------------------------


@checker("language:response_language")
def response_language(response: str, kw: Mapping[str, Any]) -> bool:
    detected = detect_language(response)
    # Like IFEval, a text whose language cannot be determined is not held against it.
    return detected == "und" or detected == str(kw["language"])


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
    arguments = {k: v for k, v in kwargs.items() if v is not None}
    candidates = loose_variants(response) if loose else [response]
    return any(c.strip() and check(c, arguments) for c in candidates)
