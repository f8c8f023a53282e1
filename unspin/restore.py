"""Restoring: put the original words back where the evidence and the language model agree.

The pipeline, for one text:

1. **Sites.** The fast detector (:func:`unspin.detect.check`) finds the places worth a look:
   signature phrases ("and you may"), tortured phrases, injected anchors, foreign fragments
   and single-word substitution suspects. Words the detector finds unremarkable are never
   touched, and in a text the detector calls ``clean`` only strong fixed-wording evidence is
   considered. Overlapping evidence is resolved in favour of the longer span. In a text not
   called clean the restorer adds two kinds of weak sites of its own (:func:`extra_spans`):
   inflected forms of thesaurus words, and capitalised titles just before a name.
2. **Candidates.** Fixed-wording evidence brings its one original. A substitution suspect gets
   the thesaurus's more frequent synonyms (inflected like the observed word when the
   thesaurus lists only its lemma), the reverse-spin table's originals, and the LM's
   own predictions at that position that are related to the observed word in the thesaurus
   (either direction, or through a shared synonym). Candidates are pruned with the LM's
   left-context probability of their first token, to ``Config.restore_max_candidates``.
3. **Scoring and decoding.** Each window (a sentence or a few) is run through the LM once.
   Sites closer than ``restore_right_context`` tokens form a cluster, decoded jointly with a
   small beam (each hypothesis's left part is computed once and its variants scored on top;
   every cluster's step runs in one batch): every variant is scored from the site to a common point
   ``restore_right_context`` tokens after the cluster, so the comparison uses context on both
   sides. A change is kept only if it wins by its margin (``restore_signature_margin`` for
   strong fixed-wording evidence, ``restore_margin`` for word swaps, plus
   ``restore_name_margin`` for capitalised mid-sentence words and LM-only candidates): the
   decoder maximises log-probability minus the margins of the changes it makes.
4. **Result.** Every change is a :class:`~unspin.report.Span` on the input with
   ``original`` = the replacement, so ``apply_spans(text, changes) == restoration.text``.

Names (capitalised words in mid-sentence), numbers, URLs and quoted text are left alone
unless the evidence is strong; a common word used as a title before a name may change only
when the LM prefers the candidate by the extra ``restore_name_margin`` too.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

from .config import DEFAULT, Config
from .report import Report, Restoration, Span, apply_spans
from .tokenize import sentence_spans

#: Span kinds whose ``original`` comes from a fixed lexicon entry.
FIXED_KINDS = ("signature", "tortured_phrase", "injected_anchor", "foreign_fragment")
_WORD_RE = re.compile(r"^[^\W\d_]+(?:['’\- ][^\W\d_]+)*$")
_QUOTES = re.compile(r"“[^”\n]{0,600}”|\"[^\"\n]{0,600}\"")
#: Windows are grown sentence by sentence up to about this many characters.
WINDOW_CHARS = 480


@dataclass
class Site:
    """One place that may be restored: ``text[start:end]`` and the candidate originals."""

    start: int
    end: int
    observed: str
    kind: str
    rule: str
    confidence: float
    candidates: list[tuple[str, str, float]] = field(default_factory=list)  # (text, rule, margin)
    protected: bool = False  # capitalised mid-sentence word or inside quotes


@dataclass
class Stats:
    """What the LM saw while restoring (used by ``check --deep`` and the benchmarks)."""

    windows: int = 0
    tokens: int = 0
    logprob: float = 0.0  # total log-probability of the analysed windows, observed text
    gain: float = 0.0  # how much the accepted changes raised it (nats)
    sites: int = 0
    scored_sites: int = 0
    changed: int = 0
    variants: int = 0


# --------------------------------------------------------------------------------------
# candidates


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@functools.lru_cache(maxsize=1)
def _sibling_index() -> dict[str, frozenset[str]]:
    """synonym -> words whose thesaurus entry lists it (the thesaurus read backwards)."""
    from .lexicons import thesaurus

    back: dict[str, set[str]] = {}
    for w, cands in thesaurus().items():
        for c, _z in cands:
            back.setdefault(c, set()).add(w)
    return {k: frozenset(v) for k, v in back.items()}


def related(observed: str, candidate: str) -> bool:
    """Whether ``candidate`` may be the word a spinner replaced by ``observed``: listed as a
    synonym either way in the thesaurus or the reverse-spin table, or sharing a synonym."""
    from .lexicons import reverse_spin, thesaurus

    o, c = observed.lower(), candidate.lower()
    if o == c:
        return False
    th = thesaurus()
    oc = {w for w, _ in th.get(o, ())}
    if c in oc or any(w == c for w, _ in reverse_spin().get(o, ())):
        return True
    cc = {w for w, _ in th.get(c, ())}
    if o in cc:
        return True
    back = _sibling_index()
    if c in back.get(o, ()) or o in back.get(c, ()):
        return True
    return bool(oc & cc)


#: Reverse-spin pairs need this many supporting tortured-phrase entries to be candidates.
MIN_REVERSE_SPIN_SUPPORT = 3


def same_stem(a: str, b: str) -> bool:
    """Inflections of one word ("separated"/"separate", "elders"/"elder"): a spinner swaps a
    word for a synonym, not for another form of itself, so such a candidate only changes
    the grammar the spinner left intact."""
    a, b = a.lower(), b.lower()
    if " " in a or " " in b:
        return False  # "family unit" -> "family" is a spinner's multiword swap, not an inflection
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n >= 4 and n >= min(len(a), len(b)) - 2


def _inflect(base: str, suffix: str) -> str | None:
    """``base`` with an inflection ("s", "ed" or "ing"), spelled the way wordfreq knows best
    (None when no spelling is a common English word)."""
    if " " in base:
        return None
    if suffix == "s":
        forms = [base + "s", base + "es"] + ([base[:-1] + "ies"] if base.endswith("y") else [])
    else:
        stem = base[:-1] if base.endswith("e") else base
        forms = [stem + suffix, base + suffix, base + base[-1] + suffix]
        if suffix == "ed" and base.endswith("y"):
            forms.append(base[:-1] + "ied")
    from .lexicons import zipf

    best = max(forms, key=zipf)
    return best if zipf(best) >= MIN_INFLECTED_ZIPF else None


#: An inflected candidate ("areas" from "area") must be at least this common a word form.
MIN_INFLECTED_ZIPF = 3.0


def inflected_candidates(observed: str) -> list[tuple[str, str]]:
    """Candidates for an inflected word the thesaurus lists only as a lemma ("arenas" ->
    "arena" -> "area" -> "areas"), each with its rule."""
    from .lexicons import _stems, thesaurus

    w = observed.lower().replace("’", "'")
    suffix = "ing" if w.endswith("ing") else "ed" if w.endswith("ed") else "s" if w.endswith("s") else None
    if suffix is None or w in thesaurus():
        return []
    out, seen = [], {w}
    th = thesaurus()
    for base, _pos in _stems(w):
        for c, _z in th.get(base, ()):
            form = _inflect(c, suffix)
            if form and form not in seen and not same_stem(form, w):
                seen.add(form)
                out.append((form, f"thesaurus:{base}->{c}(+{suffix})"))
    return out


def spelling_variant(a: str, b: str) -> bool:
    """British and American spellings of one word ("realisation"/"realization",
    "colour"/"color"): a spinner swaps words, not spellings."""
    a, b = a.lower(), b.lower()
    if a == b:
        return False
    for x, y in (("s", "z"), ("our", "or"), ("re", "er"), ("ll", "l"), ("ae", "e"), ("oe", "e")):
        if a.replace(x, y) == b.replace(x, y):
            return True
    return False


def lexicon_candidates(observed: str) -> list[tuple[str, str]]:
    """Candidate originals of a substituted word or phrase from the lexicons, best first,
    each with the rule that proposed it."""
    from .lexicons import reverse_spin, thesaurus

    key = observed.lower().replace("’", "'")
    out: list[tuple[str, str]] = []
    seen = {key}
    for w, rule in inflected_candidates(key):
        out.append((w, rule))
        seen.add(w)
    for w, support in reverse_spin().get(key, ()):
        # pairs seen in one or two PPS entries are often domain-specific ("work" -> "labor")
        if w not in seen and support >= MIN_REVERSE_SPIN_SUPPORT and not same_stem(key, w) \
                and not spelling_variant(key, w):
            out.append((w, f"reverse_spin:{key}->{w}"))
            seen.add(w)
    for w, _z in thesaurus().get(key, ()):
        if w not in seen and not same_stem(key, w) and not spelling_variant(key, w):
            out.append((w, f"thesaurus:{key}->{w}"))
            seen.add(w)
    return out


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


_PREV_WORD = re.compile(r"(\w[\w'’-]*)\W{0,3}$")
_NEXT_WORD = re.compile(r"^\W{0,3}(\w[\w'’-]*)")


def _neighbour_words(text: str, start: int, end: int) -> set[str]:
    out = set()
    m = _PREV_WORD.search(text[max(0, start - 40):start])
    if m:
        out.add(m.group(1).lower())
    m = _NEXT_WORD.search(text[end:end + 40])
    if m:
        out.add(m.group(1).lower())
    return out


def build_sites(text: str, spans: list[Span], config: Config) -> list[Site]:
    """Turn detector spans into restoration sites with their lexicon candidates."""
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
            site = Site(start, end, text[start:end], s.kind, s.rule, s.confidence, [(original, s.rule, margin)])
            sites.append(site)
            continue
        # substitution: a word (or a multiword) with candidate originals from the lexicons
        observed = s.text
        if not _WORD_RE.match(observed) or in_quote:
            continue
        initial = _sentence_initial(text, s.start)
        capital_mid = observed[:1].isupper() and not initial
        if observed.isupper() and len(observed) > 1:
            continue  # acronyms
        extra = config.restore_name_margin if capital_mid else 0.0
        cands: list[tuple[str, str, float]] = []
        # a candidate that repeats the word next to it ("the new new murder") is never an original
        seen = _neighbour_words(text, s.start, s.end)
        lex = lexicon_candidates(observed)
        if s.original and s.original.lower() not in seen and not same_stem(s.original, observed) \
                and not spelling_variant(s.original, observed) and (
                not s.rule.startswith("reverse_spin:") or s.original.lower() in {w.lower() for w, _ in lex}):
            cands.append((_match_case(s.original, observed), s.rule, config.restore_margin + extra))
            seen.add(s.original.lower())
        for w, rule in lex:
            if w.lower() in seen:
                continue
            seen.add(w.lower())
            cands.append((_match_case(w, observed), rule, config.restore_margin + extra))
        sites.append(Site(s.start, s.end, observed, "substitution", s.rule, s.confidence, cands, capital_mid))
    return sites


#: A capitalised word in mid-sentence is taken for a title a spinner may have swapped
#: ("Chairman" for "President") only if its lower-case form is at least this common.
MIN_TITLE_ZIPF = 4.0
#: Prior confidence of the restorer's own sites (:func:`extra_spans`): the LM must carry them.
EXTRA_SITE_CONFIDENCE = 0.2


def extra_spans(text: str, spans: list[Span]) -> list[Span]:
    """Single words the fast detector passes over that may still be a spinner's swap, as
    weak ``substitution`` spans (the LM and the margins decide):

    - inflected forms of a word whose lemma has a far more common synonym ("arenas": the
      detector's thesaurus lists lemmas only), and
    - titles: a common word capitalised in mid-sentence just before another capitalised word
      ("Chairman Smith"), which the detector skips as part of a name. It gets the name margin.
    """
    from .lexicons import thesaurus, zipf
    from .tokenize import sentence_initial, tokenize
    from .wordclasses import FUNCTION_WORDS

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
            out.append(Span(t.start, t.end, t.text, "substitution", _match_case(c, t.text),
                            EXTRA_SITE_CONFIDENCE, f"title:{t.lower}->{c}"))
            continue
        if t.text[:1].isupper():
            continue
        infl = inflected_candidates(t.lower)
        if infl and zipf(infl[0][0]) - zipf(t.lower) >= 1.0:
            out.append(Span(t.start, t.end, t.text, "substitution", infl[0][0], EXTRA_SITE_CONFIDENCE, infl[0][1]))
    return out


# --------------------------------------------------------------------------------------
# windows and clusters


@dataclass
class _Planned:
    site: Site
    cut: int  # character where the scored continuation starts (the space before the site)
    prefix_len: int  # tokens of the window before ``cut`` (start token included)
    end_tok: int  # index of the first token after the site


def _windows(text: str, sites: list[Site], all_windows: bool) -> list[tuple[int, int, list[Site]]]:
    """Group sentences into windows (not across blank lines) and attach sites to them."""
    sents = sentence_spans(text)
    wins: list[list[int]] = []
    for a, b in sents:
        while a < b and text[a].isspace():
            a += 1
        if a >= b:
            continue
        if wins and "\n\n" not in text[wins[-1][1]:a] and b - wins[-1][0] <= WINDOW_CHARS \
                and "\n" not in text[wins[-1][1]:a]:
            wins[-1][1] = b
        else:
            wins.append([a, b])
    out = []
    si = 0
    sites = sorted(sites, key=lambda s: s.start)
    for a, b in wins:
        mine = []
        while si < len(sites) and sites[si].start < b:
            if sites[si].start >= a and sites[si].end <= b:
                mine.append(sites[si])
            si += 1
        if mine or all_windows:
            out.append((a, b, mine))
    return out


def _place(win, a: int, sites: list[Site]) -> list[_Planned]:
    """Put sites on the window's tokens: where the scored continuation starts (the space
    before the site, which GPT-style tokenizers attach to the next word) and where it ends."""
    planned: list[_Planned] = []
    for s in sites:
        rs, re_ = s.start - a, s.end - a
        cut = rs - 1 if rs > 0 and win.text[rs - 1] == " " else rs
        p = win.boundary(cut)
        if p is None and cut != rs:
            cut, p = rs, win.boundary(rs)
        if p is None:
            continue  # the site starts inside a token (glued to punctuation): leave it
        end_tok = len(win.ids)
        for i, (ts, _te) in enumerate(win.offsets, start=1):
            if ts >= re_:
                end_tok = i
                break
        if planned and cut < planned[-1].site.end - a:
            continue  # touches the previous site
        planned.append(_Planned(s, cut, p, end_tok))
    return planned


def _right_end(win, a: int, last: _Planned, right: int) -> tuple[int, int]:
    """Token index (exclusive) and character offset where variants stop: ``right`` tokens
    of observed text after the last site."""
    end_tok = min(len(win.ids), last.end_tok + right)
    end_char = win.offsets[end_tok - 2][1] if end_tok >= 2 else len(win.text)
    return end_tok, max(end_char, last.site.end - a)


def _prune(lm, win, pl: _Planned, a: int, config: Config) -> list[tuple[str, str, float]]:
    """Candidates for one site, with the LM's related proposals added, pruned by the LM's
    left-context log-probability of their first token against the observed word's."""
    s = pl.site
    cands = list(s.candidates)
    lead = win.text[pl.cut : s.start - a]
    if s.kind == "substitution" and config.restore_lm_proposals > 0 and pl.prefix_len in win.topk:
        have = {c[0].lower() for c in cands} | {s.observed.lower()} | _neighbour_words(win.text, s.start - a, s.end - a)
        for tok, _lp in win.topk[pl.prefix_len][: config.restore_lm_proposals]:
            w = tok[len(lead):] if tok.startswith(lead) else ""
            if not w.isalpha() or w.lower() in have or same_stem(w, s.observed):
                continue
            if related(s.observed, w):
                cands.append((_match_case(w.lower(), s.observed), f"lm:{s.observed.lower()}->{w.lower()}",
                              config.restore_margin + config.restore_name_margin))
                have.add(w.lower())
    if s.kind != "substitution" or not cands:
        return cands[: config.restore_max_candidates]
    row = win.rows.get(pl.prefix_len)
    if row is None:
        return cands[: config.restore_max_candidates]
    obs_ids = lm.encode(lead + s.observed)
    obs_lp = float(row[obs_ids[0]]) if obs_ids else -99.0
    scored = []
    for c in cands:
        ids = lm.encode(lead + c[0])
        first = float(row[ids[0]]) if ids else -99.0
        if first < obs_lp - config.restore_prefilter:
            continue  # far less likely from the left: rarely wins with both sides either
        scored.append((first, c))
    scored.sort(key=lambda t: -t[0])
    return [c for _f, c in scored[: config.restore_max_candidates]]


