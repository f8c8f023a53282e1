"""The learned acceptance of word swaps: a small logistic model that says how likely a candidate
original is right, from what the restorer measured at the site.

Features (:func:`features`), for one candidate at one word-swap site:

``gain``            two-sided log-probability gain (nats) of the candidate over the observed
                    words, scored from the site to ``restore_right_context`` tokens after it
``left_gain``       left-context log-probability of the candidate's first token minus the
                    observed word's (clipped to [-10, 10])
``log_rank``        log(1 + rank) of that first token among the model's predictions
``zipf_delta``      word frequency of the candidate minus the observed words' (wordfreq zipf)
``rel1``, ``rel2``  the lexicons relate the two at one hop / two hops (:func:`unspin.lexicons.relation_hops`)
``from_lm``         only the model proposed it (no lexicon entry)
``site_confidence`` the detector's confidence in the site
``page_spun``       the fast tier calls the whole text spun
``page_score``      the fast tier's calibrated score of the whole text (0 when not applicable)
``multiword``       the site or the candidate has more than one word
``capital``         the observed word is capitalised in mid-sentence
``obs_surprise``    how unlikely the observed word's first token is from the left context
                    (minus its log-probability, clipped to [0, 20]; 0 when not computed): a
                    spinner's word is often one the text did not lead up to
``obs_zipf``        the observed words' word frequency (wordfreq zipf): spinners reach for
                    rarer synonyms

The model is linear in ``gain``, so a probability threshold is a per-candidate margin in nats
(:meth:`Acceptance.margin`): the decoder keeps working on log-probability minus margins, and a
change's ``confidence`` is the model's probability at the gain credited to it.

Weights are package data (``unspin/data/restore_accept.json``) written by
``python -m eval.fit_accept``, with their provenance (script, data hash, split, held-out
figures); :func:`load_acceptance` is the one validated loader.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from ..errors import UnspinError

FORMAT = 1
FEATURES = ("gain", "left_gain", "log_rank", "zipf_delta", "rel1", "rel2", "from_lm", "site_confidence",
            "page_spun", "page_score", "multiword", "capital", "obs_surprise", "obs_zipf")
#: Features a weights file may leave out (it was fitted before they existed): weight 0.
OPTIONAL_FEATURES = ("obs_surprise", "obs_zipf")
_REFIT = "refit it with: python -m eval.fit_accept"
#: Rank used for a candidate whose first token is not among the model's predictions.
RANK_UNSEEN = 1000


def features(observed: str, cand, site_confidence: float, page_spun: bool, capital: bool,
             gain: float = 0.0, page_score: float = 0.0) -> dict[str, float]:
    """The feature values of candidate ``cand`` (a :class:`~.candidates.Candidate`) at a site."""
    from ..lexicons import relation_hops, zipf

    hops = relation_hops(observed, cand.text)
    rank = cand.lm_rank if cand.lm_rank >= 0 else RANK_UNSEEN
    obs_z = zipf(observed.lower())
    return {
        "gain": gain,
        "left_gain": max(-10.0, min(10.0, cand.left_gain)),
        "log_rank": math.log1p(rank),
        "zipf_delta": zipf(cand.text.lower()) - obs_z,
        "rel1": float(hops == 1),
        "rel2": float(hops == 2),
        "from_lm": float(cand.origin == "lm"),
        "site_confidence": site_confidence,
        "page_spun": float(page_spun),
        "page_score": float(page_score or 0.0),
        "multiword": float(" " in observed.strip() or " " in cand.text.strip()),
        "capital": float(capital),
        "obs_surprise": max(0.0, min(20.0, -cand.obs_lp)),
        "obs_zipf": obs_z,
    }


@dataclass(frozen=True)
class Acceptance:
    """Logistic weights over :data:`FEATURES` and the probability a change must reach."""

    intercept: float
    weights: dict[str, float]
    threshold: float
    meta: dict = field(default_factory=dict, compare=False)

    def logit(self, feats: dict[str, float]) -> float:
        return self.intercept + sum(self.weights[k] * feats[k] for k in FEATURES)

    def probability(self, feats: dict[str, float]) -> float:
        z = self.logit(feats)
        return 1.0 / (1.0 + math.exp(-z)) if z > -50 else 0.0

    def margin(self, feats: dict[str, float]) -> float:
        """The gain (nats) at which this candidate reaches :attr:`threshold`."""
        rest = self.logit({**feats, "gain": 0.0})
        t = math.log(self.threshold / (1.0 - self.threshold))
        return (t - rest) / self.weights["gain"]

    def to_dict(self) -> dict:
        return {"format": FORMAT, "features": list(FEATURES), "intercept": self.intercept,
                "weights": dict(self.weights), "threshold": self.threshold, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict, name: str = "acceptance weights") -> "Acceptance":
        """Validate and build; raises :class:`UnspinError` naming what is wrong."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise UnspinError(f"{name}: format {d.get('format') if isinstance(d, dict) else None!r}, "
                              f"this unspin reads format {FORMAT}; {_REFIT}")
        listed = tuple(d.get("features", ()))
        if listed != FEATURES and listed != tuple(k for k in FEATURES if k not in OPTIONAL_FEATURES):
            raise UnspinError(f"{name}: features are not {' '.join(FEATURES)}; {_REFIT}")
        try:
            w = {k: float(d["weights"][k]) if k in listed else 0.0 for k in FEATURES}
            b, t = float(d["intercept"]), float(d["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise UnspinError(f"{name}: missing or bad value ({exc}); {_REFIT}") from exc
        if not all(math.isfinite(x) for x in [*w.values(), b, t]):
            raise UnspinError(f"{name}: a weight is not finite; {_REFIT}")
        if w["gain"] <= 0:
            raise UnspinError(f"{name}: the gain weight must be positive (a better-reading candidate "
                              f"cannot be less likely right); {_REFIT}")
        if not 0.0 < t < 1.0:
            raise UnspinError(f"{name}: threshold {t} is not a probability; {_REFIT}")
        return cls(b, w, t, dict(d.get("meta", {})))


DATA_FILE = "restore_accept.json"


@cache
def load_acceptance() -> Acceptance:
    """The shipped acceptance (``unspin/data/restore_accept.json``), validated, cached."""
    resource = resources.files("unspin").joinpath("data", DATA_FILE)
    try:
        raw = resource.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise UnspinError(f"{DATA_FILE} is missing from the package; {_REFIT}") from exc
    try:
        d = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UnspinError(f"{DATA_FILE} is not valid JSON ({exc}); {_REFIT}") from exc
    return Acceptance.from_dict(d, DATA_FILE)
