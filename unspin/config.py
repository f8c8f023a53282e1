"""The one configuration object. Every tunable threshold lives here, with its default and
what moving it costs (ftfy's TextFixerConfig is the model)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


#: The detector tiers ``Config.tier`` accepts.
TIERS = ("auto", "fast", "model")


@dataclass(frozen=True)
class Config:
    """Thresholds and switches for detection and restoration.

    Defaults are conservative: a clean page should come out ``clean`` and untouched.
    """

    #: Which tier decides: ``"auto"`` (the model tier when the ``lm`` extra and the model are
    #: installed, else the fast tier), ``"fast"`` (lexicons and document statistics only; no
    #: torch, ~150 documents/s per core) or ``"model"`` (always the model tier; an error when
    #: it is not installed). ``Report.tier`` says which one decided.
    tier: str = "auto"
    #: Score at or above which the verdict is ``spun``. ``None`` (default) uses the deciding
    #: tier's own threshold, set on real development pages so that at most 1% of hard clean
    #: pages are called spun (model tier: out-of-fold; see EVAL.md). A number overrides it for
    #: every tier: lowering it raises recall and the false-positive rate on unusual but
    #: honest prose (non-native English, legal text).
    spun_threshold: float | None = None
    #: Score below which the verdict is ``clean``; between the two the verdict is ``unsure``.
    #: ``None`` uses the deciding tier's own (model tier: where 5% of clean development pages
    #: score higher). Lowering it sends more honest but unusual prose to ``unsure``.
    clean_threshold: float | None = None
    #: A fast-tier score at or above this is decisive: the fast tier's fixed-wording evidence
    #: (signatures, tortured phrases, anchors) calls the text ``spun`` whatever the model tier
    #: reads in its first tokens, and under ``tier="auto"`` the model is not run for it. Chosen
    #: on the real development pages with the fast tier scored out of fold (``python -m
    #: eval.run_real``, EVAL.md "Cascade"): 0.93 adds 1.4 points of spun recall over the model
    #: alone and no clean page called spun. 1.0 leaves every decision to the model tier.
    fast_decides_above: float = 0.93
    #: Under ``tier="auto"``, texts the fast tier scores below this (nothing at all looks
    #: spun) are not sent to the model tier and stay ``clean``. Chosen on the same pages:
    #: 0.2 loses no spun page the model tier would catch and spares the model about 6% of
    #: them (more on ordinary web text, which scores lower); 0.3 would lose 2 points of
    #: recall. 0.0 sends every applicable text to the model.
    cascade_skip_below: float = 0.2
    #: Run the model tier on every applicable text even where the cascade would skip it, for
    #: its word-level evidence (``unspin check`` on one document does; the decisions are
    #: the same, except that a low fast score no longer forces ``clean``).
    cascade_read_all: bool = False
    #: Tokens the model tier reads for its token head's word-level evidence. The document
    #: score always pools the first tokens its head was fitted on (128), so this changes the
    #: spans shown, not the score; 0 reads only those (the fastest, for corpora: ``scan``).
    model_evidence_tokens: int = 0
    #: Look for keyword anchors (a phrase such as "check my paper" dropped into a sentence,
    #: no link) with the full language model's deletion test (:mod:`unspin.keyword_anchors`)
    #: in texts the cascade calls ``spun`` or ``unsure``. Needs ``unspin[lm]`` and the fetched
    #: model (skipped without them, and under ``tier="fast"``); it loads the full model and
    #: costs a few seconds a page, so ``scan`` and the datatrove step turn it off unless asked.
    keyword_anchors: bool = True
    #: Documents with fewer word tokens than this get ``not_applicable``: too little
    #: evidence for a calibrated document score (spans are still reported).
    min_words: int = 8
    #: Texts whose share of common English words is below this are handed to the language
    #: detector (lingua), and are ``not_applicable`` when it names another language.
    #: Raising it sends more pages to lingua (slower) but never rejects English by itself.
    min_english_share: float = 0.7
    #: Inputs longer than this many characters are cut (the cut is reported in ``reason``)
    #: so memory and time stay bounded. 0 disables the cut.
    max_chars: int = 2_000_000
    #: Seconds one document may take in the fast tier before it is given up as
    #: ``not_applicable`` (the reason says so). Every stage is linear, so only a runaway
    #: input or a badly overloaded machine reaches it: 2,000,000 characters of prose take
    #: about 5 s here. Checked between pieces of work, so one stage can overrun it. 0 disables.
    time_budget: float = 60.0
    #: Minimum confidence for a span to be reported. Lower values show weaker evidence,
    #: which is useful when reading a page but noisy in bulk output.
    min_span_confidence: float = 0.30
    #: Report single-word substitution candidates (a rare word with a far more common
    #: thesaurus synonym). They are weak evidence one by one; turning them off makes
    #: reports shorter but the score does not change.
    report_substitutions: bool = True
    #: Look for words of another language inside English prose (uses lingua).
    detect_foreign: bool = True

    # --- restoration (language-model tier) ---
    #: Log-probability margin (nats, whole sentence) a candidate must win by over keeping
    #: the observed words. Higher is more conservative: fewer repairs, less damage.
    restore_margin: float = 2.0
    #: Beam width for decoding neighbouring sites jointly.
    restore_beam: int = 4
    #: Maximum candidate originals scored per site, after pruning.
    restore_max_candidates: int = 8
    #: Margin (nats) for high-confidence fixed-wording evidence (signature, tortured phrase,
    #: injected anchor with confidence >= ``restore_strong_evidence``): the lexicon already
    #: says what the original was, so the LM only has to not object. Raising it towards
    #: ``restore_margin`` makes filler repairs as cautious as word swaps.
    restore_signature_margin: float = 0.5
    #: Detector confidence at or above which a span counts as strong evidence (lower margin;
    #: allowed inside quotes).
    restore_strong_evidence: float = 0.8
    #: Extra margin (nats) for capitalised words in mid-sentence (likely names) and for
    #: candidates only the LM proposed (no lexicon entry). Lower values repair more titles
    #: such as "Chairman" and damage more names.
    restore_name_margin: float = 3.0
    #: Extra margin (nats) for word swaps in a text the fast tier does not call ``spun``
    #: (``unsure``): there an uncommon word is often the writer's own register (legal,
    #: archaic, technical). On dev-split data 3.0 halved the clean windows changed and cost
    #: 5 of 935 spun edits restored (EVAL.md).
    restore_unsure_margin: float = 3.0
    #: Tokens of observed text after a site that every variant is scored through (the
    #: right-hand context). Longer is more accurate and slower.
    restore_right_context: int = 8
    #: How many of the LM's own next-word predictions at a site are considered as candidate
    #: originals (only those related to the observed word in the thesaurus are kept); 0 off.
    restore_lm_proposals: int = 50
    #: Of those proposals, at most this many (the ones the LM likes best from the left, and
    #: only if it likes them better than the observed word) are scored with both sides. On
    #: the development pairs the source's word is among the first 3 whole-word proposals at
    #: 129 of 338 detected sites and among the first 6 at 160 (EVAL.md); more costs variants.
    restore_lm_keep: int = 6
    #: Candidates whose acceptance margin (the gain in nats they would need to be taken) is
    #: above this are not scored at all. On the development pairs' trace (4,624 candidates,
    #: the shipped weights) a cap of 12 skips 76% of them, mostly the LM's own proposals, and
    #: 7 of the candidates the acceptance takes (1 right) (EVAL.md). ``float("inf")``: score
    #: every candidate.
    restore_max_margin: float = 12.0
    #: In a text called spun, a lower-case content word the model finds this surprising from
    #: its left context (minus the log-probability of its first token, nats) is a site of its
    #: own, even where no lexicon or detector span marks it (rule ``surprise:lm``): on the
    #: development pairs most spinner edits sit under no detector span, and a word above 6
    #: nats is an edit 47% of the time (EVAL.md). 0: off.
    restore_surprise_nats: float = 6.0
    #: Pruning before scoring: a candidate whose first token the LM finds this many nats
    #: less likely (from the left context) than the observed word's is dropped. Higher
    #: values score more candidates (slower, slightly more recall).
    restore_prefilter: float = 3.0
    #: Detector span confidence below which a site is not considered for restoration. On
    #: dev-split spins, sites under 0.2 (mostly one-paper reverse-spin pairs on common words)
    #: gave 4 changes in 121 sites and none of them right (EVAL.md).
    restore_min_evidence: float = 0.2


    def __post_init__(self) -> None:
        # A threshold outside [0, 1] or NaN would silently give every document the same
        # verdict (every comparison with NaN is false); refuse it where it is set.
        from .errors import ConfigError

        for name in ("spun_threshold", "clean_threshold", "min_span_confidence", "fast_decides_above",
                     "cascade_skip_below"):
            v = getattr(self, name)
            if v is None and name in ("spun_threshold", "clean_threshold"):
                continue
            if not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:  # also false for NaN
                raise ConfigError(f"{name} must be a number from 0 to 1, got {v!r}")
        if self.tier not in TIERS:
            raise ConfigError(f"tier must be one of {', '.join(TIERS)}, got {self.tier!r}")
        if not isinstance(self.keyword_anchors, bool):
            raise ConfigError(f"keyword_anchors must be true or false, got {self.keyword_anchors!r}")
        if not isinstance(self.model_evidence_tokens, int) or self.model_evidence_tokens < 0:
            raise ConfigError(f"model_evidence_tokens must be a whole number >= 0, got {self.model_evidence_tokens!r}")
        if not isinstance(self.max_chars, int) or self.max_chars < 0:
            raise ConfigError(f"max_chars must be a whole number >= 0, got {self.max_chars!r}")
        if not isinstance(self.time_budget, (int, float)) or not self.time_budget >= 0 or self.time_budget == float("inf"):
            raise ConfigError(f"time_budget must be a finite number of seconds >= 0 (0: no limit), got {self.time_budget!r}")

    def verdict(self, score: float, defaults: tuple[float, float] = (0.93, 0.50)) -> str:
        """The verdict for a calibrated score: ``spun``, ``unsure`` or ``clean``. ``defaults``
        are the deciding tier's own (spun, clean) thresholds, used where this config leaves
        them ``None``."""
        spun_t = self.spun_threshold if self.spun_threshold is not None else defaults[0]
        clean_t = self.clean_threshold if self.clean_threshold is not None else defaults[1]
        clean_t = min(clean_t, spun_t)
        if score >= spun_t:
            return "spun"
        if score < clean_t:
            return "clean"
        return "unsure"

    def replace(self, **changes) -> "Config":
        """Return a copy with some fields changed (``Config().replace(spun_threshold=0.9)``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


DEFAULT = Config()
