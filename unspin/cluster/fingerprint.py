"""Fingerprints that survive spinning: a canonical token sequence for each text.

A spinner swaps content words for thesaurus synonyms and function words for filler, but
leaves alone what it cannot rewrite: names, numbers, URLs, capitalised words, rare terms.
The canonical form keeps exactly that and makes the rest comparable:

* numbers, URLs, domains and e-mail addresses are kept as they are (``#2010``, ``@example.org``);
* a capitalised word inside a sentence (a name, a title) is kept, case-folded (``^smith``);
* a rare word (Zipf frequency under :data:`RARE_ZIPF`) with no more frequent thesaurus
  synonym is kept (``~tuberculosis``): a spinner has nothing to swap it for;
* a word that paper mills put in for another (``bosom`` for ``breast``, ``misfortune`` for
  ``loss``: the tortured-phrase word pairs of ``lexicons.reverse_spin``, 2+ entries) takes the
  class of the word it stands for;
* any other content word is replaced by its **synonym class**: the word's inflection is
  stripped (``alternatives`` -> ``alternative``) and the thesaurus's "more frequent synonym"
  links are followed to their end (``construct`` -> ``make``, ``metropolis`` -> ``city``),
  so a spun word and the word it replaced often land on the same class;
* function words and the words of known spinner filler (``and you may``, ``brand new``,
  ``you to definitely``) are dropped, so inserted filler leaves no trace.

Each canonical token is a stable 64-bit hash of that form (the same in every process and on
every run), ready for shingling. :func:`fingerprint` also returns each token's character
offsets, which the source restorer uses, and counts the *fixed* tokens (kept literally, not
mapped to a class): the cluster job prefers the member with the most of them as a source.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np

from .. import lexicons
from ..signatures import signatures
from ..wordclasses import FUNCTION_WORDS

#: Words rarer than this (wordfreq Zipf) with no thesaurus synonym are kept literally.
RARE_ZIPF = 3.5

#: Extra closed-class words dropped besides ``unspin.wordclasses.FUNCTION_WORDS`` (pronoun
#: forms, negation, frequent adverbs and auxiliaries spinners add or drop freely).
_MORE_FUNCTION = frozenset(
    "i'm you're we're they're he's she's it's isn't aren't wasn't weren't don't doesn't didn't "
    "can't won't wouldn't couldn't shouldn't hasn't haven't hadn't my mine yours ours theirs "
    "myself yourself himself herself itself ourselves themselves its also very too more most "
    "much then than just only even such really quite rather so thus therefore however moreover "
    "furthermore additionally indeed whether when where why how what whenever while upon s t "
    "get gets got getting make makes made making".split()
)



@cache
def filler_words() -> frozenset[str]:
    """Words of known spinner-filler patterns that are not function words (``brand``,
    ``definitely``, ``keen``): counted as swapped when a source is chosen."""
    filler = set()
    for sig in signatures():
        filler.update(w.lower() for w in sig.pattern)
    return frozenset(filler - FUNCTION_WORDS - _MORE_FUNCTION)


@cache
def dropped_words() -> frozenset[str]:
    """Function words plus every word of a known spinner-filler pattern."""
    filler = set()
    for sig in signatures():
        filler.update(w.lower() for w in sig.pattern)
    return frozenset(FUNCTION_WORDS | _MORE_FUNCTION | filler)


def _stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")


@lru_cache(maxsize=1 << 18)
def token_hash(form: str) -> int:
    """Stable unsigned 64-bit hash of a canonical form (cached)."""
    return _stable_hash(form)


def _lemma(word: str) -> str:
    """The word, or its base form when the word itself is unknown to the thesaurus."""
    th = lexicons.thesaurus()
    if word in th or word in _pos_table():
        return word
    for base, _allowed in lexicons._stems(word):
        if base in th or base in _pos_table():
            return base
    return word


@cache
def _pos_table() -> dict:
    return lexicons._thesaurus_tables()[1]


def _top_synonym(word: str) -> str | None:
    for syn, _z in lexicons.thesaurus().get(word, ()):
        if " " not in syn and "-" not in syn:
            return syn
    return None


def _reverse_spin(word: str) -> str | None:
    """The original a spinner's word clearly stands for in the tortured-phrase word pairs
    (``lexicons.reverse_spin``: seen in 2+ entries, more than any other original), or None."""
    pairs = lexicons.reverse_spin().get(word)
    if not pairs or pairs[0][1] < 2 or (len(pairs) > 1 and pairs[1][1] >= pairs[0][1]):
        return None
    original = pairs[0][0]
    return None if " " in original or original in dropped_words() else original


@lru_cache(maxsize=1 << 17)
def synonym_class(word: str) -> str:
    """The synonym-class representative of a lower-case content word.

    Strip the inflection, then follow the most frequent thesaurus synonym until a word has
    none (each step is to a clearly more frequent word, so the chain ends). Words outside
    the thesaurus are their own class."""
    w = _lemma(word)
    seen = {w}
    while True:
        nxt = _top_synonym(w)
        if nxt is None or nxt in seen:
            return w
        seen.add(nxt)
        w = nxt


@dataclass(frozen=True)
class Fingerprint:
    """The canonical token sequence of one text.

    ``hashes`` (uint64) are the canonical tokens; ``starts``/``ends`` their character offsets
    in the text; ``fixed`` marks tokens kept literally (names, numbers, URLs, rare terms)."""

    hashes: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    fixed: np.ndarray

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def n_fixed(self) -> int:
        return int(self.fixed.sum())


# One pass, cheaper than the full tokeniser: words (a word may hold inner dots, so a domain
# such as "example-brides.org" is one token), numbers, and the punctuation (or line break)
# that ends a sentence; everything else is skipped. URLs and e-mail addresses are looked for
# only in texts that contain "://", "www." or "@" (the slower expression), with the same
# word rule, so both give the same tokens for the same words.
_WORD = r"[^\W\d_]+(?:['’\-.][^\W\d_]+)*"
_NUM = r"\d+(?:[.,:/-]\d+)*"
_END = r"[.!?…:]|\n"
_FAST_RE = re.compile(rf"(?P<word>{_WORD})|(?P<num>{_NUM})|(?P<end>{_END})")
_SCAN_RE = re.compile(
    r"(?P<url>(?:https?://|www\.)[^\s<>\"'()\[\]]*[^\s<>\"'()\[\].,;:!?])"
    # bounded, possessive: 'a_' * n + '@' took quadratic time with an open-ended local part
    r"|(?P<email>[\w.+-]{1,64}+@[\w-]++(?:\.[\w-]++)+)"
    rf"|(?P<word>{_WORD})|(?P<num>{_NUM})|(?P<end>{_END})"
)


def _scanner(text: str) -> re.Pattern:
    return _SCAN_RE if ("://" in text or "www." in text or "@" in text) else _FAST_RE


@lru_cache(maxsize=1 << 18)
def _form(tok: str, sentence_start: bool) -> tuple[str, bool, bool] | None:
    """(canonical form, fixed, swappable) of one word token, or None when it is dropped.
    ``swappable``: the word has a more frequent thesaurus synonym (what a spinner puts in)."""
    if "." in tok or "/" in tok:
        return "@" + tok.lower().rstrip("/"), True, False
    low = tok.lower().replace("’", "'")
    if low in dropped_words() or len(low) < 2:
        return None
    if tok[:1].isupper() and not sentence_start:
        return "^" + low, True, False
    lemma = _lemma(low)
    original = _reverse_spin(low) or _reverse_spin(lemma)
    if original is not None:  # a word papers spin ("bosom" for "breast"): the original's class
        return "=" + synonym_class(original), False, True
    cls = synonym_class(low)
    if cls == lemma and lexicons.zipf(low) < RARE_ZIPF:
        return "~" + lemma, True, False
    return "=" + cls, False, cls != lemma


def canonical_forms(text: str) -> list[tuple[str, int, int, bool, bool]]:
    """``(form, start, end, fixed, swappable)`` for every canonical token of ``text``, in order
    (``swappable``: a content word with a more frequent synonym)."""
    out: list[tuple[str, int, int, bool, bool]] = []
    sentence_start = True
    for m in _scanner(text).finditer(text):
        kind = m.lastgroup
        if kind == "word":
            f = _form(m.group(), sentence_start)
            sentence_start = False
            if f is not None:
                out.append((f[0], m.start(), m.end(), f[1], f[2]))
        elif kind == "end":
            sentence_start = True
        else:
            sentence_start = False
            out.append(("#" + m.group() if kind == "num" else "@" + m.group().lower(), m.start(), m.end(), True, False))
    return out


def stats(forms: list[tuple[str, int, int, bool, bool]], text: str | None = None) -> tuple[int, float]:
    """(fixed tokens, swapped share) of canonical forms: the share of the content words that
    are swappable, counting the words of spinner filler in ``text`` (when given) as swapped
    content words too."""
    fixed = sum(1 for f in forms if f[3])
    content = len(forms) - fixed
    swapped = sum(1 for f in forms if f[4])
    if text is not None:
        fill = filler_words()
        n = sum(1 for m in _FILLER_RE.finditer(text) if m.group().lower() in fill)
        swapped += n
        content += n
    return fixed, (swapped / content if content else 0.0)


_FILLER_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@lru_cache(maxsize=1 << 18)
def _word_hash(tok: str, sentence_start: bool) -> int | None:
    f = _form(tok, sentence_start)
    return None if f is None else token_hash(f[0])


def canonical_hashes(text: str) -> np.ndarray:
    """Just the canonical tokens' hashes (uint64), for signatures (the fast path; the same
    tokens as :func:`canonical_forms`)."""
    out: list[int] = []
    append = out.append
    sentence_start = True
    scanner = _scanner(text)
    if scanner is _FAST_RE:
        for word, num, end in scanner.findall(text):
            if word:
                h = _word_hash(word, sentence_start)
                sentence_start = False
                if h is not None:
                    append(h)
            elif num:
                sentence_start = False
                append(token_hash("#" + num))
            else:
                sentence_start = True
    else:
        for url, email, word, num, end in scanner.findall(text):
            if word:
                h = _word_hash(word, sentence_start)
                sentence_start = False
                if h is not None:
                    append(h)
            elif end:
                sentence_start = True
            else:
                sentence_start = False
                append(token_hash("#" + num if num else "@" + (url or email).lower()))
    return np.array(out, dtype=np.uint64)


def fingerprint(text: str) -> Fingerprint:
    """The :class:`Fingerprint` of ``text`` (linear time; lexicons load on first use)."""
    forms = canonical_forms(text)
    n = len(forms)
    hashes = np.fromiter((token_hash(f[0]) for f in forms), dtype=np.uint64, count=n)
    starts = np.fromiter((f[1] for f in forms), dtype=np.int64, count=n)
    ends = np.fromiter((f[2] for f in forms), dtype=np.int64, count=n)
    fixed = np.fromiter((f[3] for f in forms), dtype=bool, count=n)
    return Fingerprint(hashes, starts, ends, fixed)


def warm_up() -> None:
    """Load the lexicons the fingerprint needs (before forking workers)."""
    fingerprint("Warm-up: the Council in Leeds voted 7 to 2 on a metropolis plan, see example.org.")
