"""The settings of a clustering job, each with its default and what moving it costs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class ClusterOptions:
    """How fingerprints are shingled, hashed, bucketed and verified.

    The defaults were chosen on synthetic spins of clean windows (EVAL.md, "Clustering and
    tracing"); the development set was only used to report figures.
    """

    #: Canonical tokens per shingle. Shorter shingles survive more word swaps (higher
    #: recall) and collide more often by chance (more candidate pairs to verify).
    shingle: int = 2
    #: Shingles per MinHash window. A document is hashed window by window (windows overlap
    #: by half), so a short source quoted inside a long copy still shares whole windows with
    #: it: containment, not Jaccard similarity of whole documents, is what LSH then finds.
    window: int = 32
    #: MinHash permutations per window (rensa's RMinHash).
    num_perm: int = 64
    #: LSH bands; ``num_perm / bands`` rows each. More bands (fewer rows): higher recall,
    #: more candidates to verify. Real spins keep few canonical runs intact: on the development
    #: set, 3-token shingles in 16 bands of 4 rows found 8 of 126 related pairs as candidates,
    #: 2-token shingles in 32 bands of 2 rows 83 (EVAL.md).
    bands: int = 32
    #: Documents with fewer canonical tokens than this are not clustered (``unique``): a
    #: title or a stub has too little that survives spinning to be matched safely.
    min_tokens: int = 12
    #: In-order containment (share of the shorter text's canonical tokens found, in order, in
    #: runs of at least ``min_run`` tokens, in the other) at or above which two documents are
    #: linked. Lower finds more heavily spun copies and links more near-topic pages (EVAL.md
    #: has the development-set table for 0.3, 0.35 and 0.4).
    threshold: float = 0.35
    #: ... and at least this many canonical tokens matched. A share alone is weak evidence on
    #: a short text: a 21-token source shares 8 tokens in runs of two ("grow uncontrollably",
    #: "spread ... body") with any page on its topic. On the development set every pair linked
    #: by containment alone with fewer than 12 matched tokens was a near-topic or reprinted
    #: page (3 pairs; no related pair lost), and 12 of 13 leave-one-family-out folds chose 12
    #: from 0/8/10/12/15 (EVAL.md).
    min_matched: int = 12
    #: Shortest run of matching canonical tokens that counts towards containment; runs of one
    #: token are mostly chance (two pages on one topic share single words).
    min_run: int = 2
    #: Buckets with more documents than this are skipped (boilerplate shared by thousands of
    #: pages); they would make verification quadratic.
    max_bucket: int = 100
    #: MinHash seed (every process must use the same one).
    seed: int = 20260
    #: Skeleton tokens (:mod:`.skeleton`: frame words, punctuation, names, one placeholder
    #: per run of content words) per shingle of the second set of LSH bands. The skeleton's
    #: alphabet is small, so its shingles are longer than the canonical ones. 0: no skeleton
    #: bands, and no skeleton verification.
    skeleton_shingle: int = 7
    #: LSH bands over the skeleton shingles (``num_perm / skeleton_bands`` rows each).
    skeleton_bands: int = 32
    #: Documents with fewer skeleton tokens than this get no skeleton keys.
    skeleton_min_tokens: int = 16
    #: A pair is linked on its skeleton when its best aligned region (runs of 3+ skeleton
    #: tokens, gaps of at most 6) reaches this many tokens, or when ``skeleton_share`` of the
    #: shorter skeleton aligns, and in both cases ``skeleton_content`` content words inside
    #: the aligned runs share a canonical class. Chosen on the development set (EVAL.md has
    #: the grid and a leave-one-family-out check).
    skeleton_region: int = 24
    skeleton_share: float = 0.65
    skeleton_content: int = 3
    #: Joint evidence: a pair below both rules is linked when the canonical containment is at
    #: least ``joint_threshold`` with ``joint_matched`` tokens matched *and* the skeleton has a
    #: region of ``joint_region`` tokens with ``joint_content`` agreeing content words: neither
    #: fingerprint alone is enough, both at once are rare by chance (a heavily spun copy of a
    #: partial source). Set by hand on the development set: it links 4 more related pairs
    #: there (three tortured spins of one source, a paraphrase) and 2 pairs of other
    #: versions of one text, and traces 3 more spun pages (EVAL.md). ``joint_region=0``
    #: turns the rule off.
    joint_threshold: float = 0.25
    joint_matched: int = 15
    joint_region: int = 15
    joint_content: int = 6
    #: Members of each cluster (the most source-like by the fast tier) that the model tier
    #: also scores to choose the source, where it is installed (``tier="auto"``): the cost of
    #: the second opinion is at most this many model-tier reads per cluster.
    source_contenders: int = 4

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    @property
    def skeleton_rows(self) -> int:
        return self.num_perm // self.skeleton_bands

    def __post_init__(self):
        from ..errors import InputError

        if self.shingle < 1 or self.window < 1 or self.min_tokens < 1 or self.min_run < 1:
            raise InputError("shingle, window, min_tokens and min_run must be at least 1")
        if self.bands < 1 or self.num_perm % self.bands:
            raise InputError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        if not 0.0 < self.threshold <= 1.0:
            raise InputError("threshold must be in (0, 1]")
        if self.skeleton_shingle < 0 or (self.skeleton_shingle and (
                self.skeleton_bands < 1 or self.num_perm % self.skeleton_bands)):
            raise InputError(f"num_perm ({self.num_perm}) must be a multiple of skeleton_bands "
                             f"({self.skeleton_bands}); skeleton_shingle must be 0 or more")
        if not 0.0 < self.skeleton_share <= 1.0 or self.skeleton_region < 1 or self.skeleton_content < 0:
            raise InputError("skeleton_share must be in (0, 1], skeleton_region at least 1")
        if self.source_contenders < 1:
            raise InputError("source_contenders must be at least 1")
        if self.min_matched < 0 or self.joint_region < 0 or self.joint_matched < 0 or self.joint_content < 0 \
                or not 0.0 <= self.joint_threshold <= 1.0:
            raise InputError("min_matched, joint_region, joint_matched and joint_content must be 0 or more, "
                             "joint_threshold in [0, 1]")

    def replace(self, **changes) -> "ClusterOptions":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
