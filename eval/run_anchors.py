"""Injected spam on real pages: are the labelled anchors found, and do clean pages get spans?

    python -m eval.run_anchors [--tier fast|model|auto] [--json eval/out/anchors.json]

The development set labels the anchors dropped into its spun pages (``anchors``: character
offsets and a kind: ``url``, ``keyword``, ``foreign-keyword``). A labelled anchor is **found**
when an ``injected_anchor`` or ``foreign_fragment`` span of the report overlaps it. The false
side is counted on the hard clean pages (pages with any such span, and the spans) and, for
information, spans on spun pages that overlap no label (some are unlabelled spam, some are
mistakes; the list is printed).

Read every figure here as a development figure, not a held-out one: the rules of the
injected-spam finder were written while looking at these pages, and the keyword-anchor test's
threshold (:data:`unspin.keyword_anchors.THRESHOLD`) and insertion weight were chosen on them
by hand (the highest value that keeps anchor-shaped runs on clean pages under it), not by a
program with folds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from . import real
from .probe_features import OUT

KINDS = ("injected_anchor", "foreign_fragment")


def spans_of(text: str, cfg) -> list:
    import unspin

    r = unspin.check(text, cfg)
    return [s for s in r.spans if s.kind in KINDS]


def run(tier: str) -> dict:
    from unspin import Config

    cfg = Config(tier=tier)
    pages = real.load(include_sources=False)
    res = tally(pages, [spans_of(p.text, cfg) for p in pages])
    return {"tier": tier, "corpus_sha256_12": real.corpus_hash(pages), **res}


def tally(pages: list, page_spans: list[list]) -> dict:
    """The counts for ``pages`` and their injected-spam spans (``page_spans``, one list per
    page): labelled anchors found by kind on spun pages, clean pages (role ``page``; the
    originals do not count) with any span, and the misses and unlabelled spans by name."""
    found: Counter = Counter()
    total: Counter = Counter()
    missed, extra, clean_hits = [], [], []
    clean_pages = 0
    for p, spans in zip(pages, page_spans):
        if p.label == 0:
            if p.role != "page":
                continue
            clean_pages += 1
            if spans:
                clean_hits.append({"id": p.id, "spans": [(s.text, s.rule) for s in spans]})
            continue
        labels = p.anchors or ()
        for start, end, kind in labels:
            total[kind] += 1
            hit = any(s.start < end and start < s.end for s in spans)
            found[kind] += hit
            if not hit:
                missed.append({"id": p.id, "kind": kind, "text": p.text[start:end]})
        for s in spans:
            if not any(s.start < end and start < s.end for start, end, _k in labels):
                extra.append({"id": p.id, "text": s.text, "rule": s.rule})
    return {"found": dict(found), "labelled": dict(total),
            "found_all": sum(found.values()), "labelled_all": sum(total.values()),
            "clean_pages": clean_pages, "clean_pages_with_spans": len(clean_hits),
            "clean_hits": clean_hits, "missed": missed, "unlabelled_on_spun": extra}


def render(res: dict) -> str:
    def pct(a, b):
        return f"{100 * a / b:.0f}% ({a} of {b})" if b else "n/a"

    lines = [f"Tier `{res['tier']}`, corpus `{res['corpus_sha256_12']}`", "",
             "| labelled kind | found |", "|---|---|"]
    for k in sorted(res["labelled"]):
        lines.append(f"| {k} | {pct(res['found'].get(k, 0), res['labelled'][k])} |")
    lines.append(f"| **all** | **{pct(res['found_all'], res['labelled_all'])}** |")
    lines += ["", f"Clean pages with an injected-spam span: **{pct(res['clean_pages_with_spans'], res['clean_pages'])}**",
              f"Spans on spun pages that overlap no label: {len(res['unlabelled_on_spun'])}", ""]
    for h in res["clean_hits"]:
        lines.append(f"- clean {h['id']}: " + "; ".join(f"`{t}` ({r})" for t, r in h["spans"]))
    for m in res["missed"]:
        lines.append(f"- missed {m['id']} ({m['kind']}): `{m['text']}`")
    for e in res["unlabelled_on_spun"]:
        lines.append(f"- unlabelled on {e['id']}: `{e['text']}` ({e['rule']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", default="fast", choices=("fast", "model", "auto"))
    ap.add_argument("--json", type=Path, default=OUT / "anchors.json")
    args = ap.parse_args(argv)
    if not real.available():
        print("the development set (../shared/data/real_dev) is not here", file=sys.stderr)
        return 2
    res = run(args.tier)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1))
    print(render(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
