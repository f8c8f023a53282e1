"""Restoration accuracy: how many spun words come back exactly, and how much honest text the
restorer damages.

    python -m eval.run_restore [--windows 24] [--tortured 60] [--clean 24] [--seed 0]
                               [--out eval/out/restore.json] [--fit-deep]
                               [--split dev|test] [--families F,G] [--set KEY=VALUE ...]

``--split dev`` (and ``--set`` to try a Config value) is for development; reported figures use
the default ``test``.

Held-out data only: clean windows of the ``test`` split (EWT, GUM, PUD, read at run time from
../shared/data), spun by ``eval/spinner.py`` with each family, plus tortured phrases planted
in real test sentences (``plant_tortured``), plus the clean windows themselves.

Metrics (all from the gold ``Spun.changes``, spans on the spun text whose ``original`` is
the clean wording):

- **exact**: share of gold edits whose neighbourhood the restorer made identical to the
  clean text (compared case-insensitively with whitespace collapsed; the neighbourhood is
  the gold edit plus any overlapping restorer change, grown until no edit is cut in half).
- **damage**: words inside restorer changes that touch no gold edit, per 100 words of
  spun text outside gold edits (untouched words the restorer changed).
- **precision**: share of restorer changes that lie in a neighbourhood restored exactly.
- **clean changed**: on unspun windows, share of windows with any change, and changed
  words per 100 words; the same for the hand-written hard negatives (``eval/hard_negatives``,
  honest text that looks spun), whose changes are listed.

``--fit-deep`` also fits the weights of :mod:`unspin.deep` (logistic regression of spun vs
clean on the fast score and the LM features) and prints them.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.corpora import load_docs, windows  # noqa: E402
from eval.run_detect import HARD_NEGATIVES  # noqa: E402
from eval.spinner import families, plant_tortured, spin  # noqa: E402
from unspin.report import apply_spans  # noqa: E402
from unspin.tokenize import sentence_spans, words  # noqa: E402

_WS = re.compile(r"\s+")


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip().lower().replace("’", "'")


def _apply_within(text: str, a: int, b: int, spans) -> str:
    inside = [s for s in spans if a <= s.start and s.end <= b and s.original is not None]
    return apply_spans(text[a:b], [type(s)(s.start - a, s.end - a, s.text, s.kind, s.original, s.confidence, s.rule)
                                   for s in inside])


def score_doc(spun_text: str, gold: list, changes: list) -> dict:
    """Per-document counts (see the module doc)."""
    n_exact = 0
    correct_changes: set[int] = set()
    for g in gold:
        a, b = g.start, g.end
        while True:
            na, nb = a, b
            for s in list(gold) + list(changes):
                if s.start < nb and s.end > na or (s.start == s.end and na <= s.start <= nb) \
                        or (na == nb and s.start <= na <= s.end):
                    na, nb = min(na, s.start), max(nb, s.end)
            if (na, nb) == (a, b):
                break
            a, b = na, nb
        # pad to whole words so an insertion at a boundary compares fairly
        while a > 0 and not spun_text[a - 1].isspace():
            a -= 1
        while b < len(spun_text) and not spun_text[b].isspace():
            b += 1
        ok = _norm(_apply_within(spun_text, a, b, changes)) == _norm(_apply_within(spun_text, a, b, gold))
        if ok:
            n_exact += 1
            for k, c in enumerate(changes):
                if a <= c.start and c.end <= b:
                    correct_changes.add(k)
    touched = 0
    for c in changes:
        if not any(c.start < g.end and c.end > g.start or (g.start == g.end and c.start <= g.start <= c.end)
                   for g in gold):
            touched += max(1, len(words(c.text)))
    gold_words = sum(len(words(g.text)) for g in gold)
    outside = max(1, len(words(spun_text)) - gold_words)
    return {"gold": len(gold), "exact": n_exact, "changes": len(changes), "correct_changes": len(correct_changes),
            "damaged_words": touched, "outside_words": outside}


def _sum(rows: list[dict]) -> dict:
    t = {k: sum(r[k] for r in rows) for k in ("gold", "exact", "changes", "correct_changes", "damaged_words", "outside_words")}
    t["exact_share"] = t["exact"] / t["gold"] if t["gold"] else float("nan")
    t["precision"] = t["correct_changes"] / t["changes"] if t["changes"] else float("nan")
    t["damage_per_100w"] = 100.0 * t["damaged_words"] / t["outside_words"] if t["outside_words"] else float("nan")
    t["docs"] = len(rows)
    return t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--windows", type=int, default=24, help="spun windows per family")
    ap.add_argument("--tortured", type=int, default=60, help="sentences with a planted tortured phrase")
    ap.add_argument("--clean", type=int, default=24, help="clean windows checked for pass-through")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="eval/out/restore.json")
    ap.add_argument("--fit-deep", action="store_true", help="also fit unspin.deep weights")
    ap.add_argument("--split", default="test", choices=["dev", "test"],
                    help="held-out split to read (dev while developing, test for the reported figures)")
    ap.add_argument("--families", default=None, help="comma-separated spinner families (default: all)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a Config field for this run, e.g. --set restore_margin=3 (repeatable)")
    args = ap.parse_args(argv)

    from unspin.config import DEFAULT as BASE

    DEFAULT = BASE.replace(**dict(_setting(kv) for kv in args.set))
    from unspin.detect import check
    from unspin.lm import load
    from unspin.restore import restore_with_stats

    t0 = time.time()
    lm = load()
    docs = load_docs(split=args.split)
    wins = windows(docs, min_words=60, max_words=160)
    wins.sort(key=lambda d: d.id)
    chosen = wins[:: max(1, len(wins) // max(args.windows, 1))]
    clean_chosen = wins[:: max(1, len(wins) // max(args.clean, 1))][: args.clean]
    results: dict[str, dict] = {}
    deep_rows: list[tuple[int, float, dict]] = []

    def run(text: str):
        rep = check(text, DEFAULT.replace(min_span_confidence=DEFAULT.restore_min_evidence))
        r, st = restore_with_stats(text, DEFAULT, report=rep, lm=lm, all_windows=args.fit_deep)
        return r, st, rep

    for fam in (args.families.split(",") if args.families else families()):
        rows = []
        for k, d in enumerate(chosen[: args.windows]):
            sp = spin(d.text, fam, seed=args.seed * 7919 + k)
            r, st, rep = run(sp.text)
            assert apply_spans(sp.text, r.changes) == r.text
            rows.append(score_doc(sp.text, sp.changes, r.changes))
            if args.fit_deep and rep.score is not None:
                deep_rows.append((1, rep.score, _deep_feats(st, sp.text)))
        results[fam] = _sum(rows)
        print(f"{fam:15} {json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results[fam].items()})}", flush=True)

    sents = []
    for d in docs:
        for a, b in sentence_spans(d.text):
            s = d.text[a:b].strip()
            if 8 <= len(s.split()) <= 40:
                sents.append(s)
    planted = plant_tortured(sents, args.tortured, seed=args.seed) if args.tortured else []
    rows = []
    for sp in planted:
        r, _st, _rep = run(sp.text)
        assert apply_spans(sp.text, r.changes) == r.text
        rows.append(score_doc(sp.text, sp.changes, r.changes))
    results["tortured_planted"] = _sum(rows)
    print(f"{'tortured_planted':15} {json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results['tortured_planted'].items()})}", flush=True)

    changed_docs, changed_words, total_words = 0, 0, 0
    clean_changes = []
    for d in clean_chosen:
        r, st, rep = run(d.text)
        total_words += len(words(d.text))
        if r.changes:
            changed_docs += 1
            changed_words += sum(max(1, len(words(c.text))) for c in r.changes)
            clean_changes += [f"{d.id} ({rep.verdict}): {c.text!r} -> {c.original!r} ({c.rule})" for c in r.changes]
        if args.fit_deep and rep.score is not None:
            deep_rows.append((0, rep.score, _deep_feats(st, d.text)))
    results["clean"] = {"docs": len(clean_chosen), "docs_changed": changed_docs,
                        "changed_words": changed_words, "words": total_words,
                        "changed_per_100w": 100.0 * changed_words / max(total_words, 1)}
    results["clean"]["changes"] = clean_changes
    print(f"{'clean':15} {json.dumps({k: v for k, v in results['clean'].items() if k != 'changes'})}", flush=True)
    for line in clean_changes:
        print("   ", line)

    # the hand-written hard negatives (honest text that looks spun): what the restorer changes
    hard = {"docs": 0, "docs_changed": 0, "changed_words": 0, "words": 0, "changes": []}
    for p in (sorted(HARD_NEGATIVES.glob("*.txt")) if args.clean else []):
        text = p.read_text(encoding="utf-8")
        r, _st, _rep = run(text)
        assert apply_spans(text, r.changes) == r.text
        hard["docs"] += 1
        hard["words"] += len(words(text))
        if r.changes:
            hard["docs_changed"] += 1
            hard["changed_words"] += sum(max(1, len(words(c.text))) for c in r.changes)
            hard["changes"] += [f"{p.stem} ({_rep.verdict}): {c.text!r} -> {c.original!r} ({c.rule})" for c in r.changes]
    results["hard_negatives"] = hard
    print(f"{'hard_negatives':15} {json.dumps({k: v for k, v in hard.items() if k != 'changes'})}", flush=True)
    for line in hard["changes"]:
        print("   ", line)
    results["_meta"] = {"seed": args.seed, "windows_per_family": args.windows, "split": args.split,
                        "seconds": round(time.time() - t0, 1), "config": {k: v for k, v in DEFAULT.to_dict().items() if k.startswith("restore")}}
    if args.fit_deep:
        results["deep_fit"] = _fit_deep(deep_rows)
        print("deep fit", json.dumps(results["deep_fit"]))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")
    return 0


def _setting(kv: str) -> tuple[str, object]:
    """``restore_margin=3`` -> ("restore_margin", 3.0), typed like the Config default."""
    from unspin.config import DEFAULT

    key, _, value = kv.partition("=")
    if not hasattr(DEFAULT, key):
        raise SystemExit(f"run_restore: error: unknown Config field {key!r}")
    kind = type(getattr(DEFAULT, key))
    return key, (value.lower() in ("1", "true", "yes") if kind is bool else kind(value))


def _deep_feats(st, text: str) -> dict:
    tokens = max(st.tokens, 1)
    return {"lm_bits_per_token": -st.logprob / tokens / math.log(2),
            "lm_restore_gain": st.gain / tokens / math.log(2),
            "lm_changes_per_100w": 100.0 * st.changed / max(len(words(text)), 1)}


def _fit_deep(rows) -> dict:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    keys = ["lm_bits_per_token", "lm_restore_gain", "lm_changes_per_100w"]
    y = np.array([r[0] for r in rows])
    p = np.clip(np.array([r[1] for r in rows]), 1e-4, 1 - 1e-4)
    lf = np.log(p / (1 - p))
    X = np.column_stack([lf] + [[r[2][k] for r in rows] for k in keys])
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(X, y)
    deep_p = clf.predict_proba(X)[:, 1]
    return {"n_spun": int(y.sum()), "n_clean": int((1 - y).sum()),
            "intercept": float(clf.intercept_[0]), "logit_fast": float(clf.coef_[0][0]),
            **{k: float(c) for k, c in zip(keys, clf.coef_[0][1:])},
            "auc_fast": float(roc_auc_score(y, p)), "auc_deep_in_sample": float(roc_auc_score(y, deep_p))}


if __name__ == "__main__":
    raise SystemExit(main())
