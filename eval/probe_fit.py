"""Fitting and judging the model tier's document head on real pages (shared by
``eval.run_real``, ``eval.probe_sweep`` and ``scripts/train_probe.py``).

Everything is group-aware: folds come from :func:`eval.real.folds` (variant groups and
source links never split), and leave-one-family-out refits drop a whole family from training.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def design(pooled: np.ndarray, layers: tuple[int, ...], prefix: int, fast_logit: np.ndarray | None = None) -> np.ndarray:
    """Rows of the document head's input: pooled layers (concatenated) at prefix index
    ``prefix``, plus the fast tier's logit when stacking."""
    X = np.concatenate([pooled[:, prefix, k, :] for k in layers], axis=1)
    if fast_logit is not None:
        X = np.concatenate([X, fast_logit[:, None]], axis=1)
    return X


def fit(X: np.ndarray, y: np.ndarray, C: float):
    mean = X.mean(0)
    scale = X.std(0) + 1e-6
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
    clf.fit((X - mean) / scale, y)
    return mean, scale, clf


def decision(model, X: np.ndarray) -> np.ndarray:
    mean, scale, clf = model
    return clf.decision_function((X - mean) / scale)


def oof(X: np.ndarray, y: np.ndarray, fold: np.ndarray, C: float, train_mask: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold logits: each page scored by a head fitted without its fold (and, with
    ``train_mask``, only on the pages it allows)."""
    out = np.zeros(len(y))
    tm = np.ones(len(y), bool) if train_mask is None else train_mask
    for f in np.unique(fold):
        tr = (fold != f) & tm
        te = fold == f
        out[te] = decision(fit(X[tr], y[tr], C), X[te])
    return out


def platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling of logits on out-of-fold scores (balanced classes, light ridge)."""
    clf = LogisticRegression(C=10.0, class_weight="balanced").fit(z[:, None], y)
    return float(clf.coef_[0, 0]), float(clf.intercept_[0])


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], np.r_[pos, neg]))


def threshold_at_fpr(neg: np.ndarray, fpr: float) -> float:
    """The smallest threshold whose false-positive rate on ``neg`` is at most ``fpr``
    (a page scoring >= the threshold is called positive)."""
    s = np.sort(np.asarray(neg))[::-1]
    k = int(math.floor(fpr * len(s)))  # pages allowed above
    if k >= len(s):
        return float(s[-1])
    return float(np.nextafter(s[k], np.inf))


def recall_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float) -> float:
    if len(pos) == 0:
        return float("nan")
    t = threshold_at_fpr(neg, fpr)
    return float(np.mean(np.asarray(pos) >= t))
