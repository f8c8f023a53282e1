"""Clean English documents for training and evaluating the detector.

Sources (all read at run time from the shared data directory, never copied into the repo):

* ``ewt``: UD English Web Treebank documents (answers, email, newsgroup, reviews, weblog),
  with the treebank's own train/dev/test split. CC BY-SA 4.0.
* ``gum``: UD English GUM documents of the permissively licensed genres (bio, conversation,
  interview, news, speech, textbook, vlog, voyage), with GUM's own split. With
  ``include_nc=True`` the non-commercial and unclear-licence genres are added too (fiction,
  wikiHow, academic, court, essay, letter, podcast): eval may read them, nothing derived
  from them may ship.
* ``pud``: UD English PUD sentences grouped by ``doc_id`` into short pseudo-documents
  (a few sentences each, not running text). PUD has no split, so one is assigned by a
  stable hash of the document id (70/15/15).

Splits are always by document: every window of a document has that document's split.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

from unspin.tokenize import sentence_spans

SOURCES = ("ewt", "gum", "pud")
SPLITS = ("train", "dev", "test")

_FILES = {
    "ewt": ("ud_english_ewt/ewt_docs.jsonl",),
    "gum": ("ud_english_gum/gum_docs.permissive.jsonl",),
    "gum_nc": ("ud_english_gum/gum_docs.nc.jsonl", "ud_english_gum/gum_docs.unclear.jsonl"),
    "pud": ("ud_english_pud/pud_sentences.jsonl",),
}


class DataMissing(FileNotFoundError):
    """The shared data directory or one of its files is not where we looked."""


@dataclass(frozen=True)
class Doc:
    """One clean document (or a window of one). ``id`` is unique across sources."""

    id: str
    text: str
    source: str
    genre: str
    split: str

    @property
    def n_words(self) -> int:
        return len(self.text.split())


def data_dir() -> Path:
    """The shared data directory: ``$UNSPIN_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("UNSPIN_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _path(rel: str, root: Path | None = None) -> Path:
    root = data_dir() if root is None else Path(root)
    p = root / rel
    if not p.is_file():
        raise DataMissing(
            f"shared data file not found: {p} "
            f"(set UNSPIN_SHARED_DATA to the directory that holds {rel.split('/')[0]}/)"
        )
    return p


def _read_jsonl(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def hash_split(key: str, train: int = 70, dev: int = 15) -> str:
    """A stable train/dev/test assignment from a key (sha256, not Python's salted hash)."""
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    if bucket < train:
        return "train"
    if bucket < train + dev:
        return "dev"
    return "test"


def _load_ud_docs(source: str, files: Iterable[str], root: Path | None) -> list[Doc]:
    out = []
    for rel in files:
        for rec in _read_jsonl(_path(rel, root)):
            out.append(Doc(id=f"{source}:{rec['id']}", text=rec["text"], source=source,
                           genre=rec["genre"], split=rec["split"]))
    return out


def _load_pud(root: Path | None) -> list[Doc]:
    groups: dict[str, list[dict]] = {}
    for rec in _read_jsonl(_path(_FILES["pud"][0], root)):
        groups.setdefault(rec["doc_id"], []).append(rec)
    out = []
    for doc_id, recs in groups.items():  # dicts keep file order: deterministic
        out.append(Doc(id=f"pud:{doc_id}", text=" ".join(r["text"] for r in recs), source="pud",
                       genre=recs[0]["domain"], split=hash_split(doc_id)))
    return out


def load_docs(sources: Iterable[str] = SOURCES, include_nc: bool = False,
              split: str | None = None, root: str | Path | None = None) -> list[Doc]:
    """Load clean documents from the shared data.

    ``split`` keeps only one of train/dev/test. ``include_nc`` adds GUM's non-commercial and
    unclear-licence genres (eval only). Raises :class:`DataMissing` naming the path when a
    file is absent.
    """
    sources = tuple(sources)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown source(s) {unknown}; choose from {SOURCES}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {SPLITS}")
    root = None if root is None else Path(root)
    docs: list[Doc] = []
    for s in sources:
        if s == "ewt":
            docs += _load_ud_docs("ewt", _FILES["ewt"], root)
        elif s == "gum":
            docs += _load_ud_docs("gum", _FILES["gum"], root)
            if include_nc:
                docs += _load_ud_docs("gum", _FILES["gum_nc"], root)
        elif s == "pud":
            docs += _load_pud(root)
    if split is not None:
        docs = [d for d in docs if d.split == split]
    return docs


def _units(text: str, max_words: int) -> list[tuple[str, str]]:
    """Paragraphs (or sentences of over-long paragraphs) as (separator_before, text)."""
    units: list[tuple[str, str]] = []
    for para in text.split("\n\n"):
        para = para.strip()
        if not para:
            continue
        if len(para.split()) <= max_words:
            units.append(("\n\n", para))
            continue
        first = True
        for a, b in sentence_spans(para):
            sent = para[a:b].strip()
            if not sent:
                continue
            ws = sent.split()
            # A single sentence longer than a window (rare: lists, tables) is cut by words.
            for k in range(0, len(ws), max_words):
                units.append(("\n\n" if first else " ", " ".join(ws[k:k + max_words])))
                first = False
    return units


def windows(docs: Iterable[Doc], min_words: int = 80, max_words: int = 700) -> list[Doc]:
    """Cut documents into windows of ``min_words``..``max_words`` words.

    Consecutive paragraphs of the same document are concatenated (paragraph breaks kept)
    until the next one would pass ``max_words``; paragraphs longer than that are split at
    sentence ends. A short tail is merged into the previous window when it fits, otherwise
    dropped, as are documents shorter than ``min_words``. Window ids are ``<doc id>#w<k>``.
    """
    if min_words > max_words:
        raise ValueError("min_words must not exceed max_words")
    out: list[Doc] = []
    for doc in docs:
        made: list[str] = []
        cur: list[str] = []
        n = 0
        for sep, unit in _units(doc.text, max_words):
            m = len(unit.split())
            if cur and n + m > max_words:
                if n >= min_words:
                    made.append("".join(cur))
                cur, n = [], 0
            cur.append(unit if not cur else sep + unit)
            n += m
        if cur:
            tail = "".join(cur)
            if n >= min_words:
                made.append(tail)
            elif made and len(made[-1].split()) + n <= max_words:
                made[-1] = made[-1] + "\n\n" + tail
        for k, text in enumerate(made):
            out.append(replace(doc, id=f"{doc.id}#w{k}", text=text))
    return out


def corpus_hash(texts: Iterable[str]) -> str:
    """First 12 hex digits of the sha256 of the texts joined by NUL: names an eval corpus."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:12]
