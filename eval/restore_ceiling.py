"""How far the restorer could get on the real pairs: where its limits are, site by site.

    nice python -m eval.restore_ceiling [--reports eval/out/reports.pkl] [--pages N] [--out eval/out/restore_ceiling.json]
    nice python -m eval.restore_ceiling --surprise [--reports eval/out/reports.pkl]

For every substitution site of the development pairs (:mod:`eval.real_pairs`, 819 sites), told
where the site is and what the source says there:

- **sites**: whether the restorer would look there at all (a site it builds from the detector's
  report overlaps the edit: :func:`unspin.restore.sites.build_sites` after the policy's gate);
- **candidates**: whether the source's wording is among the lexicon candidates of the observed
  words, and the rank of the source's first word among the model's whole-word next-word
  predictions from the left context (the proposals the restorer draws from);
- **scoring**: the two-sided log-probability (from the site to 8 tokens after it, as the
  restorer scores) of the source's wording against the observed words and against the other
  candidates (the first 6 lexicon candidates and the model's first 6 whole-word proposals).

``--surprise`` asks instead how many edits a site at every surprising word would add: on each
spun page not called clean, the model reads the restorer's windows, and the lower-case content
words of the aligned region outside today's sites are counted by whether they are an edit or
equal the source, above several surprise levels (minus the log-probability of the word's first
token from the left, nats).

Each site is read in a window of about 250 characters before it and 80 after it, so the left
context is the spun text (the restorer never sees the source). Nothing here is a restorer
result: it bounds what better acceptance, more candidates or more sites could give.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.real_pairs import ReportCache, load_pairs  # noqa: E402

LEFT_CHARS = 250
RIGHT_CHARS = 80
RIGHT_TOKENS = 8
TOP = 6
RANKS = (1, 3, 6, 10, 20, 50)


def _restorer_sites(pairs, reports_path):
    from unspin.config import DEFAULT
    from unspin.restore import policy
    from unspin.restore.sites import build_sites, extra_spans

    cache = ReportCache(reports_path)
    hit = {}
    for p in pairs:
        rep = cache.get(p.text, DEFAULT)
        found = list(rep.spans)
        if rep.verdict != "clean":
            found += extra_spans(p.text, found)
        sites = policy.gate(build_sites(p.text, found, DEFAULT), rep.verdict, DEFAULT)
        for k, s in enumerate(p.sites):
            a, b = p.spun_toks[s.i1][1], p.spun_toks[s.i2 - 1][2]
            hit[(p.spun_id, p.source_id, k)] = (any(x.start < b and x.end > a for x in sites), rep.verdict)
    return hit


def surprise_table(pairs, reports_path) -> None:
    from unspin.config import DEFAULT
    from unspin.lm import load
    from unspin.restore import policy
    from unspin.restore.decode import windows
    from unspin.restore.sites import build_sites, extra_spans
    from unspin.wordclasses import FUNCTION_WORDS

    cache = ReportCache(reports_path)
    lm = load()
    rows, done, read = [], set(), 0
    for p in pairs:
        if p.spun_id in done:
            continue
        done.add(p.spun_id)
        rep = cache.get(p.text, DEFAULT)
        if rep.verdict == "clean":
            continue
        read += 1
        found = list(rep.spans) + extra_spans(p.text, list(rep.spans))
        sites = policy.gate(build_sites(p.text, found, DEFAULT), rep.verdict, DEFAULT)
        label = {}
        for s in p.sites:
            if s.substitution:
                label.update({i: 1 for i in range(s.i1, s.i2)})
        for i1, i2, _j1, _j2 in p.equal:
            for i in range(i1, i2):
                label.setdefault(i, 0)
        wins = windows(p.text, [], True)
        for (a, b, _), w in zip(wins, lm.analyse([p.text[a:b] for a, b, _ in wins])):
            for i, (word, cs, ce) in enumerate(p.spun_toks):
                if not a <= cs < b or i not in label or word in FUNCTION_WORDS or not p.text[cs:ce].islower():
                    continue
                if any(x.start < ce and x.end > cs for x in sites):
                    continue
                t = w.boundary(cs - a - 1) if cs > a and p.text[cs - 1] == " " else w.boundary(cs - a)
                if t is not None and t < len(w.logprobs):
                    rows.append((label[i], -w.logprobs[t]))
    edits = sum(y for y, _ in rows)
    print(f"{read} spun pages not called clean; lower-case content words of the aligned region under no site: {edits} edits, "
          f"{len(rows) - edits} equal to the source")
    for limit in (4.0, 5.0, 6.0, 7.0, 8.0, 10.0):
        sel = [y for y, sp in rows if sp >= limit]
        print(f"  surprise >= {limit:4.1f} nats: {sum(sel)} edits, {len(sel) - sum(sel)} equal words"
              f" ({100 * sum(sel) / max(len(sel), 1):.0f}% edits)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", default=None, metavar="PICKLE", help="detector report cache (eval.real_pairs.ReportCache)")
    ap.add_argument("--pages", type=int, default=0, help="only the first N pairs (0: all 49)")
    ap.add_argument("--out", default="eval/out/restore_ceiling.json")
    ap.add_argument("--surprise", action="store_true", help="count the edits a site at every surprising word would add")
    args = ap.parse_args(argv)
    if args.surprise:
        surprise_table(load_pairs()[: args.pages or None], args.reports)
        return 0

    from unspin.lm import load
    from unspin.restore.candidates import lexicon_candidates, match_case

    pairs = load_pairs()[: args.pages or None]
    t0 = time.time()
    hit = _restorer_sites(pairs, args.reports)
    print(f"restorer sites from the detector's reports: {time.time() - t0:.0f} s", flush=True)
    lm = load()
    items = []
    for p in pairs:
        for k, s in enumerate(p.sites):
            if not s.substitution:
                continue
            a, b = p.spun_toks[s.i1][1], p.spun_toks[s.i2 - 1][2]
            left = max(0, a - LEFT_CHARS)
            while left > 0 and p.text[left - 1] != " ":
                left -= 1
            right = min(len(p.text), b + RIGHT_CHARS)
            items.append({"key": (p.spun_id, p.source_id, k), "family": p.family, "observed": p.text[a:b],
                          "source": s.original, "a": a - left, "b": b - left, "window": p.text[left:right]})
    for it in items:
        _ids, offs = lm.encode_with_offsets(it["window"])
        cut = it["a"] - 1 if it["a"] > 0 and it["window"][it["a"] - 1] == " " else it["a"]
        pos = [i for i, (ts, _te) in enumerate(offs, start=1) if ts == cut]
        it["cut"], it["pos"], it["offs"] = cut, (pos[0] if pos else None), offs
    wins = lm.analyse([it["window"] for it in items], topk_at=[[it["pos"]] if it["pos"] else [] for it in items], k=50)
    print(f"analysed {len(items)} windows: {time.time() - t0:.0f} s", flush=True)
    variants, owners = [], []
    for n, (it, w) in enumerate(zip(items, wins)):
        if it["pos"] is None:
            continue
        lead = it["window"][it["cut"] : it["a"]]
        props = [tok[len(lead):].lower() for tok, _ in w.topk.get(it["pos"], []) if tok.startswith(lead)]
        props = [x for x in props if x.isalpha()]
        first = it["source"].split()[0]
        it["rank"] = props.index(first) if first in props else -1
        lex = [c.lower() for c, _ in lexicon_candidates(it["observed"])]
        it["in_lexicon"] = it["source"] in lex
        obs_first = it["observed"].lower().split()[0]
        others = lex[:TOP] + [x for x in props if x != obs_first][:TOP]
        source = match_case(it["source"], it["observed"])
        cands = []
        for c in [it["observed"], source] + [match_case(x, it["observed"]) for x in others]:
            if c.lower() not in {x.lower() for x in cands}:
                cands.append(c)
        offs = it["offs"]
        end = next((i for i, (ts, _te) in enumerate(offs) if ts >= it["b"]), len(offs))
        end = min(len(offs) - 1, end + RIGHT_TOKENS - 1)
        end_char = max(offs[end][1], it["b"])
        for c in cands:
            variants.append((w, it["pos"], lm.encode(lead + c + it["window"][it["b"] : end_char])))
            owners.append((n, c))
    scores = lm.score_many(variants)
    print(f"scored {len(variants)} variants: {time.time() - t0:.0f} s", flush=True)
    by = defaultdict(dict)
    for (n, c), sc in zip(owners, scores):
        by[n][c] = sc
    rows = []
    for n, it in enumerate(items):
        if n not in by:
            continue
        sc = by[n]
        source = match_case(it["source"], it["observed"])
        best = max(sc, key=sc.get)
        on_site, verdict = hit[it["key"]]
        rows.append({"family": it["family"], "observed": it["observed"], "source": it["source"], "verdict": verdict,
                     "restorer_site": on_site, "rank": it["rank"], "in_lexicon": it["in_lexicon"],
                     "beats_observed": sc[source] > sc[it["observed"]], "best": best.lower() == it["source"].lower(),
                     "gain": sc[source] - sc[it["observed"]]})

    def count(pred, rs):
        return f"{sum(1 for r in rs if pred(r))} of {len(rs)}"

    def available(r, k=TOP):
        return r["in_lexicon"] or 0 <= r["rank"] < k

    on = [r for r in rows if r["restorer_site"]]
    print(f"substitution sites: {len(rows)} (of {len(items)}; the rest start inside a token)")
    print(f"  the restorer looks there (a site overlaps the edit): {count(lambda r: r['restorer_site'], rows)}")
    print(f"  the source's wording is a lexicon candidate: {count(lambda r: r['in_lexicon'], rows)}")
    for k in RANKS:
        print(f"  its first word among the model's first {k:2d} whole-word proposals: {count(lambda r, k=k: 0 <= r['rank'] < k, rows)}"
              f"   (at restorer sites, or a lexicon candidate: {count(lambda r, k=k: available(r, k), on)})")
    print(f"  it reads better than the observed words, both sides: {count(lambda r: r['beats_observed'], rows)}")
    print(f"  it reads best of observed + source + {TOP} lexicon + {TOP} model candidates: {count(lambda r: r['best'], rows)}")
    print(f"  ... and it is a candidate (lexicon or model's first {TOP}): {count(lambda r: available(r) and r['best'], rows)};"
          f" also at a restorer site: {count(lambda r: available(r) and r['best'], on)}")
    fams = defaultdict(list)
    for r in rows:
        fams[r["family"]].append(r)
    for f, rs in sorted(fams.items()):
        print(f"  {f:26s} sites {len(rs):3d}  restorer sites {sum(r['restorer_site'] for r in rs):3d}  "
              f"candidate and best {sum(1 for r in rs if available(r) and r['best']):3d}  "
              f"... at a restorer site {sum(1 for r in rs if available(r) and r['best'] and r['restorer_site']):3d}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
