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


_MOJIBAKE = re.compile("[\u00c2-\u00c5\u00d0\u00d1][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]")


def unmojibake(word: str) -> str:
    """``word`` with UTF-8 read as Windows-1252 undone ("giriÅŸ" -> "giriş"), else unchanged.
    Spam fragments pasted from another site often arrive that way; the spans still cover the
    text as it stands."""
    if not _MOJIBAKE.search(word):
        return word
    try:
        return word.encode("cp1252").decode("utf-8")
    except UnicodeError:
        return word


@functools.lru_cache(maxsize=1 << 16)
def foreign_language_of(word: str) -> str | None:
    """The language ``word`` most likely belongs to if it is clearly not English, else None
    (a word in mojibake is judged as it was written: :func:`unmojibake`)."""
    w = unmojibake(word).lower()
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


_DETERMINERS = frozenset("the a an this that these those our their his her its my your".split())
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred""".split()
)
#: A path segment of 8+ characters mixing letters and digits, or a host label with 4+ digits in
#: a row: the machine-made ids of generated spam properties ("/d/1yPcu9Dl...", "solar299772").
_MACHINE_ID = re.compile(r"(?=[A-Za-z_-]*\d)(?=\d*[A-Za-z])[A-Za-z0-9_-]{8,}|[a-z]\d{4,}")


def _host(tok: Token) -> str:
    t = tok.text
    if "://" in t:
        t = t.split("://", 1)[1]
    return t.split("/", 1)[0].split("?", 1)[0].rstrip(".")


def _rare_word(tok: Token) -> bool:
    """A lower-case word that English hardly uses (a candidate part of a foreign fragment)."""
    w = tok.text
    return tok.kind == "word" and len(w) >= 3 and w.isalpha() and w.islower() and _zipf_en(w) < 2.5


def _domain_ok(tok: Token) -> bool:
    """A token that is really an address: a URL or a domain with a known TLD, not a sentence
    glitch ("choosing.In fact", "3.It's": a missing space after a full stop, whose second part
    is capitalised like a sentence start, while a TLD is lower case or all capitals)."""
    if tok.kind == "url":
        return True
    if tok.kind != "domain":
        return False
    host = _host(tok)
    labels = host.split(".")
    tld = labels[-1]
    if tld.lower() not in _TLDS:
        return False
    if len(tld) > 1 and tld[0].isupper() and tld[1:].islower():
        return False
    return not labels[0].isdigit()


def _spam_shaped(tok: Token) -> bool:
    """An address that looks machine-made (an id in the host or the path): generated spam
    properties, not a site someone names."""
    t = tok.text.split("://", 1)[-1]
    return any(_MACHINE_ID.fullmatch(part) or _MACHINE_ID.search(part) for part in re.split(r"[/.?=&]", t) if part)


def _bare(tok: Token) -> bool:
    """A domain written as a name ("Match.com", "eharmony.com"): no scheme, no www, no path."""
    t = tok.text.lower()
    return tok.kind == "domain" and not t.startswith("www.") and "/" not in t.rstrip("/")


def _named(toks: Sequence[Token], k: int) -> bool:
    """A domain used as a site's name: capitalised like one ("Match.com"), the noun of a noun
    phrase ("the eharmony.com dating site"), or in capitals like the words around it
    (boilerplate written in capitals, not an insertion)."""
    t = toks[k]
    around = [toks[m] for m in (k - 1, k + 1) if 0 <= m < len(toks) and toks[m].kind == "word"]
    if t.text.isupper() and around and all(w.text.isupper() for w in around):
        return True
    if not _bare(t):
        return False
    first = _host(t).split(".")[0]
    if first[:1].isupper() and not first.isupper():
        return True
    return k > 0 and toks[k - 1].lower in _DETERMINERS


def _is_slug(tok: Token) -> bool:
    if tok.kind != "word" or tok.text.count("-") < 3 or not _SLUG.match(tok.text.lower()):
        return False
    parts = tok.text.lower().split("-")
    # English compounds, not keyword slugs: idioms built on "the" ("man-in-the-middle",
    # "behind-the-scenes") and ages ("twenty-eight-year-old")
    if "the" in parts[1:-1]:
        return False
    if parts[-1] == "old" and (parts[-2] in ("year", "month", "week", "day", "years", "months")
                               or any(p in _NUMBER_WORDS for p in parts)):
        return False
    # dictionary compounds ("state-of-the-art", "run-of-the-mill") are WordNet lemmas
    from .lexicons import word_pos

    return not word_pos(tok.text.lower())


def _embedded(text: str, toks: Sequence[Token], i: int, j: int) -> bool:
    """True if tokens i..j-1 sit between two words of one clause: words on both sides, only
    spaces between (no punctuation, no line break), the word before not one that introduces
    an address ("visit", "at", "see")."""
    if i == 0 or j >= len(toks):
        return False
    p, n = toks[i - 1], toks[j]
    if p.kind != "word" or n.kind not in ("word", "num"):
        return False
    if p.lower in _INTRO_WORDS:
        return False
    return not text[p.end:toks[i].start].strip(" ") and not text[toks[j - 1].end:n.start].strip(" ")


def _left_embedded(text: str, toks: Sequence[Token], i: int) -> bool:
    """A word (or a comma) right before token i on the same line: the address continues a
    clause rather than standing on its own (a header, a "Source:" line, a list)."""
    if i == 0:
        return False
    p = toks[i - 1]
    gap = text[p.end:toks[i].start]
    if "\n" in gap:
        return False
    if p.kind == "word":
        return p.lower not in _INTRO_WORDS
    return p.text in (",", ")")


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
        found = _anchor(text, toks, k)
        if found:
            conf, rule = found
            j = k + 1
            spans.append(Span(t.start, t.end, t.text, "injected_anchor", "", conf, rule))
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
            # words rare in English next to a foreign word belong to the fragment even when
            # the small word lists miss them ("contador palabras ingles")
            while k > 0 and (k - 1) not in covered and _rare_word(toks[k - 1]) and not text[toks[k - 1].end:toks[k].start].strip(" "):
                k -= 1
            while j < n and _rare_word(toks[j]) and not text[toks[j - 1].end:toks[j].start].strip(" "):
                j += 1
            near_anchor = (k > 0 and (k - 1) in covered) or (j < n and _anchor(text, toks, j) is not None)
            size = j - k
            if size == 1 and not near_anchor:
                # one word of another language in English prose is a loanword, a name or a
                # dialect spelling far more often than an injection ("futur", "sta", "règle")
                k = j
                continue
            conf = 0.45 + 0.15 * min(size - 1, 2) + (0.25 if near_anchor else 0.0)
            langs = sorted({foreign[m] for m in range(k, j) if foreign[m]})
            start, end = toks[k].start, toks[j - 1].end
            spans.append(Span(start, end, text[start:end], "foreign_fragment", "", min(conf, 0.95), "foreign:" + "+".join(langs) + (":after_anchor" if near_anchor else "")))
            covered.update(range(k, j))
            k = j
            continue
        k += 1
    if any(s.kind == "foreign_fragment" for s in spans) and _nonstandard(toks, covered):
        # a fragment is an island of another language in English prose; where the prose
        # around it is itself full of words English does not use (a dialect such as Scots,
        # a transliteration), the "fragments" are more of the same
        keep = [s for s in spans if s.kind != "foreign_fragment" or s.rule.endswith(":after_anchor")]
        dropped = {k for k, t in enumerate(toks) if k in covered
                   and any(s.start <= t.start < s.end for s in spans if s not in keep)}
        spans, covered = keep, covered - dropped
    return spans, covered


#: Share of lower-case words rare in English (outside the fragments) above which a text is
#: not written in standard English. On the real development pages the 99th percentile is
#: 0.08 for clean pages and spun pages alike; a Scots Wikipedia page reads 0.23.
NONSTANDARD_RATE = 0.12


def _nonstandard(toks: Sequence[Token], covered: set[int]) -> bool:
    low = [t for k, t in enumerate(toks) if k not in covered and t.kind == "word" and len(t.text) >= 3
           and t.text.isalpha() and t.text.islower()]
    return len(low) >= 20 and sum(map(_rare_word, low)) > NONSTANDARD_RATE * len(low)


def _anchor(text: str, toks: Sequence[Token], k: int) -> tuple[float, str] | None:
    """(confidence, rule) if token k is an injected anchor, else None.

    Reported: addresses and URL slugs inside a clause (``:embedded``); slugs anywhere; a URL
    continuing a clause when it looks machine-made (generated spam properties, often at the
    cut-off end of a stub). Not reported: an address standing on its own (a header, a caption,
    "Source: ..."), a site named as a name ("Match.com", "the eharmony.com dating site"), an
    e-mail address outside a clause (contact details).
    """
    t = toks[k]
    if t.kind == "email":
        return (0.7, "anchor:email:embedded") if _embedded(text, toks, k, k + 1) else None
    if _is_slug(t):
        emb = _embedded(text, toks, k, k + 1)
        return (0.8, "anchor:slug:embedded") if emb else (0.6, "anchor:slug")
    if not _domain_ok(t) or _named(toks, k):
        return None
    kind = "url" if t.kind == "url" else "domain"
    if _embedded(text, toks, k, k + 1):
        return 0.9, f"anchor:{kind}:embedded"
    if not _bare(t) and _left_embedded(text, toks, k) and _spam_shaped(t):
        return 0.7, f"anchor:{kind}:machine-made"
    return None


def _quoted(text: str, t: Token) -> bool:
    """Inside a short quotation on the same line ("the word «hjemmeside» means..."): a cited
    foreign word is not an injection. Only a quote opened within 40 characters counts, so a
    long quoted speech is still read as prose."""
    line_start = text.rfind("\n", max(0, t.start - 40), t.start) + 1 or max(0, t.start - 40)
    before = text[line_start:t.start]
    opens = before.count("“") - before.count("”") + before.count("«") - before.count("»") + before.count('"') % 2
    return opens > 0
