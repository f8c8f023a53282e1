"""Train the fast tier's calibrated scorer and write unspin/data/model.json.

    python scripts/train_model.py [--C 0.01] [--synthetic 400] [--synthetic-weight 0.3]

Training data: the real development pages (``../shared/data/real_dev``: spun pages against
hard clean pages and the originals), plus ``--synthetic`` clean windows of the UD train
split (EWT, permissive GUM genres, PUD; never the non-commercial GUM files) and one emulator
spin of each (``eval/spinner.py``) at a lower sample weight: the real-page cross-validation
says they help a little (``python -m eval.fast_fit --synthetic 400``, EVAL.md).

Out-of-fold logits (5 folds by variant group and source link, :func:`eval.real.folds`) give
the Platt calibration, which is folded into the stored weights (the score is the calibrated
probability for a balanced mix of spun and clean pages), and the thresholds stored with them:
``spun`` where at most 1% of clean pages and originals score out of fold, ``unsure`` down to
the 5% point. The out-of-fold figures go in the file's meta; ``python -m eval.run_real``
reports them per family and leave-one-family-out.

The real pages' texts never enter the package: only the fitted coefficients do.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from eval import fast_fit as ff  # noqa: E402
from eval import probe_fit as pf  # noqa: E402
from eval import real  # noqa: E402
from unspin import fluency  # noqa: E402
from unspin.scoring import FORMAT  # noqa: E402

OUT = ROOT / "unspin" / "data" / "model.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, default=ff.C_DEFAULT, help="inverse L2 regularisation strength")
    ap.add_argument("--synthetic", type=int, default=ff.SYNTHETIC[0], help="synthetic clean windows (each with one spin)")
    ap.add_argument("--synthetic-weight", type=float, default=ff.SYNTHETIC[1])
    ap.add_argument("--features", default=",".join(ff.USED), help="comma-separated features the scorer uses")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    used = [f for f in args.features.split(",") if f]
    pages = real.load(include_sources=True)
    X, na, names = ff.cached(pages, log)
    cols = [names.index(f) for f in used]
    X = X[:, cols]
    y = np.array([p.label for p in pages])
    fold = np.array(real.folds(pages))
    is_page = np.array([p.role == "page" for p in pages])
    long_ = np.array([not p.short for p in pages])
    extra = None
    if args.synthetic and args.synthetic_weight:
        Xs, ys = ff.synthetic(args.synthetic, log)
        extra = (Xs[:, cols], ys, args.synthetic_weight)
    p, z, (a, b), (spun_t, clean_t) = ff.calibrated_oof(X, y, fold, args.C, y == 0, extra=extra)
    neg, pos_l = (y == 0) & is_page, (y == 1) & long_
    figures = {
        "auc_long": pf.auc(z[pos_l], z[neg]), "auc_all": pf.auc(z[y == 1], z[neg]),
        "recall_long_at_1fpr": pf.recall_at_fpr(z[pos_l], z[neg], 0.01),
        "recall_long_at_5fpr": pf.recall_at_fpr(z[pos_l], z[neg], 0.05),
        "verdict_recall_long": float(np.mean(p[pos_l] >= spun_t)),
        "verdict_recall_all": float(np.mean(p[y == 1] >= spun_t)),
        "clean_called_spun": float(np.mean(p[neg] >= spun_t)),
        "clean_called_unsure": float(np.mean((p[neg] >= clean_t) & (p[neg] < spun_t))),
    }

    Xt, yt, wt = X, y, np.ones(len(y))
    if extra is not None:
        Xt, yt, wt = np.r_[X, extra[0]], np.r_[y, extra[1]], np.r_[wt, np.full(len(extra[1]), extra[2])]
    lo, hi, mean, scale, clf = ff.fit(Xt, yt, args.C, wt)
    # Platt folded in: sigmoid(a * (w.x + c) + b) = sigmoid((a w).x + (a c + b))
    coef, intercept = a * clf.coef_[0], a * clf.intercept_[0] + b
    synth = {"windows": args.synthetic, "weight": args.synthetic_weight} if extra is not None else None
    model = {
        "format": FORMAT,
        "features": used,
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in coef],
        "intercept": round(float(intercept), 6),
        "lo": [round(float(v), 6) for v in lo],
        "hi": [round(float(v), 6) for v in hi],
        "thresholds": {"spun": round(float(spun_t), 6), "clean": round(float(clean_t), 6)},
        "meta": {
            "created": _dt.date.today().isoformat(),
            "script": "scripts/train_model.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "trainer": f"sklearn LogisticRegression, balanced classes, C={args.C:g}, Platt on out-of-fold logits (folded in)",
            "pages": {"spun": int(y.sum()), "clean": int(neg.sum()), "originals": int((~is_page).sum()),
                      "corpus_sha256_12": real.corpus_hash(pages)},
            "synthetic": synth,
            "cv": "5 folds by variant group and source link (eval.real.folds), out-of-fold; "
                  "thresholds at the 1% / 5% false-positive points of clean pages and originals",
            "oof": {k: round(float(v), 4) for k, v in figures.items()},
            "word_pairs": {k: fluency.provenance()[k] for k in ("kept", "sources")},
            "sources": "unspin real development set (excerpts of third-party web pages, not shipped); "
                       + ("UD English EWT, GUM (permissive genres), PUD train windows and synthetic spins by eval/spinner.py"
                          if synth else "no synthetic data"),
        },
    }
    args.out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    log(f"out of fold: {model['meta']['oof']}; thresholds spun {spun_t:.3f} clean {clean_t:.3f}")
    for name, c in sorted(zip(used, coef), key=lambda x: -abs(x[1])):
        log(f"  {name:16s} {c:+.3f}")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
