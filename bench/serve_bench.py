"""``unspin serve`` under load: /v1/check throughput and latency, and memory under unseen words.

    python bench/serve_bench.py check  [--seconds 40] [--clients 16] [--before TREE]
    python bench/serve_bench.py memory [--seconds 180] [--clients 4] [--before TREE]
    python bench/serve_bench.py flood  [--sockets 3000] [--before TREE]
    python bench/serve_bench.py cancel [--leave-after 4 12]

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

``flood``: ``--sockets`` connections each send half a request and stop; /healthz is asked at
once and 12 s later, and the flood sockets the server has not closed are counted.

``cancel`` (this checkout only, needs the language model): a 7,848-character restore is
sent and its client leaves after each ``--leave-after`` seconds; reports how long the job
ran on after that.

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


def bench_flood(trees, sockets: int, wait: float = 12.0) -> dict:
    """Open ``sockets`` connections that each send half a request and stop; then GET /healthz
    at once and after ``wait`` seconds, and count the flood sockets the server left open."""
    import resource
    import socket
    import urllib.request

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < sockets + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, sockets + 1000), hard))

    def health(url):
        t = time.monotonic()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=10) as r:
                return r.status, round(time.monotonic() - t, 2)
        except Exception as exc:
            return f"{type(exc).__name__} {getattr(exc, 'code', '')}".strip(), round(time.monotonic() - t, 2)

    out = {}
    for label, tree in trees:
        server = Server(tree, label)
        port = int(server.url.rsplit(":", 1)[1])
        held = []
        try:
            for _ in range(sockets):
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
                    held.append(s)
                except OSError:
                    break
            at_once = health(server.url)
            time.sleep(wait)
            later = health(server.url)
            still_open = 0
            for s in held:
                s.setblocking(False)
                try:
                    while s.recv(65536):
                        pass
                except BlockingIOError:
                    still_open += 1
                except OSError:
                    pass
            out[label] = {"flood_sockets": len(held), "healthz_at_once": at_once, f"healthz_after_{wait:g}s": later,
                          f"flood_sockets_open_after_{wait:g}s": still_open, "server_rss_mb": round(server.rss_mb(), 1)}
        finally:
            for s in held:
                s.close()
            server.stop()
    return out


def bench_cancel(leave_after: list[float]) -> dict:
    """With the real language model: POST /v1/restore with a long text (the spun example
    8 times, 7,848 characters) to a server in this process, close the connection after each
    of ``leave_after`` seconds, and time how long the job runs on after the client left."""
    import socket
    import threading

    sys.path.insert(0, os.path.join(REPO, "tests"))
    from live_server import running

    from unspin.lm import load
    from unspin.serve import create_app

    load()  # the model is loaded before the clock starts
    with open(os.path.join(REPO, "examples", "spun-council-news.txt"), encoding="utf-8") as fh:
        text = (fh.read() + "\n\n") * 8
    body = json.dumps({"text": text}).encode()
    app = create_app()
    runs = []
    with running(app) as (port, _):
        for wait in leave_after:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /v1/restore HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            time.sleep(wait)
            done_before = app.state.lm_queue.counts["done"]
            t = time.monotonic()
            s.close()
            while app.state.lm_queue.load() and time.monotonic() - t < 600:
                time.sleep(0.02)
            runs.append({"left_after_s": wait, "job_ran_on_s": round(time.monotonic() - t, 2),
                         "finished_anyway": app.state.lm_queue.counts["done"] > done_before})
    return {"text_chars": len(text), "runs": runs, "counts": dict(app.state.lm_queue.counts),
            "threads": threading.active_count()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("check", "memory", "flood", "cancel"))
    ap.add_argument("--sockets", type=int, default=3000, help="flood: half-sent connections to open (3000)")
    ap.add_argument("--leave-after", type=float, nargs="+", default=[4.0, 12.0],
                    help="cancel: seconds after which the client leaves, one restore each (4 12)")
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
    elif args.what == "flood":
        res = bench_flood(trees, args.sockets)
        for label, r in res.items():
            print(label, r)
    elif args.what == "cancel":
        res = bench_cancel(args.leave_after)
        for r in res["runs"]:
            print(f"client left after {r['left_after_s']:g} s: the job ran on for {r['job_ran_on_s']} s"
                  f"{' (and finished)' if r['finished_anyway'] else ''}")
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
