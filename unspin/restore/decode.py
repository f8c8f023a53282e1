"""Decoding: windows, where each site sits on the model's tokens, and the joint beam.

Each window (a sentence or a few) is run through the LM once. Sites closer than
``restore_right_context`` tokens form a cluster, decoded jointly with a small beam (each
hypothesis's left part is computed once and its variants scored on top; every cluster's step
runs in one batch): every variant is scored from the site to a common point
``restore_right_context`` tokens after the cluster, so the comparison uses context on both
sides. The decoder maximises log-probability minus the margins of the changes it makes; the
margins come from :mod:`.policy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..tokenize import sentence_spans
from .candidates import Candidate
from .sites import Site

#: Windows are grown sentence by sentence up to about this many characters.
WINDOW_CHARS = 480


@dataclass
class Stats:
    """What the LM saw while restoring (used by ``check --deep`` and the benchmarks)."""

    windows: int = 0
    tokens: int = 0
    logprob: float = 0.0  # total log-probability of the analysed windows, observed text
    gain: float = 0.0  # how much the accepted changes raised it (nats), each cluster counted once
    sites: int = 0
    scored_sites: int = 0
    changed: int = 0
    variants: int = 0


@dataclass
class Planned:
    site: Site
    cut: int  # character where the scored continuation starts (the space before the site)
    prefix_len: int  # tokens of the window before ``cut`` (start token included)
    end_tok: int  # index of the first token after the site


def windows(text: str, sites: list[Site], all_windows: bool) -> list[tuple[int, int, list[Site]]]:
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


def place(win, a: int, sites: list[Site]) -> list[Planned]:
    """Put sites on the window's tokens: where the scored continuation starts (the space
    before the site, which GPT-style tokenizers attach to the next word) and where it ends."""
    planned: list[Planned] = []
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
        planned.append(Planned(s, cut, p, end_tok))
    return planned


def right_end(win, a: int, last: Planned, right: int) -> tuple[int, int]:
    """Token index (exclusive) and character offset where variants stop: ``right`` tokens
    of observed text after the last site."""
    end_tok = min(len(win.ids), last.end_tok + right)
    end_char = win.offsets[end_tok - 2][1] if end_tok >= 2 else len(win.text)
    return end_tok, max(end_char, last.site.end - a)


class ClusterDecoder:
    """Beam search over neighbouring sites, left to right, one step at a time so that the
    steps of all clusters run as one batch (:meth:`requests` / :meth:`feed`).

    At the step for site ``j`` every variant is scored from the cluster's first site to
    ``restore_right_context`` tokens after site ``j`` (so all variants of a step are
    comparable and each choice sees context on both sides); hypotheses are ranked by
    log-probability minus the margins of their changes, and the all-observed hypothesis
    always stays in the beam. ``fixed[j]`` is a change already decided (strong on its own):
    it is applied as context and not branched on. :meth:`result` gives (choices, gain over
    keeping the undecided sites as observed)."""

    def __init__(self, win, a: int, cluster: list[Planned], options: list[list[Candidate]],
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
        _t, end_char = right_end(self.win, self.a, self.cluster[j], self.config.restore_right_context)
        for i, (pl, f) in enumerate(zip(self.cluster, self.fixed)):
            if f is not None and i != j and pl.site.start - self.a < end_char:
                return False
        if any(o.text not in gains for o in self.options[j]):
            return False
        self._pending = [list(self.start)]
        scores = [0.0]
        for o in self.options[j]:
            c2 = list(self.start)
            c2[j] = o
            self._pending.append(c2)
            scores.append(gains[o.text])
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
            parts.append(pl.site.observed if ch is None else ch.text)
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
            key = tuple(None if c is None else c.text for c in ch[:j])
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
        _t, end_char = right_end(self.win, self.a, self.cluster[j], self.config.restore_right_context)
        cut_j = self.cluster[j].cut
        expanded, keys = [], set()
        for ch in self.beam:
            for opt in [None] + self.options[j]:
                c2 = list(ch)
                c2[j] = opt
                k = tuple(None if c is None else c.text for c in c2)
                if k not in keys:
                    keys.add(k)
                    expanded.append(c2)
        self._pending = expanded
        rows, self._left = [], []
        for ch in expanded:
            w, plen, left = self._hyps[tuple(None if c is None else c.text for c in ch[:j])]
            rows.append((w, plen, lm.encode(self._render(ch, cut_j, end_char))))
            self._left.append(left)
        return rows

    def feed(self, scores: list[float], left: list[float] | None = None) -> None:
        scored, base_raw = [], None
        for ch, sc, lt in zip(self._pending, scores, left or [0.0] * len(scores)):
            sc += lt
            pen = sc - sum(c.margin for c, f in zip(ch, self.fixed) if c is not None and f is None)
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


def decode_all(lm, decoders: list[ClusterDecoder], stats: Stats) -> None:
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
