"""Verifying a candidate pair: in-order containment of canonical tokens, or an aligned skeleton.

LSH only says two documents *may* be related. The check here aligns their canonical token
sequences (difflib's longest-matching-blocks alignment, so the order of the words matters)
and asks what share of the **shorter** document is found in the longer one, counting only
runs of at least ``min_run`` tokens. Containment, not Jaccard similarity: sources are often
partial (the first paragraphs of an article), and a copy that adds a spam paragraph is still
a copy. Two honest pages on one topic share words but rarely long runs of them in order.

Heavy real spins keep too few canonical runs for that (EVAL.md: containment 0.05-0.30 with
their sources), so a pair below the threshold is linked on its **skeleton**
(:mod:`.skeleton`) when a long dense region of it aligns, or most of the shorter skeleton
does, and some content words inside the aligned runs agree (:func:`link`).
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from .skeleton import skeleton_evidence, unpack


@dataclass(frozen=True)
class Alignment:
    """How two canonical token sequences line up: ``blocks`` are ``(i, j, n)`` runs
    (``a[i:i+n] == b[j:j+n]``) of at least ``min_run`` tokens, in order."""

    containment: float
    matched: int
    len_a: int
    len_b: int
    blocks: tuple[tuple[int, int, int], ...]

    def to_dict(self) -> dict:
        return {"containment": round(self.containment, 4), "matched_tokens": self.matched,
                "tokens": [self.len_a, self.len_b]}


def align(a: np.ndarray, b: np.ndarray, min_run: int = 2) -> Alignment:
    """Align two canonical token arrays; containment is matched / len(shorter)."""
    la, lb = len(a), len(b)
    if la == 0 or lb == 0:
        return Alignment(0.0, 0, la, lb, ())
    sm = SequenceMatcher(None, a.tolist(), b.tolist(), autojunk=False)
    blocks = tuple((i, j, n) for i, j, n in sm.get_matching_blocks() if n >= min_run)
    matched = sum(n for _, _, n in blocks)
    return Alignment(matched / min(la, lb), matched, la, lb, blocks)


def containment(a: np.ndarray, b: np.ndarray, min_run: int = 2) -> float:
    """Share of the shorter sequence found in order in the other (runs of ``min_run``+)."""
    return align(a, b, min_run).containment


def link(a: np.ndarray, b: np.ndarray, options) -> float | None:
    """The similarity of two (packed, :func:`unspin.cluster.skeleton.pack`) document arrays
    when they are linked, else None. Linked by any of three rules:

    * canonical: containment at least ``options.threshold`` with at least
      ``options.min_matched`` tokens matched;
    * skeleton: both skeletons at least ``skeleton_min_tokens`` long, ``skeleton_content``
      agreeing content words, and a region of ``skeleton_region`` tokens or a share of
      ``skeleton_share``;
    * joint: containment at least ``joint_threshold`` with ``joint_matched`` tokens, and a
      skeleton region of ``joint_region`` tokens with ``joint_content`` agreeing words."""
    ca, sa, ma = unpack(a)
    cb, sb, mb = unpack(b)
    al = align(ca, cb, options.min_run)
    c = al.containment
    if c >= options.threshold and al.matched >= options.min_matched:
        return c
    if not options.skeleton_shingle or min(len(sa), len(sb)) < options.skeleton_min_tokens:
        return None
    ev = skeleton_evidence(sa, ma, sb, mb)
    if ev.content >= options.skeleton_content and (ev.region >= options.skeleton_region
                                                    or ev.share >= options.skeleton_share):
        return max(c, ev.share)
    if (options.joint_region and c >= options.joint_threshold and al.matched >= options.joint_matched
            and ev.region >= options.joint_region and ev.content >= options.joint_content):
        return max(c, ev.share)
    return None


def similarity(a: np.ndarray, b: np.ndarray, options) -> float:
    """What :func:`link` reports for a pair, linked or not: the larger of the canonical
    containment and the skeleton's matched share."""
    ca, sa, ma = unpack(a)
    cb, sb, mb = unpack(b)
    c = containment(ca, cb, options.min_run)
    if not options.skeleton_shingle:
        return c
    return max(c, skeleton_evidence(sa, ma, sb, mb).share)
