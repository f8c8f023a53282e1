#!/usr/bin/env python3
"""Rebuild unspin's shipped lexicons (``unspin/data/*.tsv.gz``) from the public sources.

Usage::

    python scripts/build_lexicons.py [--shared ../shared/data] [--out unspin/data]

Three files are written, each a gzip'd TSV whose first line is a provenance header::

    # unspin-lexicon name=<name> format=1 source=<files> source_sha256=<short hashes> [wordfreq=<ver>]

and whose second line names the columns. The output is deterministic: the same sources
(and the same wordfreq version, for the thesaurus) give byte-identical files.

- ``tortured_phrases``: multi-word tortured phrases from the Problematic Paper Screener
  lists (``tortured_phrases/tortured_phrases.jsonl``): exact queries, torturedcheck-only
  phrases, and boolean queries (``"spun" AND "context"``: the phrase is literal, but PPS
  asked for extra context, so they are flagged ``qualified=1``). Proximity queries are
  skipped. Columns: id, spun, original, num_papers, qualified.
- ``reverse_spin``: word-level spun -> original pairs aligned out of every tortured pair.
  Columns: spun, original, support, papers.
- ``thesaurus``: spinner-style synonym map (WordNet 3.1 co-lemmas, MyThes mutual entries),
  keeping only candidates clearly more frequent than the word, plus the WordNet parts of
  speech of every single-word WordNet lemma. Columns: word, zipf, candidates, pos.

Only permissively licensed sources are read (see NOTICE); nothing from the GUM NC files.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import hashlib
import io
import json
import re
import sys
import time
from collections import defaultdict
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from unspin.tokenize import tokenize, words  # noqa: E402
from unspin.wordclasses import FUNCTION_WORDS  # noqa: E402

FORMAT = 1
TORTURED_SRC = "tortured_phrases/tortured_phrases.jsonl"
WORDNET_SRC = "synonyms/wordnet31_synonyms.tsv"
SYNSETS_SRC = "synonyms/wordnet31_synsets.jsonl"
MYTHES_SRC = "synonyms/mythes_en_US_thesaurus.txt"

#: Thesaurus thresholds (documented in unspin/lexicons.py).
MIN_GAIN = 0.5  # zipf(candidate) >= zipf(word) + MIN_GAIN
MIN_CANDIDATE_ZIPF = 3.0
MAX_CANDIDATES = 8

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " "})
_PAREN_NOTE = re.compile(r"\s*[(\[][^()\[\]]*[)\]]")
_WS = re.compile(r"\s+")
_POS_LETTER = {"noun": "n", "verb": "v", "adj": "a", "adv": "r", "n": "n", "v": "v", "a": "a", "s": "a", "r": "r"}


def short_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def header(name: str, shared: Path, sources: list[str], extra: str = "") -> str:
    hashes = ",".join(short_sha(shared / s) for s in sources)
    line = f"# unspin-lexicon name={name} format={FORMAT} source={','.join(sources)} source_sha256={hashes}"
    return line + (f" {extra}" if extra else "")


def write_tsv(path: Path, head: str, columns: list[str], rows: list[list[str]]) -> int:
    """Write a deterministic gzip'd TSV (mtime 0, no file name in the gzip header)."""
    lines = [head, "\t".join(columns)]
    for row in rows:
        cells = [str(c) for c in row]
        assert all("\t" not in c and "\n" not in c for c in cells), row
        lines.append("\t".join(cells))
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    path.write_bytes(buf.getvalue())
    return len(buf.getvalue())


def normalise_phrase(text: str) -> str:
    return _WS.sub(" ", text.translate(_QUOTES)).strip().lower()


def clean_original(text: str, spun: str = "") -> str:
    """Reduce an expected phrase to one restorable wording.

    Drops editorial notes ("(?)", "(BP)", "[company]", nested ones too), stray quotes and
    trailing "?"; of listed alternatives keeps the first ("older adults / seniors" ->
    "older adults", "infected/affected individuals" -> "infected individuals", "A OR B" ->
    "A") unless the spun phrase itself has a slash ("acid/base"). Returns "" when nothing
    usable is left ("???", or a commentary with a link)."""
    text = text.translate(_QUOTES).replace("\\", "").replace('"', "")
    if "http" in text:
        return ""
    prev = None
    while prev != text:  # innermost notes first, so nested parentheses go too
        prev, text = text, _PAREN_NOTE.sub("", text)
    text = _WS.sub(" ", text).strip().rstrip("?").strip()
    text = text.split(" OR ")[0].split(" / ")[0].strip()
    if "/" in text and "/" not in spun:
        text = " ".join(tok.split("/")[0] for tok in text.split(" "))
    if not any(ch.isalpha() for ch in text) or "?" in text:
        return ""
    return text


