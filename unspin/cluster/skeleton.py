"""The skeleton of a text: what a word-for-word spinner leaves standing.

A spinner swaps content words one for one (sometimes one for two): "a digital asset designed
to work as a medium of exchange" becomes "a computerized resource intended to function as a
medium of trade". The canonical form (:mod:`.fingerprint`) joins the two only where the
thesaurus chain does; heavy spins (tortured science, spinbot) rewrite most content words
outside it. What survives is the frame around them: function words, punctuation, numbers,
names. The skeleton keeps exactly that and writes every run of content words as one
placeholder ``X``::

    a X to X as a X of X          (both texts above)

so a one-for-two swap leaves it unchanged. Each placeholder carries a 64-bit mask of its
words' canonical classes (one bit per class), so an alignment can also count the content
words that agree.

The skeleton alone is generic ("X of the X"), so two texts are joined on it only by a long,
dense aligned region or by most of the shorter text aligning, *and* some content agreeing
inside the aligned runs (:func:`skeleton_evidence`; the rule is in :mod:`.verify`).

Document tokens travel as one uint64 array (:func:`pack`): the canonical tokens, then
:data:`MARK`, then the skeleton tokens, then their masks. An array without the mark is a
plain canonical token array (what callers built before the skeleton existed); it has an
empty skeleton and is verified by canonical containment alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache, lru_cache

import numpy as np

from ..wordclasses import FUNCTION_WORDS
from .fingerprint import _MORE_FUNCTION, _WORD, _form, canonical_hashes, token_hash

#: Separates the canonical tokens from the skeleton in a packed document array.
MARK = np.uint64(0xFFFFFFFFFFFFFFFF)

_PLACEHOLDER = token_hash("%X")
_NUMBER = token_hash("%#")
_STOP = token_hash("%.")

_SKEL_RE = re.compile(rf"(?P<word>{_WORD})|(?P<num>\d+(?:[.,:/-]\d+)*)|(?P<punct>[.!?…:;,()\"“”\n])")


@cache
def frame_words() -> frozenset[str]:
    """Closed-class words kept literally in the skeleton (function words, pronoun forms,
    negations, frequent adverbs). Light verbs (``get``, ``make``) are content: spinners swap
    them."""
    light = {"get", "gets", "got", "getting", "make", "makes", "made", "making"}
    return frozenset((FUNCTION_WORDS | _MORE_FUNCTION) - light)


@lru_cache(maxsize=1 << 18)
def _word(tok: str, sentence_start: bool) -> tuple[int, int]:
    """(skeleton token, class mask) of one word: a frame word or a name is itself (mask 0);
    any other word is the placeholder with the bit of its canonical class (0 when dropped)."""
    low = tok.lower().replace("’", "'")
    if low in frame_words():
        return token_hash("%" + low), 0
    if "." in tok or (tok[:1].isupper() and not sentence_start):
        return token_hash("%^" + low), 0
    f = _form(tok, sentence_start)
    return _PLACEHOLDER, (0 if f is None else 1 << (token_hash(f[0]) & 63))


def skeleton(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, masks) of the skeleton of ``text``, both uint64: frame words, names
    (capitalised inside a sentence), ``#`` for a number, punctuation (``.`` for any sentence
    end or line break, repeats collapsed), ``X`` for each run of other words."""
    toks: list[int] = []
    masks: list[int] = []
    start = True
    for word, num, punct in _SKEL_RE.findall(text):
        if word:
            t, m = _word(word, start)
            start = False
            if t == _PLACEHOLDER and toks and toks[-1] == _PLACEHOLDER:
                masks[-1] |= m
                continue
        elif num:
            t, m = _NUMBER, 0  # a citation marker after a full stop leaves the sentence start
        else:
            if punct in ".!?…:\n":
                start = True
                t = _STOP
                if toks and toks[-1] == _STOP:
                    continue
            else:
                t = token_hash("%" + punct)
            m = 0
        toks.append(t)
        masks.append(m)
    return np.array(toks, dtype=np.uint64), np.array(masks, dtype=np.uint64)


# ----------------------------------------------------------------------------- packing

_MARK_ARRAY = np.array([MARK], dtype=np.uint64)


def pack(canonical: np.ndarray, skel: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return np.concatenate([canonical.astype(np.uint64, copy=False), _MARK_ARRAY,
                           skel.astype(np.uint64, copy=False), masks.astype(np.uint64, copy=False)])


def reference_tokens(text: str) -> np.ndarray:
    """The packed document array of ``text`` (canonical tokens, :data:`MARK`, skeleton) by the
    two reference scans, one word at a time. :func:`unspin.cluster.tokens.document_tokens`
    gives the same array in one vectorised pass (what the pipeline uses)."""
    return pack(canonical_hashes(text), *skeleton(text))


def unpack(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(canonical tokens, skeleton tokens, masks) of a packed array; a plain canonical
    array (no mark) has an empty skeleton."""
    hit = np.flatnonzero(tokens == MARK)
    if len(hit) == 0:
        empty = np.zeros(0, dtype=np.uint64)
        return tokens, empty, empty
    k = int(hit[-1])  # canonical hashes never equal MARK in practice; the last mark is ours
    rest = tokens[k + 1:]
    n = len(rest) // 2
    return tokens[:k], rest[:n], rest[n:]


def canonical_part(tokens: np.ndarray) -> np.ndarray:
    return unpack(tokens)[0]


# ----------------------------------------------------------------------------- alignment

@dataclass(frozen=True)
class SkeletonEvidence:
    """How two skeletons line up: ``share`` is the matched share of the shorter skeleton
    (runs of ``min_run``+ tokens), ``region`` the matched tokens of the best region (runs
    whose gaps on both sides are at most ``gap`` tokens), ``content`` the placeholders in
    matched runs whose words share a canonical class."""

    share: float
    region: int
    content: int
    matched: int


NO_EVIDENCE = SkeletonEvidence(0.0, 0, 0, 0)


def skeleton_evidence(a: np.ndarray, ma: np.ndarray, b: np.ndarray, mb: np.ndarray,
                      min_run: int = 3, gap: int = 6) -> SkeletonEvidence:
    la, lb = len(a), len(b)
    if la == 0 or lb == 0:
        return NO_EVIDENCE
    sm = SequenceMatcher(None, a.tolist(), b.tolist(), autojunk=False)
    matched = region = best = content = 0
    prev = None
    for i, j, n in sm.get_matching_blocks():
        if n < min_run:
            continue
        matched += n
        content += int(np.count_nonzero(ma[i: i + n] & mb[j: j + n]))
        if prev is not None and i - prev[0] <= gap and j - prev[1] <= gap:
            region += n
        else:
            region = n
        prev = (i + n, j + n)
        best = max(best, region)
    return SkeletonEvidence(matched / min(la, lb), best, content, matched)
