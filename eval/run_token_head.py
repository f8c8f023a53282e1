"""The model tier's word-level evidence judged on real pages.

    python -m eval.run_token_head [--tokens 1024] [--thresholds 0.6 0.7 0.8 0.9]

On the development set's (spun, source) pairs (aligned region only, :mod:`eval.real_pairs`),
a spun word is *replaced* when it sits in an edit site and *kept* when it is in an equal
block. The token head's word probability (the highest over the word's tokens) is judged
against that: ROC-AUC, and at each threshold the precision and recall of marked words. On
the hard clean pages, the words marked per 100 words (every mark there is a false one).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval import probe_fit as pf  # noqa: E402
from eval.real_pairs import load_clean, load_pairs  # noqa: E402


def word_probs(text: str, toks, res_words) -> np.ndarray:
    """Token-head probability per alignment token (0 where the head read no token)."""
    out = np.zeros(len(toks))
    j = 0
    for i, (_w, a, b) in enumerate(toks):
        while j < len(res_words) and res_words[j][1] <= a:
            j += 1
        k = j
        best = 0.0
        while k < len(res_words) and res_words[k][0] < b:
            best = max(best, res_words[k][2])
            k += 1
        out[i] = best
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.run_token_head", description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=1024, help="tokens read per page (unspin check reads 1024)")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    args = ap.parse_args(argv)
    from eval.real_pairs import tokens
    from unspin import probe

    w = probe.weights()
    pairs = load_pairs()
    res = probe.read([p.text for p in pairs], w=w, evidence_tokens=args.tokens)
    pos, neg = [], []
    read_upto = []
    for p, r in zip(pairs, res):
        wp = word_probs(p.text, p.spun_toks, r.words)
        last = r.words[-1][1] if r.words else 0
        read_upto.append(last)
        inside = np.array([b <= last for _w, _a, b in p.spun_toks])
        site = np.zeros(len(p.spun_toks), bool)
        for s in p.sites:
            site[s.i1:s.i2] = True
        eq = np.zeros(len(p.spun_toks), bool)
        for i1, i2, _j1, _j2 in p.equal:
            eq[i1:i2] = True
        pos.extend(wp[site & inside])
        neg.extend(wp[eq & inside])
    pos, neg = np.array(pos), np.array(neg)
    clean = load_clean()
    cres = probe.read([c["text"] for c in clean], w=w, evidence_tokens=args.tokens)
    cwords = sum(len(tokens(c["text"][: (r.words[-1][1] if r.words else 0)])) for c, r in zip(clean, cres))
    print(f"{len(pairs)} pairs: {len(pos)} replaced words, {len(neg)} kept words read; "
          f"{len(clean)} clean pages, {cwords} words read")
    print(f"token head word AUC (replaced vs kept): {pf.auc(pos, neg):.3f}")
    print("| threshold | precision | recall | clean pages: marks per 100 words | clean pages with a mark |")
    print("|---|---|---|---|---|")
    for t in args.thresholds:
        tp, fp = int((pos >= t).sum()), int((neg >= t).sum())
        marks = [sum(1 for a, b, q in r.words if q >= t) for r in cres]
        prec = tp / (tp + fp) if tp + fp else float("nan")
        print(f"| {t} {'(shipped)' if abs(t - w.token_threshold) < 1e-9 else ''} | {prec:.0%} | {tp / len(pos):.0%} | "
              f"{100 * sum(marks) / max(cwords, 1):.2f} | {sum(1 for m in marks if m)} of {len(clean)} |")
    t = w.token_threshold
    tp, fp = int((pos >= t).sum()), int((neg >= t).sum())
    print(f"shipped threshold {t:.3f}: precision {tp / max(tp + fp, 1):.0%}, recall {tp / len(pos):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
