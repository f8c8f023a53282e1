"""Policy: which sites may change at all, which are removed outright, and what each candidate
must win by.

- A text the fast tier calls ``clean`` keeps its word choices: only strong fixed-wording
  evidence (a signature phrase or tortured phrase at high confidence) may still be repaired.
- Spam anchors found inside a clause are removed outright (deleting a link is not a wording
  guess, and an LM judges the words after it, which the anchor may have broken), with the
  foreign words they brought. **E-mail addresses and domains are never removed unless the
  fast tier calls the text spun** with the anchor as evidence: an honest e-mail or forum post
  cites addresses, and an honest report names sites.
- Word swaps (substitution sites) are judged by the learned acceptance (:mod:`.accept`) when
  one is given: its probability threshold becomes a per-candidate margin. Without it (or
  with ``acceptance=False``), the hand margins of :class:`~unspin.config.Config` apply.
- Fixed-wording evidence keeps its own margin (``restore_signature_margin`` when strong).
"""

from __future__ import annotations

import math

from ..config import Config
from ..report import Span
from .accept import Acceptance, features
from .candidates import Candidate
from .sites import Site

#: Anchor rules whose text is an address (removed only in texts called spun).
_ADDRESS_RULES = (":email", ":domain", ":url")


def is_address(site: Site) -> bool:
    return site.kind == "injected_anchor" and any(r in site.rule for r in _ADDRESS_RULES)


def gate(sites: list[Site], verdict: str, config: Config) -> list[Site]:
    """Drop the sites the verdict does not allow to change at all: in a text called clean,
    single-word suspects are unremarkable (an LM always prefers commoner words), so only
    strong fixed-wording evidence may still be repaired there."""
    out = []
    for s in sites:
        if verdict == "clean" and (s.word_swap or s.confidence < config.restore_strong_evidence):
            continue
        if is_address(s) and verdict != "spun":
            continue  # never remove an address from a text not called spun
        out.append(s)
    return out


def is_direct(site: Site, verdict: str, config: Config) -> bool:
    """Removed outright, without asking the LM."""
    if verdict == "clean":
        return False
    if site.kind == "injected_anchor":
        if is_address(site) and verdict != "spun":
            return False
        return site.confidence >= config.restore_strong_evidence
    return site.kind == "foreign_fragment" and ":after_anchor" in site.rule


def direct_changes(sites: list[Site], verdict: str, config: Config) -> tuple[list[Span], list[Site]]:
    """(the outright removals as changes, the sites left for the LM)."""
    direct = [Span(s.start, s.end, s.observed, s.kind, s.candidates[0].text, s.confidence, f"{s.rule}; removed")
              for s in sites if is_direct(s, verdict, config)]
    return direct, [s for s in sites if not is_direct(s, verdict, config)]


def hand_margin(site: Site, cand: Candidate, config: Config) -> float:
    """The hand-set margin of a word-swap candidate (the policy before the learned acceptance):
    the site's lexicon margin from :func:`~.sites.build_sites`, and for a candidate only the
    LM proposed, ``restore_margin + restore_name_margin``. ``config`` is the one the sites were
    built with (its ``restore_margin`` already raised in a text not called spun)."""
    if cand.origin == "lm":
        return config.restore_margin + config.restore_name_margin
    return cand.margin


def set_margins(site: Site, cands: list[Candidate], verdict: str, config: Config,
                acceptance: Acceptance | None, score: float | None = None) -> list[Candidate]:
    """Word-swap candidates with the margin they must win by."""
    if not site.word_swap:
        return cands
    out = []
    for c in cands:
        if acceptance is None:
            out.append(c.with_margin(hand_margin(site, c, config)))
        else:
            f = features(site.observed, c, site.confidence, verdict == "spun", site.protected, 0.0, score)
            out.append(c.with_margin(max(acceptance.margin(f), 0.0)))
    return out


def confidence(site: Site, cand: Candidate, gain: float, verdict: str, acceptance: Acceptance | None,
               score: float | None = None) -> float:
    """How sure a change is. With the acceptance: its probability at the credited gain (the
    eval checks its calibration). Otherwise the LM's excess over the margin, squashed,
    averaged with the detector's confidence."""
    if acceptance is not None and site.word_swap:
        f = features(site.observed, cand, site.confidence, verdict == "spun", site.protected, gain, score)
        return round(acceptance.probability(f), 4)
    lm_part = 1.0 / (1.0 + math.exp(-(gain - cand.margin)))
    return round(0.5 * lm_part + 0.5 * site.confidence, 4)
