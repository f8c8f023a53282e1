"""The restorer's entry points: sites -> candidates -> scores -> decisions -> changes."""

from __future__ import annotations

from ..config import DEFAULT, Config
from ..report import Report, Restoration, Span, apply_spans
from . import policy
from .accept import Acceptance, features, load_acceptance
from .candidates import Candidate, Proposer, lm_candidates
from .decode import ClusterDecoder, Planned, Stats, decode_all, place, right_end, windows
from .sites import SURPRISE_RULE, Site, build_sites, extra_spans, neighbour_words, surprise_blocked, surprise_sites

#: In the one-site-at-a-time pass, a candidate stays in play for the joint pass if it comes
#: within this many nats of its margin (neighbouring repairs can help each other).
JOINT_SLACK = 2.0
#: A candidate that beats its margin by this many nats on its own (and its runner-up does
#: not come close) is decided before the joint pass and serves as context there.
STRONG_GAIN = 6.0


def split_gain(total: float, own: list[float]) -> list[float]:
    """Share a jointly decoded cluster's gain ``total`` among the sites it changed, in
    proportion to what each change gained on its own (``own``; at least a little each), so
    that the shares add up to ``total`` and no site is credited with its neighbours' gain."""
    if not own:
        return []
    w = [max(g, 1e-3) for g in own]
    s = sum(w)
    return [total * x / s for x in w]


def _report_for(text: str, config: Config) -> Report:
    from ..detect import check

    return check(text, config.replace(
        min_span_confidence=min(config.min_span_confidence, config.restore_min_evidence),
        report_substitutions=True))


def _resolve_acceptance(acceptance) -> Acceptance | None:
    if acceptance is False:
        return None
    if acceptance is None or acceptance is True:
        return load_acceptance()
    return acceptance


def _candidates(lm, win, pl: Planned, a: int, config: Config, verdict: str, acceptance: Acceptance | None,
                extra: list[Candidate], score: float | None) -> list[Candidate]:
    """All candidates for one placed site, with their left-context measures and margins,
    pruned by the LM's left-context log-probability of their first token against the
    observed word's."""
    s = pl.site
    cands = list(s.candidates) + list(extra)
    if not s.word_swap:
        return cands[: config.restore_max_candidates]
    lead = win.text[pl.cut : s.start - a]
    row = win.rows.get(pl.prefix_len)
    lm_cands: list[Candidate] = []
    if config.restore_lm_proposals > 0 and pl.prefix_len in win.topk and not s.rule.startswith(SURPRISE_RULE):
        have = {c.text.lower() for c in cands} | {s.observed.lower()} | neighbour_words(win.text, s.start - a, s.end - a)
        lm_cands = lm_candidates(win.topk[pl.prefix_len], lead, s.observed, have, config.restore_lm_proposals)
        if acceptance is None:  # the hand policy: only proposals the lexicons relate to the word
            lm_cands = [c for c in lm_cands if "(rel" in c.rule]
    if row is None:
        return policy.set_margins(s, cands, verdict, config, acceptance, score)[: config.restore_max_candidates]
    obs_ids = lm.encode(lead + s.observed)
    obs_lp = float(row[obs_ids[0]]) if obs_ids else -99.0

    def measured(c: Candidate) -> Candidate:
        ids = lm.encode(lead + c.text)
        first = float(row[ids[0]]) if ids else -99.0
        rank = c.lm_rank if c.lm_rank >= 0 else int((row > first).sum())
        return Candidate(c.text, c.rule, c.origin, c.margin, rank, first - obs_lp, obs_lp)

    lex = [m for m in map(measured, cands) if m.left_gain >= -config.restore_prefilter]
    lex.sort(key=lambda c: -c.left_gain)
    lex = lex[: config.restore_max_candidates]
    lmc = [m for m in map(measured, lm_cands) if m.left_gain > 0.0]
    lmc.sort(key=lambda c: -c.left_gain)
    out = policy.set_margins(s, lex + lmc[: config.restore_lm_keep], verdict, config, acceptance, score)
    return [c for c in out if c.margin <= config.restore_max_margin]


