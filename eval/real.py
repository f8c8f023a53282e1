"""The real development pages (``../shared/data/real_dev``): loading, groups and folds.

Every figure that claims to say how unspin does on the web comes from these pages: 147 real
spun pages of 11 spinner families, 28 originals matched to 48 of them, and 155 hard clean
pages (state media, non-native English, machine translation, LLM text, SEO copy, legal,
science). See the folder's README. Nothing here is copied into the repo or the wheel; the
pages are read at run time.

**Groups.** Several spins of one article (a variant ``group``), a spun page and its source,
and the spins of one source must never sit on both sides of a split. :func:`load` gives each
page a ``group`` key that joins all of these (union-find over variant groups and source
links); :func:`folds` deals whole groups into ``k`` folds, stratified by label.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from .corpora import DataMissing, data_dir

#: Length (characters) under which a page counts as short: titles, stubs, category snippets.
SHORT_CHARS = 400


@dataclass(frozen=True)
class Page:
    """One real page. ``label`` is 1 for spun, 0 for clean. ``family`` is the spinner family
    for spun pages, ``"clean"`` for clean ones; ``genre`` is the clean genre (or the family)."""

    id: str
    text: str
    label: int
    family: str
    genre: str
    group: str
    source_id: str | None = None
    anchors: tuple = field(default_factory=tuple)
    role: str = "page"  # "page" (spun.jsonl / clean.jsonl) or "source" (sources.jsonl)

    @property
    def short(self) -> bool:
        return len(self.text) < SHORT_CHARS


def real_dir() -> Path:
    return data_dir() / "real_dev"


def available() -> bool:
    d = real_dir()
    return all((d / f).is_file() for f in ("spun.jsonl", "clean.jsonl", "sources.jsonl"))


def _rows(name: str) -> list[dict]:
    p = real_dir() / name
    if not p.is_file():
        raise DataMissing(f"real development pages not found: {p} (set UNSPIN_SHARED_DATA)")
    with p.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def genre_group(genre: str) -> str:
    """A coarse clean-genre group for the per-genre tables (the fine genres number 133)."""
    g = genre.lower()
    for key, name in (
        ("llm", "llm"), ("machine-translation", "machine-translation"), ("legal", "legal"),
        ("science", "science"), ("academic", "science"), ("thesis", "science"),
        ("casino", "casino"), ("gambling", "casino"), ("payday", "finance"), ("finance", "finance"),
        ("loan", "finance"), ("dating", "dating"), ("bride", "dating"), ("news", "news"),
        ("opinion", "news"), ("religion", "news"), ("student-newspaper", "news"),
        ("essay", "essay"), ("esl", "essay"), ("ielts", "essay"), ("clinic", "health"),
        ("health", "health"), ("medical", "health"), ("spam", "spam-not-spun"),
        ("copy", "spam-not-spun"), ("rewrite", "spam-not-spun"), ("seo", "seo"),
        ("cbd", "seo"), ("vpn", "seo"), ("marketing", "seo"), ("blog", "blog"), ("forum", "blog"),
        ("prose", "old-prose-dialect"), ("dialect", "old-prose-dialect"),
    ):
        if key in g:
            return name
    return "other"


def load(include_sources: bool = False) -> list[Page]:
    """All real development pages (spun, then clean; then sources if asked), with group keys."""
    spun, clean, sources = _rows("spun.jsonl"), _rows("clean.jsonl"), _rows("sources.jsonl")
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        parent[find(a)] = find(b)

    for r in spun:
        find(r["id"])
        if r.get("group"):
            union(r["id"], "g:" + r["group"])
        for sid in [r.get("source_id")] + list(r.get("other_source_ids") or []):
            if sid:
                union(r["id"], sid)
    for r in sources:
        find(r["id"])
        for sp in r.get("for") or []:
            union(r["id"], sp)
    for r in clean:
        find(r["id"])

    def key(x: str) -> str:
        return find(x)

    pages = [Page(r["id"], r["text"], 1, r["kind"], r["kind"], key(r["id"]), r.get("source_id"),
                  tuple((a["start"], a["end"], a["kind"]) for a in r.get("anchors") or []))
             for r in spun]
    pages += [Page(r["id"], r["text"], 0, "clean", r.get("genre", ""), key(r["id"])) for r in clean]
    if include_sources:
        pages += [Page(r["id"], r["text"], 0, "clean", "source-original", key(r["id"]), role="source")
                  for r in sources]
    return pages


def folds(pages: list[Page], k: int = 5, seed: int = 0) -> list[int]:
    """Fold index per page: whole groups dealt into ``k`` folds, spun-heavy groups spread
    first so each fold gets a share of spun pages (greedy by size, stable for a seed)."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pages):
        groups.setdefault(p.group, []).append(i)
    rng = random.Random(seed)
    keys = sorted(groups)
    rng.shuffle(keys)
    keys.sort(key=lambda g: -len(groups[g]))
    spun_load = [0] * k
    size = [0] * k
    out = [0] * len(pages)
    for g in keys:
        members = groups[g]
        n_spun = sum(pages[i].label for i in members)
        if n_spun:
            f = min(range(k), key=lambda j: (spun_load[j], size[j]))
        else:
            f = min(range(k), key=lambda j: (size[j] - spun_load[j], size[j]))
        spun_load[f] += n_spun
        size[f] += len(members)
        for i in members:
            out[i] = f
    return out


def corpus_hash(pages: list[Page]) -> str:
    """sha256 (first 12 hex) over ids, labels and texts: pins the data an eval floor refers to."""
    h = hashlib.sha256()
    for p in sorted(pages, key=lambda p: p.id):
        h.update(f"{p.id}\t{p.label}\t".encode())
        h.update(p.text.encode("utf-8", "surrogatepass"))
        h.update(b"\n")
    return h.hexdigest()[:12]
