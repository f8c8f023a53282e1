"""The fast detector: evidence spans -> document features -> calibrated score -> verdict.

Pipeline (each stage its own module):
  textio (HTML masking) -> tokenize -> language (applicability) -> injected (anchors,
  foreign fragments) -> signatures -> charlevel (spintax, homoglyphs, invisible characters)
  -> substitutions (tortured phrases, thesaurus) -> features -> scoring.
"""

from __future__ import annotations

import dataclasses

from . import budget
from .charlevel import find_charlevel
from .config import DEFAULT, Config
from .errors import InputError
from .features import FEATURES, compute as compute_features
from .injected import find_injected
from .language import english_share, name_language
from .report import Report, Span
from .scoring import model
from .signatures import find_signatures
from .substitutions import find_substitutions, find_tortured
from .textio import clean_text, decode, looks_like_html, mask_html, resliced
from .tokenize import tokenize


def fast_thresholds() -> tuple[float, float]:
    """The fast tier's verdict thresholds (spun, clean) when Config leaves them unset: stored
    with its weights (``data/model.json``), set out of fold on the real development pages so
    that at most 1% of clean pages and originals are called spun (``scripts/train_model.py``,
    EVAL.md)."""
    return model().thresholds

#: Human wording for the features the reason line may cite.
_REASON = {
    "sig_weight": "spinner signatures",
    "sig_strong": "spinner signatures",
    "sig_kinds": "spinner signatures",
    "tortured_rate": "tortured phrases",
    "tortured_count": "tortured phrases",
    "anchor_embedded": "injected anchors",
    "anchor_any": "links in prose",
    "foreign": "foreign-language fragments",
    "thes_rate": "rare thesaurus synonyms",
    "thes_gap": "rare thesaurus synonyms",
    "revspin_rate": "reverse-spin words",
    "multiword_rate": "multiword thesaurus swaps",
    "thes_mean_gap": "rare thesaurus synonyms",
    "rare_rate": "rare words",
    "pair_common": "uncommon word pairs",
    "pair_common_fc": "uncommon word pairs",
    "pair_logcount": "uncommon word pairs",
    "article_clash": "'a'/'an' clashes",
    "doubled_words": "doubled words",
    "mid_caps": "capitals mid-sentence",
    "lower_start": "sentences starting lower-case",
    "space_punct": "spaces before punctuation",
    "braces": "template braces",
    "fw_profile": "an unusual function-word mix",
}


def _na(reason: str, spans=None, language=None) -> Report:
    return Report(score=None, verdict="not_applicable", reason=reason, spans=spans or [], language=language)


def analyse(text: str, config: Config = DEFAULT) -> tuple[list[Span], dict[str, float], list[str]] | Report:
    """Run the evidence stages. Returns (all spans, features, notes), or a not-applicable Report."""
    notes: list[str] = []
    if config.max_chars and len(text) > config.max_chars:
        notes.append(f"only the first {config.max_chars:,} of {len(text):,} characters were read")
        text = text[: config.max_chars]
    if looks_like_html(text):
        text = mask_html(text)
        notes.append("HTML markup ignored")
    toks = tokenize(text)
    words = [t for t in toks if t.kind == "word"]
    if len(words) < config.min_words:
        return _na(f"too short to judge ({len(words)} words; at least {config.min_words} needed)")
    share = english_share(words)
    if share < config.min_english_share:
        lang = name_language(text)
        if lang != "English":
            what = f"looks like {lang}" if lang else "language not recognised"
            return _na(f"not English ({what}; {share:.0%} of words are English)", language=lang)

    injected, covered = find_injected(text, toks, detect_foreign=config.detect_foreign)
    prose = [t for k, t in enumerate(toks) if k not in covered]
    sigs = find_signatures(text, prose)
    tort = find_tortured(text, prose)
    strong = sorted((s.start, s.end) for s in sigs + tort)
    skip = _covered_indices(prose, strong)
    subs, stats = find_substitutions(text, prose, skip)
    spans = sorted(injected + sigs + tort + subs + find_charlevel(text), key=lambda s: (s.start, -s.end))
    feats = compute_features(text, toks, spans, stats)
    return spans, feats, notes


def _covered_indices(toks, ranges) -> set[int]:
    out: set[int] = set()
    if not ranges:
        return out
    r = 0
    for k, t in enumerate(toks):
        while r < len(ranges) and ranges[r][1] <= t.start:
            r += 1
        if r < len(ranges) and ranges[r][0] <= t.start < ranges[r][1]:
            out.add(k)
    return out


def check(text: str | bytes, config: Config | None = None) -> Report:
    """Score ``text`` with the best tier available (see :func:`unspin.check`)."""
    return check_many([text], config)[0]


