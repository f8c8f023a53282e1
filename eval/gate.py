"""The accuracy gate CI runs: figures on the real development pages must not drop below
the floors pinned in ``eval/baseline.json``.

    python -m eval.gate                      # check (exit 1 when a figure is worse than its floor)
    python -m eval.gate --raise-floors       # after an improvement: floors move up to today's figures
    python -m eval.gate --allow-regression   # accept a drop and lower the floor (say why in the commit)

Figures (fast tier on every page; the model tier on a fixed sample so CI stays short):

- ``fast_auc_long``: ROC-AUC of long spun pages against clean pages (a floor);
- ``fast_clean_called_spun``: share of clean pages the fast tier calls spun (a ceiling);
- ``fast_injected_found``: share of the labelled injected anchors of the spun pages that an
  ``injected_anchor`` / ``foreign_fragment`` span of the fast tier overlaps (a floor), and
  ``fast_injected_clean_pages``: share of clean pages with such a span (a ceiling), as
  ``python -m eval.run_anchors`` counts them;
- ``cluster_fast_trace_recall`` and ``cluster_fast_link_precision`` (floors),
  ``cluster_fast_clean_linked`` (a ceiling, a share of the clean pages): ``python -m
  eval.run_cluster dev`` with sources chosen by the fast tier alone (no model needed);
- ``model_sample_auc`` and ``model_sample_recall``: the shipped model tier (``tier="model"``)
  on a fixed sample of 30 long spun and 30 clean pages (floors), and
  ``model_sample_clean_called_spun`` (a ceiling). The shipped head was fitted on these
  pages, so these guard the pipeline (the encoder, the weights file, the cascade) against
  breakage; the honest out-of-fold figures are ``python -m eval.run_real``'s. On a CPU
  without AMX the encoder runs fp32 and these figures carry the suffix ``_fp32``, with floors
  of their own (0.9822 against 0.9833 for the AUC on the same pages).

Floors only rise: ``--raise-floors`` never lowers one, and lowering needs ``--allow-regression``.
The baseline pins the corpus hash; on other pages the gate refuses to compare. Where the
development pages are absent (a fresh clone without ``../shared``) the gate says so and passes;
the model figures are skipped, with a message, where the model is not installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from . import probe_fit as pf
from . import real, run_anchors

BASELINE = Path(__file__).resolve().parent / "baseline.json"
#: ceilings: smaller is better
CEILINGS = {"fast_clean_called_spun", "fast_injected_clean_pages", "model_sample_clean_called_spun",
            "cluster_fast_clean_linked"}
#: suffix of the model-tier figures measured on the fp32 path (a CPU without AMX)
FP32 = "_fp32"
#: slack for run-to-run float noise (the figures are deterministic on one machine)
EPS = 1e-6


def sample(pages: list[real.Page], n: int = 30) -> list[real.Page]:
    def key(p: real.Page) -> str:
        return hashlib.sha256(p.id.encode()).hexdigest()

    spun = sorted((p for p in pages if p.label == 1 and not p.short), key=key)[:n]
    clean = sorted((p for p in pages if p.label == 0 and p.role == "page"), key=key)[:n]
    return spun + clean


def figures(pages: list[real.Page], with_model: bool) -> dict[str, float]:
    import unspin

    y = np.array([p.label for p in pages])
    is_page = np.array([p.role == "page" for p in pages])
    long_ = np.array([not p.short for p in pages])
    fast = [unspin.check(p.text, unspin.Config(tier="fast")) for p in pages]
    s = np.array([r.score if r.score is not None else -1.0 for r in fast])
    spun = np.array([r.verdict == "spun" for r in fast])
    neg = (y == 0) & is_page
    out = {"fast_auc_long": pf.auc(s[(y == 1) & long_], s[neg]), "fast_clean_called_spun": float(spun[neg].mean())}
    inj = run_anchors.tally(pages, [[x for x in r.spans if x.kind in run_anchors.KINDS] for r in fast])
    if inj["labelled_all"]:
        out["fast_injected_found"] = inj["found_all"] / inj["labelled_all"]
    out["fast_injected_clean_pages"] = inj["clean_pages_with_spans"] / max(inj["clean_pages"], 1)
    out.update(cluster_figures())
    if with_model:
        sm = sample(pages)
        reps = unspin.detect.check_many([p.text for p in sm], unspin.Config(tier="model", keyword_anchors=False))
        ys = np.array([p.label for p in sm])
        ss = np.array([r.score if r.score is not None else -1.0 for r in reps])
        vs = np.array([r.verdict == "spun" for r in reps])
        # The encoder runs bf16 on CPUs with AMX and fp32 elsewhere (unspin.probe), and the
        # scores differ in the third decimal: each compute path has its own floors.
        from unspin import probe

        sfx = "" if probe.amx() else FP32
        out["model_sample_auc" + sfx] = pf.auc(ss[ys == 1], ss[ys == 0])
        out["model_sample_recall" + sfx] = float(vs[ys == 1].mean())
        out["model_sample_clean_called_spun" + sfx] = float(vs[ys == 0].mean())
    return {k: round(v, 4) for k, v in out.items()}


def cluster_figures() -> dict[str, float]:
    """Clustering and tracing on all development pages, sources by the fast tier."""
    import argparse

    import unspin

    from . import run_cluster

    ns = argparse.Namespace(**{k: None for k in ("shingle", "window", "num_perm", "bands", "threshold", "min_run", "set")})
    d = run_cluster.run_dev(ns, config=unspin.Config(tier="fast"))
    return {"cluster_fast_trace_recall": d["trace_recall"], "cluster_fast_link_precision": d["link_precision"],
            "cluster_fast_clean_linked": d["clean_linked"] / max(d["clean_pages"], 1)}


def ceiling(name: str) -> bool:
    return name.removesuffix(FP32) in CEILINGS


def worse(name: str, value: float, floor: float) -> bool:
    return value > floor + EPS if ceiling(name) else value < floor - EPS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.gate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--raise-floors", action="store_true", help="move floors up (ceilings down) to today's figures")
    ap.add_argument("--allow-regression", action="store_true", help="accept worse figures and write them as the new floors")
    ap.add_argument("--baseline", type=Path, default=BASELINE)
    args = ap.parse_args(argv)
    if not real.available():
        print(f"eval.gate: skipped: the development pages are not here ({real.real_dir()})")
        return 0
    from unspin import probe

    with_model = probe.available()
    pages = real.load(include_sources=True)
    corpus = real.corpus_hash(pages)
    base = json.loads(args.baseline.read_text()) if args.baseline.is_file() else {"corpus_sha256_12": corpus, "floors": {}}
    if base.get("corpus_sha256_12") != corpus and not args.allow_regression:
        print(f"eval.gate: the baseline was pinned on corpus {base.get('corpus_sha256_12')}, these pages are {corpus}; "
              "rerun with --allow-regression to re-pin it (and say so in the commit)")
        return 1
    got = figures(pages, with_model)
    if not with_model:
        print(f"eval.gate: model-tier figures skipped: {probe.unavailable_reason()}")
    floors = dict(base.get("floors", {}))
    failed = []
    for k, v in got.items():
        f = floors.get(k)
        mark = ""
        if f is not None and worse(k, v, f):
            failed.append(k)
            mark = "  <-- worse than the " + ("ceiling" if ceiling(k) else "floor")
        print(f"{k:34s} {v:.4f}   {'ceiling' if ceiling(k) else 'floor'} {'-' if f is None else f'{f:.4f}'}{mark}")
    if args.allow_regression or args.raise_floors:
        for k, v in got.items():
            f = floors.get(k)
            better = f is None or (v < f if ceiling(k) else v > f)
            if args.allow_regression or better:
                floors[k] = v
        base = {"corpus_sha256_12": corpus, "floors": floors,
                "note": "floors only rise (ceilings only fall); lowering one needs --allow-regression, said in the commit"}
        args.baseline.write_text(json.dumps(base, indent=1) + "\n")
        print(f"eval.gate: wrote {args.baseline}")
        return 0
    if failed:
        print(f"eval.gate: FAILED: {', '.join(failed)} (fix it, or --allow-regression and say why in the commit)")
        return 1
    print("eval.gate: ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
