"""Injected spam: link anchors, bare domains, URL slugs and foreign-language fragments
dropped into English prose ("...after the lane opens bestcheapflights-deals.net reisetilbud.").

A link in honest web text usually sits in its own clause ("visit example.org for details",
"(see example.org)"); an injected anchor sits *inside* a phrase, between two words that
belonged together. Foreign fragments are runs of words that are rare in English but common in
another language (by wordfreq's per-language frequencies), outside quotes and names.
"""

from __future__ import annotations

import functools
import re
from typing import Sequence

from .budget import checkpoint
from .report import Span
from .tokenize import Token

#: Languages whose word lists are consulted for foreign fragments (wordfreq codes). Kept small:
#: each list costs a one-time load. These are the languages spam networks target most in
#: English-language pages we know of (Scandinavian, West-European, Polish, Indonesian, Turkish).
FOREIGN_LANGS = ("nb", "da", "sv", "de", "nl", "es", "pt", "fr", "it", "pl", "id", "tr")

_TLDS = frozenset(
    """com org net info biz io co us uk de ru fr it es nl no se dk fi pl pt br ca au in jp cn kr xyz online site
    top club shop store app dev me tv cc eu asia mobi pro name ws ly gl to vip love dating life live world news
    blog link click space website fun icu one tech cz sk hu ro gr tr ua by kz ch at be ie nz za mx ar cl pe""".split()
)
_INTRO_WORDS = frozenset(
    "at visit see on from to via by into website site url link address www go check read email contact".split()
)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+){3,}$")  # four or more parts: "best-mail-order-brides"
_NON_LATIN = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u0590-\u05ff\u0e00-\u0e7f\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")


# Bounded (issue 11): both caches are keyed by words from the input.
@functools.lru_cache(maxsize=1 << 16)
def _zipf_en(word: str) -> float:
    from .lexicons import zipf

    return zipf(word)


@functools.lru_cache(maxsize=1 << 16)
def foreign_language_of(word: str) -> str | None:
    """The language ``word`` most likely belongs to if it is clearly not English, else None."""
    w = word.lower()
    if len(w) < 3 or not w.isalpha():
        return None
    if _NON_LATIN.search(w):
        return "non-latin"
    en = _zipf_en(w)
    if en >= 3.5:
        return None
    from wordfreq import zipf_frequency

    best, lang = 0.0, None
    for code in FOREIGN_LANGS:
        z = zipf_frequency(w, code, wordlist="small")
        if z > best:
            best, lang = z, code
    if best >= 3.0 and best - en >= 2.5:
        return lang
    return None


def _unknown_word(tok: Token) -> bool:
    w = tok.text
    return tok.kind == "word" and len(w) >= 4 and w.isalpha() and w.islower() and _zipf_en(w) < 1.0


def _domain_ok(tok: Token) -> bool:
    if tok.kind in ("url", "email"):
        return True
    if tok.kind != "domain":
        return False
    host = tok.text.split("/", 1)[0].rstrip(".").lower()
    tld = host.rsplit(".", 1)[-1]
    return tld in _TLDS


def _is_slug(tok: Token) -> bool:
    if tok.kind != "word" or tok.text.count("-") < 3 or not _SLUG.match(tok.text.lower()):
        return False
    # dictionary compounds ("state-of-the-art", "run-of-the-mill") are WordNet lemmas
    from .lexicons import word_pos

    return not word_pos(tok.text.lower())


def _embedded(toks: Sequence[Token], i: int, j: int) -> bool:
    """True if tokens i..j-1 sit between two words of one clause with no punctuation around."""
    if i == 0 or j >= len(toks):
        return False
    p, n = toks[i - 1], toks[j]
    if p.kind != "word" or n.kind not in ("word", "num"):
        return False
    if p.lower in _INTRO_WORDS:
        return False
    return True


def find_injected(text: str, toks: Sequence[Token], detect_foreign: bool = True) -> tuple[list[Span], set[int]]:
    """Find injected anchors and foreign fragments.

    Returns the spans and the set of token indices they cover (so later stages can read
    the prose around them as if they were not there).
    """
    spans: list[Span] = []
    covered: set[int] = set()
    n = len(toks)
    foreign: list[str | None] = [None] * n
    if detect_foreign:
        for k, t in enumerate(toks):
            if not k & 4095:
                checkpoint("the foreign-fragment finder")
            if t.kind == "word" and not _quoted(text, t):
                # a capitalised word is probably a name (or a sentence start): leave it
                if t.text[:1].isupper() and not _NON_LATIN.search(t.text):
                    continue
                foreign[k] = foreign_language_of(t.text)

    k = 0
    while k < n:
        t = toks[k]
        if _domain_ok(t) or _is_slug(t):
            # the anchor may carry words of another language right after it
            j = k + 1
            emb = _embedded(toks, k, j)
            rule = "anchor:" + ("url" if t.kind == "url" else "email" if t.kind == "email" else "slug" if t.kind == "word" else "domain")
            conf = 0.9 if emb else 0.5
            if t.kind == "word":  # slug
                conf = 0.8 if emb else 0.6
            spans.append(Span(t.start, t.end, t.text, "injected_anchor", "", conf, rule + (":embedded" if emb else "")))
            covered.add(k)
            # a word unknown to English right after the anchor is its anchor text in another
            # language even when our word lists miss it ("... bestsite.net reisetilbud.")
            if j < n and not foreign[j] and _unknown_word(toks[j]):
                foreign[j] = "unknown"
            k = j
            continue
        if foreign[k]:
            j = k
            while j < n and foreign[j]:
                j += 1
            near_anchor = (k > 0 and (k - 1) in covered) or (j < n and (_domain_ok(toks[j]) or _is_slug(toks[j])))
            size = j - k
            conf = 0.45 + 0.15 * min(size - 1, 2) + (0.25 if near_anchor else 0.0)
            langs = sorted({foreign[m] for m in range(k, j)})
            start, end = toks[k].start, toks[j - 1].end
            spans.append(Span(start, end, text[start:end], "foreign_fragment", "", min(conf, 0.95), "foreign:" + "+".join(langs) + (":after_anchor" if near_anchor else "")))
            covered.update(range(k, j))
            k = j
            continue
        k += 1
    return spans, covered


def _quoted(text: str, t: Token) -> bool:
    """Inside a short quotation on the same line ("the word «hjemmeside» means..."): a cited
    foreign word is not an injection. Only a quote opened within 40 characters counts, so a
    long quoted speech is still read as prose."""
    line_start = text.rfind("\n", max(0, t.start - 40), t.start) + 1 or max(0, t.start - 40)
    before = text[line_start:t.start]
    opens = before.count("“") - before.count("”") + before.count("«") - before.count("»") + before.count('"') % 2
    return opens > 0
