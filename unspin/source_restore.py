"""Restore a spun text from its source by alignment.

When the original of a spun page is known (found with ``unspin trace``, or given), the surest
restoration is the original's own wording. Both texts are tokenised (words, numbers,
punctuation) and aligned on lower-cased tokens (difflib's longest matching blocks). The
*aligned part* is made of chains of matching runs of at least :data:`MIN_RUN` tokens whose
gaps are at most :data:`MAX_GAP` tokens on both sides, holding at least :data:`MIN_MATCHED`
matching tokens: a spinner swaps a word or a phrase at a time, so the gaps of a real copy
are short; a paragraph the copy added, a clause it reordered or a part the source lacks
(sources are often partial) breaks the chain, and stays outside.

Inside the aligned part every gap between matching runs becomes one change span: the spun
characters between the two runs are replaced by the source's characters between the same
runs (kind ``substitution``, ``rule="source:<id>:<start>-<end>"`` with the source's
character range, confidence 1.0). Equal tokens are never touched, so the capitalisation and
spacing of the copy are kept there. Spans replay exactly: ``apply_spans(text, changes)``.

:func:`restore_with_source` composes this with the language-model restorer: outside the
aligned part its changes are kept, inside they are dropped (the source decides there).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from .config import Config
from .report import Restoration, Span, apply_spans
from .tokenize import tokenize

#: Shortest run of equal tokens that anchors the alignment.
MIN_RUN = 2
#: Longest gap (tokens, on either side) between two runs of one aligned region.
MAX_GAP = 12
#: Fewest matching tokens an aligned region needs (a few shared words are chance).
MIN_MATCHED = 8


@dataclass(frozen=True)
class SourceAlignment:
    """The aligned part of a (text, source) pair and the changes it gives.

    ``regions`` are ``(text_start, text_end, source_start, source_end)`` character ranges;
    ``matched`` counts equal tokens inside them; ``coverage`` is the share of the text's
    tokens inside the aligned part."""

    regions: tuple[tuple[int, int, int, int], ...]
    changes: tuple[Span, ...]
    matched: int
    coverage: float

    def inside(self, start: int, end: int) -> bool:
        """Does the character range ``[start, end)`` touch the aligned part?"""
        return any(start < b and a < end or (start == end and a <= start <= b) for a, b, _, _ in self.regions)


def _keys(tokens) -> list[str]:
    return [t.text.lower().replace("’", "'") for t in tokens]


def _regions(blocks: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """Chains of matching blocks with short gaps (single tokens may link a chain), each
    trimmed to start and end with a run of :data:`MIN_RUN` tokens and kept only when its runs
    of :data:`MIN_RUN` or more hold :data:`MIN_MATCHED` tokens (chance matches of ``the`` and
    commas between unrelated passages never make a region)."""
    chains: list[list[tuple[int, int, int]]] = []
    for blk in blocks:
        if chains:
            pi, pj, pn = chains[-1][-1]
            gi, gj = blk[0] - (pi + pn), blk[1] - (pj + pn)
            if 0 <= gi <= MAX_GAP and 0 <= gj <= MAX_GAP:
                chains[-1].append(blk)
                continue
        chains.append([blk])
    out = []
    for chain in chains:
        strong = [k for k, b in enumerate(chain) if b[2] >= MIN_RUN]
        if not strong or sum(chain[k][2] for k in strong) < MIN_MATCHED:
            continue
        out.append(chain[strong[0]: strong[-1] + 1])
    return out


def align_to_source(text: str, source: str, source_id: str = "source") -> SourceAlignment:
    """Align ``text`` (a spun copy) to ``source``; return the aligned part and its changes."""
    ta, tb = tokenize(text), tokenize(source)
    if not ta or not tb:
        return SourceAlignment((), (), 0, 0.0)
    sm = SequenceMatcher(None, _keys(ta), _keys(tb), autojunk=False)
    blocks = [b for b in sm.get_matching_blocks() if b[2] > 0]
    regions: list[tuple[int, int, int, int]] = []
    changes: list[Span] = []
    matched = 0
    covered = 0
    chains = _regions(blocks)
    for k, chain in enumerate(chains):
        first, last = chain[0], chain[-1]
        i0, j0 = first[0], first[1]
        i1, j1 = last[0] + last[2], last[1] + last[2]
        # Both texts start (end) with a short unmatched stretch: a swapped first (last) word.
        if k == 0 and i0 <= MAX_GAP and j0 <= MAX_GAP:
            i0, j0 = 0, 0
        if k == len(chains) - 1 and len(ta) - i1 <= MAX_GAP and len(tb) - j1 <= MAX_GAP:
            i1, j1 = len(ta), len(tb)
        regions.append((ta[i0].start, ta[i1 - 1].end, tb[j0].start, tb[j1 - 1].end))
        covered += i1 - i0
        # Inside the chain, re-align finely (single equal tokens count there).
        # Case counts here: a spinner that lower-cases "United States" is undone too.
        inner = SequenceMatcher(None, [t.text for t in ta[i0:i1]], [t.text for t in tb[j0:j1]], autojunk=False)
        for op, a0, a1, b0, b1 in inner.get_opcodes():
            if op == "equal":
                matched += a1 - a0
                continue
            a0, a1, b0, b1 = a0 + i0, a1 + i0, b0 + j0, b1 + j0
            # The characters between the equal neighbours on each side (spacing included).
            s_start = ta[a0 - 1].end if a0 > i0 else ta[a0].start
            s_end = ta[a1].start if a1 < i1 else ta[a1 - 1].end
            o_start = tb[b0 - 1].end if b0 > j0 else tb[b0].start
            o_end = tb[b1].start if b1 < j1 else tb[b1 - 1].end
            if s_end < s_start or o_end < o_start:  # an edge gap on one side only: leave it
                continue
            observed, original = text[s_start:s_end], source[o_start:o_end]
            # Trim what both sides share at the edges (usually the spaces).
            p = 0
            while p < min(len(observed), len(original)) and observed[p] == original[p]:
                p += 1
            q = 0
            while (q < min(len(observed), len(original)) - p
                   and observed[len(observed) - 1 - q] == original[len(original) - 1 - q]):
                q += 1
            if observed == original:
                continue
            s0, s1 = s_start + p, s_end - q
            o0, o1 = o_start + p, o_end - q
            changes.append(Span(start=s0, end=s1, text=text[s0:s1], kind="substitution",
                                original=source[o0:o1], confidence=1.0,
                                rule=f"source:{source_id}:{o0}-{o1}"))
    return SourceAlignment(tuple(regions), tuple(changes), matched, covered / len(ta))


def restore_from_source(text: str, source: str, source_id: str = "source") -> Restoration:
    """The source's wording inside the aligned part; nothing changed outside it."""
    al = align_to_source(text, source, source_id)
    changes = list(al.changes)
    return Restoration(source=text, text=apply_spans(text, changes), changes=changes)


def restore_with_source(text: str, source: str, config: Config | None = None, source_id: str = "source",
                        source_only: bool = False) -> Restoration:
    """Restore ``text`` from ``source`` inside the aligned part and, unless ``source_only``,
    with the language-model restorer outside it (needs ``unspin[lm]`` and the model)."""
    al = align_to_source(text, source, source_id)
    changes = list(al.changes)
    if not source_only and al.coverage < 1.0:
        import unspin  # the public restorer, whatever module implements it

        lm = unspin.restore(text, config)
        for c in lm.changes:
            if not al.inside(c.start, c.end):
                changes.append(c)
    changes.sort(key=lambda s: (s.start, s.end))
    kept: list[Span] = []
    for c in changes:  # the source's spans come first at equal starts; never overlap
        if kept and c.start < kept[-1].end:
            continue
        kept.append(c)
    return Restoration(source=text, text=apply_spans(text, kept), changes=kept)
