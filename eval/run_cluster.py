"""Clustering, tracing and restore-from-source figures (issue 10), for EVAL.md.

    python -m eval.run_cluster synthetic [--families 120 --distractors 200]
    python -m eval.run_cluster dev
    python -m eval.run_cluster restore-dev

``synthetic``: clean dev-split windows of 40-150 words (eval/corpora.py) are the originals; each gets three
spins by random emulator families (eval/spinner.py) and one spin of its first half (a copy
of part of the article); further clean windows are distractors (some from the same documents
as the originals: honest near-topic pages). ``dev``: every page of ../shared/data/real_dev
(spun, sources, clean) clustered together. Both report, for unspin and for plain word-shingle
MinHash with datatrove's default settings (``MinhashConfig()``: 5-gram shingles, 14 buckets of
8 hashes; datatrove's own shingling and signature code, and its rule that documents sharing a
bucket are duplicates, clustered by union-find):

- trace recall: copies (spun pages with a known source) whose ``source`` is their own source;
- link precision: links (copy -> source) between related pages (same article) / all links;
- pair recall / precision: pairs of related pages in one cluster / all related pairs, and
  related pairs / all pairs in one cluster;
- clean pages linked: pages that are not copies of anything that joined a cluster.

``restore-dev``: restore each of the 49 (spun, source) development pairs from its source
(``--source-only``: no language model) and score it against the source with the dataset's
own site definition (``_raw/pairs.py``: lower-cased words aligned with difflib; a site is a
replaced run of 1-4 words with aligned words on both sides; small insertions and deletions of
1-3 words too). A site is *exact* when every source word of it comes out aligned in the
restored text (and for an insertion, the inserted words are gone); *damage* is the share of
the words the copy shared with the source, inside the aligned part (from the first to the
last aligned word), that the restoration broke.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from unspin.cluster import ClusterOptions, cluster_texts

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_dev"


# ----------------------------------------------------------------------------- baseline

def datatrove_minhash_clusters(texts: list[str]) -> list[int]:
    """Cluster ids by datatrove's MinHash with its default config (no verification)."""
    import tempfile

    import datatrove.pipeline.dedup.minhash as dt_minhash
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature

    from unspin.cluster.group import UnionFind

    class _Split:  # datatrove's English tokenizer needs spaCy; on simplify_text()'s output
        def word_tokenize(self, text):  # (lower-cased, punctuation removed) a split is the same
            return text.split()

    loader = dt_minhash.load_word_tokenizer
    dt_minhash.load_word_tokenizer = lambda language: _Split()
    try:
        tmp_ctx = tempfile.TemporaryDirectory()
        tmp = tmp_ctx.name
        step = MinhashDedupSignature(output_folder=tmp, config=MinhashConfig())
    finally:
        dt_minhash.load_word_tokenizer = loader
    with tmp_ctx:
        buckets: dict[tuple, list[int]] = {}
        for i, t in enumerate(texts):
            sh = step.get_shingles(t)
            if len(sh) == 0:
                continue
            for b, sig in enumerate(step.get_signature(sh)):
                buckets.setdefault((b, tuple(sig)), []).append(i)
    uf = UnionFind(len(texts))
    for members in buckets.values():
        for x in members[1:]:
            uf.union(members[0], x)
    return [uf.find(i) for i in range(len(texts))]


def unspin_clusters(marks: list[dict]) -> list[int]:
    return [m["id"] if m["id"] is not None else -1 - i for i, m in enumerate(marks)]


# ----------------------------------------------------------------------------- metrics

def pair_scores(cluster_of: list[int], related) -> dict:
    """Pair recall and precision of a clustering against ``related(i, j)``."""
    n = len(cluster_of)
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(cluster_of):
        groups.setdefault(c, []).append(i)
    predicted = {(a, b) for g in groups.values() for a, b in itertools.combinations(sorted(g), 2)}
    true = {(a, b) for a in range(n) for b in range(a + 1, n) if related(a, b)}
    hit = len(predicted & true)
    return {"pair_recall": hit / len(true) if true else None,
            "pair_precision": hit / len(predicted) if predicted else None,
            "true_pairs": len(true), "predicted_pairs": len(predicted)}


def pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


# ----------------------------------------------------------------------------- synthetic

