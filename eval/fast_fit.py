"""Fitting and judging the fast tier's scorer on real pages (shared by ``scripts/train_model.py``
and ``eval.run_real``), and the experiment that picked its features.

    python -m eval.fast_fit                  # per-feature AUC, then feature sets x C out of fold

The fast tier's features (:mod:`unspin.features`) are computed once per page and cached in
``eval/out/fast_features.json`` (keyed by the corpus hash, the feature list and a hash of the
package's code). The scorer is
a logistic regression with balanced classes, fitted on the real development pages (spun pages
against hard clean pages and the originals), with folds from :func:`eval.real.folds`; its
out-of-fold logits give the Platt calibration and the thresholds, as for the model tier.
Inputs are clipped to the range seen in training, as the shipped scorer clips them.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import probe_fit as pf
from . import real
from .probe_features import OUT

#: The features the shipped scorer uses (a choice made by this module's experiment; EVAL.md).
USED = (
    "sig_weight", "sig_strong", "sig_kinds", "tortured_rate", "tortured_count", "anchor_embedded", "anchor_any",
    "foreign", "thes_rate", "thes_mean_gap", "revspin_rate", "multiword_rate", "you_rate", "the_rate", "func_rate",
    "space_punct", "rare_rate",
    "pair_common", "pair_common_fc", "pair_logcount", "article_clash", "doubled_words", "mid_caps", "lower_start",
    "braces", "fw_profile",
)
#: L2 strength and the synthetic rows (count, weight) chosen by the experiment (EVAL.md).
C_DEFAULT = 0.01
SYNTHETIC = (400, 0.3)


def code_hash() -> str:
    """A hash of the package's top-level modules: cached feature rows are recomputed whenever
    the code that computes them (features, spans, lexicon lookups) changes."""
    import hashlib
    from pathlib import Path

    import unspin

    h = hashlib.sha256()
    for f in sorted(Path(unspin.__file__).parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def featurise(texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Feature rows (every feature in :data:`unspin.features.FEATURES`) and a not-applicable mask."""
    from unspin.config import DEFAULT
    from unspin.detect import analyse
    from unspin.features import FEATURES

    names = list(FEATURES)
    rows, na = [], []
    for t in texts:
        r = analyse(t, DEFAULT)
        if isinstance(r, tuple):
            rows.append([r[1][f] for f in names])
            na.append(False)
        else:
            rows.append([0.0] * len(names))
            na.append(True)
    return np.array(rows, dtype=float), np.array(na), names


def cached(pages: list[real.Page], log=lambda m: None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from unspin import fluency
    from unspin.features import FEATURES

    path = OUT / "fast_features.json"
    key = {"corpus": real.corpus_hash(pages), "features": list(FEATURES), "pairs": fluency.provenance(),
           "code": code_hash()}
    if path.is_file():
        d = json.loads(path.read_text())
        if d.get("key") == key:
            return np.array(d["X"]), np.array(d["na"]), d["names"]
    log(f"featurising {len(pages)} pages")
    X, na, names = featurise([p.text for p in pages])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "X": X.tolist(), "na": na.tolist(), "names": names}))
    return X, na, names


