"""From verified pairs to clusters, and the choice of each cluster's source.

Documents joined by a verified pair (containment at or above the threshold) form a cluster
(connected components). The **source** is the member least likely to be spun: lowest spun
score (the fast tier's under ``tier="auto"``; where the model tier is installed, the larger of
the fast and model tiers' scores of the few most source-like members: :func:`choose_sources`,
:func:`unspin.cluster.core.second_config`; a document the detector cannot score counts as 1.0; scores
in the same :data:`SCORE_STEP` count as equal, since a lightly spun copy and its original
both score near 0 and the difference is noise), then the smallest share of *swapped* words
(content words with a more frequent thesaurus synonym, and spinner filler: what a spinner
puts in), then the most fixed tokens (names, numbers, rare terms), then the earliest date
when the input has one, then the exact score, then the input order. The swapped share comes
before the fixed tokens because injected spam anchors add fixed tokens (on synthetic
dev-split spins the order picked the original in 108 of 120 clusters, against 98 with fixed
tokens first and 102 by the score alone; EVAL.md). Every other member is a ``copy`` of it;
a document with no partner is ``unique``. Clustering never calls a page spun: the verdict
is the detector's alone.
"""

from __future__ import annotations

from typing import Callable, Sequence


class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        p = self.parent
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                ra, rb = rb, ra
            self.parent[ra] = rb  # the smaller index is the root: deterministic


def components(n: int, pairs: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected components of size >= 2, each sorted, ordered by their first member."""
    uf = UnionFind(n)
    for a, b in pairs:
        uf.union(a, b)
    groups: dict[int, list[int]] = {}
    for a, b in pairs:
        for x in (a, b):
            groups.setdefault(uf.find(x), [])
    for i in range(n):
        r = uf.find(i)
        if r in groups:
            groups[r].append(i)
    return sorted((sorted(set(g)) for g in groups.values()), key=lambda g: g[0])


#: Spun scores are compared in steps of this size (see the module docstring).
SCORE_STEP = 0.2


def source_key(score: float | None, n_fixed: int, swapped: float, date: str | None, index: int) -> tuple:
    """Sort key: the smallest is the most source-like member."""
    s = 1.0 if score is None else float(score)
    return (int(s / SCORE_STEP + 1e-9), round(swapped, 3), -n_fixed, date is None, date or "", s, index)


def choose_sources(clusters: list[list[int]], score_of: Callable[[int], float | None],
                   fixed_of: Callable[[int], int], date_of: Callable[[int], str | None],
                   swapped_of: Callable[[int], float] = lambda i: 0.0,
                   rescore: Callable[[list[int]], dict[int, float | None]] | None = None,
                   contenders: int = 4) -> list[int]:
    """The source member of each cluster.

    ``rescore``: a second, costlier opinion (the model tier) asked only of the
    ``contenders`` most source-like members of each cluster by the first score; the source
    is then the contender whose *larger* score of the two is lowest (the member neither
    detector thinks spun). The cost is bounded by ``contenders`` per cluster, whatever the
    cluster's size."""
    def key(i: int, s: float | None) -> tuple:
        return source_key(s, fixed_of(i), swapped_of(i), date_of(i), i)

    if rescore is None:
        return [min(c, key=lambda i: key(i, score_of(i))) for c in clusters]
    short = [sorted(c, key=lambda i: key(i, score_of(i)))[:max(1, contenders)] for c in clusters]
    second = rescore([i for c in short for i in c])

    def both(i: int) -> float | None:
        a, b = score_of(i), second.get(i)
        return None if a is None or b is None else max(a, b)

    return [min(c, key=lambda i: key(i, both(i))) for c in short]


def annotations(n: int, clusters: list[list[int]], sources: list[int],
                similarity: Callable[[int, int], float], ids: Sequence[object]) -> list[dict]:
    """The ``cluster`` object of every document: id, role, source, similarity, size.

    The cluster id is the input position of its first member (stable across runs)."""
    out = [{"id": None, "role": "unique", "source": None, "similarity": None, "size": 1} for _ in range(n)]
    for members, src in zip(clusters, sources):
        cid = members[0]
        for i in members:
            if i == src:
                out[i] = {"id": cid, "role": "source", "source": None, "similarity": None, "size": len(members)}
            else:
                out[i] = {"id": cid, "role": "copy", "source": ids[src],
                          "similarity": round(similarity(i, src), 4), "size": len(members)}
    return out
