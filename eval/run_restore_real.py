"""Restoration judged on real spun/original pairs (the development set's source-matched pages).

    nice python -m eval.run_restore_real [--pages N | --ids dev-spun-004,...] [--clean N]
                                         [--set KEY=VALUE ...] [--oof] [--out eval/out/restore_real.json]

For each of the 49 (spun, source) pairs in ``../shared/data/real_dev/sources.jsonl`` the spun
page is restored with the installed restorer and judged against the source on the aligned
region only (see :mod:`eval.real_pairs`): per page and per family, the share of substitution
sites put back exactly, the precision of the restorer's changes, and the damage (words already
equal to the source that a change touched). Then the clean pass-through: every page of
``real_dev/clean.jsonl`` (hard negatives: honest pages that read oddly) is restored and the
pages and words changed are counted, each change listed.

``--oof`` judges each page with the acceptance weights fitted without its fold (variant group
or source), from ``eval/out/accept_folds.json`` written by ``python -m eval.fit_accept``: the
honest figure for a learned acceptance fitted on these pages. Without it, the shipped weights
are used (in-sample for pages they were fitted on).

``--pages``/``--ids`` and ``--clean`` take subsets while iterating; recorded figures use the
full set (the defaults).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.real_pairs import ReportCache, load_clean, load_pairs, score_pair, total  # noqa: E402
from unspin.report import apply_spans  # noqa: E402
from unspin.tokenize import words  # noqa: E402


def _fmt(t: dict) -> str:
    return (f"sites {t['sites']:4d}  exact {t['exact']:4d} ({100 * t['exact_share']:5.1f}%)  "
            f"changes {t['changes']:4d}  judged {t['judged']:4d}  precision "
            f"{100 * t['precision'] if t['judged'] else float('nan'):5.1f}%  damage {t['damaged']}/{t['equal_words']} "
            f"({100 * t['damage']:.2f}%)")


def _reliability(changes: list[tuple[float, bool, str]]) -> list[dict]:
    """Judged word-swap changes binned by confidence: how often each bin is right."""
    out = []
    swaps = [(c, ok) for c, ok, kind in changes if kind == "substitution"]
    for lo, hi in ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01)):
        b = [(c, ok) for c, ok in swaps if lo <= c < hi]
        out.append({"bin": f"{lo:.1f}-{min(hi, 1.0):.1f}", "n": len(b),
                    "mean_confidence": round(sum(c for c, _ in b) / len(b), 3) if b else None,
                    "right_share": round(sum(ok for _, ok in b) / len(b), 3) if b else None})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sel = ap.add_argument_group("selection")
    sel.add_argument("--pages", type=int, default=0, help="only the first N pairs (0: all 49)")
    sel.add_argument("--ids", default=None, help="comma-separated spun ids to run")
    sel.add_argument("--clean", type=int, default=-1, help="clean pages for the pass-through check (-1: all, 0: none)")
    sel.add_argument("--clean-first-unclean", action="store_true",
                     help="run the clean pages the fast tier does not call clean first (where word swaps are allowed)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a Config field for this run (repeatable)")
    ap.add_argument("--oof", action="store_true",
                    help="judge each page with acceptance weights fitted without its fold (eval/out/accept_folds.json)")
    ap.add_argument("--reports", default=None, metavar="PICKLE",
                    help="cache of detector reports (eval.real_pairs.ReportCache), shared with eval.fit_accept --collect")
    ap.add_argument("--out", default="eval/out/restore_real.json")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every change and its verdict")
    args = ap.parse_args(argv)

    from eval.run_restore import _setting
    from unspin.config import DEFAULT as BASE
    from unspin.lm import load
    from unspin.restore import restore_with_stats

    config = BASE.replace(**dict(_setting(kv) for kv in args.set))
    t0 = time.time()
    lm = load()
    pairs = load_pairs()
    if args.ids:
        want = set(args.ids.split(","))
        pairs = [p for p in pairs if p.spun_id in want]
    elif args.pages:
        pairs = pairs[: args.pages]
    folds = None
    if args.oof:
        from unspin.restore.accept import Acceptance

        data = json.loads(Path("eval/out/accept_folds.json").read_text())
        folds = {key: Acceptance.from_dict(d) for key, d in data["folds"].items()}

    reports = ReportCache(args.reports)

    def run(text: str, fold_key: str | None = None):
        acc = None
        if folds is not None and fold_key is not None:
            acc = folds.get(fold_key) or folds["_all"]
        report = reports.get(text, config)
        r, _st = restore_with_stats(text, config, report, lm=lm, acceptance=acc) if acc is not None \
            else restore_with_stats(text, config, report, lm=lm)
        assert apply_spans(text, r.changes) == r.text
        return r

    rows, fams = [], defaultdict(list)
    page_rows = []
    judged_changes: list[tuple[float, bool, str]] = []
    restored: dict[str, tuple] = {}
    for p in pairs:
        if p.spun_id not in restored:
            restored[p.spun_id] = run(p.text, p.fold_key), p.fold_key
        r = restored[p.spun_id][0]
        sc = score_pair(p, r.text, r.changes)
        rows.append(sc)
        fams[p.family].append(sc)
        page = {"spun": p.spun_id, "source": p.source_id, "family": p.family, "group": p.group,
                **{k: v for k, v in sc.items() if k != "verdicts"}}
        page["change_list"] = [f"{c.text!r} -> {c.original!r} [{v}] ({c.rule}; conf {c.confidence:.2f})"
                               for c, v in zip(r.changes, sc["verdicts"])]
        judged_changes += [(c.confidence, v == "right", c.kind) for c, v in zip(r.changes, sc["verdicts"]) if v != "unjudged"]
        page_rows.append(page)
        print(f"{p.spun_id} {p.source_id} {p.family:26} {_fmt(total([sc]))}", flush=True)
        if args.verbose:
            for line in page["change_list"]:
                print("     ", line)
    results: dict = {"pages": page_rows, "families": {f: total(v) for f, v in sorted(fams.items())},
                     "all": total(rows)}
    print()
    for f, t in results["families"].items():
        print(f"{f:26} pages {t['pages']:2d}  {_fmt(t)}")
    print(f"{'ALL':26} pages {results['all']['pages']:2d}  {_fmt(results['all'])}  "
          f"pages fixing nothing: {results['all']['pages_fixed_nothing']}")

    results["reliability"] = _reliability(judged_changes)
    print("reliability of the judged changes (confidence bin: changes, right):")
    for b in results["reliability"]:
        print(f"    {b['bin']}: {b['n']:3d} changes, mean confidence {b['mean_confidence']}, right {b['right_share']}")

    if args.clean:
        clean = load_clean()
        if args.clean > 0:
            clean = clean[: args.clean]
        if args.clean_first_unclean:
            # the restorer's own report (the full cascade) decides which pages allow word swaps
            clean.sort(key=lambda d: reports.get(d["text"], config).verdict == "clean")
        changed_pages, changed_words, n_words, listed = 0, 0, 0, []
        for d in clean:
            r = run(d["text"], "clean-" + d["id"])
            n_words += len(words(d["text"]))
            if r.changes:
                changed_pages += 1
                changed_words += sum(max(1, len(words(c.text))) for c in r.changes)
                listed += [f"{d['id']} ({d['genre']}): {c.text!r} -> {c.original!r} ({c.rule}; conf {c.confidence:.2f})"
                           for c in r.changes]
            print(f"clean {d['id']}: {len(r.changes)} changes", flush=True)
        results["clean"] = {"pages": len(clean), "pages_changed": changed_pages, "words": n_words,
                            "words_changed": changed_words, "changes": listed}
        print(f"clean pass-through: {changed_pages} of {len(clean)} pages changed, "
              f"{changed_words} of {n_words} words")
        for line in listed:
            print("   ", line)
    results["_meta"] = {"seconds": round(time.time() - t0, 1), "oof": args.oof,
                        "config": {k: v for k, v in config.to_dict().items() if k.startswith("restore")}}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
