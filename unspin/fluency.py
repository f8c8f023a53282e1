"""Evidence that does not depend on one spinner's wording: how English the word pairs are,
and the mechanical glitches that rewriting tools leave.

A spinner swaps words one at a time from a synonym list, without looking at the words around
them. Whatever list it used, two things follow: fewer adjacent word pairs are pairs that
English writers use ("area unit" for "are", "mistreatment the" for "using the"), and the
rewrite leaves glitches a person rarely types (a space before a comma, "a" before a vowel
after "an" was swapped out, a capitalised common word mid-sentence, unresolved template
braces). These statistics are computed here; :mod:`unspin.features` adds them to the
document features under the names in :data:`FEATURES`.

The word-pair table (``data/bigrams.bin``, built by ``scripts/build_bigrams.py``) holds no
text: a CRC-32 hash of each pair seen at least twice in permissively licensed reference text
(UD train splits, WordNet glosses, CoInCo; see NOTICE), with a log2 count. It is loaded once,
lazily, and its header is checked.
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from array import array
from bisect import bisect_left
from importlib import resources
from typing import Iterator, Sequence

from .errors import UnspinError
from .tokenize import Token
from .wordclasses import FUNCTION_WORDS

FORMAT = 1

#: Feature names and what each measures (merged into :data:`unspin.features.FEATURES`).
FEATURES: dict[str, str] = {
    "pair_common": "share of adjacent word pairs that are common English pairs (seen in the reference text)",
    "pair_common_fc": "the same, over pairs of a function word and a content word ('the equivalent', 'mistreatment the')",
    "pair_logcount": "mean log2 reference count of adjacent word pairs (unseen pairs count -1)",
    "article_clash": "'a' before a vowel sound or 'an' before a consonant, per 100 words",
    "doubled_words": "the same word twice in a row ('the the'), per 100 words",
    "mid_caps": "a lone capitalised common word inside a sentence ('Get together A'), per 100 words",
    "lower_start": "share of sentences that start with a lower-case letter",
    "braces": "log(1 + curly braces and pipes between words) per 100 words",
    "fw_profile": "Hellinger distance of the function-word mix from English's (wordfreq)",
}


@functools.cache
def _table() -> tuple[array, bytes, dict]:
    try:
        raw = resources.files("unspin").joinpath("data/bigrams.bin").read_bytes()
    except FileNotFoundError:
        raise UnspinError("the word-pair table is missing; rebuild it with: python scripts/build_bigrams.py") from None
    head, _, body = raw.partition(b"\n")
    parts = head.decode("ascii", "replace").split(" ", 2)
    if len(parts) != 3 or parts[0] != "unspin-bigrams" or parts[1] != f"format={FORMAT}":
        raise UnspinError(f"data/bigrams.bin has header {head[:40]!r}, expected format {FORMAT}; "
                          "rebuild it with scripts/build_bigrams.py")
    meta = json.loads(parts[2])
    payload = zlib.decompress(body)
    n = meta["kept"]
    if len(payload) != 5 * n:
        raise UnspinError("data/bigrams.bin is inconsistent (payload size); rebuild it with scripts/build_bigrams.py")
    hashes = array("I")
    hashes.frombytes(payload[: 4 * n])
    if hashes.itemsize != 4:
        raise UnspinError("this platform has no 4-byte unsigned array type for the word-pair table")
    import sys

    if sys.byteorder != "little":
        hashes.byteswap()
    return hashes, payload[4 * n:], meta


def provenance() -> dict:
    """The word-pair table's header (sources, their hashes, counts)."""
    return _table()[2]


def pair_key(a: str, b: str) -> int:
    """The table's key for the word pair ``a b`` (lower-cased words)."""
    return zlib.crc32(f"{a} {b}".encode("utf-8"))


def _adjacent(text: str, a: Token, b: Token) -> bool:
    """Whether only spaces (no line break, at most two) sit between tokens ``a`` and ``b``."""
    gap = b.start - a.end
    return gap <= 2 and (gap == 0 or text[a.end:b.start].strip(" ") == "")


def word_pairs(text: str, toks: Sequence[Token]) -> Iterator[tuple[str, str]]:
    """Adjacent word tokens (:func:`_adjacent`), lower-cased."""
    prev = None
    for t in toks:
        if t.kind != "word":
            prev = None
            continue
        if prev is not None and _adjacent(text, prev, t):
            yield prev.lower, t.lower
        prev = t


def pair_count(a: str, b: str) -> int:
    """log2 bucket of the pair's reference count, or -1 when the pair is not a common one."""
    hashes, buckets, _ = _table()
    h = pair_key(a, b)
    i = bisect_left(hashes, h)
    return buckets[i] if i < len(hashes) and hashes[i] == h else -1