class _ClusterDecoder:
    """Beam search over neighbouring sites, left to right, one step at a time so that the
    steps of all clusters run as one batch (:meth:`requests` / :meth:`feed`).

    At the step for site ``j`` every variant is scored from the cluster's first site to
    ``restore_right_context`` tokens after site ``j`` (so all variants of a step are
    comparable and each choice sees context on both sides); hypotheses are ranked by
    log-probability minus the margins of their changes, and the all-observed hypothesis
    always stays in the beam. ``fixed[j]`` is a change already decided (strong on its own):
    it is applied as context and not branched on. :meth:`result` gives (choices, gain over
    keeping the undecided sites as observed)."""

    def __init__(self, win, a: int, cluster: list[_Planned], options: list[list[tuple[str, str, float]]],
                 fixed: list, config: Config):
        self.win, self.a, self.cluster, self.options, self.fixed, self.config = win, a, cluster, options, fixed, config
        self.steps = [j for j in range(len(cluster)) if fixed[j] is None and options[j]]
        self.start = list(fixed)
        self.beam: list[list] = [self.start]
        self.k = 0
        self.scored: list[tuple[float, float, list]] = []
        self.base_raw: float | None = None
        self._pending: list[list] = []

    def done(self) -> bool:
        return self.k >= len(self.steps)

    def skip_first_step(self, gains: dict[str, float]) -> bool:
        """Take the first step from the one-site-at-a-time scores (``gains``: option text ->
        gain over the observed words) when no decided change lies in that step's span: the
        LM would then score exactly what it already scored, up to a constant that cancels."""
        if self.done():
            return False
        j = self.steps[0]
        _t, end_char = _right_end(self.win, self.a, self.cluster[j], self.config.restore_right_context)
        for i, (pl, f) in enumerate(zip(self.cluster, self.fixed)):
            if f is not None and i != j and pl.site.start - self.a < end_char:
                return False
        if any(o[0] not in gains for o in self.options[j]):
            return False
        self._pending = [list(self.start)]
        scores = [0.0]
        for o in self.options[j]:
            c2 = list(self.start)
            c2[j] = o
            self._pending.append(c2)
            scores.append(gains[o[0]])
        self.feed(scores)
        return True

    def _render(self, choice: list, from_char: int, to_char: int) -> str:
        """The window text between two character offsets with ``choice`` applied."""
        a, win = self.a, self.win
        parts, pos = [], from_char
        for pl, ch in zip(self.cluster, choice):
            if pl.site.end - a <= from_char:
                continue
            if pl.site.start - a >= to_char:
                break
            parts.append(win.text[pos : pl.site.start - a])
            parts.append(pl.site.observed if ch is None else ch[0])
            pos = pl.site.end - a
        parts.append(win.text[pos:to_char])
        return "".join(parts)

    def prefixes(self, lm) -> list[tuple[object, int, list[int]]]:
        """Phase 1 of a step: the distinct left parts (cluster start to the step's site) of the
        beam's hypotheses. Those that still read as observed use the window's own cache;
        the others are returned as requests for :meth:`LanguageModel.extend_many`, so their
        variants share one computation of the left part instead of each redoing it."""
        j = self.steps[self.k]
        first, cut_j = self.cluster[0], self.cluster[j].cut
        self._hyps: dict[tuple, tuple | None] = {}
        self._ext: list[tuple] = []
        reqs = []
        for ch in self.beam:
            key = tuple(None if c is None else c[0] for c in ch[:j])
            if key in self._hyps:
                continue
            if all(c is None for c in ch[:j]):
                pj = self.cluster[j].prefix_len
                self._hyps[key] = (self.win, pj, sum(self.win.logprobs[first.prefix_len:pj]))
            else:
                self._hyps[key] = None
                self._ext.append(key)
                reqs.append((self.win, first.prefix_len, lm.encode(self._render(ch, first.cut, cut_j))))
        return reqs

    def set_prefixes(self, extended: list[tuple[object, float]]) -> None:
        for key, (w, total) in zip(self._ext, extended):
            self._hyps[key] = (w, len(w.ids), total)

    def requests(self, lm) -> list[tuple[object, int, list[int]]]:
        """Phase 2 of a step: every hypothesis with every option at the step's site, scored
        from the site to ``restore_right_context`` tokens after it on top of its left part."""
        j = self.steps[self.k]
        _t, end_char = _right_end(self.win, self.a, self.cluster[j], self.config.restore_right_context)
        cut_j = self.cluster[j].cut
        expanded, keys = [], set()
        for ch in self.beam:
            for opt in [None] + self.options[j]:
                c2 = list(ch)
                c2[j] = opt
                k = tuple(None if c is None else c[0] for c in c2)
                if k not in keys:
                    keys.add(k)
                    expanded.append(c2)
        self._pending = expanded
        rows, self._left = [], []
        for ch in expanded:
            w, plen, left = self._hyps[tuple(None if c is None else c[0] for c in ch[:j])]
            rows.append((w, plen, lm.encode(self._render(ch, cut_j, end_char))))
            self._left.append(left)
        return rows

    def feed(self, scores: list[float], left: list[float] | None = None) -> None:
        scored, base_raw = [], None
        for ch, sc, lt in zip(self._pending, scores, left or [0.0] * len(scores)):
            sc += lt
            pen = sc - sum(c[2] for c, f in zip(ch, self.fixed) if c is not None and f is None)
            scored.append((pen, sc, ch))
            if ch == self.start:
                base_raw = sc
        scored.sort(key=lambda t: -t[0])
        keep = scored[: max(1, self.config.restore_beam)]
        if not any(t[2] == self.start for t in keep):
            keep.append(next(t for t in scored if t[2] == self.start))
        self.beam = [t[2] for t in keep]
        self.scored, self.base_raw = scored, base_raw
        self.k += 1

    def result(self) -> tuple[list, float]:
        if not self.scored or self.base_raw is None:
            return self.start, 0.0
        best = self.scored[0]
        if best[0] <= self.base_raw:
            return self.start, 0.0
        return best[2], best[1] - self.base_raw


