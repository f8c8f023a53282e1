"""Scan benchmarks: every figure a ratio measured side by side, in one run, on the same input.

    python bench/build_corpus.py -o bench/out/corpus.jsonl
    python bench/scan_bench.py bench/out/corpus.jsonl [--docs N] [--work bench/out/scan] [--tier fast]
    python bench/scan_bench.py bench/out/corpus.jsonl --docs 200 --compare-tiers

Measures, in this order, on the same documents:

1. baseline: read the JSONL, parse every line, tokenise the text (``unspin.tokenize``);
2. fast tier: read, parse, ``unspin.check`` (one process, after one warm-up call);
3. datatrove's ``GopherQualityFilter.filter`` on the same (already parsed) documents;
4. ``unspin scan -w 1`` and ``unspin scan -w 2`` end to end (subprocesses, fresh outputs,
   wall time including start-up), with the peak memory of the whole process tree (sum of
   PSS over the parent and its workers, sampled every 50 ms from /proc).

1-3 run interleaved in chunks of ``--chunk`` documents, and the scans in the order
1, 2, 2, 1 workers, so that load from other processes on a shared machine falls on both sides
of each ratio alike; CPU time (less sensitive to that load than wall time) is reported too.

Steps 2 and 4 use ``--tier`` (default ``fast``: the figures compare the fast tier with
datatrove's filter). ``--compare-tiers`` instead runs only ``unspin scan -w 1`` end to end with
``--tier fast``, ``auto`` and ``model`` on the same documents, in the order fast, auto, model,
model, auto, fast, and reports CPU, wall, documents/s, the share the model tier decided, and
the ratios to the fast tier (needs ``unspin[lm]`` and the model for auto and model).

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


def run_scan(corpus: str, out: str, workers: int, limit_file: str, tier: str = "fast") -> dict:
    if os.path.exists(out):
        os.remove(out)
    if os.path.isdir(out + ".parts"):
        shutil.rmtree(out + ".parts")
    cmd = [sys.executable, "-m", "unspin", "scan", limit_file or corpus, "-o", out, "-w", str(workers), "-q", "--json",
           "--tier", tier]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
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
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"cmd": " ".join(cmd[1:]), "wall_s": wall, "cpu_s": cpu, "peak_pss_mib": peak[0] / 1024,
            "summary": json.loads(stdout)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("--docs", type=int, help="use only the first N documents")
    ap.add_argument("--work", default="bench/out/scan", help="folder for the scan outputs")
    ap.add_argument("--chunk", type=int, default=250, help="documents per interleaved measurement chunk")
    ap.add_argument("--tier", default="fast", choices=("fast", "auto", "model"),
                    help="detector tier for the in-process check and the scans (default: fast)")
    ap.add_argument("--compare-tiers", action="store_true",
                    help="only: unspin scan -w 1 with --tier fast, auto and model, side by side")
    args = ap.parse_args(argv)
    os.makedirs(args.work, exist_ok=True)
    limit_file = None
    if args.docs:
        limit_file = os.path.join(args.work, f"first{args.docs}.jsonl")
        with open(limit_file, "wb") as fh:
            for line in _lines(args.corpus, args.docs):
                fh.write(line)
    corpus = limit_file or args.corpus
    if args.compare_tiers:
        return compare_tiers(args, corpus, limit_file)

    import unspin
    from datatrove.data import Document
    from datatrove.pipeline.filters import GopherQualityFilter
    from unspin.tokenize import tokenize

    res: dict = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                             "cpus": os.cpu_count(), "cpu": _cpu_model()},
                 "loadavg_start": os.getloadavg()}

    t = time.perf_counter()
    lines = list(_lines(corpus, None))
    t_read = time.perf_counter() - t
    n = len(lines)

    config = unspin.Config(tier=args.tier)
    t = time.perf_counter()
    unspin.check("A warm-up sentence that loads the lexicons, the language detector and the model.", config)
    t_warm = time.perf_counter() - t
    gopher = GopherQualityFilter()
    gopher.filter(Document(text="warm up the tokenizer " * 20, id="w"))

    # 1-3 interleaved in chunks, so that load from other processes on a shared machine falls on
    # all three alike. Wall and CPU time both.
    wall = dict.fromkeys(("base", "fast", "gopher"), 0.0)
    cpu = dict.fromkeys(("base", "fast", "gopher"), 0.0)
    n_tokens = kept = 0
    verdicts: dict[str, int] = {}
    for a in range(0, n, args.chunk):
        chunk = lines[a:a + args.chunk]
        w, c = time.perf_counter(), time.process_time()
        for line in chunk:
            n_tokens += len(tokenize(json.loads(line)["text"]))
        wall["base"] += time.perf_counter() - w
        cpu["base"] += time.process_time() - c
        w, c = time.perf_counter(), time.process_time()
        for line in chunk:
            v = unspin.check(json.loads(line)["text"], config).verdict
            verdicts[v] = verdicts.get(v, 0) + 1
        wall["fast"] += time.perf_counter() - w
        cpu["fast"] += time.process_time() - c
        docs = [Document(text=json.loads(line)["text"], id=str(a + i)) for i, line in enumerate(chunk)]
        w, c = time.perf_counter(), time.process_time()
        kept += sum(1 for d in docs if gopher.filter(d) is True)
        wall["gopher"] += time.perf_counter() - w
        cpu["gopher"] += time.process_time() - c
    t = time.process_time()
    for line in lines:
        json.loads(line)["text"]
    cpu_parse = time.process_time() - t

    # 4. end to end, 1 worker against 2, in the order 1, 2, 2, 1 (load drifts cancel out)
    runs = {1: [], 2: []}
    for workers in (1, 2, 2, 1):
        runs[workers].append(run_scan(args.corpus, os.path.join(args.work, f"w{workers}.jsonl"), workers, limit_file,
                                      args.tier))
    same = _same(os.path.join(args.work, "w1.jsonl"), os.path.join(args.work, "w2.jsonl"))
    w1 = min(runs[1], key=lambda r: r["wall_s"])
    w2 = min(runs[2], key=lambda r: r["wall_s"])

    res.update({
        "tier": args.tier, "documents": n, "tokens": n_tokens, "verdicts": verdicts, "gopher_kept": kept,
        "read_s": t_read, "warmup_s": t_warm, "wall_s": wall, "cpu_s": cpu, "cpu_parse_s": cpu_parse,
        "ratio_fast_vs_baseline_wall": (wall["fast"] + t_read) / (wall["base"] + t_read),
        "ratio_fast_vs_baseline_cpu": cpu["fast"] / cpu["base"],
        "check_ms_per_doc_cpu": (cpu["fast"] - cpu_parse) / n * 1000,
        "gopher_ms_per_doc_cpu": cpu["gopher"] / n * 1000,
        "ratio_check_vs_gopher_cpu": (cpu["fast"] - cpu_parse) / cpu["gopher"],
        "ratio_check_vs_gopher_wall": (wall["fast"]) / wall["gopher"],
        "scan_runs": runs, "scan_w1": w1, "scan_w2": w2,
        "speedup_w2_vs_w1": w1["wall_s"] / w2["wall_s"],
        "speedups_pairwise": [runs[1][0]["wall_s"] / runs[2][0]["wall_s"], runs[1][1]["wall_s"] / runs[2][1]["wall_s"]],
        "w1_w2_outputs_identical": same,
        "bench_process_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loadavg_end": os.getloadavg(),
    })
    print(_table(res))
    print(json.dumps(res))
    return 0


def compare_tiers(args, corpus: str, limit_file: str | None) -> int:
    """``unspin scan -w 1`` with each tier on the same documents, side by side."""
    res: dict = {"machine": {"python": platform.python_version(), "platform": platform.platform(),
                             "cpus": os.cpu_count(), "cpu": _cpu_model()},
                 "loadavg_start": os.getloadavg(), "runs": {}}
    order = ("fast", "auto", "model", "model", "auto", "fast")
    for tier in order:
        out = os.path.join(args.work, f"tier-{tier}.jsonl")
        r = run_scan(args.corpus, out, 1, limit_file, tier)
        with open(out, "rb") as fh:
            r["model_decided"] = sum(json.loads(line)["unspin"].get("tier") == "model" for line in fh)
        res["runs"].setdefault(tier, []).append(r)
    res["loadavg_end"] = os.getloadavg()
    n = next(iter(res["runs"].values()))[0]["summary"]["documents"]
    fast_cpu = sum(r["cpu_s"] for r in res["runs"]["fast"]) / 2
    fast_wall = sum(r["wall_s"] for r in res["runs"]["fast"]) / 2
    lines = [f"{n:,} documents; load average {res['loadavg_start'][0]:.2f} at start, "
             f"{res['loadavg_end'][0]:.2f} at end; order {', '.join(order)}", "",
             "| `unspin scan -w 1 --tier` | CPU, mean of 2 | wall, mean of 2 | docs/s (wall) | decided by the model | "
             "CPU / fast | verdicts |", "|---|---|---|---|---|---|---|"]
    for tier in ("fast", "auto", "model"):
        runs = res["runs"][tier]
        cpu = sum(r["cpu_s"] for r in runs) / 2
        wall = sum(r["wall_s"] for r in runs) / 2
        s = runs[0]["summary"]
        verdicts = ", ".join(f"{s[k]} {k}" for k in ("spun", "unsure", "clean", "not_applicable"))
        lines.append(f"| {tier} | {cpu:.2f} s | {wall:.2f} s | {n / wall:,.1f} | {runs[0]['model_decided']} of {n} | "
                     f"{cpu / fast_cpu:.1f}x | {verdicts} |")
        res[f"{tier}_cpu_s"], res[f"{tier}_wall_s"] = cpu, wall
    res["fast_wall_s"] = fast_wall
    print("\n".join(lines))
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
    w, c = r["wall_s"], r["cpu_s"]
    w1, w2 = r["scan_w1"], r["scan_w2"]
    rows = [
        ("read + parse + tokenise (baseline)", f"{w['base'] + r['read_s']:.2f} s", f"{c['base']:.2f} s", "1.00"),
        ("read + parse + `unspin.check` (fast tier)", f"{w['fast'] + r['read_s']:.2f} s", f"{c['fast']:.2f} s",
         f"{r['ratio_fast_vs_baseline_wall']:.1f}x wall, {r['ratio_fast_vs_baseline_cpu']:.1f}x CPU"),
        ("`unspin.check` alone, per document", "", f"{r['check_ms_per_doc_cpu']:.2f} ms", ""),
        ("datatrove `GopherQualityFilter.filter`, per document", "", f"{r['gopher_ms_per_doc_cpu']:.2f} ms",
         f"unspin/Gopher = {r['ratio_check_vs_gopher_cpu']:.2f} CPU, {r['ratio_check_vs_gopher_wall']:.2f} wall"),
        ("`unspin scan -w 1` end to end (best of 2)", f"{w1['wall_s']:.2f} s", f"{w1['cpu_s']:.2f} s",
         f"{n / w1['wall_s']:,.0f} docs/s; peak {w1['peak_pss_mib']:,.0f} MiB"),
        ("`unspin scan -w 2` end to end (best of 2)", f"{w2['wall_s']:.2f} s", f"{w2['cpu_s']:.2f} s",
         f"{n / w2['wall_s']:,.0f} docs/s, {r['speedup_w2_vs_w1']:.2f}x -w 1 "
         f"(pairs: {', '.join(f'{x:.2f}' for x in r['speedups_pairwise'])}); peak {w2['peak_pss_mib']:,.0f} MiB"),
    ]
    out = [f"{n:,} documents; load average {r['loadavg_start'][0]:.2f} at start, {r['loadavg_end'][0]:.2f} at end", "",
           "| step | wall | CPU | ratio / rate / peak memory (PSS, process tree) |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {cc} | {d} |" for a, b, cc, d in rows]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
