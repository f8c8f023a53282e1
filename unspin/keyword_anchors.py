"""Keyword anchors: a phrase dropped into a sentence, found by deleting it.

Once its link is stripped, an affiliate anchor is a plain keyword phrase in the middle of a
sentence ("... a composition written by a previous winner of a check my paper particular
award"). Nothing in its words marks it: "check my paper" is fluent English. What marks it is
that the sentence reads better without it. For each candidate run of words this module asks
the offline language model two questions and compares the answers:

- **with the run**: how likely the run is where it stands, and how likely the next words are
  after it (both from one pass over the text);
- **without it**: how likely the next words are straight after the words before the run.

The score is a log-likelihood ratio (natural log) of "the run was inserted" against "the run
belongs here"::

    score = [logP(next | before) - logP(next | before, run)] + w * [logP_unigram(run) - logP(run | before)]

The first bracket is the gain in fluency when the run is deleted; the second compares the run
under an insertion model that ignores the context (English word frequencies, ``wordfreq``)
with the language model's reading of it in context, weighted by ``w`` (:data:`UNIGRAM_WEIGHT`).
An honest phrase is predicted by what comes before it and predicts what follows; an inserted
one does neither.

Candidates are kept cheap and anchor-shaped: runs of 2-5 lower-case English words joined by
single spaces, ending on a content word, inside a sentence (never its first or last word), starting at a word the model found
surprising (the page's least likely :data:`START_SHARE` of word starts), outside spans other
stages already explain. The weight, the share and the threshold were chosen on the real
development pages (``python -m eval.run_anchors --tier auto``, EVAL.md "Injected spam").

This needs the full language model (``unspin[lm]`` and ``unspin models fetch``), so it runs
only where the cascade calls a text spun or unsure and ``Config.keyword_anchors`` is on.
Each finding is an ``injected_anchor`` span with ``rule="anchor:keyword:lm-deletion"``,
``original=""`` (delete it) and a confidence that grows with the score.
"""

from __future__ import annotations

import math
import re
from typing import Sequence

from .budget import checkpoint
from .report import Span

#: Weight of the insertion-model term in the score.
UNIGRAM_WEIGHT = 0.5
#: Score at or above which a run is reported. On the development pages (every clean page
#: searched, whatever its verdict) 2 of 154 clean pages have a run this high (8.2, 14.6);
#: the labelled anchors it finds score 8.1-17 (EVAL.md "Injected spam").
THRESHOLD = 8.0
#: Share of the page's word starts, the least likely first, where a candidate may start.
START_SHARE = 0.2
#: Longest candidate run, in words.
MAX_WORDS = 5
#: Tokens after the run that both readings score.
FOLLOW_TOKENS = 5
#: Characters of a page the test reads (a window of sentences at a time).
MAX_CHARS = 4000
WINDOW_CHARS = 600

RULE = "anchor:keyword:lm-deletion"

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_RUN = re.compile(r"[a-z]+(?: [a-z]+)+")
_LN10 = math.log(10.0)


def _unigram_logprob(words: Sequence[str]) -> float:
    from .lexicons import zipf

    # zipf is log10 of the frequency per billion words; an unknown word counts as zipf 0
    return sum((max(zipf(w.lower()), 0.0) - 9.0) * _LN10 for w in words)


def anchor_shaped(words: Sequence[str]) -> bool:
    """Whether a run of words could be a keyword phrase: every word is known to English (a
    misspelt or dialect word is the spinner's or the writer's, not an advertiser's), and the
    run ends on a content word ("control of", "but not" are pieces of the sentence)."""
    from .lexicons import zipf
    from .wordclasses import FUNCTION_WORDS

    low = [w.lower() for w in words]
    return low[-1] not in FUNCTION_WORDS and all(zipf(w) > 0 for w in low)