def _decode_all(lm, decoders: list[_ClusterDecoder], stats: Stats) -> None:
    """Run every cluster's beam to the end, one batched LM call per beam step."""
    active = [d for d in decoders if not d.done()]
    while active:
        items, sizes = [], []
        for d in active:
            req = d.prefixes(lm)
            items.extend(req)
            sizes.append(len(req))
        extended = lm.extend_many(items) if items else []
        pos = 0
        for d, n in zip(active, sizes):
            d.set_prefixes(extended[pos : pos + n])
            pos += n
        del extended
        items, sizes = [], []
        for d in active:
            req = d.requests(lm)
            items.extend(req)
            sizes.append(len(req))
        scores = lm.score_many(items)
        stats.variants += len(items)
        pos = 0
        for d, n in zip(active, sizes):
            d.feed(scores[pos : pos + n], d._left)
            pos += n
        for d in active:
            d._hyps = {}  # free the extended windows' caches
        active = [d for d in active if not d.done()]


def _confidence(gain: float, margin: float, prior: float) -> float:
    """How sure a change is: the LM's excess over the margin, squashed, averaged with the
    detector's confidence."""
    lm_part = 1.0 / (1.0 + math.exp(-(gain - margin)))
    return round(0.5 * lm_part + 0.5 * prior, 4)


