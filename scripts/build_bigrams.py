#!/usr/bin/env python3
"""Rebuild ``unspin/data/bigrams.bin``: hashed counts of common English word pairs.

Usage::

    python scripts/build_bigrams.py [--shared ../shared/data] [--out unspin/data/bigrams.bin] [--min-count 2]

The fast tier asks of every pair of adjacent words in a text whether English writers put
those two words side by side (``unspin.fluency``). Spinners swap words one at a time without
looking at their neighbours, so their pairs are less often common ones ("area unit",
"mistreatment the", "cryptographic money"), whatever synonym list they used.

Reference text (permissively licensed only; see NOTICE): the *train* split of UD English EWT,
of the permissive GUM genres and of PUD (never GUM's non-commercial files, never the dev or
test splits the synthetic eval reads), the glosses and examples of Princeton WordNet 3.1, and
the CoInCo sentences with their contexts (MASC, via SWORDS). Words are the tokeniser's word
tokens, lower-cased; a pair is two word tokens with nothing but spaces between them.

What is written: no text, only a table of pairs seen at least ``--min-count`` times, each as
a 32-bit hash (CRC-32 of ``"w1 w2"``, UTF-8) and its count in log2 buckets. File layout: one
ASCII header line ``unspin-bigrams format=1 <json meta>`` (sources and their SHA-256
prefixes, counts, the builder), then a zlib stream of the sorted hashes (uint32, little
endian) followed by one count byte per hash. The output is deterministic.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import zlib
from array import array
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from eval.corpora import load_docs  # noqa: E402
from unspin.fluency import FORMAT, pair_key, word_pairs  # noqa: E402
from unspin.tokenize import tokenize  # noqa: E402

UD_FILES = ("ud_english_ewt/ewt_docs.jsonl", "ud_english_gum/gum_docs.permissive.jsonl",
            "ud_english_pud/pud_sentences.jsonl")
WORDNET = "synonyms/wordnet31_synsets.jsonl"
COINCO = "lexsub/coinco.jsonl"


def sha12(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def texts(shared: Path):
    for d in load_docs(("ewt", "gum", "pud"), include_nc=False, split="train", root=shared):
        yield d.text
    with (shared / WORDNET).open(encoding="utf-8") as fh:
        for line in fh:
            # glosses hold a definition and quoted examples separated by "; "
            for part in json.loads(line)["gloss"].split("; "):
                yield part.strip('"')
    with (shared / COINCO).open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            yield " ".join(x for x in (r.get("precontext"), r["text"], r.get("postcontext")) if x)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "unspin" / "data" / "bigrams.bin")
    ap.add_argument("--min-count", type=int, default=2)
    args = ap.parse_args(argv)

    counts: Counter[int] = Counter()
    n_words = n_pairs = 0
    for t in texts(args.shared):
        toks = tokenize(t)
        n_words += sum(1 for x in toks if x.kind == "word")
        for a, b in word_pairs(t, toks):
            counts[pair_key(a, b)] += 1
            n_pairs += 1
    kept = sorted(h for h, c in counts.items() if c >= args.min_count)
    hashes = array("I", kept)
    buckets = array("B", [min(255, int(math.log2(counts[h]))) for h in kept])
    if sys.byteorder != "little":
        hashes.byteswap()
    meta = {
        "builder": "scripts/build_bigrams.py", "min_count": args.min_count,
        "words": n_words, "pairs": n_pairs, "distinct_pairs": len(counts), "kept": len(kept),
        "count": "floor(log2(count)), one byte per hash", "hash": "crc32 of 'w1 w2' (UTF-8, lower-cased words)",
        "sources": {rel: sha12(args.shared / rel) for rel in UD_FILES + (WORDNET, COINCO)},
        "splits": "UD train split only",
    }
    header = f"unspin-bigrams format={FORMAT} {json.dumps(meta, sort_keys=True)}\n".encode("ascii")
    args.out.write_bytes(header + zlib.compress(hashes.tobytes() + buckets.tobytes(), 9))
    print(f"{n_words:,} words, {n_pairs:,} pairs, {len(counts):,} distinct, kept {len(kept):,} "
          f"(count >= {args.min_count}); wrote {args.out} ({args.out.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
