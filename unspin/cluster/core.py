"""The clustering pipeline on documents held in memory: fingerprints, LSH keys, candidate
pairs, verification, clusters, sources. The ``unspin cluster`` job (:mod:`.job`) runs the
same stages on corpora, with the per-document work in worker processes and the keys on disk.

    >>> from unspin.cluster import cluster_texts
    >>> marks = cluster_texts([original, spun_copy, unrelated])
    >>> marks[1]["role"], marks[1]["source"]
    ('copy', 0)
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

from ..config import Config
from .group import annotations, choose_sources, components
from .minhash import document_keys
from .options import ClusterOptions
from .tokens import document_tokens_and_stats
from .verify import link, similarity as pair_similarity


def candidate_pairs(keys: Sequence[np.ndarray], max_bucket: int) -> list[tuple[int, int]]:
    """Document pairs ``(i, j)``, ``i < j``, that share at least one LSH key, sorted.

    Buckets (documents sharing one key) larger than ``max_bucket`` are skipped."""
    sizes = [len(k) for k in keys]
    if sum(sizes) == 0:
        return []
    all_keys = np.concatenate([k for k in keys if len(k)])
    docs = np.repeat(np.arange(len(keys), dtype=np.int64), sizes)
    return pairs_from_buckets(all_keys, docs, max_bucket)


def pairs_from_buckets(all_keys: np.ndarray, docs: np.ndarray, max_bucket: int) -> list[tuple[int, int]]:
    """Pairs of documents sharing a key, from parallel arrays of (key, document)."""
    if len(all_keys) == 0:
        return []
    order = np.argsort(all_keys, kind="stable")
    k = all_keys[order]
    d = docs[order]
    bounds = np.flatnonzero(np.diff(k)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [len(k)]))
    sizes = ends - starts
    pairs: set[tuple[int, int]] = set()
    for s, e in zip(starts[(sizes >= 2) & (sizes <= max_bucket)], ends[(sizes >= 2) & (sizes <= max_bucket)]):
        members = sorted(set(d[s:e].tolist()))
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
    return sorted(pairs)


def verify_pairs(pairs: Iterable[tuple[int, int]], tokens: Callable[[int], np.ndarray],
                 options: ClusterOptions) -> list[tuple[int, int, float]]:
    """The pairs that :func:`unspin.cluster.verify.link` links, with their similarity (a plain
    canonical token array is verified by containment alone)."""
    out = []
    for a, b in pairs:
        c = link(tokens(a), tokens(b), options)
        if c is not None:
            out.append((a, b, c))
    return out


def scoring_config(config: Config | None) -> Config:
    """The configuration cluster members are scored with: the caller's, without the
    keyword-anchor test (only the score is read, never the spans)."""
    return (config or Config()).replace(keyword_anchors=False)


def first_config(config: Config | None) -> Config:
    """The tier that scores every cluster member: the caller's, with ``tier="auto"`` read as
    the fast tier (the model tier's opinion is asked of the contenders only:
    :func:`second_config`)."""
    config = scoring_config(config)
    return config.replace(tier="fast") if config.tier == "auto" else config


def second_config(config: Config | None, model: bool | None = None) -> Config | None:
    """The configuration of the second opinion on each cluster's source contenders
    (:func:`unspin.cluster.group.choose_sources`): the model tier under ``tier="auto"``
    where it is installed (``model=None`` asks :func:`unspin.probe.available`), else None.

    Why: the source is then the contender that *neither* tier thinks spun. On the real
    development pages (``python -m eval.run_cluster dev``, EVAL.md) that traced 27 of 48 spun
    pages to their source, the fast tier alone 25 (the model tier alone 28); on emulator
    spins of 40-150-word windows (``synthetic``) 83% of copies, the fast tier alone 81%, the
    model tier alone 66% (it scores many short honest windows as high as their light
    spins). The model tier costs far more per page than the fast tier (in the job on 10,028
    short documents: 12 s with the fast tier alone, 62 s with the second opinion;
    BENCHMARKS.md), hence contenders only; ``Config(tier="fast")``
    (``unspin cluster --source-tier fast``) skips it."""
    config = scoring_config(config)
    if config.tier != "auto":
        return None
    if model is None:
        from ..probe import available

        model = available()
    return config.replace(tier="model") if model else None


def source_scores(texts: Sequence[str], config: Config | None) -> list[float | None]:
    """Spun scores (``None``: not applicable) of ``texts`` under ``config`` as it is (pass
    :func:`first_config` or :func:`second_config`), in one batched pass of the cascade."""
    from .. import detect

    return [r.score for r in detect.check_many(list(texts), config)]


def spun_scores(texts: Sequence[str], indexes: Iterable[int], config: Config | None = None) -> dict[int, float | None]:
    """First-stage scores (:func:`first_config`) of the given documents, by index."""
    indexes = list(indexes)
    return dict(zip(indexes, source_scores([texts[i] for i in indexes], first_config(config))))


def cluster_texts(texts: Sequence[str], ids: Sequence[object] | None = None,
                  dates: Sequence[str | None] | None = None, options: ClusterOptions | None = None,
                  config: Config | None = None, backend: str = "rensa") -> list[dict]:
    """Cluster ``texts``; return the ``cluster`` object of each (see :mod:`unspin.cluster`).

    ``ids`` name the documents in the ``source`` field (default: their positions); ``dates``
    (ISO strings, or None) break ties between equally clean candidate sources."""
    options = options or ClusterOptions()
    n = len(texts)
    ids = list(range(n)) if ids is None else list(ids)
    dates = [None] * n if dates is None else list(dates)
    signed = [r for k in range(0, n, 256) for r in document_tokens_and_stats(list(texts[k: k + 256]))]
    toks = [r[0] for r in signed]
    keys = document_keys(toks, options, backend)
    pairs = candidate_pairs(keys, options.max_bucket)
    verified = verify_pairs(pairs, lambda i: toks[i], options)
    clusters = components(n, [(a, b) for a, b, _ in verified])
    members = [i for c in clusters for i in c]
    scores = spun_scores(texts, members, config)
    second = second_config(config)
    rescore = None if second is None else (
        lambda idx: dict(zip(idx, source_scores([texts[i] for i in idx], second))))
    sources = choose_sources(clusters, scores.get, lambda i: signed[i][1], lambda i: dates[i],
                             lambda i: signed[i][2], rescore, options.source_contenders)
    known = {(a, b): c for a, b, c in verified}

    def similarity(i: int, src: int) -> float:
        key = (min(i, src), max(i, src))
        if key in known:
            return known[key]
        return pair_similarity(toks[i], toks[src], options)

    return annotations(n, clusters, sources, similarity, ids)

