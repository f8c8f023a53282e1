"""Document statistics for the calibrated scorer.

Every feature is a plain number computed from the evidence spans and cheap token counts, so
a score can be recomputed and explained from ``Report.features``. The list and its order are
part of the model file's format (see :mod:`unspin.scoring`).
"""

from __future__ import annotations

import math
from typing import Sequence

from . import fluency, lexicons
from .report import Span
from .substitutions import SubstitutionStats
from .tokenize import Token
from .wordclasses import FUNCTION_WORDS

#: Feature names in model order, with what each measures.
FEATURES: dict[str, str] = {
    "log_words": "log(1 + word tokens)",
    "sig_weight": "summed signature confidence per 100 words",
    "sig_strong": "log(1 + signatures with confidence >= 0.8)",
    "sig_kinds": "log(1 + distinct signature entries that fired)",
    "tortured_rate": "tortured phrases per 100 words",
    "tortured_count": "log(1 + tortured phrases)",
    "anchor_embedded": "log(1 + anchors sitting inside a clause)",
    "anchor_any": "log(1 + links, domains and URL slugs)",
    "foreign": "log(1 + foreign-language fragments)",
    "thes_rate": "share of content words with a far more common thesaurus synonym",
    "thes_gap": "mean frequency gap (zipf) to that synonym, over content words",
    "thes_mean_gap": "mean frequency gap (zipf) per thesaurus hit, shrunk toward 0 for few hits",
    "revspin_rate": "share of content words on the reverse-spin table",
    "multiword_rate": "multiword thesaurus lemmas ('family unit') per 100 words",
    "you_rate": "'you'/'your' per 100 words",
    "the_rate": "share of words that are 'the'",
    "func_rate": "share of words that are function words",
    "content_zipf": "mean zipf frequency of content words",
    "rare_rate": "share of content words with zipf < 3",
    "oov_rate": "share of lower-case words unknown to the English word list",
    "space_punct": "log(1 + spaces before , . ; :) per 100 words",
    **fluency.FEATURES,
}


#: Pseudo-count of content words added to the denominators of the substitution rates.
SMOOTHING = 25


def compute(
    text: str,
    toks: Sequence[Token],
    spans: Sequence[Span],
    stats: SubstitutionStats,
) -> dict[str, float]:
    words = [t for t in toks if t.kind == "word"]
    nw = max(len(words), 1)
    per100 = 100.0 / nw
    sig = [s for s in spans if s.kind == "signature"]
    tort = [s for s in spans if s.kind == "tortured_phrase"]
    anchors = [s for s in spans if s.kind == "injected_anchor"]
    foreign = [s for s in spans if s.kind == "foreign_fragment"]

    you = the = func = oov = lower_n = 0
    content_z = 0.0
    content_n = rare = 0
    for t in words:
        w = t.lower
        if w in ("you", "your", "you're", "yours"):
            you += 1
        if w == "the":
            the += 1
        if w in FUNCTION_WORDS:
            func += 1
            continue
        if t.text[:1].islower():
            lower_n += 1
            z = lexicons.zipf(w)
            if z == 0.0:
                oov += 1
            elif len(w) >= 3:
                content_n += 1
                content_z += z
                if z < 3.0:
                    rare += 1
    space_punct = sum(1 for k in range(1, len(toks)) if toks[k].text in {",", ".", ";", ":"} and toks[k].start > toks[k - 1].end)
    # additive smoothing: a short text with two rare words is not a 10% substitution rate
    cw = stats.content_words + SMOOTHING
    return {
        "log_words": math.log1p(len(words)),
        "sig_weight": sum(s.confidence for s in sig) * per100,
        "sig_strong": math.log1p(sum(1 for s in sig if s.confidence >= 0.8)),
        "sig_kinds": math.log1p(len({s.rule for s in sig})),
        "tortured_rate": len(tort) * per100,
        "tortured_count": math.log1p(len(tort)),
        "anchor_embedded": math.log1p(sum(1 for s in anchors if s.rule.endswith(":embedded"))),
        "anchor_any": math.log1p(len(anchors)),
        "foreign": math.log1p(len(foreign)),
        "thes_rate": stats.thesaurus_hits / cw,
        "thes_gap": stats.thesaurus_gap_sum / cw,
        "thes_mean_gap": stats.thesaurus_gap_sum / (stats.thesaurus_hits + 3),
        "revspin_rate": stats.reverse_spin_hits / cw,
        "multiword_rate": stats.multiword_hits * per100,
        "you_rate": you * per100,
        "the_rate": the / nw,
        "func_rate": func / nw,
        "content_zipf": content_z / content_n if content_n else 0.0,
        "rare_rate": rare / content_n if content_n else 0.0,
        "oov_rate": oov / max(lower_n, 1),
        "space_punct": math.log1p(space_punct * per100),
        **fluency.compute(text, toks, lexicons.zipf),
    }
