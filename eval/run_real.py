"""Detection judged on real pages: every tier on the development set's spun and hard clean pages.

    python -m eval.run_real [--json eval/out/real.json] [--no-lofo]

Tiers:

``fast``
    the fast tier's scorer refitted out of fold (:mod:`eval.fast_fit`: the shipped features,
    C and synthetic rows, 5 folds by group), Platt-calibrated and thresholded out of fold
    exactly as ``scripts/train_model.py`` does for the shipped weights (which are fitted on
    all these pages, so the shipped scores here would be in-sample).
``fast-before`` (with ``--compare-model FILE``)
    another weights file (e.g. the previous ``model.json``, ``git show REV:unspin/data/model.json``)
    scored on the same features with its own thresholds: a before/after in one run.
``model``
    the model tier's document head, refitted out of fold: 5 folds by variant group and
    source link (:func:`eval.real.folds`), features as the product reads them (first 6
    layers, 128 tokens; cached by ``eval.probe_features``), Platt-calibrated and thresholded
    out of fold exactly as ``scripts/train_probe.py`` does for the shipped weights.
``auto``
    the cascade ``unspin.check`` runs by default: the fast tier; a fast score at or above
    ``Config.fast_decides_above`` is ``spun`` as it stands, one below ``Config.cascade_skip_below``
    stays ``clean``, and the model tier decides the rest.

Figures: ROC-AUC of spun pages (400+ characters, and all) against clean pages; recall at
the thresholds that give 1% and 5% false positives; the verdict's recall and clean pages
called spun; per family and per clean genre; and leave-one-family-out (LOFO) for the model
and the fast tier: refitted without a family, and that family's recall at the 1% and 5%
thresholds and at the verdict. LOFO estimates how unspin does on a spinner nobody has seen.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import fast_fit as ff
from . import probe_fit as pf
from . import real
from .probe_features import OUT, cached

LAYER, TOKENS, C = 6, 128, 0.02


def fast_oof(pages: list[real.Page], fam_out: str | None = None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The fast tier out of fold: calibrated scores (nan where not applicable), verdicts, and
    the not-applicable mask. With ``fam_out`` that spinner family is left out of training."""
    X, na, names = ff.cached(pages, log=lambda m: print(m, file=sys.stderr))
    cols = [names.index(f) for f in ff.USED]
    y = np.array([p.label for p in pages])
    fold = np.array(real.folds(pages))
    Xs, ys = ff.synthetic(ff.SYNTHETIC[0], log=lambda m: print(m, file=sys.stderr))
    mask = None if fam_out is None else ~np.array([p.label == 1 and p.family == fam_out for p in pages])
    p, _z, _ab, th = ff.calibrated_oof(X[:, cols], y, fold, ff.C_DEFAULT, y == 0, train_mask=mask,
                                       extra=(Xs[:, cols], ys, ff.SYNTHETIC[1]))
    return np.where(na, np.nan, p), verdicts_for(p, th, na), na


def file_scores(pages: list[real.Page], path: Path) -> tuple[np.ndarray, list[str]]:
    """Scores and verdicts of a fast-tier weights file on the cached features (format 1 files
    carry no thresholds: they used (0.93, 0.50))."""
    d = json.loads(path.read_text())
    X, na, names = ff.cached(pages)
    cols = [names.index(f) for f in d["features"]]
    x = (np.clip(X[:, cols], d["lo"], d["hi"]) - np.array(d["mean"])) / np.array(d["scale"])
    p = pf.sigmoid(x @ np.array(d["coef"]) + d["intercept"])
    th = d.get("thresholds", {"spun": 0.93, "clean": 0.50})
    return np.where(na, np.nan, p), verdicts_for(p, (th["spun"], th["clean"]), na)


