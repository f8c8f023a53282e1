"""Build the scan benchmark's input: ~10,000 documents as JSONL, from the clean corpora in the
shared data (read at run time, never shipped) plus synthetic spins of them.

    python bench/build_corpus.py -o bench/out/corpus.jsonl [--docs 10000] [--seed 0]

Composition: ``--spun-share`` (default 0.5) of the documents are spun copies of clean windows
(40-400 words) of EWT, permissive GUM and PUD, cycling through the spinner families with a new
seed each round; the rest are the clean windows themselves (there are about 1,700, so at 10,000
documents each clean window appears about three times, as duplicates do in a crawl). Each line: ``{"id", "text", "label", "family",
"source", "genre"}``. Deterministic for the same data and seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from eval.corpora import corpus_hash, load_docs, windows  # noqa: E402
from eval.spinner import families, load_resources, spin  # noqa: E402


def build(n_docs: int, seed: int, spun_share: float):
    clean = windows(load_docs(), min_words=40, max_words=400)
    n_clean = round(n_docs * (1 - spun_share))
    rows = []
    for i in range(n_clean):
        d = clean[i % len(clean)]
        rows.append({"id": f"{d.id}~clean~{i // len(clean)}", "text": d.text, "label": "clean", "family": None,
                     "source": d.source, "genre": d.genre})
    res = load_resources()
    names = families()
    k = 0
    while len(rows) < n_docs:
        d = clean[k % len(clean)]
        rnd = k // len(clean)
        fam = names[(k + rnd) % len(names)]
        s = spin(d.text, fam, seed=seed * 1_000_003 + k, resources=res)
        if s.changes:
            rows.append({"id": f"{d.id}~{fam}~{rnd}", "text": s.text, "label": "spun", "family": fam,
                         "source": d.source, "genre": d.genre})
        k += 1
    # Interleave so that every shard and every worker sees the same mix.
    spun_rows = rows[n_clean:]
    rows = rows[:n_clean]
    mixed = []
    for i in range(max(len(rows), len(spun_rows))):
        mixed += rows[i:i + 1] + spun_rows[i:i + 1]
    return mixed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default="bench/out/corpus.jsonl")
    ap.add_argument("--docs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--spun-share", type=float, default=0.5)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    rows = build(args.docs, args.seed, args.spun_share)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    n_spun = sum(r["label"] == "spun" for r in rows)
    words = sum(len(r["text"].split()) for r in rows)
    print(f"{len(rows)} documents ({len(rows) - n_spun} clean, {n_spun} spun), {words:,} words, "
          f"{os.path.getsize(args.output) / 1e6:.1f} MB, corpus {corpus_hash(r['text'] for r in rows)}, "
          f"built in {time.perf_counter() - t:.1f}s -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