def synthetic(n: int, log=lambda m: None) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of ``n`` clean UD train windows and one emulator spin of each (every
    family in turn), cached like :func:`cached`."""
    from eval.corpora import load_docs, windows
    from eval.spinner import families, spin
    from unspin import fluency
    from unspin.features import FEATURES

    path = OUT / "fast_synthetic.json"
    key = {"n": n, "features": list(FEATURES), "pairs": fluency.provenance(), "code": code_hash()}
    if path.is_file():
        d = json.loads(path.read_text())
        if d.get("key") == key:
            return np.array(d["X"]), np.array(d["y"])
    docs = windows(load_docs(("ewt", "gum", "pud"), include_nc=False, split="train"))
    rng = np.random.default_rng(0)
    docs = [docs[i] for i in rng.permutation(len(docs))[:n]]
    fams = families()
    texts, y = [], []
    for k, d in enumerate(docs):
        texts += [d.text, spin(d.text, fams[k % len(fams)], seed=k).text]
        y += [0, 1]
    log(f"featurising {len(texts)} synthetic texts")
    X, na, _ = featurise(texts)
    X, y = X[~na], np.array(y)[~na]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "X": X.tolist(), "y": y.tolist()}))
    return X, y


def fit(X: np.ndarray, y: np.ndarray, C: float, weight: np.ndarray | None = None):
    """A balanced-class logistic regression on standardised, clipped inputs; ``weight`` is a
    per-row sample weight (synthetic rows count less)."""
    from sklearn.linear_model import LogisticRegression

    lo, hi = X.min(0), X.max(0)
    mean, scale = X.mean(0), X.std(0) + 1e-6
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000)
    clf.fit((X - mean) / scale, y, sample_weight=weight)
    return lo, hi, mean, scale, clf


def decision(model, X: np.ndarray) -> np.ndarray:
    lo, hi, mean, scale, clf = model
    return clf.decision_function((np.clip(X, lo, hi) - mean) / scale)


def oof(X: np.ndarray, y: np.ndarray, fold: np.ndarray, C: float, train_mask: np.ndarray | None = None,
        extra: tuple[np.ndarray, np.ndarray, float] | None = None) -> np.ndarray:
    """Out-of-fold logits: each page scored by a scorer fitted without its fold (and, with
    ``train_mask``, only on the pages it allows). ``extra`` = (X, y, weight): rows added to
    every training fold (synthetic spins)."""
    out = np.zeros(len(y))
    tm = np.ones(len(y), bool) if train_mask is None else train_mask
    for f in np.unique(fold):
        tr = (fold != f) & tm
        Xt, yt, wt = X[tr], y[tr], np.ones(int(tr.sum()))
        if extra is not None:
            Xt, yt, wt = np.r_[Xt, extra[0]], np.r_[yt, extra[1]], np.r_[wt, np.full(len(extra[1]), extra[2])]
        out[fold == f] = decision(fit(Xt, yt, C, wt), X[fold == f])
    return out


def calibrated_oof(X, y, fold, C, neg, train_mask=None, extra=None):
    """Out-of-fold calibrated scores, logits, Platt (a, b) and the (spun, clean) thresholds:
    the 1% and 5% false-positive points on the negatives ``neg`` (out of fold)."""
    z = oof(X, y, fold, C, train_mask, extra)
    m = np.ones(len(y), bool) if train_mask is None else train_mask
    a, b = pf.platt(z[m], y[m])
    p = pf.sigmoid(a * z + b)
    return p, z, (a, b), (pf.threshold_at_fpr(p[neg & m], 0.01), pf.threshold_at_fpr(p[neg & m], 0.05))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.fast_fit", description=__doc__.split("\n\n")[0])
    ap.add_argument("--C", type=float, nargs="+", default=[0.01, 0.03, 0.1, 0.3])
    ap.add_argument("--synthetic", type=int, default=0, help="also try N synthetic windows (and a spin of each) "
                    "added to every training fold at weights 0.1, 0.3 and 1")
    args = ap.parse_args(argv)
    pages = real.load(include_sources=True)
    X, na, names = cached(pages, log=lambda m: print(m, file=sys.stderr))
    y = np.array([p.label for p in pages])
    fold = np.array(real.folds(pages))
    neg = (y == 0) & np.array([p.role == "page" for p in pages])
    pos_l = (y == 1) & np.array([not p.short for p in pages])
    print("single features, AUC of long spun pages vs clean pages (higher: more in spun pages)")
    for j, n in enumerate(names):
        print(f"  {n:16s} {pf.auc(X[pos_l, j], X[neg, j]):.3f}   spun mean {X[pos_l, j].mean():.3f}  clean {X[neg, j].mean():.3f}")
    from unspin.scoring import model

    old = list(model().meta.get("features_before", model().features))
    new = [n for n in names if n not in old and n not in ("log_words", "thes_gap", "rare_rate", "oov_rate", "content_zipf")]
    sets = {"old features": [n for n in old if n in names], "old + new": [n for n in old if n in names] + new,
            "shipped set": list(USED), "all": names}
    print("\nfeature set x C: out-of-fold AUC long / all, recall long @1% / @5% FPR")
    for label, fs in sets.items():
        cols = [names.index(f) for f in fs]
        for C in args.C:
            z = oof(X[:, cols], y, fold, C)
            print(f"  {label:14s} C={C:<5g} {pf.auc(z[pos_l], z[neg]):.3f} {pf.auc(z[y == 1], z[neg]):.3f} "
                  f"{pf.recall_at_fpr(z[pos_l], z[neg], 0.01):.2f} {pf.recall_at_fpr(z[pos_l], z[neg], 0.05):.2f}")
    if args.synthetic:
        cols = [names.index(f) for f in USED]
        Xs, ys = synthetic(args.synthetic, log=lambda m: print(m, file=sys.stderr))
        print(f"\nshipped set + {len(ys)} synthetic rows (weight w), C={C_DEFAULT}")
        for w in (0.0, 0.1, 0.3, 1.0):
            z = oof(X[:, cols], y, fold, C_DEFAULT, extra=(Xs[:, cols], ys, w) if w else None)
            print(f"  w={w:<4g} {pf.auc(z[pos_l], z[neg]):.3f} {pf.auc(z[y == 1], z[neg]):.3f} "
                  f"{pf.recall_at_fpr(z[pos_l], z[neg], 0.01):.2f} {pf.recall_at_fpr(z[pos_l], z[neg], 0.05):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
