"""Sites: the places in a text that may be restored, from the detector's evidence.

The fast detector (:func:`unspin.detect.check`) finds signature phrases ("and you may"),
tortured phrases, injected anchors, foreign fragments and single-word substitution suspects.
Overlapping evidence is resolved in favour of the longer span. In a text not called clean the
restorer adds weak sites of its own (:func:`extra_spans`): inflected forms of thesaurus words,
and capitalised titles just before a name. Words the detector and these rules find
unremarkable are never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..config import Config
from ..report import Span
from .candidates import Candidate, lexicon_candidates, match_case

#: Span kinds whose ``original`` comes from a fixed lexicon entry.
FIXED_KINDS = ("signature", "tortured_phrase", "injected_anchor", "foreign_fragment")
_WORD_RE = re.compile(r"^[^\W\d_]+(?:['’\- ][^\W\d_]+)*$")
_QUOTES = re.compile(r"“[^”\n]{0,600}”|\"[^\"\n]{0,600}\"")
_PREV_WORD = re.compile(r"(\w[\w'’-]*)\W{0,3}$")
_NEXT_WORD = re.compile(r"^\W{0,3}(\w[\w'’-]*)")

#: A capitalised word in mid-sentence is taken for a title a spinner may have swapped
#: ("Chairman" for "President") only if its lower-case form is at least this common.
MIN_TITLE_ZIPF = 4.0
#: Prior confidence of the restorer's own sites (:func:`extra_spans`): the LM must carry them.
EXTRA_SITE_CONFIDENCE = 0.2


@dataclass
class Site:
    """One place that may be restored: ``text[start:end]`` and the candidate originals."""

    start: int
    end: int
    observed: str
    kind: str
    rule: str
    confidence: float
    candidates: list[Candidate] = field(default_factory=list)
    protected: bool = False  # capitalised mid-sentence word

    @property
    def word_swap(self) -> bool:
        """A substitution site (judged by the acceptance), not fixed-wording evidence."""
        return self.kind == "substitution"


def _quoted_ranges(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _QUOTES.finditer(text)]


def _in_ranges(a: int, b: int, ranges: list[tuple[int, int]]) -> bool:
    return any(s <= a and b <= e for s, e in ranges)


def _sentence_initial(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in " \t\"“‘'(":
        i -= 1
    return i < 0 or text[i] in ".!?:\n…"


def _resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Keep non-overlapping spans, preferring longer ones, then more confident ones."""
    chosen: list[Span] = []
    for s in sorted(spans, key=lambda s: (-(s.end - s.start), -s.confidence, s.start)):
        if all(s.end <= c.start or s.start >= c.end for c in chosen):
            chosen.append(s)
    return sorted(chosen, key=lambda s: s.start)


def neighbour_words(text: str, start: int, end: int) -> set[str]:
    """The lower-cased words just before and just after ``text[start:end]``."""
    out = set()
    m = _PREV_WORD.search(text[max(0, start - 40):start])
    if m:
        out.add(m.group(1).lower())
    m = _NEXT_WORD.search(text[end:end + 40])
    if m:
        out.add(m.group(1).lower())
    return out


def build_sites(text: str, spans: list[Span], config: Config) -> list[Site]:
    """Turn detector spans into restoration sites with their lexicon candidates. Margins here
    are the hand-set defaults; :mod:`.policy` may replace those of word swaps."""
    from ..lexicons import same_stem, spelling_variant

    quoted = _quoted_ranges(text)
    usable = [s for s in spans if s.confidence >= config.restore_min_evidence
              and (s.original is not None or s.kind == "substitution")]
    sites: list[Site] = []
    for s in _resolve_overlaps(usable):
        strong = s.confidence >= config.restore_strong_evidence
        in_quote = _in_ranges(s.start, s.end, quoted)
        start, end = s.start, s.end
        if s.kind in FIXED_KINDS:
            if s.original is None or s.original == s.text:
                continue
            if in_quote and not strong:
                continue
            original = s.original
            if original == "" and start > 0 and text[start - 1] == " ":
                start -= 1  # delete the space before a removed fragment too
            margin = config.restore_signature_margin if strong else config.restore_margin
            sites.append(Site(start, end, text[start:end], s.kind, s.rule, s.confidence,
                              [Candidate(original, s.rule, "fixed", margin)]))
            continue
        # substitution: a word (or a multiword) with candidate originals from the lexicons
        observed = s.text
        if not _WORD_RE.match(observed) or in_quote:
            continue
        initial = _sentence_initial(text, s.start)
        capital_mid = observed[:1].isupper() and not initial
        if observed.isupper() and len(observed) > 1:
            continue  # acronyms
        margin = config.restore_margin + (config.restore_name_margin if capital_mid else 0.0)
        cands: list[Candidate] = []
        # a candidate that repeats the word next to it ("the new new murder") is never an original
        seen = neighbour_words(text, s.start, s.end)
        lex = lexicon_candidates(observed)
        origin = "source" if s.rule.startswith("source:") else "lexicon"
        if s.original and s.original.lower() not in seen and not same_stem(s.original, observed) \
                and not spelling_variant(s.original, observed) and (
                not s.rule.startswith("reverse_spin:") or s.original.lower() in {w.lower() for w, _ in lex}):
            cands.append(Candidate(match_case(s.original, observed), s.rule, origin, margin))
            seen.add(s.original.lower())
        cands += _lexicon_options(observed, lex, seen, margin)
        sites.append(Site(s.start, s.end, observed, "substitution", s.rule, s.confidence, cands, capital_mid))
    return sites


