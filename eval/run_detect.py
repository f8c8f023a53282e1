"""Detection accuracy on held-out documents: ``python -m eval.run_detect``.

For every clean window of the chosen split (by document, never seen in training) the run
adds one spun copy per spinner family (different seeds), plus the hand-written hard
negatives in ``eval/hard_negatives/``; runs ``unspin.check`` on each; and reports, overall,
per spinner family and per source/genre:

* ROC-AUC of the score (spun copies vs clean windows; ``not_applicable`` counts as the
  lowest score),
* recall at 1% FPR (threshold set on the clean windows),
* FPR of the ``spun`` verdict (share of clean texts called spun), recall of the ``spun``
  verdict, share ``unsure``, share ``not_applicable``,
* span recall: share of the spinner's changes that some reported span overlaps,
* the rules that fire most on clean texts (where false positives come from).

It prints a markdown report, writes JSON (``--out``) and replaces the "## Detection"
section of EVAL.md (``--no-eval-md`` to skip). The demo page's verdict is shown too; it is
a demo, not a metric, and nothing is tuned on it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

import unspin

from .corpora import SPLITS, corpus_hash, data_dir, load_docs, windows
from .spinner import families, load_resources, spin

REPO = Path(__file__).resolve().parent.parent
HARD_NEGATIVES = Path(__file__).resolve().parent / "hard_negatives"
EVAL_MD = REPO / "EVAL.md"
SECTION = "## Detection"


@dataclass
class Item:
    id: str
    text: str
    label: int  # 1 spun, 0 clean
    family: str  # spinner family, "clean", or "hard_negative"
    source: str
    genre: str
    changes: list = field(default_factory=list)
    # filled in by the run
    score: float | None = None
    verdict: str = ""
    rules: list[str] = field(default_factory=list)
    span_recall: float | None = None
    error: str | None = None


def demo_path() -> Path:
    return data_dir().parent / "samples" / "bride-network-news.txt"


def build_items(split: str, limit: int | None, seed: int, include_nc: bool,
                min_words: int, max_words: int, family_names: list[str]) -> list[Item]:
    docs = load_docs(include_nc=include_nc, split=split)
    wins = windows(docs, min_words=min_words, max_words=max_words)
    if limit:
        # A stable, source-balanced subset: every k-th window, not the first N of one source.
        step = max(1, len(wins) // limit)
        wins = wins[::step][:limit]
    res = load_resources()
    items: list[Item] = []
    for k, w in enumerate(wins):
        items.append(Item(w.id, w.text, 0, "clean", w.source, w.genre))
        for j, fam in enumerate(family_names):
            s = spin(w.text, fam, seed=seed * 1_000_003 + k * 101 + j, resources=res)
            items.append(Item(f"{w.id}~{fam}", s.text, 1, fam, w.source, w.genre, s.changes))
    for p in sorted(HARD_NEGATIVES.glob("*.txt")):
        items.append(Item(f"hard:{p.stem}", p.read_text(encoding="utf-8"), 0, "hard_negative",
                          "hard_negative", p.stem))
    return items


def _overlaps(a_start: int, a_end: int, spans) -> bool:
    return any(s.start < a_end and a_start < s.end for s in spans)


def run_checks(items: list[Item]) -> None:
    for it in items:
        try:
            rep = unspin.check(it.text)
        except Exception as exc:  # one bad document must not sink the run; it is counted
            it.error = f"{type(exc).__name__}: {exc}"
            it.verdict = "error"
            continue
        it.score, it.verdict = rep.score, rep.verdict
        it.rules = [s.rule for s in rep.spans]
        if it.label == 1 and it.changes:
            hit = sum(_overlaps(c.start, c.end, rep.spans) for c in it.changes)
            it.span_recall = hit / len(it.changes)


def _scores(items: list[Item]) -> np.ndarray:
    # not_applicable / errors get the lowest score: the detector did not flag them.
    return np.array([-1.0 if it.score is None else it.score for it in items], dtype=float)


def metrics(pos: list[Item], neg: list[Item]) -> dict:
    """Figures for one slice: ``pos`` spun texts against ``neg`` clean texts."""
    out: dict = {"n_spun": len(pos), "n_clean": len(neg)}
    if pos and neg:
        y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
        s = np.r_[_scores(pos), _scores(neg)]
        out["roc_auc"] = float(roc_auc_score(y, s))
        neg_sorted = np.sort(_scores(neg))[::-1]
        k = int(np.floor(0.01 * len(neg)))  # negatives allowed above the threshold
        thr = neg_sorted[k]
        out["recall_at_1pct_fpr"] = float(np.mean(_scores(pos) > thr))
        out["threshold_1pct_fpr"] = float(thr)
    if neg:
        out["fpr_spun_verdict"] = float(np.mean([it.verdict == "spun" for it in neg]))
        out["clean_unsure"] = float(np.mean([it.verdict == "unsure" for it in neg]))
        out["clean_not_applicable"] = float(np.mean([it.verdict == "not_applicable" for it in neg]))
    if pos:
        out["recall_spun_verdict"] = float(np.mean([it.verdict == "spun" for it in pos]))
        out["spun_unsure"] = float(np.mean([it.verdict == "unsure" for it in pos]))
        out["spun_not_applicable"] = float(np.mean([it.verdict == "not_applicable" for it in pos]))
        sr = [it.span_recall for it in pos if it.span_recall is not None]
        if sr:
            out["span_recall"] = float(np.mean(sr))
    errs = sum(it.error is not None for it in pos + neg)
    if errs:
        out["errors"] = errs
    return out


def _rule_family(rule: str) -> str:
    """Group rule names for the false-positive table: drop per-entry detail after ':'."""
    return rule.split(":", 1)[0] if rule else "?"


def top_rules(items: list[Item], n: int = 15) -> list[dict]:
    docs_with = Counter()
    fires = Counter()
    in_spun_verdict = Counter()
    examples: dict[str, Counter] = defaultdict(Counter)
    for it in items:
        seen = set()
        for r in it.rules:
            g = _rule_family(r)
            fires[g] += 1
            examples[g][r] += 1
            seen.add(g)
        for g in seen:
            docs_with[g] += 1
            if it.verdict == "spun":
                in_spun_verdict[g] += 1
    out = []
    for g, d in docs_with.most_common(n):
        out.append({"rule": g, "docs": d, "share_docs": d / max(1, len(items)), "fires": fires[g],
                    "docs_called_spun": in_spun_verdict[g],
                    "top_entries": [e for e, _ in examples[g].most_common(3)]})
    return out


def evaluate(items: list[Item], family_names: list[str]) -> dict:
    clean = [it for it in items if it.family == "clean"]
    hard = [it for it in items if it.family == "hard_negative"]
    spun = [it for it in items if it.label == 1]
    res: dict = {"overall": metrics(spun, clean)}
    res["overall_with_hard_negatives"] = metrics(spun, clean + hard)
    res["per_family"] = {f: metrics([it for it in spun if it.family == f], clean) for f in family_names}
    by_genre: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for it in clean + spun:
        by_genre[(it.source, it.genre)].append(it)
    res["per_source_genre"] = {
        f"{s}/{g}": metrics([it for it in v if it.label == 1], [it for it in v if it.label == 0])
        for (s, g), v in sorted(by_genre.items())
    }
    res["hard_negatives"] = {
        "summary": metrics([], hard),
        "docs": [{"id": it.id, "verdict": it.verdict, "score": it.score,
                  "rules": sorted(Counter(_rule_family(r) for r in it.rules).items())} for it in hard],
    }
    res["top_rules_on_clean"] = top_rules(clean + hard)
    return res


def _demo() -> dict | None:
    p = demo_path()
    if not p.is_file():
        return None
    rep = unspin.check(p.read_text(encoding="utf-8", errors="replace"))
    return {"path": str(p), "verdict": rep.verdict,
            "score": None if rep.score is None else round(rep.score, 3), "spans": len(rep.spans)}


def _f(x, pct: bool = True) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


def _row(name: str, m: dict) -> str:
    return (f"| {name} | {m.get('n_spun', 0)} / {m.get('n_clean', 0)} | {_f(m.get('roc_auc'), False)} | "
            f"{_f(m.get('recall_at_1pct_fpr'))} | {_f(m.get('fpr_spun_verdict'))} | "
            f"{_f(m.get('recall_spun_verdict'))} | {_f(m.get('spun_unsure'))} | {_f(m.get('clean_unsure'))} | "
            f"{_f(m.get('span_recall'))} |")


HEADER = ("| slice | spun / clean | ROC-AUC | recall @1% FPR | FPR (verdict spun) | recall (verdict spun) "
          "| spun→unsure | clean→unsure | span recall |\n|---|---|---|---|---|---|---|---|---|")


def render(res: dict, meta: dict) -> str:
    lines = [SECTION, ""]
    lines.append(f"Command: `{meta['command']}`  ")
    lines.append(f"Date: {meta['date']}; machine: {meta['nproc']} CPUs, Python {meta['python']} "
                 f"({meta['platform']}); unspin {meta['unspin_version']}, detector commit {meta['git_commit']}  ")
    lines.append(f"Corpus: split `{meta['split']}`, {meta['n_windows']} clean windows "
                 f"({meta['min_words']}-{meta['max_words']} words; sources {', '.join(meta['sources'])}"
                 f"{', GUM NC/unclear genres read at run time' if meta['include_nc'] else ''}), "
                 f"{meta['n_items']} texts in all, corpus hash `{meta['corpus_hash']}`, spinner seed {meta['seed']}  ")
    lines.append(f"Run time: {meta['seconds']:.0f} s (informational only)")
    lines.append("")
    lines.append("Spun copies are made by `eval/spinner.py` (one per family per window); negatives are the "
                 "clean windows. `not_applicable` counts as the lowest score. Recall @1% FPR uses the "
                 "threshold that lets at most 1% of clean windows through.")
    lines.append("")
    lines.append("### Overall and per spinner family")
    lines.append("")
    lines.append(HEADER)
    lines.append(_row("**all families**", res["overall"]))
    lines.append(_row("all + hard negatives", res["overall_with_hard_negatives"]))
    for f, m in res["per_family"].items():
        lines.append(_row(f, m))
    lines.append("")
    lines.append("### Per source / genre (all families pooled)")
    lines.append("")
    lines.append(HEADER)
    for g, m in res["per_source_genre"].items():
        lines.append(_row(g, m))
    lines.append("")
    hn = res["hard_negatives"]
    lines.append(f"### Hard negatives (`eval/hard_negatives/`, {hn['summary']['n_clean']} texts)")
    lines.append("")
    lines.append(f"Called spun: {_f(hn['summary'].get('fpr_spun_verdict'))}; unsure: "
                 f"{_f(hn['summary'].get('clean_unsure'))}.")
    lines.append("")
    lines.append("| text | verdict | score | rules that fired |\n|---|---|---|---|")
    for d in hn["docs"]:
        rules = ", ".join(f"{r}×{n}" for r, n in d["rules"]) or "–"
        lines.append(f"| {d['id'].split(':', 1)[1]} | {d['verdict']} | {_f(d['score'], False)} | {rules} |")
    lines.append("")
    lines.append("### Rules firing on clean texts (windows + hard negatives)")
    lines.append("")
    lines.append("| rule | clean texts with it | fires | of those called spun | commonest entries |\n|---|---|---|---|---|")
    for r in res["top_rules_on_clean"]:
        ex = "; ".join(f"`{e}`" for e in r["top_entries"])
        lines.append(f"| {r['rule']} | {r['docs']} ({_f(r['share_docs'])}) | {r['fires']} | "
                     f"{r['docs_called_spun']} | {ex} |")
    lines.append("")
    demo = res.get("demo")
    if demo:
        lines.append(f"Demo page (`samples/bride-network-news.txt`, not a metric): verdict **{demo['verdict']}**, "
                     f"score {demo['score']}, {demo['spans']} spans.")
    else:
        lines.append("Demo page not found; skipped.")
    lines.append("")
    return "\n".join(lines)


def update_eval_md(section: str, path: Path = EVAL_MD) -> None:
    """Replace the "## Detection" section (up to the next "## " heading) or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Evaluation\n"
    pat = re.compile(r"^## Detection\b.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(old):
        new = pat.sub(lambda _m: section.rstrip("\n") + "\n\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def _git_commit() -> str:
    head = REPO / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (REPO / ".git" / ref[5:]).read_text().strip()[:10]
        return ref[:10]
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.run_detect", description=__doc__.split("\n")[0])
    ap.add_argument("--split", default="test", choices=SPLITS, help="document split to evaluate (default: test)")
    ap.add_argument("--limit", type=int, default=None, help="at most N clean windows (evenly spaced)")
    ap.add_argument("--out", default=str(REPO / "eval" / "out" / "detect.json"), help="JSON output path")
    ap.add_argument("--seed", type=int, default=0, help="spinner seed (default 0)")
    ap.add_argument("--families", default=",".join(families()), help="comma-separated spinner families")
    ap.add_argument("--min-words", type=int, default=80)
    ap.add_argument("--max-words", type=int, default=700)
    ap.add_argument("--no-nc", action="store_true",
                    help="leave out GUM's non-commercial/unclear genres (read at run time only by default)")
    ap.add_argument("--no-eval-md", action="store_true", help="do not rewrite the Detection section of EVAL.md")
    args = ap.parse_args(argv)

    fams = [f for f in args.families.split(",") if f]
    unknown = set(fams) - set(families())
    if unknown:
        ap.error(f"unknown families {sorted(unknown)}; choose from {families()}")
    t0 = time.time()
    items = build_items(args.split, args.limit, args.seed, not args.no_nc, args.min_words, args.max_words, fams)
    run_checks(items)
    res = evaluate(items, fams)
    res["demo"] = _demo()
    meta = {
        "command": "python -m eval.run_detect" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip(),
        "date": _dt.date.today().isoformat(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "unspin_version": unspin.__version__,
        "git_commit": _git_commit(),
        "split": args.split,
        "seed": args.seed,
        "families": fams,
        "sources": ["ewt", "gum", "pud"],
        "include_nc": not args.no_nc,
        "min_words": args.min_words,
        "max_words": args.max_words,
        "n_windows": sum(it.family == "clean" for it in items),
        "n_items": len(items),
        "corpus_hash": corpus_hash(it.text for it in items),
        "seconds": time.time() - t0,
    }
    res["meta"] = meta
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    section = render(res, meta)
    print(section)
    if not args.no_eval_md:
        update_eval_md(section)
    errs = sum(it.error is not None for it in items)
    if errs:
        first = next(it for it in items if it.error)
        print(f"warning: {errs} texts raised errors, first: {first.id}: {first.error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
