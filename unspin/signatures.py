"""Spinner signatures: the fixed filler and function-word rewrites spinners leave behind.

The lexicon is ``data/signatures.tsv`` (written by the unspin developers). Each entry is a
word-token pattern, the original it usually replaces, a base confidence and a *guard*: a
context check that keeps honest uses quiet ("and you may leave" has a verb after "may";
"a brand new car" has a determiner before "brand new"). Every guard is a small named
function below, so a span's ``rule`` (``signature:<id>``) can be looked up and replayed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Callable, Sequence

from .errors import UnspinError
from .report import Span
from .tokenize import Token, match_case
from .wordclasses import ADVERBS_BEFORE_VERB, AUXILIARIES, COPULAS, DETERMINERS, FUNCTION_WORDS, PREPOSITIONS

FORMAT = "1"


@dataclass(frozen=True)
class Signature:
    id: str
    pattern: tuple[str, ...]
    original: str
    confidence: float
    guard: str
    soft: bool
    note: str


def parse_signatures(text: str) -> list[Signature]:
    """Parse the signature TSV; raises :class:`UnspinError` on a bad header or row."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# unspin-lexicon name=signatures") or f"format={FORMAT}" not in lines[0]:
        raise UnspinError("signature lexicon has an unknown header; reinstall unspin")
    out = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#") or line.startswith("id\t"):
            continue
        parts = line.split("\t")
        if len(parts) != 6:
            raise UnspinError(f"signature lexicon line {n}: expected 6 columns, got {len(parts)}")
        sid, pattern, original, conf, guard, note = parts
        soft = guard.endswith(":soft")
        guard = guard.removesuffix(":soft")
        if guard not in GUARDS:
            raise UnspinError(f"signature lexicon line {n}: unknown guard {guard!r}")
        out.append(Signature(sid, tuple(pattern.split()), original, float(conf), guard, soft, note))
    return out


@functools.cache
def signatures() -> tuple[Signature, ...]:
    data = resources.files("unspin").joinpath("data/signatures.tsv").read_text(encoding="utf-8")
    return tuple(parse_signatures(data))


@functools.cache
def _index() -> dict[str, list[Signature]]:
    idx: dict[str, list[Signature]] = {}
    for sig in signatures():
        idx.setdefault(sig.pattern[0], []).append(sig)
    for sigs in idx.values():
        sigs.sort(key=lambda s: -len(s.pattern))  # longest match first
    return idx


# --------------------------------------------------------------------------- guards
# A guard gets the match context and returns True when the entry should fire.


@dataclass
class Context:
    text: str
    toks: Sequence[Token]  # prose tokens (injected anchors removed)
    i: int  # first token of the match
    j: int  # one past the last token of the match

    def tok(self, k: int) -> Token | None:
        return self.toks[k] if 0 <= k < len(self.toks) else None

    @property
    def prev(self) -> Token | None:
        return self.tok(self.i - 1)

    @property
    def next(self) -> Token | None:
        return self.tok(self.j)

    def sentence_initial(self) -> bool:
        p = self.prev
        if p is None:
            return True
        if p.text in {".", "!", "?", "…", ":", "“", '"', "‘", "(", "–", "—"}:
            return True
        return "\n" in self.text[p.end:self.toks[self.i].start]

    def next_word(self, skip_adverbs: bool = False) -> Token | None:
        k = self.j
        while True:
            t = self.tok(k)
            if t is None or t.kind != "word":
                return None
            if skip_adverbs and (t.lower in ADVERBS_BEFORE_VERB or t.lower in _FLOATING_QUANTIFIERS) and t.lower != "not":
                k += 1
                continue
            return t


#: "you will both be free", "you may all go": a quantifier floats between modal and verb
_FLOATING_QUANTIFIERS = frozenset({"both", "all", "each"})


def _can_be_verb(word: str) -> bool:
    from .lexicons import can_be_verb

    return can_be_verb(word)


def _pos(word: str) -> frozenset[str]:
    from .lexicons import word_pos

    return word_pos(word)


def g_always(c: Context) -> bool:
    return True


def g_next_not_verb(c: Context) -> bool:
    """Fires when the word after the match cannot be a verb (a noun phrase follows)."""
    t = c.next_word(skip_adverbs=True)
    if t is None:
        return False
    if t.lower in {"not", "be", "have", "get", "go", "do", "make", "see", "also"}:
        return False
    if t.lower in {"a", "an", "the", "this", "these", "those", "their", "his", "her", "its", "our", "my"}:
        return True  # a noun phrase starts: no verb can follow "may"
    return not _can_be_verb(t.lower)


