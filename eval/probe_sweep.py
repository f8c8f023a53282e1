"""The cost table: model-tier AUC on the real development pages against layers kept and
tokens read (and fp32 against bf16), out of fold, split by variant group.

    python -m eval.probe_sweep [--dtype fp32|bf16] [--C 0.05]

Prints a Markdown table (and writes eval/out/probe_sweep.json). Reads the features cached by
``python -m eval.probe_features``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import probe_fit as pf
from . import real
from .probe_features import LAYERS, OUT, cached


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.probe_sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtype", choices=("fp32", "bf16", "int8"), default="fp32")
    ap.add_argument("--C", type=float, nargs="+", default=[0.01, 0.05, 0.2])
    ap.add_argument("--layers", type=int, nargs="+", default=None)
    ap.add_argument("--run-layers", type=int, default=LAYERS, help="the feature cache's layer count")
    args = ap.parse_args(argv)
    pages, data = cached(args.dtype, log=lambda m: print(m, file=sys.stderr), layers=args.run_layers)
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
