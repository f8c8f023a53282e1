"""Scan benchmarks: every figure a ratio measured side by side, in one run, on the same input.

    python bench/build_corpus.py -o bench/out/corpus.jsonl
    python bench/scan_bench.py bench/out/corpus.jsonl [--docs N] [--work bench/out/scan]

Measures, in this order, on the same documents:

1. baseline: read the JSONL, parse every line, tokenise the text (``unspin.tokenize``);
2. fast tier: read, parse, ``unspin.check`` (one process, after one warm-up call);
3. datatrove's ``GopherQualityFilter.filter`` on the same (already parsed) documents;
4. ``unspin scan -w 1`` and ``unspin scan -w 2`` end to end (subprocesses, fresh outputs,
   wall time including start-up), with the peak memory of the whole process tree (sum of
   PSS over the parent and its workers, sampled every 50 ms from /proc).

Prints a Markdown table and a JSON line. Needs ``unspin[scan,datatrove]`` and spacy (the
tokeniser datatrove's English Gopher filter uses).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def _lines(path: str, limit: int | None):
    with open(path, "rb") as fh:
        for i, line in enumerate(fh):
            if limit is not None and i >= limit:
                return
            yield line


def _pss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def _tree_pss(pid: int) -> int:
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _pss_kib(p)
        todo += _children(p)
    return total


def run_scan(corpus: str, out: str, workers: int, limit_file: str) -> dict:
    if os.path.exists(out):
        os.remove(out)
    if os.path.isdir(out + ".parts"):
        shutil.rmtree(out + ".parts")
    cmd = [sys.executable, "-m", "unspin", "scan", limit_file or corpus, "-o", out, "-w", str(workers), "-q", "--json"]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_pss(proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    return {"cmd": " ".join(cmd[1:]), "wall_s": wall, "peak_pss_mib": peak[0] / 1024,
            "summary": json.loads(stdout)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("--docs", type=int, help="use only the first N documents")
    ap.add_argument("--work", default="bench/out/scan", help="folder for the scan outputs")
    args = ap.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    limit_file = None
    if args.docs:
        limit_file = os.path.join(args.work, f"first{args.docs}.jsonl")
        with open(limit_file, "wb") as fh:
            for line in _lines(args.corpus, args.docs):
                fh.write(line)
    corpus = limit_file or args.corpus

    import unspin
    from unspin.tokenize import tokenize

    res: dict = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                             "cpus": os.cpu_count(), "cpu": _cpu_model()}}

    # 1. read + parse + tokenise
    t = time.perf_counter()
    n = n_tokens = 0
    for line in _lines(corpus, None):
        n += 1
        n_tokens += len(tokenize(json.loads(line)["text"]))
    t_base = time.perf_counter() - t
    # read + parse alone (to isolate the detector's own per-document cost)
    t = time.perf_counter()
    texts = [json.loads(line)["text"] for line in _lines(corpus, None)]
    t_parse = time.perf_counter() - t

    # 2. fast tier
    t = time.perf_counter()
    unspin.check("A warm-up sentence that loads the lexicons, the language detector and the model.")
    t_warm = time.perf_counter() - t
    verdicts: dict[str, int] = {}
    t = time.perf_counter()
    for line in _lines(corpus, None):
        v = unspin.check(json.loads(line)["text"]).verdict
        verdicts[v] = verdicts.get(v, 0) + 1
    t_fast = time.perf_counter() - t

    # 3. datatrove's Gopher quality filter, same documents
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter

    gopher = GopherQualityFilter()
    docs = [Document(text=x, id=str(i)) for i, x in enumerate(texts)]
    gopher.filter(Document(text="warm up the tokenizer " * 20, id="w"))
    t = time.perf_counter()
    kept = sum(1 for d in docs if gopher.filter(d) is True)
    t_gopher = time.perf_counter() - t

    # 4. end to end, 1 worker against 2
    w1 = run_scan(args.corpus, os.path.join(args.work, "w1.jsonl"), 1, limit_file)
    w2 = run_scan(args.corpus, os.path.join(args.work, "w2.jsonl"), 2, limit_file)
    same = _same(os.path.join(args.work, "w1.jsonl"), os.path.join(args.work, "w2.jsonl"))

    per_doc_check = (t_fast - t_parse) / n
    per_doc_gopher = t_gopher / n
    res.update({
        "documents": n, "tokens": n_tokens, "verdicts": verdicts, "gopher_kept": kept,
        "read_parse_tokenise_s": t_base, "read_parse_s": t_parse, "warmup_s": t_warm,
        "read_parse_check_s": t_fast, "gopher_s": t_gopher,
        "ratio_fast_vs_baseline": t_fast / t_base,
        "check_ms_per_doc": per_doc_check * 1000, "gopher_ms_per_doc": per_doc_gopher * 1000,
        "ratio_check_vs_gopher": per_doc_check / per_doc_gopher,
        "scan_w1": w1, "scan_w2": w2, "speedup_w2_vs_w1": w1["wall_s"] / w2["wall_s"],
        "w1_w2_outputs_identical": same,
        "bench_process_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })
    print(_table(res))
    print(json.dumps(res))
    return 0


def _same(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _table(r: dict) -> str:
    n = r["documents"]
    rows = [
        ("read + parse + tokenise (baseline)", f"{r['read_parse_tokenise_s']:.2f} s", f"{n / r['read_parse_tokenise_s']:,.0f} docs/s", "1.00"),
        ("read + parse + `unspin.check`", f"{r['read_parse_check_s']:.2f} s", f"{n / r['read_parse_check_s']:,.0f} docs/s",
         f"{r['ratio_fast_vs_baseline']:.1f}x baseline"),
        ("`unspin.check` alone, per doc", f"{r['check_ms_per_doc']:.2f} ms", "", ""),
        ("datatrove `GopherQualityFilter.filter`, per doc", f"{r['gopher_ms_per_doc']:.2f} ms", "",
         f"unspin = {r['ratio_check_vs_gopher']:.1f}x Gopher"),
        ("`unspin scan -w 1` (end to end)", f"{r['scan_w1']['wall_s']:.2f} s", f"{n / r['scan_w1']['wall_s']:,.0f} docs/s",
         f"peak {r['scan_w1']['peak_pss_mib']:,.0f} MiB"),
        ("`unspin scan -w 2` (end to end)", f"{r['scan_w2']['wall_s']:.2f} s", f"{n / r['scan_w2']['wall_s']:,.0f} docs/s",
         f"{r['speedup_w2_vs_w1']:.2f}x faster than -w 1; peak {r['scan_w2']['peak_pss_mib']:,.0f} MiB"),
    ]
    out = ["| step | time | rate | ratio / memory |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