def _lexicon_options(observed: str, lex: list[tuple[str, str]], seen: set[str], margin: float) -> list[Candidate]:
    """The lexicon's candidates ``lex`` for ``observed`` as typed candidates, cased like it,
    skipping words in ``seen`` (the neighbouring words and candidates already taken)."""
    out = []
    for w, rule in lex:
        if w.lower() in seen:
            continue
        seen.add(w.lower())
        out.append(Candidate(match_case(w, observed), rule, "lexicon", margin))
    return out


def extra_spans(text: str, spans: list[Span]) -> list[Span]:
    """Single words the fast detector passes over that may still be a spinner's swap, as
    weak ``substitution`` spans (the LM and the acceptance decide):

    - inflected forms of a word whose lemma has a far more common synonym ("arenas": the
      detector's thesaurus lists lemmas only), and
    - titles: a common word capitalised in mid-sentence just before another capitalised word
      ("Chairman Smith"), which the detector skips as part of a name. It gets the name margin.
    """
    from ..lexicons import inflected_synonyms, thesaurus, zipf
    from ..tokenize import sentence_initial, tokenize
    from ..wordclasses import FUNCTION_WORDS

    toks = tokenize(text)
    taken = bytearray(len(text) + 1)
    for s in spans:
        taken[s.start : s.end] = b"\x01" * (s.end - s.start)
    out: list[Span] = []
    th = thesaurus()
    for i, t in enumerate(toks):
        if t.kind != "word" or len(t.text) < 3 or t.lower in FUNCTION_WORDS or t.text.isupper():
            continue
        if any(taken[t.start : t.end]):
            continue
        if t.text[:1].isupper() and not sentence_initial(toks, i, text):
            nxt = toks[i + 1] if i + 1 < len(toks) else None
            if nxt is None or nxt.kind != "word" or not nxt.text[:1].isupper() or nxt.start != t.end + 1:
                continue
            cands = th.get(t.lower)
            if not cands or zipf(t.lower) < MIN_TITLE_ZIPF:
                continue
            c = cands[0][0]
            out.append(Span(t.start, t.end, t.text, "substitution", match_case(c, t.text),
                            EXTRA_SITE_CONFIDENCE, f"title:{t.lower}->{c}"))
            continue
        if t.text[:1].isupper():
            continue
        infl = inflected_synonyms(t.lower)
        if infl and zipf(infl[0][0]) - zipf(t.lower) >= 1.0:
            out.append(Span(t.start, t.end, t.text, "substitution", infl[0][0], EXTRA_SITE_CONFIDENCE, infl[0][1]))
    return out


#: Rule (prefix) of the sites :func:`surprise_sites` finds.
SURPRISE_RULE = "surprise:lm"
_LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]{3,}(?:['’-][a-z]+)*(?![\w'’-])")


def surprise_sites(text: str, a: int, win, blocked: bytearray, config: Config) -> list[tuple[Site, int]]:
    """Sites of window ``win`` (the LM's reading of ``text[a:...]``) where the model is
    surprised: lower-case content words (three letters or more, none of their characters
    ``blocked``: see :func:`surprise_blocked`) whose first token has log-probability at most
    ``-restore_surprise_nats`` from the left context, and that have lexicon candidates. Each
    comes with the token index where its continuation starts. Only the lexicon proposes
    there, not the model: on the development pairs' trace the model's own guesses at such
    sites were right 31 times in 4,268 (real pages) and pushed the acceptance's operating
    point up (EVAL.md). Confidence :data:`EXTRA_SITE_CONFIDENCE`: the LM and the acceptance
    decide."""
    from ..wordclasses import FUNCTION_WORDS

    limit = config.restore_surprise_nats
    if limit <= 0:
        return []
    out = []
    for m in _LOWER_WORD.finditer(win.text):
        w = m.group(0)
        start, end = a + m.start(), a + m.end()
        if w in FUNCTION_WORDS or any(blocked[start:end]):
            continue
        cut = m.start() - 1 if m.start() > 0 and win.text[m.start() - 1] == " " else m.start()
        t = win.boundary(cut)
        if t is None or t >= len(win.logprobs) or -win.logprobs[t] < limit:
            continue
        cands = _lexicon_options(w, lexicon_candidates(w), neighbour_words(text, start, end), config.restore_margin)
        if not cands:
            continue  # the model's own guesses alone are too often wrong here (EVAL.md)
        site = Site(start, end, w, "substitution", f"{SURPRISE_RULE}({-win.logprobs[t]:.1f})", EXTRA_SITE_CONFIDENCE, cands)
        out.append((site, t))
    return out


def surprise_blocked(text: str, taken) -> bytearray:
    """Characters of ``text`` where :func:`surprise_sites` finds nothing: inside ``taken``
    spans (anything with ``start``/``end``: the other sites) and inside quotes. Built once
    per text, shared by all its windows."""
    blocked = bytearray(len(text) + 1)
    for s, e in [(x.start, x.end) for x in taken] + _quoted_ranges(text):
        blocked[s:e] = b"\x01" * (e - s)
    return blocked
