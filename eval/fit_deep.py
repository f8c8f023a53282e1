"""Fit and evaluate the deep check (``unspin check --deep``) on the documents it is used for.

    python -m eval.fit_deep [--per-class 60] [--out eval/out/deep.json]

The deep tier only sees documents whose fast score falls in ``Config.deep_band``, so that is
where its weights must be fitted and judged. For the dev split (fit) and the test split
(report), clean windows (80-300 words) and their spins (every family of eval/spinner.py) are
checked with the fast tier; those in the band get the language-model features
(:func:`unspin.deep.lm_features`), up to ``--per-class`` clean and spun documents per split.
A class-balanced logistic regression on logit(fast score) and the LM features is fitted on
dev and reported on test: ROC-AUC, and the spun-verdict rates among in-band documents, fast
against deep. Prints the weights to paste into ``unspin/deep.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

KEYS = ["lm_bits_per_token", "lm_restore_gain", "lm_changes_per_100w"]


def collect(split: str, per_class: int, lm, config) -> list[dict]:
    from eval.corpora import load_docs, windows
    from eval.spinner import families, spin
    from unspin.deep import lm_features
    from unspin.detect import check

    lo, hi = config.deep_band
    wins = windows(load_docs(split=split), min_words=80, max_words=300)
    wins.sort(key=lambda d: d.id)
    fams = families()
    rows: list[dict] = []
    counts = {0: 0, 1: 0}
    for k, d in enumerate(wins):
        variants = [(0, "clean", d.text)] + [(1, f, spin(d.text, f, seed=k).text) for f in (fams[k % len(fams)],)]
        for label, fam, text in variants:
            if counts[label] >= per_class:
                continue
            rep = check(text, config)
            if rep.score is None or not (lo <= rep.score <= hi):
                continue
            feats, _changes = lm_features(text, config, lm=lm)
            rows.append({"label": label, "family": fam, "id": d.id, "fast": rep.score, **feats})
            counts[label] += 1
        if counts[0] >= per_class and counts[1] >= per_class:
            break
    return rows


def design(rows):
    import numpy as np

    p = np.clip(np.array([r["fast"] for r in rows]), 1e-4, 1 - 1e-4)
    X = np.column_stack([np.log(p / (1 - p))] + [[r[k] for r in rows] for k in KEYS])
    y = np.array([r["label"] for r in rows])
    return X, y, p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=60)
    ap.add_argument("--out", default="eval/out/deep.json")
    ap.add_argument("--rows", default=None, help="reuse rows from an earlier --out file instead of running the LM")
    args = ap.parse_args(argv)

    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from unspin.config import DEFAULT

    t0 = time.time()
    if args.rows:
        data = json.loads(Path(args.rows).read_text())
        dev, test = data["dev_rows"], data["test_rows"]
    else:
        from unspin.lm import load

        lm = load()
        dev = collect("dev", args.per_class, lm, DEFAULT)
        test = collect("test", args.per_class, lm, DEFAULT)
    Xd, yd, _ = design(dev)
    Xt, yt, pt = design(test)
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000).fit(Xd, yd)
    deep_t = clf.predict_proba(Xt)[:, 1]
    th = DEFAULT.spun_threshold

    def rates(scores):
        s = np.asarray(scores)
        return {"clean_called_spun": float((s[yt == 0] >= th).mean()), "spun_called_spun": float((s[yt == 1] >= th).mean()),
                "clean_called_clean": float((s[yt == 0] < DEFAULT.clean_threshold).mean())}

    weights = {"intercept": round(float(clf.intercept_[0]), 3), "logit_fast": round(float(clf.coef_[0][0]), 3),
               **{k: round(float(c), 3) for k, c in zip(KEYS, clf.coef_[0][1:])}}
    result = {
        "dev": {"clean": int((yd == 0).sum()), "spun": int((yd == 1).sum())},
        "test": {"clean": int((yt == 0).sum()), "spun": int((yt == 1).sum()),
                 "auc_fast": round(float(roc_auc_score(yt, pt)), 4), "auc_deep": round(float(roc_auc_score(yt, deep_t)), 4),
                 "fast": rates(pt), "deep": rates(deep_t)},
        "weights": weights, "seconds": round(time.time() - t0),
        "dev_rows": dev, "test_rows": test,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_rows")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