def check_many(texts: list, config: Config | None = None) -> list[Report]:
    """The one cascade: every caller (the library, the CLI, ``scan``, ``serve``, the datatrove
    step) goes through here.

    1. The fast tier reads every text (lexicon evidence, a calibrated score).
    2. Texts it cannot judge (``not_applicable``) stop there.
    3. With ``config.tier == "fast"``, or ``"auto"`` when the model tier is not installed,
       the fast verdict stands (``report.tier == "fast"``).
    4. Otherwise the model tier reads the rest in one batched pass, except, under ``"auto"``,
       texts the fast tier scores at or above ``config.fast_decides_above`` (already spun on
       fixed-wording evidence) or below ``config.cascade_skip_below`` (nothing looks spun):
       chosen on real pages so that skipping loses no spun page (``cascade_read_all`` runs the
       model on those too, for its evidence). Its calibrated score and verdict
       decide (``report.tier == "model"``), and the words its token head marks are added as
       ``substitution`` spans with ``rule="model:token-head"``.
    5. With ``config.keyword_anchors``, texts now called ``spun`` or ``unsure`` get the
       language model's deletion test for keyword anchors (``injected_anchor`` spans with
       ``rule="anchor:keyword:lm-deletion"``; :mod:`unspin.keyword_anchors`).
    """
    config = config or DEFAULT
    fast = [fast_check(t, config) for t in texts]
    tier = config.tier
    if tier == "fast":
        return fast
    from . import probe

    if not probe.available():
        if tier == "model":
            from .errors import MissingComponent

            raise MissingComponent(f"the model tier needs the language model: {probe.unavailable_reason()}")
        return fast
    skip = tier == "auto" and not config.cascade_read_all
    todo = [i for i, r in enumerate(fast)
            if r.verdict != "not_applicable"
            and not (skip and (r.score >= config.fast_decides_above or r.score < config.cascade_skip_below))
            and _prose_enough(texts[i], config)]
    out = list(fast)
    if tier == "model":
        chosen = set(todo)
        for i, r in enumerate(fast):
            if r.verdict != "not_applicable" and i not in chosen:
                out[i] = dataclasses.replace(r, reason=r.reason + f"; the model tier does not judge text with fewer "
                                             f"than {config.min_words} distinct words (the fast tier's verdict stands)")
    if todo:
        w = probe.weights()
        results = probe.read([_model_text(texts[i], config) for i in todo], w=w,
                             evidence_tokens=config.model_evidence_tokens)
        for i, res in zip(todo, results):
            out[i] = _model_report(fast[i], res, w, config)
    if config.keyword_anchors:
        out = [_with_keyword_anchors(texts[i], r, config) if r.verdict in ("spun", "unsure") else r
               for i, r in enumerate(out)]
    return out


def _with_keyword_anchors(text, report: Report, config: Config) -> Report:
    """Add the keyword anchors the language model's deletion test finds (see
    :mod:`unspin.keyword_anchors`) to a report, and say so in its reason."""
    from . import keyword_anchors, lm

    model_text = _model_text(text, config)
    taken = [(s.start, s.end) for s in report.spans if s.kind != "substitution"]
    try:
        with budget.limit(config.time_budget):
            found = keyword_anchors.find_keyword_anchors(model_text, lm.load(), taken)
    except budget.OverBudget as exc:
        return dataclasses.replace(report, reason=report.reason + f"; keyword anchors not searched: {exc}")
    if not found:
        return report
    spans = [s for s in report.spans if not any(s.start < f.end and f.start < s.end for f in found)]
    n = len(found)
    return dataclasses.replace(
        report, spans=sorted(spans + found, key=lambda s: (s.start, -s.end)),
        reason=report.reason + f"; the language model's deletion test finds {n} keyword anchor{'s' if n != 1 else ''}")


