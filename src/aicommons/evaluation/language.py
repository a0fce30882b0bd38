"""A small language identifier for IFEval's language checks, written for this project.

IFEval uses ``langdetect``; this module answers the same question ("is this text in language
X?") without a dependency: the dominant Unicode script settles most languages (Kannada,
Tamil, Thai, Korean ...), and within a script shared by several languages (Latin,
Devanagari, Arabic, Cyrillic) the language whose common function words and distinctive
letters occur most wins. It knows the languages IFEval asks for plus the major European
ones; texts it cannot place get ``"und"``.
"""

# ruff: noqa: RUF001, E501 - word lists: Cyrillic on purpose, one language a line
from __future__ import annotations

import unicodedata
from collections import Counter

# Scripts that belong to one language in practice.
_SINGLE_SCRIPT = {
    "BENGALI": "bn",
    "GURMUKHI": "pa",
    "GUJARATI": "gu",
    "TAMIL": "ta",
    "TELUGU": "te",
    "KANNADA": "kn",
    "MALAYALAM": "ml",
    "THAI": "th",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "GREEK": "el",
    "HEBREW": "he",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "CJK": "zh",
}

# Frequent function words per language, by script.
_WORD_LISTS: dict[str, dict[str, str]] = {
    "LATIN": {
        "en": "the and of to a in is that it for was on are with as be this have not you by or at from but they his her which an will can",
        "de": "der die das und ist nicht ein eine zu den mit von sich auf für ich sie es dem des auch wir ihr werden wird sind",
        "fr": "le la les et est un une des du de en que qui pas pour dans sur au avec ce sont nous vous il elle",
        "es": "el la los las y es un una de que en por con para no se del al lo como más pero sus está son",
        "it": "il lo la gli le e è un una di che in per con non si del della sono come ma anche al alla questo",
        "pt": "o a os as e é um uma de que em para com não se do da dos das no na por mais como ao são",
        "nl": "de het een en is van in dat niet op te met voor zijn er aan ook maar",
        "vi": "và là của có không một những các được cho trong người này với để đã khi như từ thì",
        "sw": "na ya wa kwa ni za la katika kuwa hii cha au lakini pia kama yake vya mimi wewe sisi",
        "fi": "ja on ei se että oli hän mutta kun myös ovat tai niin kuin joka mitä olen tämä",
        "id": "dan yang di ini itu dengan untuk tidak dari dalam akan ada",
        "tr": "ve bir bu da de için ile çok ne ama gibi daha olan",
        "pl": "i w nie na się z że do to jest jak po tak ale",
        "sv": "och är att det som en på av för med inte den har jag",
    },
    "DEVANAGARI": {
        "hi": "है और के में की को से का हैं यह एक भी नहीं था कि पर",
        "mr": "आहे आणि या व च्या हे ते की आहेत होते मी नाही करून त्या",
        "ne": "छ र को मा हो यो पनि गर्न थियो छन् लाई भएको हुन्छ",
    },
    "ARABIC": {
        "ar": "في من على إلى أن هذا التي الذي عن مع كان هذه لا ما",
        "fa": "و در به از که این را با است برای آن یک می‌شود",
        "ur": "کے میں کی ہے اور کو سے کا یہ ہیں نے تھا",
    },
    "CYRILLIC": {
        "ru": "и в не на что с по это как он она они но из его для",
        "bg": "и в на се да е за от не са че с като това към",
        "uk": "і в на що не з це як та до він вона але",
    },
}

_WORDS = {
    script: {lang: frozenset(words.split()) for lang, words in langs.items()}
    for script, langs in _WORD_LISTS.items()
}

# Letters that only one language of a shared script uses.
_LETTERS: dict[str, dict[str, str]] = {
    "LATIN": {"vi": "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ", "de": "ß"},
    "ARABIC": {"fa": "پچژگی", "ur": "ٹڈڑںےھ"},
    "CYRILLIC": {"ru": "ыэё", "uk": "їєі"},
}


def _strip_punctuation(word: str) -> str:
    """Drop leading and trailing punctuation and symbols (not vowel signs, which are marks)."""
    start, end = 0, len(word)
    while start < end and unicodedata.category(word[start])[0] in "PSN":
        start += 1
    while end > start and unicodedata.category(word[end - 1])[0] in "PSN":
        end -= 1
    return word[start:end]


def script_of(char: str) -> str | None:
    """The first word of the character's Unicode name (LATIN, DEVANAGARI ...)."""
    if not char.isalpha():
        return None
    try:
        name = unicodedata.name(char)
    except ValueError:
        return None
    return name.split(" ")[0]


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or ``"und"`` when it cannot be told."""
    scripts = Counter(s for s in map(script_of, text) if s is not None)
    if not scripts:
        return "und"
    script = scripts.most_common(1)[0][0]
    if script in _SINGLE_SCRIPT:
        return _SINGLE_SCRIPT[script]
    candidates = _WORDS.get(script)
    if candidates is None:
        return "und"
    # Split on spaces only: a regex \w would cut words at Indic vowel signs.
    words = [_strip_punctuation(w).lower() for w in text.split()]
    scores = Counter({lang: sum(w in vocab for w in words) for lang, vocab in candidates.items()})
    for lang, letters in _LETTERS.get(script, {}).items():
        scores[lang] += 3 * sum(ch in letters for ch in text.lower())
    best, score = scores.most_common(1)[0]
    return best if score > 0 else "und"
