"""Fit the restorer's learned acceptance (``unspin/data/restore_accept.json``) and judge it out of fold.

    nice python -m eval.fit_accept [--collect] [--synthetic 4] [--fit] [--reports PICKLE]
                                   [--max-seconds S] [--no-clean]

``--reports`` keeps the detector's reports in a pickle (:class:`eval.real_pairs.ReportCache`)
that ``eval.run_restore_real --reports`` reuses; ``--max-seconds`` time-boxes the collection
(real pages first, then clean pages, then synthetic spins; the trace is flushed per page).

**Collect** (needs the LM; writes ``eval/out/accept_trace.jsonl``): every word-swap candidate
the restorer scores in a text the fast tier does not call clean (a text called clean gets no
word swaps at all), with its features (:func:`unspin.restore.accept.features`) and a label:

- the development set's real spun pages with a source (``real_dev``, 48 pages, 49 pairs):
  the candidate applied alone is *right* when it puts back the site(s) it touches exactly and
  *wrong* when it touches aligned text without doing so (:func:`eval.real_pairs.score_pair`);
  candidates on unaligned text are left out;
- the real clean pages (``real_dev/clean.jsonl``): every candidate there is wrong;
- synthetic spins (``eval/spinner.py``, every family) of ``--synthetic`` windows each from
  the ``train`` split of EWT/GUM/PUD: right when it restores its gold edit exactly.

**Fit** (no LM): logistic regression over the features, with folds by variant group / source
(:attr:`eval.real_pairs.Pair.fold_key`; clean and synthetic pages are their own groups), so no
article is in both the fitting and the judging part. The out-of-fold probabilities give the
reliability table and the operating point: the lowest probability threshold at which, deciding
each real site alone with its best candidate, damage on real pairs is at most 1 % and no clean
page changes. The shipped weights are fitted on everything at that threshold; per-fold weights
go to ``eval/out/accept_folds.json`` for ``python -m eval.run_restore_real --oof``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.real_pairs import load_clean, load_pairs, real_dev_dir, score_pair  # noqa: E402
from unspin.report import Span, apply_spans  # noqa: E402

TRACE = Path("eval/out/accept_trace.jsonl")
FOLDS = Path("eval/out/accept_folds.json")
WEIGHTS = Path("unspin/data/restore_accept.json")
#: Damage ceiling on real pairs (share of words already equal to the source).
MAX_DAMAGE = 0.01


def _permissive():
    """An acceptance that lets every candidate be scored (collection only)."""
    from unspin.restore.accept import FEATURES, FORMAT, Acceptance

    return Acceptance.from_dict({"format": FORMAT, "features": list(FEATURES), "intercept": 0.0,
                                 "weights": {k: (1.0 if k == "gain" else 0.0) for k in FEATURES},
                                 "threshold": 0.5})


def collect(n_synth: int, reports_path: str | None = None, max_seconds: float = 0.0, clean: bool = True) -> None:
    from eval.corpora import load_docs, windows
    from eval.run_restore import score_doc
    from eval.spinner import families, spin
    from unspin.lm import load
    from unspin.config import DEFAULT
    from unspin.restore import restore_with_stats
    from eval.real_pairs import ReportCache

    cache = ReportCache(reports_path)
    lm = load()
    acc = _permissive()
    TRACE.parent.mkdir(parents=True, exist_ok=True)
    out = TRACE.open("w", encoding="utf-8")
    t0 = time.time()

    def run(text: str) -> list[dict]:
        # a text the fast tier calls clean gets no word swaps (policy.gate): nothing to learn
        report = cache.get(text, DEFAULT)
        if report.verdict == "clean":
            return []
        trace: list[dict] = []
        restore_with_stats(text, lm=lm, report=report, acceptance=acc, trace=trace, decide=False)
        return trace

    by_page = defaultdict(list)
    for p in load_pairs():
        by_page[p.spun_id].append(p)

    def over() -> bool:
        return bool(max_seconds) and time.time() - t0 > max_seconds

    for sid, pairs in by_page.items():
        if over():
            print(f"time box of {max_seconds:.0f} s reached: stopping before {sid}", flush=True)
            break
        trace = run(pairs[0].text)
        n = 0
        for rec in trace:
            ch = Span(rec["start"], rec["end"], rec["observed"], "substitution", rec["candidate"], 1.0, rec["rule"])
            restored = apply_spans(pairs[0].text, [ch])
            verdicts = []
            for p in pairs:
                sc = score_pair(p, restored, [ch])
                verdicts.append((sc["verdicts"][0], sc["damaged"], sc["exact"]))
            if all(v[0] == "unjudged" for v in verdicts):
                continue
            right = any(v[0] == "right" for v in verdicts)
            judged = [v for v in verdicts if v[0] != "unjudged"]
            rec.update(kind="real", page=sid, group=pairs[0].fold_key, family=pairs[0].family, label=int(right),
                       damaged=max(v[1] for v in judged), fixes=max(v[2] for v in judged))
            out.write(json.dumps(rec) + "\n")
            n += 1
        out.flush()
        print(f"{sid}: {n} candidates ({time.time() - t0:.0f} s)", flush=True)
    for d in (load_clean() if clean else []):
        if over():
            print(f"time box of {max_seconds:.0f} s reached: stopping before {d['id']}", flush=True)
            break
        trace = run(d["text"])
        for rec in trace:
            rec.update(kind="clean", page=d["id"], group="clean-" + d["id"], label=0, damaged=1, fixes=0)
            out.write(json.dumps(rec) + "\n")
        out.flush()
        if trace:
            print(f"{d['id']}: {len(trace)} candidates ({time.time() - t0:.0f} s)", flush=True)
    if n_synth and not over():
        docs = windows(load_docs(split="train"), min_words=60, max_words=160)
        docs.sort(key=lambda d: d.id)
        chosen = docs[:: max(1, len(docs) // n_synth)][:n_synth]
        for fam in families():
            for k, d in enumerate(chosen):
                sp = spin(d.text, fam, seed=1000 + k)
                for rec in run(sp.text):
                    ch = Span(rec["start"], rec["end"], rec["observed"], "substitution", rec["candidate"], 1.0, rec["rule"])
                    sc = score_doc(sp.text, sp.changes, [ch])
                    rec.update(kind="synthetic", page=f"{fam}:{d.id}", group="syn-" + d.id, label=int(sc["correct_changes"] == 1),
                               damaged=sc["damaged_words"], fixes=sc["exact"])
                    out.write(json.dumps(rec) + "\n")
            print(f"synthetic {fam}: done ({time.time() - t0:.0f} s)", flush=True)
    out.close()
    print(f"wrote {TRACE} in {time.time() - t0:.0f} s")


def _matrix(rows):
    import numpy as np

    from unspin.restore.accept import FEATURES

    X = np.array([[r["features"][k] for k in FEATURES] for r in rows], dtype=float)
    y = np.array([r["label"] for r in rows], dtype=int)
    return X, y


def _fit(X, y, C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=2000).fit(X, y)


def _acceptance(clf, threshold: float, meta: dict):
    from unspin.restore.accept import FEATURES, FORMAT, Acceptance

    return Acceptance.from_dict({"format": FORMAT, "features": list(FEATURES), "intercept": float(clf.intercept_[0]),
                                 "weights": {k: float(w) for k, w in zip(FEATURES, clf.coef_[0])},
                                 "threshold": threshold, "meta": meta})


def _simulate(rows, probs, t: float, equal_words: int) -> dict:
    """Decide each site alone: its most probable candidate, if at least ``t``."""
    best: dict[tuple, tuple[float, dict]] = {}
    for r, p in zip(rows, probs):
        key = (r["page"], r["start"], r["end"])
        if key not in best or p > best[key][0]:
            best[key] = (p, r)
    out = {"real_changes": 0, "real_right": 0, "real_fixes": 0, "real_damaged": 0, "clean_pages": set(), "clean_changes": 0}
    for p, r in best.values():
        if p < t:
            continue
        if r["kind"] == "real":
            out["real_changes"] += 1
            out["real_right"] += r["label"]
            out["real_fixes"] += r["fixes"] if r["label"] else 0
            out["real_damaged"] += 0 if r["label"] else r["damaged"]
        elif r["kind"] == "clean":
            out["clean_changes"] += 1
            out["clean_pages"].add(r["page"])
    out["clean_pages"] = len(out["clean_pages"])
    out["damage"] = out["real_damaged"] / max(equal_words, 1)
    out["precision"] = out["real_right"] / out["real_changes"] if out["real_changes"] else float("nan")
    return out


def fit(C: float, folds_k: int) -> None:
    import numpy as np
    from sklearn.model_selection import GroupKFold

    rows = [json.loads(line) for line in TRACE.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if all(math.isfinite(v) for v in r["features"].values())]
    X, y = _matrix(rows)
    groups = np.array([r["group"] for r in rows])
    pairs = load_pairs()
    equal_words = sum(len([1 for b in p.equal for _ in range(b[0], b[1])]) for p in pairs)
    total_sites = sum(1 for p in pairs for s in p.sites if s.substitution)
    oof = np.zeros(len(rows))
    fold_models = {}
    gkf = GroupKFold(n_splits=folds_k)
    for k, (tr, te) in enumerate(gkf.split(X, y, groups)):
        clf = _fit(X[tr], y[tr], C)
        oof[te] = clf.predict_proba(X[te])[:, 1]
        for g in set(groups[te]):
            fold_models[g] = clf
    real = [i for i, r in enumerate(rows) if r["kind"] == "real"]
    # reliability table, out of fold, on the real pairs and on everything
    bins = [(0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)]
    rel = []
    for lo, hi in bins:
        idx = [i for i in real if lo <= oof[i] < hi]
        rel.append({"bin": f"{lo:.1f}-{min(hi, 1.0):.1f}", "n": len(idx),
                    "mean_p": float(np.mean(oof[idx])) if idx else None,
                    "right": float(np.mean(y[idx])) if idx else None})
    # operating point
    table = []
    chosen = None
    for t in [x / 100 for x in range(10, 100, 2)]:
        s = _simulate(rows, oof, t, equal_words)
        s["threshold"] = t
        table.append(s)
        if chosen is None and s["damage"] <= MAX_DAMAGE and s["clean_pages"] == 0:
            chosen = s
    if chosen is None:
        chosen = table[-1]
    t = chosen["threshold"]
    data_hash = hashlib.sha256(TRACE.read_bytes()).hexdigest()
    src_hash = hashlib.sha256(b"".join((real_dev_dir() / f).read_bytes()
                                       for f in ("spun.jsonl", "sources.jsonl", "clean.jsonl"))).hexdigest()
    kinds = defaultdict(lambda: [0, 0])
    for r in rows:
        kinds[r["kind"]][0] += 1
        kinds[r["kind"]][1] += r["label"]
    held_out = {"threshold": t, "real_site_decisions": {k: chosen[k] for k in ("real_changes", "real_right", "real_fixes",
                                                                               "real_damaged", "damage", "precision")},
                "real_substitution_sites": total_sites, "clean_pages_changed": chosen["clean_pages"],
                "reliability_real": rel, "note": "out of fold (GroupKFold by variant group / source), each site decided alone"}
    meta = {"script": "python -m eval.fit_accept", "data_sha256": data_hash, "real_dev_sha256": src_hash,
            "split": (" + ".join(f"{k} ({len({r['page'] for r in rows if r['kind'] == k})} pages)" for k in sorted(kinds))
                      + f"; {folds_k} folds by variant group / source"),
            "rows": {k: {"candidates": v[0], "right": v[1]} for k, v in kinds.items()}, "C": C,
            "held_out": held_out, "fitted": time.strftime("%Y-%m-%d")}
    final = _fit(X, y, C)
    acc = _acceptance(final, t, meta)
    WEIGHTS.write_text(json.dumps(acc.to_dict(), indent=1) + "\n", encoding="utf-8")
    folds = {g: _acceptance(m, t, {"fold_of": g}).to_dict() for g, m in fold_models.items()}
    folds["_all"] = acc.to_dict()
    FOLDS.write_text(json.dumps({"threshold": t, "folds": folds}) + "\n")
    print("rows", dict(kinds))
    print("weights", {k: round(v, 3) for k, v in acc.weights.items()}, "intercept", round(acc.intercept, 3))
    print("reliability (real pairs, out of fold):")
    for b in rel:
        print("   ", b)
    print("operating points (out of fold, each site alone):")
    for s in table:
        print(f"    t={s['threshold']:.2f} changes {s['real_changes']:4d} right {s['real_right']:4d} fixes "
              f"{s['real_fixes']:4d}/{total_sites} damage {100 * s['damage']:.2f}% clean pages {s['clean_pages']} "
              f"({s['clean_changes']} changes)")
    print("margin cap (Config.restore_max_margin: candidates whose margin is above it are not scored):")
    margins = [acc.margin(r["features"]) for r in rows]
    taken = [acc.probability(r["features"]) >= t for r in rows]
    for cap in (6, 8, 10, 12, 15, 20, 30):
        over = [i for i, mg in enumerate(margins) if mg > cap]
        lost = [rows[i] for i in over if taken[i]]
        print(f"    cap {cap:2d}: {len(over)} of {len(rows)} candidates not scored ({100 * len(over) / len(rows):.0f}%), "
              f"{len(lost)} accepted among them ({sum(r['label'] for r in lost)} right)")
    print(f"chosen threshold {t}; wrote {WEIGHTS} and {FOLDS}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--collect", action="store_true", help="run the restorer and write the trace (needs the LM)")
    ap.add_argument("--fit", action="store_true", help="fit from the trace (no LM)")
    ap.add_argument("--synthetic", type=int, default=4, help="train-split windows spun by each family (collect)")
    ap.add_argument("--reports", default=None, metavar="PICKLE",
                    help="cache of detector reports (eval.real_pairs.ReportCache), shared with eval.run_restore_real")
    ap.add_argument("--max-seconds", type=float, default=0.0, help="time box for the collection (0: none)")
    ap.add_argument("--no-clean", action="store_true", help="collect without the clean pages")
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args(argv)
    if not args.collect and not args.fit:
        args.collect = args.fit = True
    if args.collect:
        collect(args.synthetic, args.reports, args.max_seconds, not args.no_clean)
    if args.fit:
        fit(args.C, args.folds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
