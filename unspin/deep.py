"""Deeper detection: language-model evidence added to the fast tier's calibrated score.

``unspin check --deep`` calls :func:`deep_check` for documents whose fast score falls in
``Config.deep_band``. The restorer runs over the whole text and three document features
come back:

``lm_bits_per_token``
    mean surprisal of the text under the LM. Spun text is uniformly odd (the sample page
    scores ~8 bits/token against ~5 for a hand-restored version), but so is some honest
    text (lists, tables, non-native English), so this is weak alone.
``lm_restore_gain``
    how much the accepted restorations lower the surprisal, in bits per token. Clean text
    gives (nearly) zero, because the restorer must win by a margin to change anything.
``lm_changes_per_100w``
    accepted changes per 100 words (substitution sites the LM agrees with).

They are combined with the fast score in logit space, with weights in :data:`WEIGHTS`
(fitted by ``python -m eval.fit_deep`` on in-band documents of the dev split; held-out
figures in EVAL.md). The changed sites are added to the report as spans, so ``--deep`` also shows
which words the LM thinks were swapped.
"""

from __future__ import annotations

import dataclasses
import math

from .config import DEFAULT, Config
from .report import Report, Span

#: Logistic weights on top of logit(fast score): intercept and one weight per feature.
#: Fitted by ``python -m eval.fit_deep`` (see EVAL.md, "Deep check").
WEIGHTS = {
    # refitted 2026-11-29 (second session, after the restorer changes) by
    # `python -m eval.fit_deep --per-class 50` on the documents the deep tier actually sees
    # (fast score inside Config.deep_band): 50 clean + 50 spun dev windows, class-balanced;
    # held-out test figures in EVAL.md ("Deep check")
    "intercept": -7.991,
    "logit_fast": 0.306,
    "lm_bits_per_token": 1.18,
    "lm_restore_gain": 0.221,
    "lm_changes_per_100w": 1.406,
}


def lm_features(text: str, config: Config | None = None, lm=None) -> tuple[dict[str, float], list[Span]]:
    """Run the restorer over all of ``text`` and return (features, accepted changes)."""
    from .restore import restore_with_stats
    from .tokenize import words

    config = config or DEFAULT
    restoration, st = restore_with_stats(text, config, lm=lm, all_windows=True)
    tokens = max(st.tokens, 1)
    n_words = max(len(words(text)), 1)
    feats = {
        "lm_bits_per_token": -st.logprob / tokens / math.log(2),
        "lm_restore_gain": st.gain / tokens / math.log(2),
        "lm_changes_per_100w": 100.0 * st.changed / n_words,
    }
    return feats, restoration.changes


def combine(fast_score: float, feats: dict[str, float]) -> float:
    """The deep score: logistic of logit(fast score) plus the weighted LM features."""
    p = min(max(fast_score, 1e-4), 1 - 1e-4)
    z = WEIGHTS["intercept"] + WEIGHTS["logit_fast"] * math.log(p / (1 - p))
    for k in ("lm_bits_per_token", "lm_restore_gain", "lm_changes_per_100w"):
        z += WEIGHTS[k] * feats[k]
    return 1.0 / (1.0 + math.exp(-z))


def deep_check(text: str, config: Config | None, report: Report, lm=None) -> Report:
    """Return a copy of the fast ``report`` with LM evidence added: features, a new score and
    verdict (``tier="deep"``), and the LM-confirmed substitution sites as extra spans."""
    config = config or DEFAULT
    if report.verdict == "not_applicable" or report.score is None:
        return report
    feats, changes = lm_features(text, config, lm=lm)
    score = combine(report.score, feats)
    verdict = config.verdict(score)
    have = {(s.start, s.end) for s in report.spans}
    extra = [dataclasses.replace(c, rule=f"deep:{c.rule}") for c in changes
             if (c.start, c.end) not in have and c.kind == "substitution"]
    spans = sorted(list(report.spans) + extra, key=lambda s: s.start)
    reason = (f"{report.reason}; language model: {feats['lm_bits_per_token']:.1f} bits/token, "
              f"restoring {len(changes)} site(s) lowers it by {feats['lm_restore_gain']:.2f}; "
              f"fast score {report.score:.2f} -> {score:.2f}")
    features = dict(report.features)
    features.update(feats)
    features["fast_score"] = report.score
    return Report(score=score, verdict=verdict, reason=reason, spans=spans, features=features,
                  language=report.language, tier="deep")
