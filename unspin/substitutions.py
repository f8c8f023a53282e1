"""Content-word evidence: tortured phrases and thesaurus substitutions.

* Tortured phrases are exact multi-word entries of the Problematic Paper Screener lists
  ("counterfeit consciousness" -> "artificial intelligence"): strong evidence.
* Reverse-spin pairs are word pairs learned from those phrase pairs ("profound" -> "deep").
* Thesaurus substitutions are words (or multiword lemmas like "family unit") that have a far
  more common synonym: a spinner swapping from a thesaurus moves text toward rarer words.
  One by one these are weak evidence (honest writers use rare words too); their *rate* over
  a document is what the scorer uses.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

from . import lexicons
from .report import Span
from .tokenize import Token, match_case
from .wordclasses import FUNCTION_WORDS


@functools.cache
def _tortured_lengths() -> dict[str, tuple[int, ...]]:
    """First word -> the phrase lengths (longest first) that start with it."""
    lengths: dict[str, set[int]] = {}
    for key in lexicons.tortured_phrases():
        lengths.setdefault(key[0], set()).add(len(key))
    return {w: tuple(sorted(ls, reverse=True)) for w, ls in lengths.items()}


@functools.cache
def _multiword_firsts() -> frozenset[str]:
    return frozenset(k.split(" ", 1)[0] for k in lexicons.thesaurus() if " " in k)


def find_tortured(text: str, toks: Sequence[Token]) -> list[Span]:
    """Exact tortured-phrase matches over consecutive word tokens (longest first)."""
    table = lexicons.tortured_phrases()
    lengths = _tortured_lengths()
    n = len(toks)
    lows = [t.lower if t.kind == "word" else None for t in toks]
    # run[i]: how many word tokens in a row start at i (a phrase never crosses punctuation)
    run = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        run[i] = run[i + 1] + 1 if lows[i] is not None else 0
    spans: list[Span] = []
    i = 0
    while i < n:
        hit = None
        for L in lengths.get(lows[i], ()) if lows[i] is not None else ():
            if L <= run[i]:
                entry = table.get(tuple(lows[i:i + L]))
                if entry is not None:
                    hit = (L, entry)
                    break
        if hit is None:
            i += 1
            continue
        L, entry = hit
        start, end = toks[i].start, toks[i + L - 1].end
        observed = text[start:end]
        conf = 0.9 if (entry.num_papers or 0) >= 10 else 0.8
        spans.append(Span(start, end, observed, "tortured_phrase", match_case(entry.original, observed), conf, f"tortured:{entry.id}"))
        i += L
    return spans


@dataclass
class SubstitutionStats:
    """Per-document rates used by the scorer (see :mod:`unspin.features`)."""

    content_words: int = 0
    thesaurus_hits: int = 0
    thesaurus_gap_sum: float = 0.0
    reverse_spin_hits: int = 0
    multiword_hits: int = 0


def _is_content(tok: Token, prev: Token | None) -> bool:
    if tok.kind != "word" or len(tok.text) < 3:
        return False
    if tok.lower in FUNCTION_WORDS:
        return False
    # names: capitalised mid-sentence
    if tok.text[:1].isupper() and prev is not None and prev.text not in {".", "!", "?", "“", '"', ":"}:
        return False
    return True


def find_substitutions(text: str, toks: Sequence[Token], skip: set[int]) -> tuple[list[Span], SubstitutionStats]:
    """Weak single-site evidence: rare words (or multiword lemmas) with a far more common
    synonym, and words on the reverse-spin table. Tokens in ``skip`` (already explained by
    a stronger span) are not considered."""
    thes = lexicons.thesaurus()
    rev = lexicons.reverse_spin()
    mw_firsts = _multiword_firsts()
    stats = SubstitutionStats()
    spans: list[Span] = []
    seen: set[str] = set()  # rates count word types: an honest rare word repeated is one choice
    n = len(toks)
    i = 0
    while i < n:
        t = toks[i]
        prev = toks[i - 1] if i else None
        if i in skip or not _is_content(t, prev):
            i += 1
            continue
        new_type = t.lower not in seen
        seen.add(t.lower)
        stats.content_words += new_type
        # multiword lemma first ("family unit" -> "family")
        if t.lower in mw_firsts:
            mw = _multiword_at(text, toks, i, skip, thes)
            if mw is not None:
                span, length = mw
                stats.multiword_hits += new_type
                spans.append(span)
                i += length
                continue
        w = t.lower
        zw = lexicons.zipf(w)
        conf = 0.0
        best = None
        rule = ""
        cands = thes.get(w)
        if cands:
            c, cz = cands[0]
            gap = cz - zw
            if gap >= 1.0 and new_type:
                stats.thesaurus_hits += 1
                stats.thesaurus_gap_sum += gap
            if gap >= 1.0:
                conf = min(0.1 + 0.1 * gap, 0.5)
                best, rule = c, f"thesaurus:{w}->{c}"
        rs = rev.get(w)
        if rs:
            stats.reverse_spin_hits += new_type
            orig, support = rs[0]
            rconf = min(0.15 + 0.08 * math.log2(1 + support), 0.6) * (0.6 if zw > 4.5 else 1.0)
            if rconf > conf:
                conf, best, rule = rconf, orig, f"reverse_spin:{w}->{orig}"
        if best is not None:
            spans.append(Span(t.start, t.end, t.text, "substitution", match_case(best, t.text), conf, rule))
        i += 1
    return spans, stats


def _multiword_at(text, toks, i, skip, thes) -> tuple[Span, int] | None:
    n = len(toks)
    for L in (3, 2):
        if i + L > n or any(toks[k].kind != "word" or k in skip for k in range(i, i + L)):
            continue
        phrase = " ".join(toks[k].lower for k in range(i, i + L))
        cands = thes.get(phrase)
        if not cands:
            continue
        best, bz = cands[0]
        gap = bz - lexicons.zipf(phrase)
        if gap < 0.5:  # wordfreq estimates phrase frequencies generously: a smaller gap counts
            continue
        start, end = toks[i].start, toks[i + L - 1].end
        observed = text[start:end]
        conf = min(0.25 + 0.1 * gap, 0.6)
        return Span(start, end, observed, "substitution", match_case(best, observed), conf, f"thesaurus:{phrase}->{best}"), L
    return None
