"""``unspin serve`` under load: /v1/check throughput and latency, and memory under unseen words.

    python bench/serve_bench.py check  [--seconds 40] [--clients 16] [--before TREE]
    python bench/serve_bench.py memory [--seconds 180] [--clients 4] [--before TREE]

Each run starts ``python -m unspin serve --port 0 --no-preload`` as a subprocess (this
checkout, and with ``--before TREE`` also a second source tree, e.g. an older commit's
``git archive``, run through ``PYTHONPATH``), then drives it from this process with httpx's
async client over loopback.

``check``: after ``--warmup`` seconds of unrecorded load on each server, ``--clients``
concurrent clients send POST /v1/check with the two example texts (``examples/``, written by
the unspin developers; each client alternates between them) for ``--seconds``, split into
rounds that alternate between the trees (this, before, before, this, ...) so that load from
other processes on a shared machine falls on both alike. Reports requests/s, latency
percentiles, errors and the server's CPU time per request, per tree.

``memory``: clients send documents of 200 random lower-case "words" (unseen by any
lexicon, so every per-word cache meets new keys) for ``--seconds`` to each tree in turn
(one server at a time); the server's RSS is sampled every 10 s. Reports the curve and the
growth over the last half of the run (flat when the caches are bounded).

Prints Markdown tables and one JSON line. Needs ``unspin[serve]``, httpx and psutil.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import selectors
import string
import subprocess
import sys
import time

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class Server:
    """``unspin serve`` from source tree ``tree`` on a free loopback port."""

    def __init__(self, tree: str, label: str):
        self.label = label
        env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "unspin", "serve", "--port", "0", "--no-preload"],
            cwd=os.path.abspath(tree), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 180
        line = ""
        while time.monotonic() < deadline and self.proc.poll() is None:
            if sel.select(timeout=1):
                line = self.proc.stderr.readline()
                if "serving on" in line:
                    break
        m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        if not m:
            self.stop()
            raise SystemExit(f"{label}: the server did not start ({line.strip()!r})")
        self.url = m.group(1)
        import psutil

        self.ps = psutil.Process(self.proc.pid)

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (user + system, all threads)."""
        t = self.ps.cpu_times()
        return t.user + t.system

    def rss_mb(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def _wait_up(client, url):
    for _ in range(200):
        try:
            if (await client.get(url + "/healthz")).status_code == 200:
                return
        except Exception:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{url}: /healthz never answered")


async def _drive(url: str, bodies, clients: int, seconds: float, lat: list, errors: list):
    import httpx

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await _wait_up(client, url)
        stop = time.monotonic() + seconds

        async def one(k: int):
            i = k
            while time.monotonic() < stop:
                body = bodies(i)
                i += clients
                t = time.perf_counter()
                try:
                    r = await client.post(url + "/v1/check", json=body)
                    ok = r.status_code == 200
                except Exception as exc:  # counted, not fatal
                    ok, r = False, f"{type(exc).__name__}: {exc}"
                lat.append(time.perf_counter() - t)
                if not ok:
                    errors.append(str(getattr(r, "status_code", r)))

        await asyncio.gather(*(one(k) for k in range(clients)))


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def bench_check(trees, seconds: float, clients: int, rounds: int, warmup: float, tier: str | None = None) -> dict:
    texts = []
    for name in ("spun-council-news.txt", "clean-council-news.txt"):
        with open(os.path.join(REPO, "examples", name), encoding="utf-8") as fh:
            texts.append(fh.read())
    extra = {"tier": tier} if tier else {}
    servers = {label: Server(tree, label) for label, tree in trees}
    stats = {label: {"lat": [], "errors": [], "seconds": 0.0} for label, _ in trees}
    try:
        for label, _ in trees:  # warm-up, not recorded: lazy loads on the first real texts, connections
            asyncio.run(_drive(servers[label].url, lambda i: {"text": texts[(i % clients + i // clients) % 2], **extra}, clients, warmup, [], []))
        per = seconds / rounds
        for r in range(rounds):
            for label, _ in trees if r % 2 == 0 else list(reversed(trees)):
                st = stats[label]
                t = time.monotonic()
                cpu = servers[label].cpu_s()
                asyncio.run(_drive(servers[label].url, lambda i: {"text": texts[(i % clients + i // clients) % 2], **extra}, clients, per,
                                   st["lat"], st["errors"]))
                st["seconds"] += time.monotonic() - t
                st["cpu_s"] = st.get("cpu_s", 0.0) + servers[label].cpu_s() - cpu
        for label in servers:
            stats[label]["rss_mb"] = round(servers[label].rss_mb(), 1)
    finally:
        for s in servers.values():
            s.stop()
    out = {}
    for label, st in stats.items():
        n = len(st["lat"])
        out[label] = {
            "requests": n, "errors": len(st["errors"]), "error_kinds": sorted(set(st["errors"]))[:5],
            "req_per_s": round(n / st["seconds"], 1),
            "p50_ms": round(1000 * _pct(st["lat"], 0.50), 1),
            "p90_ms": round(1000 * _pct(st["lat"], 0.90), 1),
            "p99_ms": round(1000 * _pct(st["lat"], 0.99), 1),
            "max_ms": round(1000 * max(st["lat"], default=float("nan")), 1),
            "rss_mb_after": st["rss_mb"],
            "server_cpu_ms_per_request": round(1000 * st.get("cpu_s", 0.0) / max(n, 1), 2),
        }
    return out


def _unseen_doc(rng: random.Random) -> dict:
    words = ("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 11))) for _ in range(200))
    return {"text": " ".join(words) + "."}


def bench_memory(trees, seconds: float, clients: int, sample: float = 10.0) -> dict:
    out = {}
    for label, tree in trees:
        server = Server(tree, label)
        rng = random.Random(11)
        curve = [(0, round(server.rss_mb(), 1))]
        lat: list[float] = []
        errors: list[str] = []
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                asyncio.run(_drive(server.url, lambda i: _unseen_doc(rng), clients, sample, lat, errors))
                curve.append((round(time.monotonic() - t0), round(server.rss_mb(), 1)))
        finally:
            server.stop()
        half = [mb for t, mb in curve if t >= seconds / 2]
        out[label] = {
            "requests": len(lat), "errors": len(errors), "words_sent": 200 * len(lat),
            "rss_mb_curve": curve, "rss_mb_start": curve[0][1], "rss_mb_end": curve[-1][1],
            "growth_mb_second_half": round(half[-1] - half[0], 1) if len(half) > 1 else None,
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("check", "memory"))
    ap.add_argument("--seconds", type=float, default=None, help="check: total per tree (40); memory: per tree (180)")
    ap.add_argument("--clients", type=int, default=None, help="concurrent clients (check 16, memory 4)")
    ap.add_argument("--rounds", type=int, default=4, help="check: alternating rounds (default 4)")
    ap.add_argument("--warmup", type=float, default=5.0, help="check: seconds of unrecorded load per tree first (5)")
    ap.add_argument("--tier", choices=("auto", "fast", "model"), help="check: send this tier with every request "
                    "(the server's default otherwise; a tree from before the tier field answers 422)")
    ap.add_argument("--before", metavar="TREE", help="also run this source tree, for a before/after in one run")
    args = ap.parse_args(argv)
    trees = [("this", REPO)] + ([("before", args.before)] if args.before else [])
    import unspin

    meta = {"what": args.what, "python": platform.python_version(), "cpus": os.cpu_count(),
            "load_avg_start": [round(x, 2) for x in os.getloadavg()], "version": unspin.__version__}
    if args.what == "check":
        res = bench_check(trees, args.seconds or 40, args.clients or 16, args.rounds, args.warmup, args.tier)
        meta["tier"] = args.tier or "server default"
        print("| tree | clients | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU ms/req | RSS MB |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for label, r in res.items():
            print(f"| {label} | {args.clients or 16} | {r['requests']} | {r['req_per_s']} | {r['p50_ms']} | "
                  f"{r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['errors']} | {r['server_cpu_ms_per_request']} | "
                  f"{r['rss_mb_after']} |")
    else:
        res = bench_memory(trees, args.seconds or 180, args.clients or 4)
        for label, r in res.items():
            print(f"{label}: {r['requests']} requests, {r['words_sent']:,} unseen words, errors {r['errors']}; "
                  f"RSS MB {r['rss_mb_start']} -> {r['rss_mb_end']}, second half {r['growth_mb_second_half']:+}")
            print("  " + "  ".join(f"{t}s:{mb}" for t, mb in r["rss_mb_curve"]))
    meta["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps({**meta, "results": res}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
