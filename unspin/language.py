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
    """Share of lower-case word tokens that are common English words (zipf >= 2.5).

    Capitalised words are left out (names, sentence starts, German nouns carry no signal).
    Honest English scores about 0.9 or more; text in another language far less, though
    words shared with English ("in", "die", "hat") keep it above zero.
    """
    from .lexicons import zipf

    n = known = 0
    for t in words:
        if t.text[:1].isupper():
            continue
        n += 1
        if zipf(t.lower) >= 2.5:
            known += 1
    return known / n if n else 1.0


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