#: In the one-site-at-a-time pass, a candidate stays in play for the joint pass if it comes
#: within this many nats of its margin (neighbouring repairs can help each other).
JOINT_SLACK = 2.0
#: A candidate that beats its margin by this many nats on its own (and its runner-up does
#: not come close) is decided before the joint pass and serves as context there.
STRONG_GAIN = 6.0


# --------------------------------------------------------------------------------------
# entry points


def restore_with_stats(text: str, config: Config | None = None, report: Report | None = None,
                       lm=None, all_windows: bool = False) -> tuple[Restoration, Stats]:
    """:func:`restore`, also returning what the LM saw (:class:`Stats`). ``all_windows``
    runs the LM over the whole text (for document-level surprisal), not only around sites."""
    config = config or DEFAULT
    stats = Stats()
    if not text or not text.strip():
        return Restoration(text, text, []), stats
    if report is None:
        from .detect import check

        report = check(text, config.replace(
            min_span_confidence=min(config.min_span_confidence, config.restore_min_evidence),
            report_substitutions=True))
    if report.verdict == "not_applicable" and not report.spans:
        return Restoration(text, text, []), stats
    spans = list(report.spans)
    if report.verdict != "clean":
        spans += extra_spans(text, spans)
    if report.verdict != "spun" and config.restore_unsure_margin:
        # Not called spun: a rare word is as likely the writer's choice (legal, archaic or
        # technical register) as a spinner's, so word swaps must win by more.
        config = config.replace(restore_margin=config.restore_margin + config.restore_unsure_margin)
    sites = build_sites(text, spans, config)
    if report.verdict == "clean":
        # The fast tier calls the whole text clean: single-word suspects are unremarkable
        # there (an LM always prefers commoner words), so only strong fixed-wording evidence
        # may still be repaired.
        sites = [s for s in sites if s.kind != "substitution" and s.confidence >= config.restore_strong_evidence]
    # Spam anchors found inside a clause are removed outright: deleting a link is not a
    # wording guess, and an LM judges the words after it, which the anchor may have broken.
    # The foreign words a spam anchor brought with it go with it.
    # Only in a text the fast tier does not call clean: an honest page may cite a link.
    def is_direct(s: Site) -> bool:
        if report.verdict == "clean":
            return False
        if s.kind == "injected_anchor":
            if ":email:" in s.rule and report.verdict != "spun":
                return False  # an address inside an honest e-mail or forum post is common
            return s.confidence >= config.restore_strong_evidence
        return s.kind == "foreign_fragment" and ":after_anchor" in s.rule

    direct = [Span(s.start, s.end, s.observed, s.kind, s.candidates[0][0], s.confidence, f"{s.rule}; removed")
              for s in sites if is_direct(s)]
    sites = [s for s in sites if not is_direct(s)]
    stats.sites = len(sites)
    if not sites and not all_windows:
        return Restoration(text, apply_spans(text, direct), direct), stats
    if lm is None:
        from .lm import load

        lm = load()

    # 1. one LM pass over every window that holds a site, keeping the prediction at each cut
    wins = _windows(text, sites, all_windows)
    win_texts = [text[a:b] for a, b, _ in wins]
    want = []
    for (a, _b, ss), wt in zip(wins, win_texts):
        _ids, offs = lm.encode_with_offsets(wt)
        pos = []
        for s in ss:
            rs = s.start - a
            cut = rs - 1 if rs > 0 and wt[rs - 1] == " " else rs
            pos.extend(i for i, (ts, _te) in enumerate(offs, start=1) if ts == cut or ts == rs)
        want.append(pos)
    analysed = lm.analyse(win_texts, topk_at=want, k=max(config.restore_lm_proposals, 1))

    # 2. each site alone, all sites batched: gain of each candidate over the observed words
    placed: list[tuple[object, int, _Planned, list]] = []
    for (a, _b, ss), win in zip(wins, analysed):
        stats.windows += 1
        stats.tokens += len(win.ids) - 1
        stats.logprob += win.total
        for pl in _place(win, a, ss):
            opts = _prune(lm, win, pl, a, config)
            if opts:
                placed.append((win, a, pl, opts))
    stats.scored_sites = len(placed)
    items, owners = [], []
    for n, (win, a, pl, opts) in enumerate(placed):
        end_tok, end_char = _right_end(win, a, pl, config.restore_right_context)
        observed = sum(win.logprobs[pl.prefix_len:end_tok])
        # Deleting words always raises total log-probability, so a deletion is judged only on
        # whether the words after it read better without it (its own tokens cost nothing).
        after = sum(win.logprobs[pl.end_tok:end_tok])
        for o in opts:
            cont = win.text[pl.cut : pl.site.start - a] + o[0] + win.text[pl.site.end - a : end_char]
            items.append((win, pl.prefix_len, lm.encode(cont)))
            owners.append((n, o, after if o[0] == "" else observed))
    scores = lm.score_many(items)
    stats.variants += len(items)
    gains: dict[int, list[tuple[float, tuple]]] = {}
    for (n, o, observed), sc in zip(owners, scores):
        gains.setdefault(n, []).append((sc - observed, o))

    # 3. keep the live candidates; decode neighbouring live sites jointly
    live: list[tuple[object, int, _Planned, list]] = []
    for n, (win, a, pl, _opts) in enumerate(placed):
        good = sorted((g for g in gains.get(n, []) if g[0] > g[1][2] - JOINT_SLACK), key=lambda g: -(g[0] - g[1][2]))
        if good:
            live.append((win, a, pl, good[:2]))
    changes: list[Span] = []
    picks: list[tuple[_Planned, tuple, float]] = []
    joint: list[tuple[_ClusterDecoder, list[int]]] = []
    joint_gains: list[dict[str, float]] = []
    i = 0
    while i < len(live):
        cluster = [live[i]]
        while i + 1 < len(live) and live[i + 1][0] is cluster[0][0] and \
                live[i + 1][2].prefix_len - cluster[-1][2].end_tok < config.restore_right_context:
            i += 1
            cluster.append(live[i])
        i += 1
        win, a = cluster[0][0], cluster[0][1]
        # a site whose best candidate wins by far on its own is decided now and becomes
        # context for its neighbours; the rest are decoded jointly
        fixed, options = [], []
        for _w, _a, _pl, good in cluster:
            g, o = good[0]
            strong = g - o[2] >= STRONG_GAIN and (len(good) == 1 or good[1][0] - good[1][1][2] < g - o[2] - STRONG_GAIN)
            if o[0] == "":  # deletions are decided alone (see above), never in the joint pass
                strong = g > o[2]
                if not strong:
                    good[:] = []
            fixed.append(o if strong else None)
            options.append([] if strong else [x[1] for x in good])
        for j, (_w, _a, pl, good) in enumerate(cluster):
            if not good and fixed[j] is None:
                options[j] = []
        for (_w, _a, pl, good), f in zip(cluster, fixed):
            if f is not None:
                picks.append((pl, f, good[0][0]))
        undecided = [j for j, f in enumerate(fixed) if f is None and options[j]]
        if len(undecided) == 1 and len(cluster) == 1:
            gain, opt = max(cluster[0][3], key=lambda g: g[0] - g[1][2])
            if opt[0] == "":
                continue  # a deletion that did not win above
            if gain > opt[2]:
                picks.append((cluster[0][2], opt, gain))
        elif undecided:
            joint.append((_ClusterDecoder(win, a, [c[2] for c in cluster], options, fixed, config), undecided))
            j0 = undecided[0]
            joint_gains.append({o[0]: g for g, o in cluster[j0][3]})
    for d, first_gains in zip((d for d, _u in joint), joint_gains):
        d.skip_first_step(first_gains)
    _decode_all(lm, [d for d, _u in joint], stats)
    for d, undecided in joint:
        choice, gain = d.result()
        for j in undecided:
            if choice[j] is not None:
                picks.append((d.cluster[j], choice[j], gain))
    for p, opt, gain in picks:
        s = p.site
        changes.append(Span(s.start, s.end, s.observed, s.kind, opt[0],
                            _confidence(gain, opt[2], s.confidence), f"{opt[1]}; lm:+{gain:.1f}"))
        stats.changed += 1
        stats.gain += gain
    changes.extend(direct)
    changes.sort(key=lambda c: c.start)
    return Restoration(text, apply_spans(text, changes), changes), stats


def restore(text: str, config: Config | None = None, report: Report | None = None, lm=None) -> Restoration:
    """Restore ``text``: returns a :class:`~unspin.report.Restoration` whose ``changes`` rebuild
    ``.text`` from the input. ``report`` reuses a detector report for the same text; ``lm``
    a loaded :class:`unspin.lm.LanguageModel` (default: the installed model)."""
    return restore_with_stats(text, config, report, lm)[0]
