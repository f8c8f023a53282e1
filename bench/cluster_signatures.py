"""Signature speed of ``unspin cluster`` (issue 10): this checkout against another, in one run.

    nice python bench/cluster_signatures.py [--against DIR] [--docs 5000] [--rounds 3]

Signatures = what the cluster job's signer does per document: the packed document array
(canonical tokens + skeleton), the fixed-token count and swapped share used to choose a
source, and the LSH keys (window MinHash with rensa), in batches of 256, in one process.
Corpora: the first ``--docs`` UD train-split windows of 25-50 words and of 80-300 words
(``eval.corpora.windows``). Each checkout runs in its own subprocess (its own word caches),
``--rounds`` times alternately, each subprocess measuring a cold pass (empty caches after
``warm_up``) and then warm passes; the figure is documents per CPU second of the process
(user + sys: per core, robust to a loaded machine), the best of the rounds. ``--against``
is another checkout of the repository (for example a ``git worktree`` of an older commit);
without it only this checkout is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from eval.corpora import load_docs, windows
from unspin.cluster.fingerprint import warm_up
from unspin.cluster.minhash import document_keys
from unspin.cluster.options import ClusterOptions

lo, hi, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
texts = [w.text for w in windows(load_docs(split="train"), lo, hi)][:n]
try:  # this checkout: the one-pass tokens
    from unspin.cluster.tokens import document_tokens_and_stats

    def sign(batch):
        return [r[0] for r in document_tokens_and_stats(batch)]
except ImportError:  # older checkouts: what their cluster job's signer did
    import numpy as np
    from unspin.cluster.fingerprint import canonical_forms, stats, token_hash
    from unspin.cluster.skeleton import pack, skeleton

    def sign(batch):
        out = []
        for text in batch:
            forms = canonical_forms(text)
            out.append(pack(np.fromiter((token_hash(f[0]) for f in forms), dtype=np.uint64, count=len(forms)),
                            *skeleton(text)))
            stats(forms, text)
        return out

opts = ClusterOptions()
warm_up()


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


rates = []
for _ in range(3):
    t = cpu()
    for k in range(0, len(texts), 256):
        document_keys(sign(texts[k: k + 256]), opts)
    rates.append(len(texts) / (cpu() - t))
print(json.dumps({"docs": len(texts), "words": sum(len(t.split()) for t in texts) / len(texts),
                  "cold": rates[0], "warm": max(rates[1:])}))
"""


def measure(checkout: Path, lo: int, hi: int, n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    env.setdefault("UNSPIN_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    out = subprocess.run([sys.executable, "-c", _CHILD, str(checkout), str(lo), str(hi), str(n)], env=env,
                         cwd=str(checkout), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--against", type=Path, default=None, help="another checkout to compare with")
    p.add_argument("--docs", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    checkouts = {"this": REPO} | ({"against": args.against.resolve()} if args.against else {})
    print(f"load average before: {os.getloadavg()}", file=sys.stderr)
    rows = []
    for lo, hi in ((25, 50), (80, 300)):
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for name, path in checkouts.items():
                r = measure(path, lo, hi, args.docs)
                b = best.setdefault(name, r)
                b["cold"], b["warm"] = max(b["cold"], r["cold"]), max(b["warm"], r["warm"])
        row = {"windows": f"{lo}-{hi} words", **{name: best[name] for name in checkouts}}
        if args.against:
            row["ratio_cold"] = best["this"]["cold"] / best["against"]["cold"]
            row["ratio_warm"] = best["this"]["warm"] / best["against"]["warm"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"load average after: {os.getloadavg()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
