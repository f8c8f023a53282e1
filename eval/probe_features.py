"""Pooled hidden states of the offline language model for the real development pages.

One full forward pass per page (first ``--max-tokens`` tokens), every layer kept, mean-pooled
over the first 128/256/384/512 tokens. In a causal model the states of the first ``n``
tokens do not depend on what follows, so this one pass gives the features of every
(layer, tokens read) setting of the cost table; the probe fitted on one setting then runs in
the product with a model cut after that layer (:mod:`unspin.probe`), which computes the same
numbers (``tests/test_probe.py`` checks it).

    python -m eval.probe_features                 # -> eval/out/probe_features.npz
    python -m eval.probe_features --dtype bf16    # the same in bfloat16
    python -m eval.probe_features --dtype int8-pc --layers 6 --max-tokens 128

The cache is keyed by the corpus hash; rerunning with the same pages reuses it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from unspin.probe import DTYPES

from . import real

OUT = Path(__file__).resolve().parent / "out"
PREFIXES = (64, 96, 112, 128, 192, 256, 384, 512)
#: Layers swept (0 = embeddings). SmolLM2-135M has 30; beyond 16 the pass costs more than
#: the product can afford per document, and the issue's trial found layers 6-30 alike.
LAYERS = 16


def extract(texts: list[str], dtype: str = "fp32", max_tokens: int = 512, layers: int = LAYERS,
            log=None) -> dict[str, np.ndarray]:
    """Pooled states of layers 0..``layers`` (0 = embeddings) at every prefix length, read
    with the product's own encoder (:class:`unspin.probe.Encoder`)."""
    from unspin.probe import Encoder

    enc = Encoder(layers, dtype)
    keep = tuple(range(layers + 1))
    prefixes = tuple(p for p in PREFIXES if p <= max_tokens)
    pooled = np.zeros((len(texts), len(prefixes), layers + 1, enc.hidden), dtype=np.float32)
    ntok = np.zeros(len(texts), dtype=np.int32)
    t0 = time.time()
    step = 8
    for i0 in range(0, len(texts), step):
        chunk = texts[i0 : i0 + step]
        for r, (offsets, st) in enumerate(enc.states(chunk, max_tokens, keep)):
            i = i0 + r
            n = len(offsets)
            ntok[i] = n
            if not n:
                continue
            import torch

            csum = torch.stack([st[k] for k in keep]).cumsum(1)  # [layers+1, n, H]
            for j, p in enumerate(prefixes):
                m = min(p, n)
                pooled[i, j] = (csum[:, m - 1] / m).numpy()
        if log and (i0 // step) % 5 == 4:
            log(f"{min(i0 + step, len(texts))}/{len(texts)} pages, {time.time() - t0:.0f} s")
    return {"pooled": pooled, "ntok": ntok, "prefixes": np.array(prefixes), "seconds": np.array(time.time() - t0)}


def cached(dtype: str = "fp32", pages: list[real.Page] | None = None, log=None,
           layers: int = LAYERS, max_tokens: int = 512) -> tuple[list[real.Page], dict]:
    """(pages, features) for all real development pages with sources, computed once and cached."""
    pages = pages if pages is not None else real.load(include_sources=True)
    key = real.corpus_hash(pages)
    tag = ("" if layers == LAYERS else f"-L{layers}") + ("" if max_tokens == 512 else f"-T{max_tokens}")
    path = OUT / f"probe_features-{dtype}{tag}-{key}.npz"
    if path.is_file():
        data = dict(np.load(path))
        data.setdefault("prefixes", np.array((128, 256, 384, 512)))  # caches written before the finer sweep
        return pages, data
    data = extract([p.text for p in pages], dtype=dtype, max_tokens=max_tokens, log=log, layers=layers)
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(path, ids=np.array([p.id for p in pages]), **data)
    return pages, data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.probe_features", description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtype", choices=DTYPES, default="fp32")
    ap.add_argument("--layers", type=int, default=LAYERS, help=f"layers to run (default {LAYERS})")
    ap.add_argument("--max-tokens", type=int, default=512, help="tokens read per page (default 512)")
    args = ap.parse_args(argv)
    pages, data = cached(args.dtype, log=lambda m: print(m, file=sys.stderr), layers=args.layers,
                         max_tokens=args.max_tokens)
    print(f"{len(pages)} pages, {int(data['ntok'].sum())} tokens, {float(data['seconds']):.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
