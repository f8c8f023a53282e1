"""The cost table: model-tier AUC on the real development pages against layers kept and
tokens read (and fp32 against bf16), out of fold, split by variant group.

    python -m eval.probe_sweep [--dtype fp32|bf16] [--C 0.05]

Prints a Markdown table (and writes eval/out/probe_sweep.json). Reads the features cached by
``python -m eval.probe_features``.

    python -m eval.probe_sweep --compare 6:128:fp32 5:128:fp32 6:112:fp32 6:128:bf16 6:128:int8-pc \
        --cross fp32:bf16 --C 0.02

compares settings (layers:tokens:dtype) side by side on the 6-layer, 128-token caches
(``python -m eval.probe_features --dtype D --layers 6 --max-tokens 128``), each head fitted on
the features of its own number format; ``--cross A:B`` adds a head fitted on format ``A``
and scored on format ``B``'s features of the held-out fold (one head shipped for two formats).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import probe_fit as pf
from . import real
from .probe_features import DTYPES, LAYERS, OUT, cached


def page_arrays(pages: list[real.Page]):
    y = np.array([p.label for p in pages])
    fold = np.array(real.folds(pages))
    is_page = np.array([p.role == "page" for p in pages])
    long_ = np.array([not p.short for p in pages])
    return y, fold, is_page, long_


def judge(z: np.ndarray, y, is_page, long_) -> dict:
    pos_long = z[(y == 1) & long_]
    pos = z[y == 1]
    neg = z[(y == 0) & is_page]
    return {
        "auc_long": pf.auc(pos_long, neg),
        "auc_all": pf.auc(pos, neg),
        "recall_long_at_1fpr": pf.recall_at_fpr(pos_long, neg, 0.01),
        "recall_long_at_5fpr": pf.recall_at_fpr(pos_long, neg, 0.05),
    }


def oof_cross(Xa: np.ndarray, Xb: np.ndarray, y, fold, C: float) -> np.ndarray:
    """Out-of-fold logits of heads fitted on ``Xa`` and applied to the held-out rows of ``Xb``."""
    out = np.zeros(len(y))
    for f in np.unique(fold):
        tr, te = fold != f, fold == f
        out[te] = pf.decision(pf.fit(Xa[tr], y[tr], C), Xb[te])
    return out


def compare(settings: list[str], cross: list[str], C: float, run_layers: int, max_tokens: int) -> list[dict]:
    """One row per setting (and per cross pair, at each setting's layers and tokens)."""
    feats: dict = {}

    def X_for(k: int, n: int, dtype: str):
        if dtype not in feats:
            feats[dtype] = cached(dtype, log=lambda m: print(m, file=sys.stderr), layers=run_layers,
                                  max_tokens=max_tokens)
        pages, data = feats[dtype]
        return pages, pf.design(data["pooled"], (k,), data["prefixes"].tolist().index(n))

    rows = []
    for s in settings:
        k, n, dtype = s.split(":")
        pages, X = X_for(int(k), int(n), dtype)
        y, fold, is_page, long_ = page_arrays(pages)
        rows.append({"setting": s, "fitted_on": dtype, **judge(pf.oof(X, y, fold, C), y, is_page, long_)})
        for c in cross:
            a, b = c.split(":")
            if b != dtype:
                continue
            _, Xa = X_for(int(k), int(n), a)
            rows.append({"setting": s, "fitted_on": a, **judge(oof_cross(Xa, X, y, fold, C), y, is_page, long_)})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.probe_sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtype", choices=DTYPES, default="fp32")
    ap.add_argument("--C", type=float, nargs="+", default=[0.01, 0.05, 0.2])
    ap.add_argument("--layers", type=int, nargs="+", default=None)
    ap.add_argument("--run-layers", type=int, default=LAYERS, help="the feature cache's layer count")
    ap.add_argument("--compare", nargs="+", metavar="LAYERS:TOKENS:DTYPE",
                    help="compare these settings side by side (6-layer, 128-token caches by default)")
    ap.add_argument("--cross", nargs="*", default=[], metavar="FIT:SCORE",
                    help="with --compare: heads fitted on one number format, scored on another's features")
    ap.add_argument("--max-tokens", type=int, default=None, help="the feature cache's tokens read")
    args = ap.parse_args(argv)
    if args.compare:
        run_layers = args.run_layers if args.run_layers != LAYERS else 6
        rows = compare(args.compare, args.cross, args.C[0], run_layers, args.max_tokens or 128)
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "probe_compare.json").write_text(json.dumps(rows, indent=1))
        print(f"C = {args.C[0]}, out of fold (5 folds by variant group)")
        print("| setting (layers:tokens:dtype) | head fitted on | AUC long | AUC all | recall long @1% FPR | @5% FPR |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['setting']} | {r['fitted_on']} | {r['auc_long']:.3f} | {r['auc_all']:.3f} "
                  f"| {r['recall_long_at_1fpr']:.0%} | {r['recall_long_at_5fpr']:.0%} |")
        return 0
    pages, data = cached(args.dtype, log=lambda m: print(m, file=sys.stderr), layers=args.run_layers,
                         max_tokens=args.max_tokens or 512)
    pooled = data["pooled"]
    y, fold, is_page, long_ = page_arrays(pages)
    n_layers = pooled.shape[2] - 1
    layer_list = args.layers or list(range(1, n_layers + 1))
    rows = []
    for k in layer_list:
        for j, ptoks in enumerate(data["prefixes"].tolist()):
            for C in args.C:
                z = pf.oof(pf.design(pooled, (k,), j), y, fold, C)
                rows.append({"layers": k, "tokens": ptoks, "C": C, "feats": f"L{k}", **judge(z, y, is_page, long_)})
                if k >= 4:
                    sel = (k // 2, k)
                    z = pf.oof(pf.design(pooled, sel, j), y, fold, C)
                    rows.append({"layers": k, "tokens": ptoks, "C": C, "feats": f"L{k // 2}+L{k}", **judge(z, y, is_page, long_)})
        print(f"layer {k} done", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"probe_sweep-{args.dtype}.json").write_text(json.dumps(rows, indent=1))
    print("| layers run | tokens | features | C | AUC long | AUC all | recall long @1% FPR | @5% FPR |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['layers']} | {r['tokens']} | {r['feats']} | {r['C']} | {r['auc_long']:.3f} | {r['auc_all']:.3f} "
              f"| {r['recall_long_at_1fpr']:.0%} | {r['recall_long_at_5fpr']:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
