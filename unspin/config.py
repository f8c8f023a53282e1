"""The one configuration object. Every tunable threshold lives here, with its default and
what moving it costs (ftfy's TextFixerConfig is the model)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    """Thresholds and switches for detection and restoration.

    Defaults are conservative: a clean page should come out ``clean`` and untouched.
    """

    #: Score at or above which the verdict is ``spun``. Lowering it raises recall and the
    #: false-positive rate on unusual but honest prose (non-native English, legal text).
    spun_threshold: float = 0.80
    #: Score below which the verdict is ``clean``; between the two the verdict is ``unsure``.
    clean_threshold: float = 0.35
    #: Documents with fewer word tokens than this get ``not_applicable``: too little
    #: evidence for a calibrated document score (spans are still reported).
    min_words: int = 8
    #: Texts whose English share (by the language detector) is below this are
    #: ``not_applicable``. Raising it rejects more mixed-language pages.
    min_english_share: float = 0.5
    #: Inputs longer than this many characters are cut (the cut is reported in ``reason``)
    #: so memory and time stay bounded. 0 disables the cut.
    max_chars: int = 2_000_000
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

    # --- deep check / cascade ---
    #: Fast-tier score band in which ``--deep`` consults the language model.
    deep_band: tuple[float, float] = (0.15, 0.95)

    def replace(self, **changes) -> "Config":
        """Return a copy with some fields changed (``Config().replace(spun_threshold=0.9)``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


DEFAULT = Config()
