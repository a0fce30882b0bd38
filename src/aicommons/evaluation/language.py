"""Language identification for IFEval's language checks: `langdetect`, as the reference uses.

langdetect samples n-grams at random; the generator is seeded with 0 before every call so
that one text always gets one answer (lm-evaluation-harness leaves it unseeded, so its
verdict on a borderline text can change from run to run; its agreement test seeds it the
same way). A text with nothing langdetect can use (no letters) gets ``UNDETERMINED``.
"""

from __future__ import annotations

import threading

from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException

UNDETERMINED = "und"
SEED = 0
# langdetect loads its profiles into a process-wide factory on first use; one caller at a time.
_lock = threading.Lock()


def detect_language(text: str) -> str:
    """langdetect's language code for ``text`` (``en``, ``fr``, ``zh-cn`` ...), or
    ``"und"`` when langdetect cannot tell."""
    with _lock:
        DetectorFactory.seed = SEED
        try:
            return str(detect(text))
        except LangDetectException:
            return UNDETERMINED
