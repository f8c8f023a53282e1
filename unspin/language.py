"""Is this English? A cheap word-list share first; lingua names the language only when the
share is low (so English documents never pay for the language model)."""

from __future__ import annotations

import functools
from typing import Sequence

from .tokenize import Token

#: Languages lingua chooses among when naming a non-English text (a small set keeps it fast).
LINGUA_LANGUAGES = (
    "ENGLISH", "GERMAN", "FRENCH", "SPANISH", "PORTUGUESE", "ITALIAN", "DUTCH", "BOKMAL", "SWEDISH",
    "DANISH", "POLISH", "RUSSIAN", "TURKISH", "INDONESIAN", "CHINESE", "JAPANESE", "ARABIC", "KOREAN",
)


def english_share(words: Sequence[Token]) -> float:
    """Share of word tokens known to the English word list (names count as known)."""
    from .lexicons import zipf

    n = known = 0
    for t in words:
        n += 1
        w = t.lower
        if t.text[:1].isupper() and t.text[:1].isascii():
            known += 1  # names and sentence starts: no signal
        elif zipf(w) >= 1.0:
            known += 1
    return known / n if n else 0.0


@functools.cache
def _detector():
    from lingua import Language, LanguageDetectorBuilder

    langs = [getattr(Language, name) for name in LINGUA_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*langs).build()


def name_language(text: str) -> str | None:
    """The most likely language of ``text`` (title case, e.g. 'German'), or None."""
    sample = text[:3000]
    lang = _detector().detect_language_of(sample)
    return None if lang is None else lang.name.title()
