"""Scale benchmark of ``unspin cluster`` (issue 10), for BENCHMARKS.md.

    nice python bench/cluster_bench.py [--originals 6200 --spins 15] [--skip-job]

Builds (once, cached under /tmp/unspin-cluster-bench/) a synthetic corpus of at least 100,000
documents: short clean windows (25-50 words, every split of eval/corpora.py's UD sources, exact
repeats once), each of ``--originals`` of them with ``--spins`` copies (four spins by random
emulator families from eval/spinner.py, the rest recombined from those four sentence by
sentence, as spintax does), and the remaining windows as unrelated distractors. Then, in one run:

1. signatures on one core, in process: canonical tokens + window MinHash + LSH keys, with
   rensa (all documents; and the first 5,000) and with datasketch (the first 5,000, for the
   library comparison). Documents per CPU second (per core: robust to a loaded machine) and
   per wall second;
2. the whole job, ``unspin cluster CORPUS -o OUT --json`` with 1 and with 2 workers, each in its
   own process: wall time, CPU time of its process tree, documents per CPU second (per core)
   and per wall second, peak resident memory of the largest process (``ru_maxrss``);
3. pair recall and precision (pairs of documents of one original in one cluster) of unspin's
   clusters on the whole corpus (the job's stages in process, without the member scores,
   which choose sources but do not change clusters) and of datatrove's MinHash with its
   default settings on the same corpus; and of the job's own output.

``--job-docs N`` runs the whole job on the first N documents only (on a loaded machine the
job's member scoring, the fast tier on every clustered document, takes most of its time).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from multiprocessing import Pool
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CACHE = Path("/tmp/unspin-cluster-bench")
FAMILIES = ["function_words", "thesaurus", "tortured", "injected", "mixed"]


def _spin_one(job):
    from eval.spinner import spin

    text, family, seed = job
    return spin(text, family, seed=seed).text


#: Emulator spins per original; further copies recombine them sentence by sentence (each
#: sentence taken from one of the spins at random, as spintax does), which costs nothing.
REAL_SPINS = 4


def _recombine(variants: list[str], rng: random.Random) -> str:
    from unspin.tokenize import sentence_spans

    split = [[v[a:b] for a, b in sentence_spans(v)] for v in variants]
    n = min(len(x) for x in split)
    if n == 0:
        return rng.choice(variants)
    return "".join(rng.choice(split)[i] for i in range(n)).strip()


def build_corpus(originals: int, spins: int, seed: int = 0) -> Path:
    from eval.corpora import corpus_hash, load_docs, windows

    seen: set[str] = set()
    wins = []
    for w in windows(load_docs(), 25, 50):  # exact repeats (e-mail disclaimers) only once
        key = " ".join(w.text.lower().split())
        if key not in seen:
            seen.add(key)
            wins.append(w)
    rng = random.Random(seed)
    rng.shuffle(wins)
    if originals >= len(wins):
        sys.exit(f"only {len(wins)} windows: ask for fewer --originals")
    key = corpus_hash([w.text for w in wins])
    path = CACHE / f"corpus-{key}-{originals}x{spins}.jsonl"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    real = min(spins, REAL_SPINS)
    jobs = [(w.text, rng.choice(FAMILIES), k * 100 + j) for k, w in enumerate(wins[:originals]) for j in range(real)]
    t = time.perf_counter()
    with Pool(2) as pool:
        spun = pool.map(_spin_one, jobs, chunksize=200)
    print(f"spun {len(spun):,} copies in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for k, w in enumerate(wins[:originals]):
            fh.write(json.dumps({"id": f"o{k}", "family": k, "text": w.text}) + "\n")
            variants = spun[k * real: (k + 1) * real]
            for j in range(spins):
                text = variants[j] if j < real else _recombine(variants, rng)
                fh.write(json.dumps({"id": f"o{k}s{j}", "family": k, "text": text}) + "\n")
        for k, w in enumerate(wins[originals:]):
            fh.write(json.dumps({"id": f"d{k}", "family": None, "text": w.text}) + "\n")
    tmp.rename(path)
    return path


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def signatures(texts: list[str], backend: str) -> float:
    from unspin.cluster.fingerprint import canonical_hashes, warm_up
    from unspin.cluster.minhash import document_keys
    from unspin.cluster.options import ClusterOptions

    warm_up()
    options = ClusterOptions()
    t, c = time.perf_counter(), time.process_time()
    for k in range(0, len(texts), 256):
        document_keys([canonical_hashes(x) for x in texts[k: k + 256]], options, backend)
    return time.perf_counter() - t, time.process_time() - c


def run_job(corpus: Path, workers: int, source_tier: str = "auto") -> dict:
    out = CACHE / f"out-w{workers}-{source_tier}.jsonl"
    for p in (out, Path(str(out) + ".parts")):
        subprocess.run(["rm", "-rf", str(p)], check=True)
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
               "print(r.stdout.strip()); print(r.stderr.strip()[-2000:], file=sys.stderr); "
               "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(u.ru_utime + u.ru_stime); print(time.perf_counter() - t); print(u.ru_maxrss)")
    cmd = [sys.executable, "-c", wrapper, sys.executable, "-m", "unspin", "cluster", str(corpus), "-o", str(out),
           "-w", str(workers), "-q", "--json", "--source-tier", source_tier]
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=str(REPO))
    lines = r.stdout.strip().splitlines()
    if len(lines) < 3:
        sys.exit(f"the job failed: {r.stderr[-2000:]}")
    summary = json.loads(lines[-4])
    return {"summary": summary, "cpu_s": float(lines[-3]), "wall_s": float(lines[-2]),
            "peak_rss_mb": int(lines[-1]) / 1024, "output": out}


def pair_scores_fast(cluster_of: list, family: list) -> dict:
    """Pair recall/precision without enumerating pairs: C(n, 2) sums over clusters and families."""
    def c2(n):
        return n * (n - 1) // 2

    true = sum(c2(n) for f, n in Counter(f for f in family if f is not None).items())
    by_cluster: dict = {}
    for c, f in zip(cluster_of, family):
        by_cluster.setdefault(c, []).append(f)
    predicted = sum(c2(len(m)) for m in by_cluster.values())
    hit = sum(c2(n) for m in by_cluster.values() for f, n in Counter(x for x in m if x is not None).items())
    return {"pair_recall": hit / true if true else None, "pair_precision": hit / predicted if predicted else None,
            "true_pairs": true, "predicted_pairs": predicted}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--originals", type=int, default=6200)
    p.add_argument("--spins", type=int, default=15)
    p.add_argument("--skip-job", action="store_true", help="signatures and the baseline only")
    p.add_argument("--job-docs", type=int, default=0,
                   help="run the whole job on the first N documents only (default: all)")
    p.add_argument("--source-tiers", default="auto",
                   help="comma-separated --source-tier values to run the whole job with, side by side "
                        "(default: auto)")
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts for the job (default: 1,2)")
    p.add_argument("--job-only", action="store_true", help="skip the signatures and the pair baselines")
    args = p.parse_args(argv)
    corpus = build_corpus(args.originals, args.spins)
    rows = read(corpus)
    texts = [r["text"] for r in rows]
    family = [r["family"] for r in rows]
    words = sum(len(t.split()) for t in texts) / len(texts)
    report = {"corpus": str(corpus), "documents": len(rows), "originals": args.originals,
              "copies": args.originals * args.spins, "distractors": len(rows) - args.originals * (1 + args.spins),
              "mean_words": round(words, 1), "cpus": os.cpu_count()}
    print(json.dumps(report), file=sys.stderr)

    for backend, part in () if args.job_only else (("rensa", texts), ("datasketch", texts[:5000]), ("rensa", texts[:5000])):
        wall, cpu = signatures(part, backend)
        report[f"signatures_{backend}_{len(part)}"] = {"docs_per_cpu_s": round(len(part) / cpu, 1),
                                                       "docs_per_wall_s": round(len(part) / wall, 1)}
    print(json.dumps(report), file=sys.stderr)

    from eval.run_cluster import datatrove_minhash_clusters
    from unspin.cluster.core import candidate_pairs, verify_pairs
    from unspin.cluster.fingerprint import canonical_hashes
    from unspin.cluster.group import UnionFind
    from unspin.cluster.minhash import document_keys
    from unspin.cluster.options import ClusterOptions

    if not args.job_only:
        # unspin's clusters on the whole corpus, in process (the job's stages 1-2 without the
        # member scores, which only choose sources and do not change the clusters)
        t = time.perf_counter()
        opts = ClusterOptions()
        toks = [canonical_hashes(x) for x in texts]
        keys = []
        for k in range(0, len(toks), 256):
            keys += document_keys(toks[k: k + 256], opts)
        pairs = candidate_pairs(keys, opts.max_bucket)
        verified = verify_pairs(pairs, lambda i: toks[i], opts)
        uf = UnionFind(len(texts))
        for a, b, _ in verified:
            uf.union(a, b)
        report["unspin_in_process"] = {**pair_scores_fast([uf.find(i) for i in range(len(texts))], family),
                                       "candidate_pairs": len(pairs), "verified_pairs": len(verified),
                                       "seconds": round(time.perf_counter() - t, 1)}
        del toks, keys, pairs, verified
        print(json.dumps(report), file=sys.stderr)

        t = time.perf_counter()
        base = datatrove_minhash_clusters(texts)
        report["datatrove_minhash"] = {**pair_scores_fast(base, family), "seconds": round(time.perf_counter() - t, 1)}
        print(json.dumps(report), file=sys.stderr)

    if not args.skip_job:
        job_corpus = corpus
        if args.job_docs and args.job_docs < len(rows):
            job_corpus = corpus.with_name(corpus.stem + f"-first{args.job_docs}.jsonl")
            with job_corpus.open("w", encoding="utf-8") as fh:
                for r in rows[: args.job_docs]:
                    fh.write(json.dumps(r) + "\n")
        report["job_documents"] = min(len(rows), args.job_docs or len(rows))
        for tier in args.source_tiers.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                res = run_job(job_corpus, workers, tier)
                out_rows = read(res["output"])
                ids = [r["unspin"]["cluster"]["id"] for r in out_rows]
                cl = [c if c is not None else f"u{k}" for k, c in enumerate(ids)]
                fam = [r["family"] for r in out_rows]
                copies = [r for r in out_rows if r["family"] is not None and "s" in r["id"][1:]]
                traced = sum(1 for r in copies if r["unspin"]["cluster"]["source"] == f"o{r['family']}")
                name = f"job_w{workers}" + ("" if tier == "auto" else f"_{tier}")
                while name in report:  # a tier listed twice (alternated runs)
                    name += "_again"
                report[name] = {
                    "source_tier": tier,
                    "wall_s": round(res["wall_s"], 1), "cpu_s": round(res["cpu_s"], 1),
                    "docs_per_wall_s": round(len(out_rows) / res["wall_s"], 1),
                    "docs_per_cpu_s": round(len(out_rows) / res["cpu_s"], 1),
                    "peak_rss_mb": round(res["peak_rss_mb"], 1), "stages_s": res["summary"]["seconds"],
                    "candidate_pairs": res["summary"]["candidate_pairs"],
                    "verified_pairs": res["summary"]["verified_pairs"],
                    "copies_traced_to_their_original": round(traced / len(copies), 4) if copies else None,
                    **pair_scores_fast(cl, fam),
                }
                print(json.dumps(report), file=sys.stderr)
        if "job_w1" in report and "job_w2" in report:
            report["speedup_2_vs_1"] = round(report["job_w1"]["wall_s"] / report["job_w2"]["wall_s"], 2)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