# --------------------------------------------------------------------------- tortured


def load_tortured(shared: Path) -> list[dict]:
    rows = []
    with open(shared / TORTURED_SRC, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(json.loads(line))
    return rows


def build_tortured(records: list[dict], lemmas: frozenset[str] = frozenset()) -> list[list[str]]:
    """Rows for tortured_phrases: exact phrases of two or more words, one row per word key
    (the entry with most papers wins). Single-word entries reach reverse_spin instead.
    Phrases that are themselves WordNet lemmas ("search engine") are ordinary English
    terms, not reliable fingerprints on their own, and are left out."""
    by_key: dict[tuple[str, ...], dict] = {}
    for rec in records:
        qtype = rec.get("query_type")
        if qtype not in ("exact", None, "boolean"):
            continue  # proximity queries ("a b"~N) are not contiguous phrases
        spun = normalise_phrase(rec["spun"])
        original = clean_original(rec["original"], spun)
        if not original or not spun:
            continue
        toks = tokenize(spun)
        if any(t.kind not in ("word", "punct") for t in toks):
            continue  # digits/URLs: the word-only key would not describe the phrase
        key = tuple(words(spun))
        if len(key) < 2:
            continue  # single words go to reverse_spin (handled from all records)
        if " ".join(key) in lemmas:
            continue  # a real English compound: honest text uses it
        if tuple(words(original.lower())) == key:
            continue  # "self-supervised learning" -> "self-supervised learning (ssl)"
        papers = rec.get("num_papers")
        entry = {"id": rec["id"], "spun": spun, "original": original, "num_papers": papers,
                 "qualified": qtype == "boolean"}
        old = by_key.get(key)
        if old is None or (not entry["qualified"], papers or 0) > (not old["qualified"], old["num_papers"] or 0):
            by_key[key] = entry
    rows = [
        [e["id"], e["spun"], e["original"], "" if e["num_papers"] is None else str(e["num_papers"]),
         "1" if e["qualified"] else "0"]
        for _, e in sorted(by_key.items(), key=lambda kv: kv[1]["id"])
    ]
    return rows


def _trivial_same(a: str, b: str) -> bool:
    """Equal up to a plural -s (methods/method)."""
    return a == b or a.rstrip("s") == b.rstrip("s") or a + "es" == b or b + "es" == a


def word_pairs(spun: list[str], original: list[str]) -> list[tuple[str, str]]:
    """Aligned differing word pairs between a spun and an original token sequence."""
    if len(spun) == len(original):
        return [(s, o) for s, o in zip(spun, original) if s != o]
    pairs = []
    sm = difflib.SequenceMatcher(a=spun, b=original, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "replace" and i2 - i1 == j2 - j1:
            pairs.extend(zip(spun[i1:i2], original[j1:j2]))
    return pairs


def build_reverse_spin(records: list[dict]) -> list[list[str]]:
    """Word pairs from every tortured entry (exact, boolean, proximity and single-word)."""
    support: dict[tuple[str, str], set[str]] = defaultdict(set)
    papers: dict[tuple[str, str], int] = defaultdict(int)
    for rec in records:
        spun = normalise_phrase(rec["spun"])
        original = clean_original(rec["original"], spun)
        if not original:
            continue
        s_toks = words(spun)
        o_toks = words(original.lower())
        for s, o in set(word_pairs(s_toks, o_toks)):
            if not (s.isalpha() and o.isalpha()) or _trivial_same(s, o):
                continue
            if rec["id"] not in support[(s, o)]:
                support[(s, o)].add(rec["id"])
                papers[(s, o)] += rec.get("num_papers") or 0
    items = sorted(support, key=lambda p: (p[0], -len(support[p]), -papers[p], p[1]))
    return [[s, o, str(len(support[(s, o)])), str(papers[(s, o)])] for s, o in items]


# --------------------------------------------------------------------------- thesaurus


def load_wordnet(shared: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    syn: dict[str, set[str]] = defaultdict(set)
    pos: dict[str, set[str]] = defaultdict(set)
    with open(shared / WORDNET_SRC, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            word, p, syns = line.rstrip("\n").split("\t")
            w = normalise_phrase(word)
            pos[w].add(_POS_LETTER[p])
            syn[w].update(normalise_phrase(s) for s in syns.split("|") if s)
    # Every lemma (including those with no co-lemma) for the POS column.
    with open(shared / SYNSETS_SRC, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            letter = _POS_LETTER[rec["ss_type"]]
            for lemma in rec["lemmas"]:
                pos[normalise_phrase(lemma)].add(letter)
    for w in syn:
        syn[w].discard(w)
    return syn, pos


def load_mythes(shared: Path) -> dict[str, set[str]]:
    rel: dict[str, set[str]] = defaultdict(set)
    with open(shared / MYTHES_SRC, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("|")
            w = normalise_phrase(parts[0])
            rel[w].update(normalise_phrase(p) for p in parts[1:] if p)
            rel[w].discard(w)
    return rel


def build_thesaurus(shared: Path) -> list[list[str]]:
    from wordfreq import zipf_frequency

    wn_syn, wn_pos = load_wordnet(shared)
    mythes = load_mythes(shared)
    zcache: dict[str, float] = {}

    def z(x: str) -> float:
        v = zcache.get(x)
        if v is None:
            v = zcache[x] = zipf_frequency(x, "en")
        return v

    rows = []
    for w in sorted(set(wn_syn) | set(mythes) | set(wn_pos)):
        if not w or "\t" in w:
            continue
        if " " in w and (w.split()[0] in FUNCTION_WORDS or w.split()[-1] in FUNCTION_WORDS):
            # phrasal verbs and prepositional phrases ("close to", "suck up") are everyday
            # English; a spinner's multiword swaps are compounds like "family unit"
            continue
        cands = set(wn_syn.get(w, ()))
        cands.update(s for s in mythes.get(w, ()) if w in mythes.get(s, ()))
        zw = z(w)
        kept = []
        for s in cands:
            if not s or "|" in s or ":" in s or _trivial_same(s, w) or len(s) < 3 or s in FUNCTION_WORDS:
                # "iodine" -> "i" (its chemical symbol) or "represent" -> "be" are not
                # originals a spinner would have replaced
                continue
            if " " in s and " " not in w:
                continue  # wordfreq rates phrases too high; a phrase is rarely the original of a word
            zs = z(s)
            if zs >= MIN_CANDIDATE_ZIPF and zs >= zw + MIN_GAIN:
                kept.append((s, zs))
        kept.sort(key=lambda c: (-c[1], c[0]))
        kept = kept[:MAX_CANDIDATES]
        pos = "".join(p for p in "nvar" if p in wn_pos.get(w, ()))
        # Compact: rows with candidates, plus single-word WordNet lemmas (for word_pos).
        if not kept and not (pos and " " not in w):
            continue
        cand_s = "|".join(f"{s}:{zs:.1f}" for s, zs in kept)
        rows.append([w, f"{zw:.1f}", cand_s, pos])
    return rows


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data",
                    help="folder holding the public datasets (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=REPO / "unspin" / "data",
                    help="where to write the .tsv.gz files (default: unspin/data)")
    args = ap.parse_args(argv)
    shared: Path = args.shared
    for src in (TORTURED_SRC, WORDNET_SRC, SYNSETS_SRC, MYTHES_SRC):
        if not (shared / src).is_file():
            print(f"build_lexicons: error: missing source {shared / src}", file=sys.stderr)
            return 2
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    records = load_tortured(shared)
    wn_syn, wn_pos = load_wordnet(shared)
    tp_rows = build_tortured(records, frozenset(w for w in set(wn_syn) | set(wn_pos) if " " in w))
    size = write_tsv(args.out / "tortured_phrases.tsv.gz",
                     header("tortured_phrases", shared, [TORTURED_SRC]),
                     ["id", "spun", "original", "num_papers", "qualified"], tp_rows)
    print(f"tortured_phrases: {len(tp_rows)} rows, {size} bytes")

    rs_rows = build_reverse_spin(records)
    size = write_tsv(args.out / "reverse_spin.tsv.gz",
                     header("reverse_spin", shared, [TORTURED_SRC]),
                     ["spun", "original", "support", "papers"], rs_rows)
    print(f"reverse_spin: {len(rs_rows)} rows, {size} bytes")

    th_rows = build_thesaurus(shared)
    size = write_tsv(args.out / "thesaurus.tsv.gz",
                     header("thesaurus", shared, [WORDNET_SRC, SYNSETS_SRC, MYTHES_SRC],
                            f"wordfreq={version('wordfreq')} min_gain={MIN_GAIN} "
                            f"min_zipf={MIN_CANDIDATE_ZIPF} max_candidates={MAX_CANDIDATES}"),
                     ["word", "zipf", "candidates", "pos"], th_rows)
    n_cand = sum(1 for r in th_rows if r[2])
    print(f"thesaurus: {len(th_rows)} rows ({n_cand} with candidates), {size} bytes")
    print(f"built in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