def g_next_is_det(c: Context) -> bool:
    t = c.next_word()
    return t is not None and t.lower in DETERMINERS and t.lower not in {"one", "all", "both", "that", "what", "which"}


def g_next_plain_word(c: Context) -> bool:
    """``of a lot`` followed directly by a word (not ``of``/comparatives/punctuation)."""
    t = c.next_word()
    if t is None:
        return False
    return t.lower not in FUNCTION_WORDS and t.lower not in {"more", "less", "better", "worse", "further", "easier", "harder", "longer", "bigger", "smaller"}


def g_sentence_initial(c: Context) -> bool:
    return c.sentence_initial()


def g_sentence_initial_comma(c: Context) -> bool:
    n = c.next
    return c.sentence_initial() and n is not None and n.text == ","


def g_next_comma(c: Context) -> bool:
    n = c.next
    return n is not None and n.text == ","


def _proper_or_number(t: Token | None, c: Context) -> bool:
    if t is None:
        return False
    if t.kind == "num":
        return True
    return t.kind == "word" and t.text[:1].isupper()


def g_next_proper_or_number(c: Context) -> bool:
    return _proper_or_number(c.next, c)


def g_brand_new(c: Context) -> bool:
    """``brand new`` standing where ``the`` stood: no determiner/copula before, a word after."""
    p = c.prev
    if p is not None and p.kind == "word" and (p.lower in DETERMINERS or p.lower in COPULAS or p.lower.endswith("'s")):
        return False
    n = c.next
    if n is None or n.kind not in ("word", "num"):
        return False
    if _proper_or_number(n, c):
        return True
    if p is None or p.kind != "word" or n.lower in DETERMINERS:
        return False
    # after a preposition ("of brand new apartments"), or a singular noun with no article
    # after a verb ("discuss brand new budget": honest English needs "a"/"the" there)
    return p.lower in PREPOSITIONS or (not n.lower.endswith("s") and "n" in _pos(n.lower))


_KEEN_PARTNERS = frozenset(
    "interest interests eye ear observer observers understanding awareness sense supporter supporters advocate "
    "angler amateur intellect insight appetite enthusiast edge appreciation attention analyst admirer "
    "outdoorsman athlete investor interest".split()
)


def g_a_keen(c: Context) -> bool:
    t = c.next_word()
    return t is not None and t.lower[:1] in "aeiou" and t.lower not in _KEEN_PARTNERS


def g_all_of_us(c: Context) -> bool:
    first = c.toks[c.i]
    p = c.prev
    if p is not None and p.lower == "the":
        return True
    if first.text == "All" and not c.sentence_initial():
        return True
    n = c.next_word()
    # "all of us forces": a noun that cannot be a verb right after "us"
    return n is not None and n.lower not in FUNCTION_WORDS and "n" in _pos(n.lower) and not _can_be_verb(n.lower) and not n.text[:1].isupper()


def g_cap_you(c: Context) -> bool:
    t = c.toks[c.i + 1]
    n = c.next
    return t.text == "You" and n is not None and n.kind == "word"


def g_cap_us(c: Context) -> bool:
    t = c.toks[c.i + 1]
    return t.text == "Us"


def g_lower_united(c: Context) -> bool:
    return c.toks[c.i + 1].text == "united"


def g_off_for_of(c: Context) -> bool:
    """``off`` after a word that is only a noun, before a determiner or a name."""
    p, n = c.prev, c.next
    if p is None or n is None or p.kind != "word" or n.kind != "word":
        return False
    pos = _pos(p.lower)
    if not pos or pos != {"n"}:
        return False
    return n.lower in DETERMINERS or n.text[:1].isupper()


def g_eg_word(c: Context) -> bool:
    t = c.toks[c.i]
    n = c.next
    # "eg" written as a bare lower-case word between words, not "e.g." or "EG"
    return t.text == "eg" and n is not None and n.kind == "word" and c.text[t.end:t.end + 1] != "."


def g_next_number_or_many(c: Context) -> bool:
    t = c.next
    return t is not None and (t.kind == "num" or t.lower in {"many", "several", "numerous", "lots", "plenty"})


def g_prev_aux(c: Context) -> bool:
    p = c.prev
    return p is not None and p.kind == "word" and p.lower in AUXILIARIES


def g_not_comma_after_as(c: Context) -> bool:
    # "such as, for example," is honest; the spinner writes the four words in a row
    as_tok = c.toks[c.i + 1]
    return c.text[as_tok.end:c.toks[c.i + 2].start].strip() == ""


_AUX_AFTER_WHO = frozenset("is are was were has have had will would can could should must may might does do did".split())