def model_oof(pooled: np.ndarray, prefixes: list[int], y: np.ndarray, fold: np.ndarray,
              train_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Out-of-fold calibrated scores, raw logits and the (spun, clean) thresholds."""
    X = pf.design(pooled, (LAYER,), prefixes.index(TOKENS))
    z = pf.oof(X, y, fold, C, train_mask)
    m = np.ones(len(y), bool) if train_mask is None else train_mask
    a, b = pf.platt(z[m], y[m])
    p = pf.sigmoid(a * z + b)
    neg = p[(y == 0) & m]
    return p, z, (pf.threshold_at_fpr(neg, 0.01), pf.threshold_at_fpr(neg, 0.05))


def verdicts_for(p: np.ndarray, th: tuple[float, float], na: np.ndarray) -> list[str]:
    out = []
    for s, n in zip(p, na):
        if n:
            out.append("not_applicable")
        elif s >= th[0]:
            out.append("spun")
        elif s < th[1]:
            out.append("clean")
        else:
            out.append("unsure")
    return out


def tier_figures(name: str, score: np.ndarray, verdict: list[str], pages: list[real.Page]) -> dict:
    y = np.array([p.label for p in pages])
    is_page = np.array([p.role == "page" for p in pages])
    long_ = np.array([not p.short for p in pages])
    s = np.nan_to_num(score, nan=-1e9)  # not applicable pages rank lowest
    spun_v = np.array([v == "spun" for v in verdict])
    unsure_v = np.array([v == "unsure" for v in verdict])
    na_v = np.array([v == "not_applicable" for v in verdict])
    pos_l, pos_a, neg = (y == 1) & long_, y == 1, (y == 0) & is_page
    fig = {
        "tier": name,
        "auc_long": pf.auc(s[pos_l], s[neg]), "auc_all": pf.auc(s[pos_a], s[neg]),
        "recall_long_at_1fpr": pf.recall_at_fpr(s[pos_l], s[neg], 0.01),
        "recall_long_at_5fpr": pf.recall_at_fpr(s[pos_l], s[neg], 0.05),
        "verdict_recall_long": float(spun_v[pos_l].mean()), "verdict_recall_short": float(spun_v[pos_a & ~long_].mean()),
        "verdict_recall_all": float(spun_v[pos_a].mean()),
        "clean_called_spun": float(spun_v[neg].mean()), "clean_called_unsure": float(unsure_v[neg].mean()),
        "spun_not_applicable": float(na_v[pos_a].mean()), "clean_not_applicable": float(na_v[neg].mean()),
        "n": {"spun_long": int(pos_l.sum()), "spun_short": int((pos_a & ~long_).sum()), "clean": int(neg.sum())},
    }
    t1 = pf.threshold_at_fpr(s[neg], 0.01)
    fams: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pages):
        if p.label == 1:
            fams[p.family].append(i)
    fig["families"] = {
        f: {"n": len(ix), "n_long": int(sum(long_[i] for i in ix)),
            "verdict_recall": float(np.mean([spun_v[i] for i in ix])),
            "verdict_recall_long": float(np.mean([spun_v[i] for i in ix if long_[i]])) if any(long_[i] for i in ix) else float("nan"),
            "recall_at_1fpr": float(np.mean([s[i] >= t1 for i in ix]))}
        for f, ix in sorted(fams.items(), key=lambda kv: -len(kv[1]))
    }
    genres: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pages):
        if p.label == 0 and p.role == "page":
            genres[real.genre_group(p.genre)].append(i)
    fig["genres"] = {g: {"n": len(ix), "spun": int(sum(spun_v[i] for i in ix)), "unsure": int(sum(unsure_v[i] for i in ix))}
                     for g, ix in sorted(genres.items(), key=lambda kv: -len(kv[1]))}
    fig["clean_called_spun_ids"] = [pages[i].id for i in np.where(neg & spun_v)[0]]
    return fig


def lofo(pooled, prefixes, pages, y, fold) -> dict:
    """Leave one family out: the head never sees the family; its pages and the clean pages
    are scored out of fold."""
    out = {}
    for fam in sorted({p.family for p in pages if p.label == 1}):
        infam = np.array([p.label == 1 and p.family == fam for p in pages])
        p, z, th = model_oof(pooled, prefixes, y, fold, train_mask=~infam)
        out[fam] = lofo_figures(p, z, th[0], pages, y, infam)
    return out


def lofo_figures(p, z, spun_t, pages, y, infam) -> dict:
    long_ = np.array([not q.short for q in pages])
    neg = (y == 0) & np.array([q.role == "page" for q in pages])
    z = np.nan_to_num(z, nan=-1e9)
    t1, t5 = pf.threshold_at_fpr(z[neg], 0.01), pf.threshold_at_fpr(z[neg], 0.05)
    return {"n": int(infam.sum()), "n_long": int((infam & long_).sum()),
            "auc": pf.auc(z[infam], z[neg]),
            "recall_at_1fpr": float(np.mean(z[infam] >= t1)), "recall_at_5fpr": float(np.mean(z[infam] >= t5)),
            "verdict_recall": float(np.mean(np.nan_to_num(p[infam]) >= spun_t)),
            "verdict_recall_long": float(np.mean(np.nan_to_num(p[infam & long_]) >= spun_t)) if (infam & long_).any() else float("nan")}


def lofo_fast(pages, y) -> dict:
    """Leave one family out for the fast tier (its scorer refitted without the family)."""
    out = {}
    for fam in sorted({p.family for p in pages if p.label == 1}):
        infam = np.array([p.label == 1 and p.family == fam for p in pages])
        p, v, _na = fast_oof(pages, fam_out=fam)
        out[fam] = lofo_figures(p, p, 0.0, pages, y, infam)
        spun = np.array([x == "spun" for x in v])
        long_ = np.array([not q.short for q in pages])
        out[fam]["verdict_recall"] = float(spun[infam].mean())
        out[fam]["verdict_recall_long"] = float(spun[infam & long_].mean()) if (infam & long_).any() else float("nan")
    return out


#: The cut points the cascade table tries on the fast score (spun at or above, clean below).
CASCADE_HI = (1.01, 0.99, 0.97, 0.95, 0.93, 0.9, 0.85)
CASCADE_LO = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def cascade_table(fast: np.ndarray, model_p: np.ndarray, th, pages, y) -> list[dict]:
    """What skipping the model costs: for skip rules on the fast score, recall and clean FPR
    of the resulting verdicts, and the share of pages the model no longer reads."""
    is_page = np.array([p.role == "page" for p in pages])
    neg = (y == 0) & is_page
    pos = y == 1
    fs = np.nan_to_num(fast, nan=0.0)
    base_spun = model_p >= th[0]
    rows = []
    for hi in CASCADE_HI:
        for lo in CASCADE_LO:
            spun = np.where(fs >= hi, True, np.where(fs < lo, False, base_spun))
            rows.append({"skip_above": hi, "skip_below": lo,
                         "recall": float(spun[pos].mean()), "recall_loss": float(base_spun[pos].mean() - spun[pos].mean()),
                         "clean_called_spun": float(spun[neg].mean()),
                         "model_skipped": float(((fs >= hi) | (fs < lo))[neg | pos].mean())})
    return rows


def pct(x) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"


def render(res: dict) -> str:
    lines = ["| tier | AUC long | AUC all | recall long @1% FPR | @5% FPR | verdict recall long | short | clean called spun | clean unsure |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t in res["tiers"]:
        lines.append(f"| {t['tier']} | {t['auc_long']:.3f} | {t['auc_all']:.3f} | {pct(t['recall_long_at_1fpr'])} | "
                     f"{pct(t['recall_long_at_5fpr'])} | {pct(t['verdict_recall_long'])} | {pct(t['verdict_recall_short'])} | "
                     f"{pct(t['clean_called_spun'])} ({len(t['clean_called_spun_ids'])}) | {pct(t['clean_called_unsure'])} |")
    lofos = [(k, name) for k, name in (("lofo_fast", "fast"), ("lofo", "model")) if res.get(k)]
    lines += ["", "Per family: spun verdict recall (all pages / long pages) and recall at the 1%-FPR threshold, by tier"
              + (", and leave-one-family-out (LOFO) for the " + " and ".join(n for _, n in lofos) + " tier" if lofos else ""), ""]
    head = "| family | pages (long) | " + " | ".join(f"{t['tier']} verdict | {t['tier']} @1%" for t in res["tiers"])
    for _k, name in lofos:
        head += f" | {name} LOFO AUC | {name} LOFO @1% | {name} LOFO @5% | {name} LOFO verdict"
    lines.append(head + " |")
    lines.append("|" + "---|" * (head.count("|")))
    for fam, f0 in res["tiers"][0]["families"].items():
        row = f"| {fam} | {f0['n']} ({f0['n_long']}) | "
        row += " | ".join(f"{pct(t['families'][fam]['verdict_recall'])} / {pct(t['families'][fam]['verdict_recall_long'])} | "
                          f"{pct(t['families'][fam]['recall_at_1fpr'])}" for t in res["tiers"])
        for k, _name in lofos:
            lo = res[k][fam]
            row += f" | {lo['auc']:.2f} | {pct(lo['recall_at_1fpr'])} | {pct(lo['recall_at_5fpr'])} | {pct(lo['verdict_recall'])}"
        lines.append(row + " |")
    lines += ["", "Per clean genre group: pages called spun / unsure", "",
              "| genre | pages | " + " | ".join(t["tier"] for t in res["tiers"]) + " |",
              "|---|---|" + "---|" * len(res["tiers"])]
    for g, g0 in res["tiers"][0]["genres"].items():
        lines.append(f"| {g} | {g0['n']} | " + " | ".join(f"{t['genres'][g]['spun']} / {t['genres'][g]['unsure']}" for t in res["tiers"]) + " |")
    if res.get("cascade"):
        lines += ["", "Cascade: skip the model when the fast score is >= skip_above (verdict spun) or < skip_below (clean)", "",
                  "| skip above | skip below | spun recall | loss vs model | clean called spun | pages the model skips |",
                  "|---|---|---|---|---|---|"]
        for r in res["cascade"]:
            lines.append(f"| {r['skip_above']} | {r['skip_below']} | {pct(r['recall'])} | {100 * r['recall_loss']:.1f} pts | "
                         f"{pct(r['clean_called_spun'])} | {pct(r['model_skipped'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.run_real", description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, default=OUT / "real.json")
    ap.add_argument("--no-lofo", action="store_true")
    ap.add_argument("--fast-only", action="store_true", help="only the fast tier (no language model needed)")
    ap.add_argument("--compare-model", type=Path, metavar="FILE",
                    help="also score the pages with this fast-tier weights file (tier 'fast-before')")
    args = ap.parse_args(argv)
    pages = real.load(include_sources=True)
    y = np.array([p.label for p in pages])
    fold = np.array(real.folds(pages))
    fs, fv, na = fast_oof(pages)
    tiers = []
    if args.compare_model:
        tiers.append(tier_figures("fast-before", *file_scores(pages, args.compare_model), pages))
    tiers.append(tier_figures("fast", fs, fv, pages))
    res: dict = {"corpus_sha256_12": real.corpus_hash(pages), "tiers": tiers}
    if not args.no_lofo:
        res["lofo_fast"] = lofo_fast(pages, y)
    if not args.fast_only:
        from unspin.config import DEFAULT

        _, data = cached("fp32", pages=pages, layers=8, log=lambda m: print(m, file=sys.stderr))
        prefixes = data["prefixes"].tolist()
        p, z, th = model_oof(data["pooled"], prefixes, y, fold)
        tiers.append(tier_figures("model", np.where(na, np.nan, p), verdicts_for(p, th, na), pages))
        hi, lo = DEFAULT.fast_decides_above, DEFAULT.cascade_skip_below
        f0 = np.nan_to_num(fs)
        auto_p = np.where(f0 >= hi, np.maximum(p, f0), np.where(f0 < lo, f0, p))
        auto_v = [("spun" if f >= hi else "clean" if f < lo else v) if not n else v
                  for f, n, v in zip(f0, na, verdicts_for(p, th, na))]
        tiers.append(tier_figures("auto", np.where(na, np.nan, auto_p), auto_v, pages))
        res["model_thresholds"] = {"spun": th[0], "clean": th[1]}
        res["cascade"] = cascade_table(fs, p, th, pages, y)
        if not args.no_lofo:
            res["lofo"] = lofo(data["pooled"], prefixes, pages, y, fold)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1))
    print(render(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