def _windows(text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(start, end, sentences) windows of whole sentences, each starting one sentence early
    so the first sentence read has some context."""
    sents = [m.span() for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    out = []
    i = 0
    while i < len(sents):
        j = i
        while j < len(sents) and sents[j][1] - sents[i][0] < WINDOW_CHARS:
            j += 1
        j = max(j, i + 1)
        out.append((sents[max(0, i - 1)][0], sents[j - 1][1], sents[i:j]))
        i = j
    return out


def score_runs(text: str, lm, taken: Sequence[tuple[int, int]] = (), detail: bool = False) -> list[tuple]:
    """Every candidate run of ``text`` (up to :data:`MAX_CHARS`) with its score, as
    ``(score, start, end)`` character offsets. ``taken`` ranges are skipped. With ``detail``,
    each tuple also has the score's two terms: the deletion gain and the insertion-model term."""
    text = text[:MAX_CHARS]
    wins = _windows(text)
    if not wins:
        return []
    reads = lm.analyse([text[a:b] for a, b, _ in wins])
    starts: list[float] = []
    cands: list[tuple[float, object, int, list[int], float, float, float, int, int]] = []
    for (a, _b, sents), w in zip(wins, reads):
        checkpoint("the keyword-anchor test")

        def token_at(c: int, w=w, a=a) -> int | None:
            c -= a
            t = w.boundary(c)
            if t is None and c > 0 and w.text[c - 1] == " ":  # the tokenizer keeps the space
                t = w.boundary(c - 1)
            return t

        for sa, sb in sents:
            ws = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text, sa, sb)]
            for k in range(1, len(ws) - 1):
                t = token_at(ws[k][0])
                if t is None or t >= len(w.logprobs):
                    continue
                lp0 = w.logprobs[t]
                starts.append(lp0)
                for n in range(2, MAX_WORDS + 1):
                    if k + n >= len(ws):
                        break
                    s, e = ws[k][0], ws[k + n - 1][1]
                    if not _RUN.fullmatch(text[s:e]) or any(s < te and ts < e for ts, te in taken):
                        continue
                    if not anchor_shaped([x for _, _, x in ws[k:k + n]]):
                        continue
                    t_end = token_at(ws[k + n][0])
                    if t_end is None or t_end <= t:
                        continue
                    follow = w.ids[t_end:t_end + FOLLOW_TOKENS]
                    if not follow:
                        continue
                    span_lp = sum(w.logprobs[t:t_end])
                    with_next = sum(w.logprobs[t_end:t_end + len(follow)])
                    uni = _unigram_logprob([x for _, _, x in ws[k:k + n]])
                    cands.append((lp0, w, t, follow, span_lp, with_next, uni, s, e))
    if not cands:
        return []
    starts.sort()
    cut = starts[min(int(START_SHARE * len(starts)), len(starts) - 1)]
    keep = [c for c in cands if c[0] <= cut]
    without = lm.score_many([(c[1], c[2], c[3]) for c in keep])
    out = []
    for c, wo in zip(keep, without):
        gain, insertion = wo - c[5], c[6] - c[4]
        row = (gain + UNIGRAM_WEIGHT * insertion, c[7], c[8])
        out.append(row + (gain, insertion) if detail else row)
    return out


def find_keyword_anchors(text: str, lm, taken: Sequence[tuple[int, int]] = (),
                         threshold: float = THRESHOLD) -> list[Span]:
    """The runs of ``text`` that score at or above ``threshold``, the best first among
    overlapping ones, as ``injected_anchor`` spans (in text order)."""
    found: list[Span] = []
    for score, s, e in sorted(score_runs(text, lm, taken), reverse=True):
        if score < threshold:
            break
        if any(s < f.end and f.start < e for f in found):
            continue
        conf = min(0.9, 0.5 + 0.4 * (1.0 - math.exp(-(score - threshold) / 4.0)))
        found.append(Span(s, e, text[s:e], "injected_anchor", "", round(conf, 4), RULE))
    return sorted(found, key=lambda x: x.start)