def g_next_aux(c: Context) -> bool:
    p = c.prev
    if p is not None and p.kind == "word" and p.lower in PREPOSITIONS:
        return False  # "some of whom were", "to whom will": honest
    t = c.next_word()
    return t is not None and t.lower in _AUX_AFTER_WHO


_PLURAL_SUBJECTS = frozenset("they we you these those who which that".split())


def g_try_for_are(c: Context) -> bool:
    p = c.prev
    if p is None or p.kind != "word":
        return False
    if p.lower not in _PLURAL_SUBJECTS and not (p.lower.endswith("s") and "n" in _pos(p.lower) and p.lower not in FUNCTION_WORDS):
        return False
    k = c.j
    while (t := c.tok(k)) is not None and t.kind == "word" and t.lower in _INTENSIFIERS:
        k += 1
    if t is None or t.kind != "word":
        return False
    pos = _pos(t.lower)
    if "a" not in pos or pos & {"n", "r"} or _can_be_verb(t.lower):
        return False  # "try hard", "try new recipes" are honest
    # predicative: the adjective ends the phrase ("they try beautiful." / "... beautiful and kind")
    after = c.tok(k + 1)
    return after is None or after.kind == "punct" or after.lower in {"and", "but", "or", "too", "enough"}


_INTENSIFIERS = frozenset({"very", "so", "really", "quite", "extremely", "incredibly", "truly"})


def g_statement_initial_which(c: Context) -> bool:
    if not c.sentence_initial() and not (c.prev is not None and c.prev.text == "," and c.tok(c.i - 2) is not None and c.tok(c.i - 2).lower in {"thus", "so", "therefore", "hence"}):
        return False
    nxt = c.next_word()
    if nxt is None or nxt.lower in FUNCTION_WORDS or _can_be_verb(nxt.lower) and "n" not in _pos(nxt.lower):
        return False
    # look ahead to the end of the sentence: a question keeps its "which"
    k = c.j
    while k < len(c.toks) and k < c.j + 60:
        if c.toks[k].text in {".", "!", "?"}:
            return c.toks[k].text != "?"
        k += 1
    return False


GUARDS: dict[str, Callable[[Context], bool]] = {
    "always": g_always,
    "next_not_verb": g_next_not_verb,
    "next_is_det": g_next_is_det,
    "next_plain_word": g_next_plain_word,
    "sentence_initial": g_sentence_initial,
    "sentence_initial_comma": g_sentence_initial_comma,
    "next_comma": g_next_comma,
    "next_proper_or_number": g_next_proper_or_number,
    "brand_new": g_brand_new,
    "a_keen": g_a_keen,
    "all_of_us": g_all_of_us,
    "cap_you": g_cap_you,
    "cap_us": g_cap_us,
    "lower_united": g_lower_united,
    "off_for_of": g_off_for_of,
    "eg_word": g_eg_word,
    "next_number_or_many": g_next_number_or_many,
    "prev_aux": g_prev_aux,
    "not_comma_after_as": g_not_comma_after_as,
    "next_aux": g_next_aux,
    "try_for_are": g_try_for_are,
    "statement_initial_which": g_statement_initial_which,
}

#: Confidence multiplier for a ``:soft`` entry whose guard did not pass.
SOFT_FACTOR = 0.45


def _match_case(original: str, observed: str, initial: bool) -> str:
    # a capital mid-sentence ("All of us" for "US") is the spinner's, not the original's
    return match_case(original, observed) if initial else original


def find_signatures(text: str, toks: Sequence[Token]) -> list[Span]:
    """Find signature spans in ``text``. ``toks`` are the prose tokens (injected anchors
    already removed, so "and you <anchor> may" still matches)."""
    idx = _index()
    spans: list[Span] = []
    n = len(toks)
    i = 0
    while i < n:
        t = toks[i]
        cands = idx.get(t.lower) if t.kind == "word" else None
        matched = 0
        if cands:
            for sig in cands:
                L = len(sig.pattern)
                if i + L > n:
                    continue
                if any(toks[i + k].kind != "word" or toks[i + k].lower != sig.pattern[k] for k in range(L)):
                    continue
                ctx = Context(text, toks, i, i + L)
                ok = GUARDS[sig.guard](ctx)
                if not ok and not sig.soft:
                    continue
                conf = sig.confidence * (1.0 if ok else SOFT_FACTOR)
                start, end = toks[i].start, toks[i + L - 1].end
                observed = text[start:end]
                spans.append(Span(start, end, observed, "signature", _match_case(sig.original, observed, ctx.sentence_initial()), conf, f"signature:{sig.id}"))
                matched = L
                break
        i += matched or 1
    return spans