def _prose_enough(text, config: Config) -> bool:
    """Whether the model tier can judge ``text``: at least ``config.min_words`` distinct words
    among the first ones it reads. Its heads were fitted on prose; a run of one repeated token
    (``'a_' * 100000``) or a string of letters and digits is outside what they have seen, and
    they extrapolate (both were called spun at p > 0.9). The fast tier's verdict stands there."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[:20000]).decode("utf-8", "replace")
    from .tokenize import words

    return len(set(words(text[:20000]))) >= config.min_words


def _model_text(text, config: Config) -> str:
    """The text the model tier reads: decoded, surrogate-free, HTML masked, cut to max_chars."""
    if isinstance(text, (bytes, bytearray)):
        text, _ = decode(bytes(text))
    else:
        text, _ = clean_text(text)
    if config.max_chars and len(text) > config.max_chars:
        text = text[: config.max_chars]
    if looks_like_html(text):
        text = mask_html(text)
    return text


def _model_report(fast: Report, res, w, config: Config) -> Report:
    """Combine the fast report and the model tier's reading. The model's calibrated score
    decides, except that a fast score at or above ``config.fast_decides_above`` (fixed-wording
    evidence: signatures, tortured phrases, anchors) stands as ``spun`` whatever the model
    read in its first tokens; on the development pages that rule adds spun pages and no false
    positive (EVAL.md, "Cascade")."""
    fast_decides = fast.score is not None and fast.score >= config.fast_decides_above
    score = max(res.score, fast.score) if fast_decides else res.score
    verdict = config.verdict(score, (w.spun_threshold, w.clean_threshold))
    if fast_decides:
        verdict = "spun"
    spans = list(fast.spans)
    marked = []
    if verdict != "clean":
        taken = [(s.start, s.end) for s in spans]
        for a, b, p in res.words:
            if p >= w.token_threshold and not any(s < b and a < e for s, e in taken):
                marked.append(Span(a, b, res.text[a:b], "substitution", None, round(p, 4), "model:token-head"))
        spans = sorted(spans + marked, key=lambda s: (s.start, -s.end))
    head = {"spun": "spun", "clean": "looks clean", "unsure": "unsure"}[verdict]
    lexical = fast.reason.split(";", 1)[1].strip() if ";" in fast.reason else fast.reason
    if marked and lexical.startswith("no evidence spans"):
        # the token head's words are spans now: the fast tier's "none" is about the lexicons
        lexical = "no lexicon evidence" + lexical[len("no evidence spans"):]
    marks = f"its token head marks {len(marked)} word{'s' if len(marked) != 1 else ''}" if marked else ""
    if fast_decides:
        drivers = fast.reason.split("driven by ", 1)[1].split(")", 1)[0] if "driven by " in fast.reason else "lexicon evidence"
        why = f" (driven by {drivers}: fast tier p={fast.score:.2f}; model tier p={res.score:.2f}" + (f", {marks})" if marks else ")")
    elif verdict == "clean":
        why = f" (model tier; fast tier p={fast.score:.2f})"
    else:
        why = " (driven by the model tier's reading of the text" + (f"; {marks}" if marks else "") + f"; fast tier p={fast.score:.2f})"
    reason = f"{head}: p={score:.2f}{why}; {lexical}"
    features = dict(fast.features)
    features.update({"fast_score": fast.score, "model_score": res.score, "model_logit": res.logit,
                     "model_tokens": float(res.tokens_read)})
    return Report(score=score, verdict=verdict, reason=reason, spans=spans, features=features,
                  language=fast.language, tier="model")


def fast_check(text: str | bytes, config: Config | None = None) -> Report:
    """The fast tier alone: lexicon evidence and the calibrated document statistics."""
    config = config or DEFAULT
    notes: list[str] = []
    if isinstance(text, (bytes, bytearray)):
        text, notes = decode(bytes(text))
    elif not isinstance(text, str):
        raise InputError(f"expected text (str or bytes), got {type(text).__name__}")
    else:
        text, notes = clean_text(text)  # lone surrogates -> U+FFFD, offsets unchanged
    if not text.strip():
        return _na("empty input")
    try:
        with budget.limit(config.time_budget):
            result = analyse(text, config)
            budget.checkpoint("the evidence stages")
    except budget.OverBudget as exc:
        result = _na(str(exc))
    if not isinstance(result, Report):
        # spans found on masked HTML carry the masked text: give them the input's own
        result = (resliced(result[0], text),) + tuple(result[1:])
    if isinstance(result, Report):
        if notes:
            result.reason += "; " + "; ".join(notes)
        return result
    spans, feats, more = result
    notes += more
    m = model()
    score = m.score(feats)
    verdict = config.verdict(score, m.thresholds)
    shown = [
        s for s in spans
        if s.confidence >= config.min_span_confidence and (config.report_substitutions or s.kind != "substitution")
    ]
    reason = _reason(verdict, score, spans, m.contributions(feats), config.min_span_confidence)
    if notes:
        reason += "; " + "; ".join(notes)
    return Report(score=score, verdict=verdict, reason=reason, spans=shown, features=feats, language="English")


def _reason(verdict: str, score: float, spans: list[Span], contrib: dict[str, float], min_conf: float = 0.0) -> str:
    counts: dict[str, int] = {}
    for s in spans:
        if s.confidence >= 0.5 or s.kind != "substitution":
            counts[s.kind] = counts.get(s.kind, 0) + 1
    top = sorted(((v, k) for k, v in contrib.items() if k in _REASON), reverse=True)
    drivers: list[str] = []
    for v, k in top:
        label = _REASON[k]
        if v > 0.5 and label not in drivers:
            drivers.append(label)
        if len(drivers) == 3:
            break
    if verdict == "spun" and not drivers:
        # a spun verdict always says what drove it, even when no single signal stands out
        pos = [(v, k) for v, k in top if v > 0]
        drivers = [_REASON[pos[0][1]]] if pos else ["the document statistics together"]
    evidence = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    # weak candidates are evidence too (they feed the score): never "no evidence spans" with spans
    weak = sum(1 for s in spans if s.kind == "substitution" and min_conf <= s.confidence < 0.5)
    if weak:
        evidence += (", " if evidence else "") + f"{weak} weak substitution candidate{'s' if weak > 1 else ''}"
    evidence = evidence or "no evidence spans"
    head = {"spun": "spun", "clean": "looks clean", "unsure": "unsure"}[verdict]
    why = f" (driven by {', '.join(drivers)})" if drivers and verdict != "clean" else ""
    return f"{head}: p={score:.2f}{why}; {evidence}"


assert set(_REASON) <= set(FEATURES)