#: Words spelt with a vowel letter that start with a consonant sound, and the reverse
#: (spelling facts of English, not learned from any page).
_VOWEL_LETTER_CONSONANT_SOUND = ("uni", "use", "usu", "uti", "ure", "eu", "one", "once", "ubiq", "uk", "us-", "ufo", "uganda", "ukr", "ura")
_CONSONANT_LETTER_VOWEL_SOUND = ("hour", "honest", "honor", "honour", "heir", "herb")


def _vowel_sound(word: str) -> bool | None:
    w = word.lower()
    if len(w) < 2 or not w.isalpha():
        return None  # initials, numbers, "a / b": letters are read by name
    if w.startswith(_CONSONANT_LETTER_VOWEL_SOUND):
        return True
    if w.startswith(_VOWEL_LETTER_CONSONANT_SOUND):
        return False
    return w[0] in "aeiou"


#: Tokens after which a capital letter is normal: quotes, brackets, colons, dashes, bullets.
_OPENERS = frozenset(':;"“”\'‘’([{-–—•*/|>')


@functools.cache
def _fw_reference() -> dict[str, float]:
    from wordfreq import word_frequency

    f = {w: word_frequency(w, "en") for w in sorted(FUNCTION_WORDS)}
    s = sum(f.values())
    return {w: v / s for w, v in f.items()}


def compute(text: str, toks: Sequence[Token], zipf) -> dict[str, float]:
    """The statistics in :data:`FEATURES` for one tokenised text. ``zipf`` is the word
    frequency function (cached by the caller's lexicons)."""
    hashes, buckets, _ = _table()
    nh = len(hashes)
    pairs = seen = fc = fc_seen = 0
    logsum = 0.0
    for a, b in word_pairs(text, toks):
        h = zlib.crc32(f"{a} {b}".encode("utf-8"))
        i = bisect_left(hashes, h)
        c = buckets[i] if i < nh and hashes[i] == h else -1
        pairs += 1
        logsum += c
        hit = c >= 0
        seen += hit
        if (a in FUNCTION_WORDS) != (b in FUNCTION_WORDS):
            fc += 1
            fc_seen += hit
    words = [t for t in toks if t.kind == "word"]
    nw = max(len(words), 1)
    per100 = 100.0 / nw

    clash = doubled = mid_caps = 0
    fw_counts: dict[str, int] = {}
    sent_start = True
    starts = lower_starts = 0
    prev: Token | None = None  # the previous token when it is an adjacent word
    last: Token | None = None
    n = len(toks)
    for k, t in enumerate(toks):
        if last is not None and "\n" in text[last.end:t.start]:
            sent_start, prev = True, None  # a line break ends a title, a list item, a paragraph
        last = t
        if t.kind != "word":
            if t.text in ".!?":
                sent_start = True
            prev = None
            continue
        lw = t.lower
        if lw in FUNCTION_WORDS:
            fw_counts[lw] = fw_counts.get(lw, 0) + 1
        if sent_start:
            starts += 1
            if t.text[0].islower() and k > 0:
                lower_starts += 1
        elif (len(t.text) > 2 and t.text[0].isupper() and t.text[1:].islower()
              and k > 0 and toks[k - 1].text not in _OPENERS and not toks[k - 1].text[0].isupper()
              and not (k + 1 < n and toks[k + 1].kind == "word" and toks[k + 1].text[0].isupper())
              and zipf(lw) >= 4.5):
            mid_caps += 1
        if prev is not None and _adjacent(text, prev, t):
            pl = prev.lower
            if pl == lw and lw not in ("had", "that", "is"):
                doubled += 1
            if prev.text in ("a", "an"):
                v = _vowel_sound(t.text)
                if v is not None and (v if pl == "a" else not v):
                    clash += 1
        sent_start = False
        prev = t
    ref = _fw_reference()
    nf = sum(fw_counts.values())
    if nf:
        bc = sum(math.sqrt(p * fw_counts.get(w, 0) / nf) for w, p in ref.items())
        fw = math.sqrt(max(0.0, 1.0 - bc))
    else:
        fw = 0.0
    braces = sum(text.count(c) for c in "{}|")
    return {
        "pair_common": seen / pairs if pairs else 0.0,
        "pair_common_fc": fc_seen / fc if fc else 0.0,
        "pair_logcount": logsum / pairs if pairs else 0.0,
        "article_clash": clash * per100,
        "doubled_words": doubled * per100,
        "mid_caps": mid_caps * per100,
        "lower_start": lower_starts / starts if starts else 0.0,
        "braces": math.log1p(braces * per100),
        "fw_profile": fw,
    }
