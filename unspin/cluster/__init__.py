"""Clustering spun copies, tracing them to their source.

Stages, one module each, in pipeline order:

- :mod:`.fingerprint`: the canonical token sequence that survives spinning (names, numbers,
  capitalised words, URLs, rare terms kept; content words mapped to a synonym class;
  function words and spinner filler dropped);
- :mod:`.minhash`: shingles, window MinHash signatures (rensa), LSH band keys;
- :mod:`.verify`: in-order containment alignment of a candidate pair;
- :mod:`.group`: clusters and the choice of each cluster's source;
- :mod:`.core`: the whole pipeline in memory (:func:`cluster_texts`);
- :mod:`.index`: an on-disk reference index for tracing one text (:func:`trace`);
- :mod:`.job`: the resumable ``unspin cluster`` job over corpora.

Every document gets a ``cluster`` object: ``{"id", "role", "source", "similarity", "size"}``
with ``role`` one of ``source``, ``copy``, ``unique``. Clustering says which pages are
copies of which; whether a copy is *spun* is only ever the detector's verdict.
Needs ``pip install 'unspin[cluster]'`` (rensa).
"""

from .core import candidate_pairs, cluster_texts
from .options import ClusterOptions

__all__ = ["ClusterOptions", "cluster_texts", "candidate_pairs"]
