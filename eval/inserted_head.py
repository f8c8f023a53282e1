"""An experiment: can the model tier's hidden states find keyword anchors (a phrase dropped
mid-sentence, no link)? A per-token head trained on synthetic insertions, judged on the real
development pages' labelled keyword anchors and on the clean pages.

    python -m eval.inserted_head [--windows 240]

Synthetic insertions: a clean UD train window gets a run of 2-4 words copied from another
window (starting and ending on a content word) dropped at a word boundary inside a sentence.
The head reads the encoder's layer-6 states (the same pass as the model tier).
"""

from __future__ import annotations

import argparse
import random
import re
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

from .corpora import load_docs, windows
from unspin import probe
from unspin.wordclasses import FUNCTION_WORDS

WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")


def phrases(text: str) -> list[str]:
    ws = [m.group(0) for m in WORD.finditer(text)]
    out = []
    for i in range(len(ws)):
        for n in (2, 3, 4):
            run = ws[i : i + n]
            if len(run) == n and run[0].lower() not in FUNCTION_WORDS and run[-1].lower() not in FUNCTION_WORDS \
                    and all(w.islower() for w in run):
                out.append(" ".join(run))
    return out


def insert(text: str, phrase: str, rng: random.Random) -> tuple[str, tuple[int, int]] | None:
    spots = [m.start() for m in re.finditer(r"(?<=[a-z,]) (?=[a-z])", text)]
    if not spots:
        return None
    at = rng.choice(spots)
    new = text[: at + 1] + phrase + " " + text[at + 1 :]
    return new, (at + 1, at + 1 + len(phrase))


def token_rows(enc, texts, spans, layer: int, tokens: int):
    X, Y = [], []
    for (offsets, st), span in zip(enc.states(texts, tokens, (layer,)), spans):
        lab = np.array([1 if span and s < span[1] and e > span[0] and e > s else 0 for s, e in offsets], dtype=np.int8)
        X.append(st[layer].numpy())
        Y.append(lab)
    return np.concatenate(X), np.concatenate(Y)


def runs(text, words, t: float, min_words: int = 2):
    """Runs of >= min_words consecutive words (gaps of spaces only) scoring >= t."""
    out, cur = [], []
    for a, b, p in words:
        if p >= t and (not cur or text[cur[-1][1]:a].strip() == ""):
            cur.append((a, b))
            continue
        if len(cur) >= min_words:
            out.append((cur[0][0], cur[-1][1]))
        cur = [(a, b)] if p >= t else []
    if len(cur) >= min_words:
        out.append((cur[0][0], cur[-1][1]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.inserted_head")
    ap.add_argument("--windows", type=int, default=240)
    args = ap.parse_args(argv)
    rng = random.Random(0)
    docs = windows(load_docs(("ewt", "gum", "pud"), split="train"), min_words=80, max_words=300)
    rng.shuffle(docs)
    docs = docs[: args.windows]
    pool = [p for d in docs[::-1] for p in phrases(d.text)]
    texts, spans = [], []
    for k, d in enumerate(docs):
        if k % 3 == 0:
            texts.append(d.text), spans.append(None)
            continue
        r = insert(d.text, rng.choice(pool), rng)
        if r:
            texts.append(r[0]), spans.append(r[1])
    enc = probe.encoder(6, "fp32")
    X, y = token_rows(enc, texts, spans, 6, 512)
    print(f"{len(texts)} windows, {len(y)} tokens, {y.sum()} inserted", file=sys.stderr)
    mean, scale = X.mean(0), X.std(0) + 1e-6
    clf = LogisticRegression(C=0.05, max_iter=2000, class_weight="balanced").fit((X - mean) / scale, y)
    head = probe.Head(tuple(mean), tuple(scale), tuple(clf.coef_[0]), float(clf.intercept_[0]))
    import torch

    from eval import real
    pages = [p for p in real.load() if p.label == 0 or any(k in ("keyword", "foreign-keyword") for _a, _b, k in p.anchors)]
    res = enc.states([p.text for p in pages], 1024, (6,))
    for t in (0.9, 0.95, 0.98, 0.99):
        found = total = clean_hit = 0
        for p, (offsets, st) in zip(pages, res):
            probs = torch.sigmoid(((st[6] - torch.tensor(head.mean)) / torch.tensor(head.scale)) @ torch.tensor(head.coef) + head.intercept).tolist()
            ws = probe.word_spans(p.text, offsets, probs)
            rs = runs(p.text, ws, t)
            if p.label == 0:
                clean_hit += bool(rs)
            for a, b, k in p.anchors:
                if k in ("keyword", "foreign-keyword"):
                    total += 1
                    found += any(s < b and e > a for s, e in rs)
        n_clean = sum(1 for p in pages if p.label == 0)
        print(f"threshold {t}: keyword anchors found {found}/{total}; clean pages with a span {clean_hit}/{n_clean}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