def synthetic(n_families: int, n_distractors: int, seed: int = 0):
    from eval.corpora import load_docs, windows
    from eval.spinner import spin

    wins = windows(load_docs(split="dev"), 40, 150)
    if n_families + n_distractors > len(wins):
        sys.exit(f"run_cluster: only {len(wins)} dev windows: ask for fewer --families/--distractors")
    rng = random.Random(seed)
    rng.shuffle(wins)
    originals, distractors = wins[:n_families], wins[n_families: n_families + n_distractors]
    fams = ["function_words", "thesaurus", "tortured", "injected", "mixed"]
    texts, family, is_original, ids = [], [], [], []
    for k, d in enumerate(originals):
        texts.append(d.text), family.append(k), is_original.append(True), ids.append(d.id)
        for j in range(3):
            texts.append(spin(d.text, rng.choice(fams), seed=k * 10 + j).text)
            family.append(k), is_original.append(False), ids.append(f"{d.id}~spin{j}")
        half = d.text[: len(d.text) // 2]
        texts.append(spin(half, rng.choice(fams), seed=k * 10 + 9).text)
        family.append(k), is_original.append(False), ids.append(f"{d.id}~half")
    for d in distractors:
        texts.append(d.text), family.append(None), is_original.append(False), ids.append(d.id)
    return texts, family, is_original, ids


def run_synthetic(args) -> dict:
    texts, family, is_original, ids = synthetic(args.families, args.distractors, args.seed)
    n = len(texts)
    orig_of = {family[i]: i for i in range(n) if is_original[i]}
    t = time.perf_counter()
    marks = cluster_texts(texts, ids=list(range(n)), options=options_from(args))
    secs = time.perf_counter() - t
    copies = [i for i in range(n) if family[i] is not None and not is_original[i]]
    traced = sum(1 for i in copies if marks[i]["role"] == "copy" and marks[i]["source"] == orig_of[family[i]])
    links = [(i, marks[i]["source"]) for i in range(n) if marks[i]["role"] == "copy"]
    good = sum(1 for i, s in links if family[i] is not None and family[i] == family[s])
    related = lambda a, b: family[a] is not None and family[a] == family[b]  # noqa: E731
    ours = pair_scores(unspin_clusters(marks), related)
    t = time.perf_counter()
    base = pair_scores(datatrove_minhash_clusters(texts), related)
    base_secs = time.perf_counter() - t
    linked_distractors = sum(1 for i in range(n) if family[i] is None and marks[i]["role"] != "unique")
    out = {
        "documents": n, "families": args.families, "distractors": args.distractors,
        "trace_recall": traced / len(copies), "link_precision": good / len(links) if links else None,
        "links": len(links), "unspin": ours, "datatrove_minhash": base,
        "distractors_linked": linked_distractors, "seconds": round(secs, 1), "baseline_seconds": round(base_secs, 1),
    }
    return out


# ----------------------------------------------------------------------------- the dev set

def _jsonl(name: str) -> list[dict]:
    path = DEV / name
    if not path.exists():
        sys.exit(f"run_cluster: {path} not found (the development set lives in ../shared/data/real_dev)")
    return [json.loads(line) for line in path.open(encoding="utf-8")]


def run_dev(args, config=None) -> dict:
    """The development-set figures; ``config`` is passed to ``cluster_texts`` (the source
    choice: ``Config(tier="fast")`` for the fast tier alone, as the gate does)."""
    spun, sources, clean = _jsonl("spun.jsonl"), _jsonl("sources.jsonl"), _jsonl("clean.jsonl")
    pages = [("spun", r) for r in spun] + [("source", r) for r in sources] + [("clean", r) for r in clean]
    texts = [r["text"] for _, r in pages]
    ids = [r["id"] for _, r in pages]
    kind = [k for k, _ in pages]
    pos = {rid: i for i, rid in enumerate(ids)}
    own: dict[str, set[str]] = {}
    for _, r in pages:
        if r["id"].startswith("dev-spun") and r.get("source_id"):
            own[r["id"]] = {r["source_id"], *r.get("other_source_ids", [])}
    for s in sources:  # a source is the source of every spun id it lists
        for sid in s["for"]:
            own.setdefault(sid, set()).add(s["id"])
    group = {r["id"]: r.get("group") for r in spun}

    def article(rid: str) -> set:
        """Labels of the article a page is a version of (its group, its sources)."""
        out = set()
        if group.get(rid):
            out.add("g:" + group[rid])
        for src in own.get(rid, ()):
            out.add("s:" + src)
        if rid.startswith("dev-src"):
            out.add("s:" + rid)
        return out

    def related(a: int, b: int) -> bool:
        return bool(article(ids[a]) & article(ids[b]))

    t = time.perf_counter()
    marks = cluster_texts(texts, ids=ids, options=options_from(args), config=config)
    secs = time.perf_counter() - t
    with_source = [i for i in range(len(ids)) if ids[i] in own]
    traced = [i for i in with_source if marks[i]["role"] == "copy" and marks[i]["source"] in own[ids[i]]]
    same_cluster = [i for i in with_source if marks[i]["id"] is not None and any(
        marks[pos[s]]["id"] == marks[i]["id"] for s in own[ids[i]])]
    links = [(i, pos[marks[i]["source"]]) for i in range(len(ids)) if marks[i]["role"] == "copy"]
    wrong = [(ids[i], ids[s]) for i, s in links if not related(i, s)]
    grp_pairs = [(a, b) for a, b in itertools.combinations(range(len(spun)), 2)
                 if group.get(ids[a]) and group.get(ids[a]) == group.get(ids[b])]
    grp_hit = sum(1 for a, b in grp_pairs if marks[a]["id"] is not None and marks[a]["id"] == marks[b]["id"])
    clean_linked = [(ids[i], marks[i]) for i in range(len(ids)) if kind[i] == "clean" and marks[i]["role"] != "unique"]
    clean_partner = []
    for rid, m in clean_linked:
        partners = [ids[j] for j in range(len(ids)) if j != pos[rid] and marks[j]["id"] == m["id"]]
        clean_partner.append((rid, m["role"], m["similarity"], partners))
    ours = pair_scores(unspin_clusters(marks), related)
    base_clusters = datatrove_minhash_clusters(texts)
    base = pair_scores(base_clusters, related)
    base_grp = sum(1 for a, b in grp_pairs if base_clusters[a] == base_clusters[b])
    base_own = sum(1 for i in with_source if any(base_clusters[pos[s]] == base_clusters[i] for s in own[ids[i]]))
    not_traced = [(ids[i], marks[i]["role"], marks[i]["source"], sorted(own[ids[i]])) for i in with_source if i not in traced]
    return {
        "pages": len(ids), "spun_with_source": len(with_source),
        "trace_recall": len(traced) / len(with_source),
        "same_cluster_as_source": len(same_cluster) / len(with_source),
        "link_precision": (len(links) - len(wrong)) / len(links) if links else None, "links": len(links),
        "wrong_links": wrong,
        "group_pair_recall": grp_hit / len(grp_pairs), "group_pairs": len(grp_pairs),
        "clean_linked": len(clean_linked), "clean_pages": len(clean), "clean_linked_detail": clean_partner,
        "unspin": ours, "datatrove_minhash": base,
        "datatrove_group_pair_recall": base_grp / len(grp_pairs),
        "datatrove_same_cluster_as_source": base_own / len(with_source),
        "not_traced": not_traced, "seconds": round(secs, 1),
    }


# ----------------------------------------------------------------------------- restore from source

def _toks(t: str) -> list[str]:  # the dataset's own tokenisation (_raw/pairs.py)
    t = t.replace("’", "'").replace("‘", "'")
    return re.findall(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*", t.lower())


def _sites(a: list[str], b: list[str]):
    """pairs.py's sites: (kind, i1, i2, j1, j2) between aligned words; plus the aligned range."""
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    sites, equal = [], []
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            equal.append((i1, i2, j1, j2))
            continue
        inner = 0 < k < len(ops) - 1 and ops[k - 1][0] == "equal" and ops[k + 1][0] == "equal"
        if not inner:
            continue
        if tag == "replace" and i2 - i1 <= 4 and j2 - j1 <= 4:
            sites.append(("substitution", i1, i2, j1, j2))
        elif tag == "delete" and i2 - i1 <= 3:
            sites.append(("insertion", i1, i2, j1, j2))  # the spinner inserted words
        elif tag == "insert" and j2 - j1 <= 3:
            sites.append(("deletion", i1, i2, j1, j2))  # the spinner dropped words
    return sites, equal


def run_restore_dev(args) -> dict:
    from unspin import apply_spans
    from unspin.source_restore import restore_from_source

    spun = {r["id"]: r for r in _jsonl("spun.jsonl")}
    totals = Counter()
    per_pair = []
    for s in _jsonl("sources.jsonl"):
        for sid in s["for"]:
            text = spun[sid]["text"]
            r = restore_from_source(text, s["text"], s["id"])
            assert apply_spans(text, r.changes) == r.text
            a, b, c = _toks(text), _toks(s["text"]), _toks(r.text)
            sites, equal = _sites(a, b)
            # Which source words come out aligned in the restored text.
            ok_b = [False] * len(b)
            for i1, j1, n in difflib.SequenceMatcher(None, c, b, autojunk=False).get_matching_blocks():
                for j in range(j1, j1 + n):
                    ok_b[j] = True
            exact = 0
            for kind, i1, i2, j1, j2 in sites:
                if kind == "insertion":
                    # Exact when the words on both sides are aligned and nothing sits between them.
                    hit = all(ok_b[j] for j in (j1 - 1, j1)) and _adjacent(c, b, j1 - 1, j1)
                else:
                    hit = all(ok_b[j] for j in range(j1, j2))
                exact += hit
                totals[f"sites_{kind}"] += 1
                totals[f"exact_{kind}"] += hit
            if equal:
                lo, hi = equal[0][2], equal[-1][3]
                kept = [j for i1, i2, j1, j2 in equal for j in range(j1, j2)]
                broken = sum(1 for j in kept if not ok_b[j] and lo <= j < hi)
            else:
                kept, broken = [], 0
            totals["sites"] += len(sites)
            totals["exact"] += exact
            totals["kept_words"] += len(kept)
            totals["broken_words"] += broken
            totals["pairs"] += 1
            totals["changes"] += len(r.changes)
            per_pair.append((sid, s["id"], len(sites), exact, broken, len(kept)))
    by_kind = {k: {"sites": totals[f"sites_{k}"], "exact": totals[f"exact_{k}"],
                   "exact_share": totals[f"exact_{k}"] / totals[f"sites_{k}"] if totals[f"sites_{k}"] else None}
               for k in ("substitution", "insertion", "deletion")}
    return {"pairs": totals["pairs"], "sites": totals["sites"], "exact_share": totals["exact"] / totals["sites"],
            "by_kind": by_kind,
            "damage": totals["broken_words"] / totals["kept_words"], "changes": totals["changes"],
            "kept_words": totals["kept_words"], "broken_words": totals["broken_words"],
            "worst": sorted(per_pair, key=lambda p: (p[3] - p[2]))[:8]}


def _adjacent(c: list[str], b: list[str], j_left: int, j_right: int) -> bool:
    """Are source words ``j_left`` and ``j_right`` next to each other in the restored words?"""
    pairs = {(c[k], c[k + 1]) for k in range(len(c) - 1)}
    return (b[j_left], b[j_right]) in pairs


def options_from(args) -> ClusterOptions:
    changes = {k: getattr(args, k) for k in ("shingle", "window", "num_perm", "bands", "threshold", "min_run")
               if getattr(args, k, None) is not None}
    for item in getattr(args, "set", None) or ():
        key, _, value = item.partition("=")
        kind = type(getattr(ClusterOptions(), key))
        changes[key] = kind(float(value)) if kind is int else kind(value)
    return ClusterOptions(**changes)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.run_cluster", description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["synthetic", "dev", "restore-dev"])
    p.add_argument("--families", type=int, default=120, help="synthetic: originals (default 120)")
    p.add_argument("--distractors", type=int, default=200, help="synthetic: unrelated clean windows (default 200)")
    p.add_argument("--seed", type=int, default=0)
    for name in ("shingle", "window", "num_perm", "bands", "min_run"):
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=int, default=None,
                       help=f"ClusterOptions.{name} (default: the library's)")
    p.add_argument("--threshold", type=float, default=None, help="ClusterOptions.threshold")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="any other ClusterOptions field, e.g. --set min_matched=0 (repeatable)")
    args = p.parse_args(argv)
    fn = {"synthetic": run_synthetic, "dev": run_dev, "restore-dev": run_restore_dev}[args.what]
    out = fn(args)
    print(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
