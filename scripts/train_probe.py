"""Fit the model tier's heads and write unspin/data/probe.json.

    python scripts/train_probe.py [--layers 6] [--tokens 128] [--dtype bf16] [--C 0.02] [--windows 300]

Document head: a logistic regression on the encoder's hidden states after ``--layers``
layers, mean-pooled over the first ``--tokens`` tokens, fitted on the real development
pages (``../shared/data/real_dev``: spun pages against hard clean pages and the originals).
Out-of-fold logits (5 folds by variant group, :mod:`eval.real`) give the Platt calibration
and the thresholds stored with the weights: ``spun`` where at most 1% of clean pages score
(out of fold), ``unsure`` down to where 5% do. The setting (layers, tokens, C) comes from the
cost table in EVAL.md (``python -m eval.probe_sweep``).

Token head: a per-token logistic regression on the same hidden states, fitted on synthetic
swaps (``eval/spinner.py`` over UD English train windows, where the emulator knows which
words changed) and judged on the dev split; its span threshold keeps clean dev windows
nearly unmarked.

Both heads are fitted on features the encoder computes in ``--dtype`` (bf16 by default: on a
CPU with AMX it reads about 3x as many documents per second as fp32, at the same out-of-fold
accuracy; where there is no AMX the product runs the same heads in fp32, see
``unspin.probe.compute_dtype``).

The real pages' texts never enter the package: only the fitted coefficients do.
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

from eval import probe_fit as pf  # noqa: E402
from eval import real  # noqa: E402
from eval.corpora import corpus_hash, load_docs, windows  # noqa: E402
from eval.spinner import spin  # noqa: E402
from unspin import probe  # noqa: E402

OUT = ROOT / "unspin" / "data" / "probe.json"
TOKEN_FAMILIES = ("function_words", "thesaurus", "tortured", "injected", "mixed")


def doc_features(enc: probe.Encoder, texts: list[str], layers: int, tokens: int) -> np.ndarray:
    w = probe.Weights(layers, (layers,), tokens, False, probe.Head((), (), (), 0.0), (1.0, 0.0), layers, None, 1.0)
    rows = []
    for i in range(0, len(texts), 16):
        for _offsets, st in enc.states(texts[i : i + 16], tokens, (layers,)):
            rows.append(probe.features_for(st, w).numpy())
    return np.array(rows)


def head_dict(mean, scale, coef, intercept) -> dict:
    return {"mean": [round(float(x), 6) for x in mean], "scale": [round(float(x), 6) for x in scale],
            "coef": [round(float(x), 6) for x in coef], "intercept": round(float(intercept), 6)}


def fit_doc(enc, layers: int, tokens: int, C: float, log) -> tuple[dict, dict]:
    pages = real.load(include_sources=True)
    y = np.array([p.label for p in pages])
    fold = np.array(real.folds(pages))
    is_page = np.array([p.role == "page" for p in pages])
    long_ = np.array([not p.short for p in pages])
    t0 = time.time()
    X = doc_features(enc, [p.text for p in pages], layers, tokens)
    log(f"document features: {len(pages)} pages in {time.time() - t0:.0f} s")
    z = pf.oof(X, y, fold, C)
    a, b = pf.platt(z, y)
    p_oof = pf.sigmoid(a * z + b)
    neg = p_oof[(y == 0)]  # clean pages and originals
    spun_t = pf.threshold_at_fpr(neg, 0.01)
    clean_t = pf.threshold_at_fpr(neg, 0.05)
    mean, scale, clf = pf.fit(X, y, C)
    figures = {
        "auc_long": pf.auc(z[(y == 1) & long_], z[(y == 0) & is_page]),
        "auc_all": pf.auc(z[y == 1], z[(y == 0) & is_page]),
        "spun_recall_long": float(np.mean(p_oof[(y == 1) & long_] >= spun_t)),
        "clean_called_spun": float(np.mean(p_oof[(y == 0) & is_page] >= spun_t)),
        "clean_called_unsure": float(np.mean((p_oof[(y == 0) & is_page] >= clean_t) & (p_oof[(y == 0) & is_page] < spun_t))),
    }
    meta = {
        "pages": {"spun": int(y.sum()), "clean": int(((y == 0) & is_page).sum()), "originals": int((~is_page).sum()),
                  "corpus_sha256_12": real.corpus_hash(pages)},
        "cv": "5 folds by variant group and source link (eval.real.folds), out-of-fold",
        "oof": {k: round(v, 4) for k, v in figures.items()},
        "C": C,
    }
    doc = {"doc": head_dict(mean, scale, clf.coef_[0], clf.intercept_[0]), "platt": [round(a, 6), round(b, 6)],
           "thresholds": {"spun": round(spun_t, 6), "clean": round(clean_t, 6)}}
    log(f"document head: out-of-fold {meta['oof']}")
    return doc, meta


def token_data(enc, docs, layer: int, tokens: int, seed: int):
    X, Y = [], []
    for k, d in enumerate(docs):
        fam = TOKEN_FAMILIES[k % len(TOKEN_FAMILIES)] if k % 6 else None  # every 6th window stays clean
        if fam is None:
            text, changes = d.text, []
        else:
            s = spin(d.text, fam, seed=seed * 7919 + k)
            text, changes = s.text, [(c.start, c.end) for c in s.changes if c.end > c.start]
        (offsets, st), = enc.states([text], tokens, (layer,))
        h = st[layer].numpy()
        lab = np.zeros(len(offsets), dtype=np.int8)
        ci = 0
        for t, (s0, e0) in enumerate(offsets):
            while ci < len(changes) and changes[ci][1] <= s0:
                ci += 1
            j = ci
            while j < len(changes) and changes[j][0] < e0:
                if changes[j][1] > s0 and text[s0:e0].strip():
                    lab[t] = 1
                    break
                j += 1
        X.append(h)
        Y.append(lab)
    return np.concatenate(X), np.concatenate(Y)


def fit_token(enc, layer: int, tokens: int, n_windows: int, log) -> tuple[dict, dict]:
    t0 = time.time()
    train = windows(load_docs(("ewt", "gum", "pud"), include_nc=False, split="train"), min_words=80, max_words=400)
    dev = windows(load_docs(("ewt", "gum", "pud"), include_nc=False, split="dev"), min_words=80, max_words=400)
    rng = np.random.default_rng(0)
    train = [train[i] for i in rng.permutation(len(train))[:n_windows]]
    dev = [dev[i] for i in rng.permutation(len(dev))[: max(60, n_windows // 4)]]
    Xtr, ytr = token_data(enc, train, layer, tokens, seed=1)
    Xdv, ydv = token_data(enc, dev, layer, tokens, seed=2)
    log(f"token data: {len(ytr)} train tokens ({ytr.mean():.1%} changed), {len(ydv)} dev, {time.time() - t0:.0f} s")
    mean, scale = Xtr.mean(0), Xtr.std(0) + 1e-6
    clf = LogisticRegression(C=0.05, max_iter=2000)
    clf.fit((Xtr - mean) / scale, ytr)
    p = clf.predict_proba((Xdv - mean) / scale)[:, 1]
    auc = pf.auc(p[ydv == 1], p[ydv == 0])
    # the span threshold: at most 1% of unchanged dev tokens marked
    thr = float(np.quantile(p[ydv == 0], 0.99))
    prec = float(np.mean(ydv[p >= thr])) if (p >= thr).any() else float("nan")
    rec = float(np.mean(p[ydv == 1] >= thr))
    meta = {"train_windows": len(train), "train_tokens": int(len(ytr)), "families": list(TOKEN_FAMILIES),
            "train_sha256_12": corpus_hash(d.text for d in train),
            "dev": {"token_auc": round(auc, 4), "precision_at_threshold": round(prec, 4),
                    "recall_at_threshold": round(rec, 4), "unchanged_marked": 0.01}}
    log(f"token head: dev AUC {auc:.3f}, threshold {thr:.3f}: precision {prec:.2f}, recall {rec:.2f}")
    return {"token": head_dict(mean, scale, clf.coef_[0], clf.intercept_[0]), "token_threshold": round(thr, 4)}, meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--dtype", choices=probe.DTYPES, default="bf16",
                    help="the number format the encoder computes in (default bf16)")
    ap.add_argument("--C", type=float, default=0.02)
    ap.add_argument("--windows", type=int, default=300, help="synthetic windows for the token head")
    ap.add_argument("--token-tokens", type=int, default=512, help="tokens read per window for the token head")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    enc = probe.Encoder(args.layers, args.dtype)
    doc, doc_meta = fit_doc(enc, args.layers, args.tokens, args.C, log)
    tok, tok_meta = fit_token(enc, args.layers, args.token_tokens, args.windows, log)
    data = {
        "format": probe.FORMAT,
        "hidden_size": enc.hidden,
        "layers": args.layers,
        "doc_layers": [args.layers],
        "max_tokens": args.tokens,
        "dtype": args.dtype,
        "stack_fast": False,
        **doc,
        "token_layer": args.layers,
        **tok,
        "meta": {
            "created": _dt.date.today().isoformat(),
            "script": "scripts/train_probe.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "model": "SmolLM2-135M-Instruct (unspin models fetch), first layers only",
            "encoder_dtype": args.dtype + (" (fp32 where the CPU has no AMX: unspin.probe.compute_dtype)"
                                           if args.dtype == "bf16" else ""),
            "document_head": doc_meta,
            "token_head": tok_meta,
            "note": "fitted on excerpts of third-party web pages (development set); the excerpts are not shipped",
        },
    }
    args.out.write_text(json.dumps(data, indent=0) + "\n", encoding="utf-8")
    probe.weights.cache_clear()
    log(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
