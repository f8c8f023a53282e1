"""Fast-tier throughput on ~700-word documents, against just reading and tokenising them.

    python bench/fast_tier.py [--docs 400]

Builds the documents from the clean test/dev windows in ../shared/data (700-word windows)
plus one synthetic spin each, writes them to a JSONL file, then in one run times:
  A. read the JSONL + parse + tokenise every text (the floor any detector pays);
  B. read + parse + unspin.check every text (warm: lexicons loaded beforehand).
Prints docs/s for both and the ratio B/A, plus the cold-start cost of the first check.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from eval.corpora import load_docs, windows
    from eval.spinner import families, spin

    wins = [w for w in windows(load_docs(("ewt", "gum", "pud")), min_words=500, max_words=800)]
    docs = []
    fams = families()
    for k, w in enumerate(wins):
        docs.append(w.text)
        docs.append(spin(w.text, fams[k % len(fams)], seed=k).text)
        if len(docs) >= args.docs:
            break
    words = sum(len(d.split()) for d in docs)
    path = Path(tempfile.mkdtemp()) / "docs.jsonl"
    with path.open("w") as fh:
        for i, d in enumerate(docs):
            fh.write(json.dumps({"id": i, "text": d}) + "\n")

    # cold start: a fresh interpreter, import + first check of one document
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys, unspin; unspin.check(sys.stdin.read())"], input=docs[0], text=True, check=True)
    cold = time.perf_counter() - t

    import unspin
    from unspin.tokenize import tokenize

    unspin.check(docs[0])  # load lexicons and model

    def read_tokenise():
        with path.open() as fh:
            for line in fh:
                tokenize(json.loads(line)["text"])

    def read_check():
        with path.open() as fh:
            for line in fh:
                unspin.check(json.loads(line)["text"])

    a = min(_timed(read_tokenise) for _ in range(args.repeat))
    b = min(_timed(read_check) for _ in range(args.repeat))
    n = len(docs)
    print(f"machine: {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"documents: {n}, mean {words / n:.0f} words")
    print(f"A read+parse+tokenise: {n / a:,.0f} docs/s ({a:.2f} s)")
    print(f"B read+parse+check:    {n / b:,.1f} docs/s ({b:.2f} s), {words / b:,.0f} words/s")
    print(f"ratio B/A: {b / a:.1f}x")
    print(f"cold start (new process, import + first check): {cold:.2f} s")
    return 0


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    raise SystemExit(main())
