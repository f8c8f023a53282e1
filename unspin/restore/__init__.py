"""Restoring: put the original words back where the evidence and the language model agree.

The pipeline, one module per stage:

1. **Sites** (:mod:`.sites`): the detector's evidence spans (signatures, tortured phrases,
   injected anchors, foreign fragments, substitution suspects) and the restorer's own weak
   sites; callers may add spans (``spans=``).
2. **Candidates** (:mod:`.candidates`): a typed :class:`Candidate` per possible original,
   from the fixed-wording lexicons, the thesaurus and reverse-spin table, the language
   model's own proposals at the site, and any caller's proposer (``proposers=``, e.g. a found
   source).
3. **Decoding** (:mod:`.decode`): one LM pass per window; each candidate scored with context
   on both sides; neighbouring sites decoded jointly with a small beam.
4. **Policy** (:mod:`.policy`, :mod:`.accept`): what may change at all given the verdict,
   what is removed outright, and the margin each candidate must win by: the learned
   acceptance for word swaps, fixed margins for fixed-wording evidence.

Every change is a :class:`~unspin.report.Span` on the input with ``original`` = the
replacement, so ``apply_spans(text, changes) == restoration.text``.
"""

from __future__ import annotations

from ..lexicons import inflect as _inflect  # noqa: F401  (older name)
from ..lexicons import inflected_synonyms as inflected_candidates  # noqa: F401
from ..lexicons import related, same_stem, sibling_index, spelling_variant  # noqa: F401
from .accept import Acceptance, load_acceptance
from .candidates import Candidate, Proposer, lexicon_candidates, match_case
from .decode import Stats
from .pipeline import restore, restore_with_stats
from .sites import EXTRA_SITE_CONFIDENCE, FIXED_KINDS, Site, build_sites, extra_spans, neighbour_words

_sibling_index = sibling_index  # the name unspin.serve preloads
_neighbour_words = neighbour_words

__all__ = [
    "restore", "restore_with_stats", "Acceptance", "Candidate", "Proposer", "Site", "Stats",
    "build_sites", "extra_spans", "lexicon_candidates", "load_acceptance", "match_case", "related",
    "same_stem", "spelling_variant", "EXTRA_SITE_CONFIDENCE", "FIXED_KINDS",
]
