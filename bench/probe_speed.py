"""Model-tier cost: documents per CPU-second (= per core) for the encoder at several
(layers, tokens, dtype) settings, against the full 30-layer model, side by side in one run.

    UNSPIN_THREADS=1 python bench/probe_speed.py [--docs 48] [--settings 6:256:fp32 ...]

Documents are 700-word windows of UD English (clean text; spinning does not change the
cost). CPU time is process time, so a busy shared machine inflates it less than wall time;
both are printed. With one torch thread, documents per CPU-second is documents/s per core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def docs700(n: int) -> list[str]:
    from eval.corpora import load_docs, windows

    ws = [d.text for d in windows(load_docs(("ewt", "gum"), split="test"), min_words=650, max_words=760)]
    if not ws:
        raise SystemExit("no 700-word windows found")
    return (ws * (n // len(ws) + 1))[:n]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=48)
    ap.add_argument("--settings", nargs="+", default=["30:128:fp32", "6:128:fp32", "6:128:bf16", "6:128:int8",
                                                       "6:256:fp32", "8:256:fp32", "30:384:fp32"])
    ap.add_argument("--with-fast", action="store_true",
                    help="also time the fast tier, and unspin.check_many with tier=model (fast tier + model tier)")
    args = ap.parse_args(argv)
    os.environ.setdefault("UNSPIN_THREADS", "1")
    import torch

    from unspin.probe import Encoder

    torch.set_num_threads(int(os.environ["UNSPIN_THREADS"]))
    texts = docs700(args.docs)
    amx = bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    print(f"{len(texts)} documents, mean {sum(len(t.split()) for t in texts) / len(texts):.0f} words; "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}, CPU {torch.backends.cpu.get_cpu_capability()}"
          f"{' + AMX' if amx else ' (no AMX)'}; load average {os.getloadavg()[0]:.2f}")
    print("| layers | tokens | dtype | docs per CPU-second | docs/s wall | CPU ms/doc |")
    print("|---|---|---|---|---|---|")
    for s in args.settings:
        k, n, dt = s.split(":")
        enc = Encoder(int(k), dt)
        enc.states(texts[:4], int(n), (int(k),))  # warm-up
        c0, w0 = time.process_time(), time.perf_counter()
        enc.states(texts, int(n), (int(k),))
        c1, w1 = time.process_time(), time.perf_counter()
        cpu, wall = c1 - c0, w1 - w0
        print(f"| {k} | {n} | {dt} | {len(texts) / cpu:.1f} | {len(texts) / wall:.1f} | {1000 * cpu / len(texts):.0f} |",
              flush=True)
        del enc
    if args.with_fast:
        import unspin
        from unspin.config import Config

        cfg = Config(tier="fast")
        for t in texts[:4]:
            unspin.check(t, cfg)  # warm-up: the lexicons load on first use
        c0 = time.process_time()
        for t in texts:
            unspin.check(t, cfg)
        cpu = time.process_time() - c0
        print(f"fast tier (unspin.check, tier=fast): {len(texts) / cpu:.1f} docs per CPU-second")
        unspin.check_many(texts[:4], Config(tier="model"))  # warm-up: load the encoder
        c0 = time.process_time()
        unspin.check_many(texts, Config(tier="model"))
        cpu = time.process_time() - c0
        print(f"fast + model tier (unspin.check_many, tier=model): {len(texts) / cpu:.1f} docs per CPU-second")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
