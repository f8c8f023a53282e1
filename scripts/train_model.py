"""Train the calibrated scorer and write unspin/data/model.json.

    python scripts/train_model.py [--limit N] [--seed 0]

Training data: clean windows (80-700 words) of the *train* split of UD English EWT, the
permissive GUM genres and PUD (never the non-commercial GUM files), against synthetic spins
of the same windows made by eval/spinner.py (every family, random rates). The dev split is
used to report held-out figures that are stored in the model file; the test split is left to
eval/run_detect.py. Split by document, so no document is on both sides.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from eval.corpora import corpus_hash, load_docs, windows  # noqa: E402
from eval.spinner import families, spin  # noqa: E402
from unspin.config import DEFAULT  # noqa: E402
from unspin.detect import analyse  # noqa: E402
from unspin.features import FEATURES  # noqa: E402
from unspin.report import Report  # noqa: E402
from unspin.scoring import FORMAT  # noqa: E402


#: Features left out of the model by default. They measure how rare the vocabulary is, which
#: the training corpora (web text, news, Wikipedia) confound with spinning: scientific, legal
#: and medical writing is honestly rare-worded, and those registers are thin in the training
#: data. They are still computed and shown in Report.features.
#: log_words: length is not evidence of spinning, and short texts lie outside the training
#: windows (80-700 words). thes_gap (= rate x mean gap) is collinear with thes_rate and
#: thes_mean_gap, which carry the same information without unstable signs.
DROP = ("rare_rate", "oov_rate", "content_zipf", "log_words", "thes_gap")
USED: list[str] = [f for f in FEATURES if f not in DROP]


def featurise(text: str) -> list[float] | None:
    r = analyse(text, DEFAULT)
    if isinstance(r, Report):
        return None
    return [r[1][f] for f in USED]


def build(split: str, seed: int, limit: int | None, spins_per_doc: int, exclude: str | None = None):
    docs = windows(load_docs(("ewt", "gum", "pud"), include_nc=False, split=split))
    if limit:
        docs = docs[:limit]
    fams = [f for f in families() if f != exclude and not (exclude and f == "mixed")]
    X, y, groups, texts = [], [], [], []
    for k, d in enumerate(docs):
        f = featurise(d.text)
        if f is None:
            continue
        X.append(f); y.append(0); groups.append("clean"); texts.append(d.text)
        for r in range(spins_per_doc):
            fam = fams[(k + r) % len(fams)]
            s = spin(d.text, fam, seed=seed * 1000 + k * 7 + r)
            if not s.changes:
                continue
            f = featurise(s.text)
            if f is None:
                continue
            X.append(f); y.append(1); groups.append(fam); texts.append(s.text)
    return np.array(X), np.array(y), groups, texts


def recall_at_fpr(y, p, fpr_max=0.01) -> float:
    fpr, tpr, _ = roc_curve(y, p)
    ok = tpr[fpr <= fpr_max]
    return float(ok.max()) if len(ok) else 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="use only the first N clean windows per split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spins-per-doc", type=int, default=2)
    ap.add_argument("--C", type=float, default=0.5, help="inverse L2 regularisation strength")
    ap.add_argument("--out", default=str(ROOT / "unspin" / "data" / "model.json"))
    ap.add_argument("--drop", default=",".join(DROP), help="comma-separated features to leave out of the model")
    ap.add_argument("--holdout", default=None, metavar="FAMILY",
                    help="leave this spinner family (and 'mixed') out of training and report dev figures for it: "
                    "a generalisation check; the model is written to --out, so point it away from the package")
    args = ap.parse_args(argv)
    USED[:] = [f for f in FEATURES if f not in set(filter(None, args.drop.split(",")))]

    t0 = time.time()
    Xtr, ytr, gtr, ttr = build("train", args.seed, args.limit, args.spins_per_doc, exclude=args.holdout)
    Xdv, ydv, gdv, tdv = build("dev", args.seed + 1, args.limit, args.spins_per_doc)
    print(f"features: train {Xtr.shape} dev {Xdv.shape} in {time.time() - t0:.0f}s", file=sys.stderr)

    mean = Xtr.mean(axis=0)
    scale = Xtr.std(axis=0)
    scale[scale == 0] = 1.0
    # clean and spun classes weighted equally, so the probability is calibrated for a
    # balanced mix (see README: the prior of spun pages in a crawl is much lower)
    clf = LogisticRegression(C=args.C, class_weight="balanced", max_iter=2000)
    clf.fit((Xtr - mean) / scale, ytr)
    pdv = clf.predict_proba((np.clip(Xdv, Xtr.min(axis=0), Xtr.max(axis=0)) - mean) / scale)[:, 1]
    auc = roc_auc_score(ydv, pdv)
    r1 = recall_at_fpr(ydv, pdv)
    clean = pdv[ydv == 0]
    fp_spun = float((clean >= DEFAULT.spun_threshold).mean())
    per_family = {}
    for fam in sorted(set(gdv) - {"clean"}):
        m = np.array([g == fam for g in gdv])
        per_family[fam] = round(float((pdv[m] >= DEFAULT.spun_threshold).mean()), 4)
    print(f"dev: AUC {auc:.4f}  recall@1%FPR {r1:.4f}  clean->spun {fp_spun:.4f}  spun-verdict recall by family {per_family}", file=sys.stderr)

    model = {
        "format": FORMAT,
        "features": list(USED),
        "mean": [round(float(v), 6) for v in mean],
        "scale": [round(float(v), 6) for v in scale],
        "coef": [round(float(v), 6) for v in clf.coef_[0]],
        "intercept": round(float(clf.intercept_[0]), 6),
        "lo": [round(float(v), 6) for v in Xtr.min(axis=0)],
        "hi": [round(float(v), 6) for v in Xtr.max(axis=0)],
        "meta": {
            "created": _dt.date.today().isoformat(),
            "trainer": "sklearn LogisticRegression, balanced classes, C=%g" % args.C,
            "train": {"clean": int((ytr == 0).sum()), "spun": int((ytr == 1).sum()), "corpus_sha256_12": corpus_hash(ttr)},
            "dev": {"clean": int((ydv == 0).sum()), "spun": int((ydv == 1).sum()), "auc": round(auc, 4),
                    "recall_at_1pct_fpr": round(r1, 4), "clean_scored_spun": round(fp_spun, 4),
                    "spun_verdict_recall_by_family": per_family},
            "sources": "UD English EWT, GUM (permissive genres), PUD; synthetic spins by eval/spinner.py",
        },
    }
    Path(args.out).write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    for name, c in sorted(zip(USED, clf.coef_[0]), key=lambda x: -abs(x[1])):
        print(f"  {name:16s} {c:+.3f}", file=sys.stderr)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
