"""Candidate originals for a site, from several proposers.

A :class:`Candidate` is one possible original wording of a site, with the rule that proposed
it and what the acceptance needs to judge it. Proposers:

- **fixed wording** (:mod:`.sites`): a signature, tortured phrase, anchor or foreign fragment
  brings its one original from its lexicon entry;
- **lexicon** (:func:`lexicon_candidates`): the thesaurus's more frequent synonyms (inflected
  like the observed word when the thesaurus lists only its lemma) and the reverse-spin table;
- **language model** (:func:`lm_candidates`): the model's own next-word predictions at the
  site from the left context, whole words only, later re-scored with the right context.
  No lexicon has to relate them to the observed word: the acceptance decides, with the
  relation as one of its features;
- **found source**: any callable ``proposer(text, site, config) -> list[Candidate]`` passed
  to :func:`unspin.restore.restore_with_stats` (``proposers=[...]``), e.g. one that reads the
  original page of a spun copy; its candidates are scored and judged like the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from ..config import Config
from ..lexicons import inflected_synonyms, relation_hops, reverse_spin, same_stem, spelling_variant, thesaurus

#: Reverse-spin pairs need this many supporting tortured-phrase entries to be candidates.
MIN_REVERSE_SPIN_SUPPORT = 3


@dataclass(frozen=True)
class Candidate:
    """One possible original of a site.

    ``text`` replaces the site's observed words (``""`` deletes them); ``rule`` names the
    lexicon entry or signal that proposed it; ``origin`` is the proposer (``fixed``,
    ``lexicon``, ``lm`` or a caller's own name); ``margin`` is the log-probability (nats) it
    must win by, set by the policy; ``lm_rank`` is its first token's rank among the model's
    predictions from the left context (0 = the model's first choice; -1 = not computed).
    """

    text: str
    rule: str
    origin: str
    margin: float = 0.0
    lm_rank: int = -1
    left_gain: float = 0.0  # left-context log-prob of its first token minus the observed word's
    obs_lp: float = 0.0  # left-context log-prob of the observed word's first token (0: not computed)

    def with_margin(self, margin: float) -> "Candidate":
        return replace(self, margin=margin)


#: A caller's candidate proposer: ``(text, site, config) -> candidates`` for one site.
Proposer = Callable[[str, object, Config], list[Candidate]]


def match_case(word: str, like: str) -> str:
    """``word`` capitalised the way ``like`` is (all caps, first letter, or as it is)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def lexicon_candidates(observed: str) -> list[tuple[str, str]]:
    """Candidate originals of a substituted word or phrase from the lexicons, best first,
    each with the rule that proposed it."""
    key = observed.lower().replace("’", "'")
    out: list[tuple[str, str]] = []
    seen = {key}
    for w, rule in inflected_synonyms(key):
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


def lm_candidates(topk: list[tuple[str, float]], lead: str, observed: str, have: set[str], n: int) -> list[Candidate]:
    """The model's own proposals at a site: of its ``n`` most likely next tokens (from the left
    context; ``lead`` is the whitespace the site starts with), those that are a whole
    alphabetic word, not already a candidate (``have``), not an inflection or spelling of the
    observed word. Rank = position among the model's predictions."""
    out = []
    for rank, (tok, _lp) in enumerate(topk[:n]):
        w = tok[len(lead):] if tok.startswith(lead) else ""
        if not w.isalpha() or len(w) < 2 and w.lower() not in ("a", "i"):
            continue
        lw = w.lower()
        if lw in have or same_stem(lw, observed) or spelling_variant(lw, observed):
            continue
        have.add(lw)
        hops = relation_hops(observed, lw)
        out.append(Candidate(match_case(lw, observed), f"lm:{observed.lower()}->{lw}" + (f"(rel{hops})" if hops else ""),
                             "lm", lm_rank=rank))
    return out
