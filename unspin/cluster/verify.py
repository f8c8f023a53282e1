"""Verifying a candidate pair: in-order containment of canonical tokens.

LSH only says two documents *may* be related. The check here aligns their canonical token
sequences (difflib's longest-matching-blocks alignment, so the order of the words matters)
and asks what share of the **shorter** document is found in the longer one, counting only
runs of at least ``min_run`` tokens. Containment, not Jaccard similarity: sources are often
partial (the first paragraphs of an article), and a copy that adds a spam paragraph is still
a copy. Two honest pages on one topic share words but rarely long runs of them in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np


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