def restore_with_stats(text: str, config: Config | None = None, report: Report | None = None,
                       lm=None, all_windows: bool = False, *, acceptance: Acceptance | bool | None = None,
                       proposers: tuple[Proposer, ...] | list[Proposer] = (), spans: list[Span] | None = None,
                       trace: list | None = None, decide: bool = True) -> tuple[Restoration, Stats]:
    """:func:`restore`, also returning what the LM saw (:class:`~.decode.Stats`).

    ``all_windows`` runs the LM over the whole text (for document-level surprisal), not only
    around sites. ``acceptance``: the learned acceptance of word swaps (default: the shipped
    weights; ``False``: the hand margins of ``Config``). ``proposers``: extra candidate
    proposers, each ``(text, site, config) -> [Candidate]`` (a found source, say).
    ``spans``: extra evidence spans to treat as sites (kind ``substitution`` with an
    ``original``, or a fixed kind). ``trace``: a list that receives one record per scored
    word-swap candidate (its features and gain), for fitting the acceptance; with
    ``decide=False`` the restorer stops there (the result then holds only outright removals).
    """
    config = config or DEFAULT
    stats = Stats()
    if isinstance(text, str):
        from ..textio import clean_text

        text = clean_text(text)[0]  # lone surrogates -> U+FFFD (offsets unchanged), as unspin.restore does
    if not text or not text.strip():
        return Restoration(text, text, []), stats
    if report is None:
        report = _report_for(text, config)
    if report.verdict == "not_applicable" and not report.spans:
        return Restoration(text, text, []), stats
    verdict = report.verdict
    found = list(report.spans) + list(spans or ())
    if verdict != "clean":
        found += extra_spans(text, found)
    site_config = config
    if verdict != "spun" and config.restore_unsure_margin:
        # Not called spun: a rare word is as likely the writer's choice (legal, archaic or
        # technical register) as a spinner's, so word swaps must win by more (the learned
        # acceptance sees the verdict as a feature instead).
        site_config = config.replace(restore_margin=config.restore_margin + config.restore_unsure_margin)
    sites = policy.gate(build_sites(text, found, site_config), verdict, config)
    direct, sites = policy.direct_changes(sites, verdict, config)
    # in a text called spun, words the model finds surprising are sites too (sites.surprise_sites)
    surprise = verdict == "spun" and config.restore_surprise_nats > 0
    if not sites and not all_windows and not surprise:
        return Restoration(text, apply_spans(text, direct), direct), stats
    acc = _resolve_acceptance(acceptance) if surprise or any(s.word_swap for s in sites) else None
    if lm is None:
        from ..lm import load

        lm = load()

    # 1. one LM pass over every window that holds a site, keeping the prediction at each cut
    wins = windows(text, sites, all_windows or surprise)
    win_texts = [text[a:b] for a, b, _ in wins]
    blocked = surprise_blocked(text, list(sites) + list(direct)) if surprise else None

    def select(i: int, win) -> list[int]:
        a, _b, ss = wins[i]
        found = surprise_sites(text, a, win, blocked, site_config) if surprise else []
        if found:
            ss.extend(site for site, _t in found)
            ss.sort(key=lambda x: x.start)
        return [t for _site, t in found]

    want = []
    for (a, _b, ss), wt in zip(wins, win_texts):
        _ids, offs = lm.encode_with_offsets(wt)
        pos = []
        for s in ss:
            rs = s.start - a
            cut = rs - 1 if rs > 0 and wt[rs - 1] == " " else rs
            pos.extend(i for i, (ts, _te) in enumerate(offs, start=1) if ts == cut or ts == rs)
        want.append(pos)
    analysed = lm.analyse(win_texts, topk_at=want, k=max(config.restore_lm_proposals, 1), select=select)
    stats.sites = sum(len(ss) for _a, _b, ss in wins)

    # 2. each site alone, all sites batched: gain of each candidate over the observed words
    placed: list[tuple[object, int, Planned, list[Candidate]]] = []
    for (a, _b, ss), win in zip(wins, analysed):
        stats.windows += 1
        stats.tokens += len(win.ids) - 1
        stats.logprob += win.total
        for pl in place(win, a, ss):
            extra = [c for p in proposers for c in p(text, pl.site, config)]
            opts = _candidates(lm, win, pl, a, site_config, verdict, acc, extra, report.score)
            if opts:
                placed.append((win, a, pl, opts))
    stats.scored_sites = len(placed)
    items, owners = [], []
    for n, (win, a, pl, opts) in enumerate(placed):
        end_tok, end_char = right_end(win, a, pl, config.restore_right_context)
        observed = sum(win.logprobs[pl.prefix_len:end_tok])
        # Deleting words always raises total log-probability, so a deletion is judged only on
        # whether the words after it read better without it (its own tokens cost nothing).
        after = sum(win.logprobs[pl.end_tok:end_tok])
        for o in opts:
            cont = win.text[pl.cut : pl.site.start - a] + o.text + win.text[pl.site.end - a : end_char]
            items.append((win, pl.prefix_len, lm.encode(cont)))
            owners.append((n, o, after if o.text == "" else observed))
    scores = lm.score_many(items)
    stats.variants += len(items)
    gains: dict[int, list[tuple[float, Candidate]]] = {}
    for (n, o, observed), sc in zip(owners, scores):
        gains.setdefault(n, []).append((sc - observed, o))
    if trace is not None:
        for n, (_win, _a, pl, _opts) in enumerate(placed):
            s = pl.site
            if not s.word_swap:
                continue
            for g, o in gains.get(n, []):
                trace.append({"start": s.start, "end": s.end, "observed": s.observed, "candidate": o.text,
                              "rule": o.rule, "origin": o.origin, "verdict": verdict,
                              "features": features(s.observed, o, s.confidence, verdict == "spun", s.protected, g,
                                                   report.score)})
    if not decide:
        return Restoration(text, apply_spans(text, direct), direct), stats

    # 3. keep the live candidates; decode neighbouring live sites jointly
    live: list[tuple[object, int, Planned, list]] = []
    for n, (win, a, pl, _opts) in enumerate(placed):
        good = sorted((g for g in gains.get(n, []) if g[0] > g[1].margin - JOINT_SLACK),
                      key=lambda g: -(g[0] - g[1].margin))
        if good:
            live.append((win, a, pl, good[:2]))
    picks: list[tuple[Planned, Candidate, float]] = []
    joint: list[tuple[ClusterDecoder, list[int], list[dict[str, float]]]] = []
    i = 0
    while i < len(live):
        cluster = [live[i]]
        while i + 1 < len(live) and live[i + 1][0] is cluster[0][0] and \
                live[i + 1][2].prefix_len - cluster[-1][2].end_tok < config.restore_right_context:
            i += 1
            cluster.append(live[i])
        i += 1
        win, a = cluster[0][0], cluster[0][1]
        # a site whose best candidate wins by far on its own is decided now and becomes
        # context for its neighbours; the rest are decoded jointly
        fixed, options = [], []
        for _w, _a, _pl, good in cluster:
            g, o = good[0]
            strong = g - o.margin >= STRONG_GAIN and (len(good) == 1 or good[1][0] - good[1][1].margin < g - o.margin - STRONG_GAIN)
            if o.text == "":  # deletions are decided alone (see above), never in the joint pass
                strong = g > o.margin
                if not strong:
                    good[:] = []
            fixed.append(o if strong else None)
            options.append([] if strong else [x[1] for x in good])
        for j, (_w, _a, _pl, good) in enumerate(cluster):
            if not good and fixed[j] is None:
                options[j] = []
        for (_w, _a, pl, good), f in zip(cluster, fixed):
            if f is not None:
                picks.append((pl, f, good[0][0]))
        undecided = [j for j, f in enumerate(fixed) if f is None and options[j]]
        if len(undecided) == 1 and len(cluster) == 1:
            gain, opt = max(cluster[0][3], key=lambda g: g[0] - g[1].margin)
            if opt.text == "":
                continue  # a deletion that did not win above
            if gain > opt.margin:
                picks.append((cluster[0][2], opt, gain))
        elif undecided:
            solo = [{o.text: g for g, o in c[3]} for c in cluster]
            d = ClusterDecoder(win, a, [c[2] for c in cluster], options, fixed, config)
            d.skip_first_step(solo[undecided[0]])
            joint.append((d, undecided, solo))
    decode_all(lm, [d for d, _u, _s in joint], stats)
    for d, undecided, solo in joint:
        choice, gain = d.result()
        changed = [j for j in undecided if choice[j] is not None]
        shares = split_gain(gain, [solo[j].get(choice[j].text, 0.0) for j in changed])
        for j, share in zip(changed, shares):
            picks.append((d.cluster[j], choice[j], share))
    changes: list[Span] = []
    for p, opt, gain in picks:
        s = p.site
        changes.append(Span(s.start, s.end, s.observed, s.kind, opt.text,
                            policy.confidence(s, opt, gain, verdict, acc, report.score), f"{opt.rule}; lm:+{gain:.1f}"))
        stats.changed += 1
        stats.gain += gain
    changes.extend(direct)
    changes.sort(key=lambda c: c.start)
    return Restoration(text, apply_spans(text, changes), changes), stats


def restore(text: str, config: Config | None = None, report: Report | None = None, lm=None, *,
            acceptance: Acceptance | bool | None = None, proposers=(), spans: list[Span] | None = None) -> Restoration:
    """Restore ``text``: returns a :class:`~unspin.report.Restoration` whose ``changes`` rebuild
    ``.text`` from the input. ``report`` reuses a detector report for the same text; ``lm``
    a loaded :class:`unspin.lm.LanguageModel` (default: the installed model); the other
    options are those of :func:`restore_with_stats`."""
    return restore_with_stats(text, config, report, lm, acceptance=acceptance, proposers=proposers, spans=spans)[0]


__all__ = ["restore", "restore_with_stats", "Site"]
