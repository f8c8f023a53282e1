"""A reference index on disk, and tracing one text to its source in it.

``unspin index build CORPUS -o INDEX`` reads a corpus (any input ``unspin scan`` reads) once
and writes an SQLite file: every document's id, text and canonical tokens, and its LSH keys
in a table indexed by key. :func:`trace` then finds the source of a text: the documents that
share LSH keys with it (most shared first) are verified by in-order containment, and the best
one at or above the threshold is the source. A corpus that is not an index is indexed in
memory for the one query.

The file holds a format version and the :class:`ClusterOptions` it was built with; a query
always uses the index's own options (keys from other settings would never match).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .fingerprint import fingerprint
from .minhash import document_keys
from .options import ClusterOptions
from .skeleton import unpack
from .tokens import document_tokens, document_tokens_many
from .verify import align, link

FORMAT = 2  # 2: tokens are packed document arrays (canonical tokens + skeleton), skeleton keys
_MAGIC = b"SQLite format 3\x00"
#: Candidates verified per query (most shared keys first).
MAX_CANDIDATES = 50


def _signed(a: np.ndarray) -> list[int]:
    """uint64 -> int64 values (SQLite integers are signed)."""
    return a.astype(np.uint64).view(np.int64).tolist()


def is_index(path: str) -> bool:
    """Is ``path`` an unspin index (an SQLite file)?"""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as fh:
        return fh.read(16) == _MAGIC


class Index:
    """An open reference index (SQLite, on disk or in memory)."""

    def __init__(self, conn: sqlite3.Connection, options: ClusterOptions):
        self.conn = conn
        self.options = options

    # -- building
    @classmethod
    def create(cls, path: str, options: ClusterOptions | None = None) -> "Index":
        options = options or ClusterOptions()
        if path != ":memory:":
            if os.path.exists(path):
                os.remove(path)
        conn = sqlite3.connect(path)
        conn.executescript("""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE docs (doc INTEGER PRIMARY KEY, id TEXT, text TEXT, tokens BLOB);
            CREATE TABLE keys (key INTEGER, doc INTEGER);
        """)
        conn.execute("INSERT INTO meta VALUES ('format', ?)", (str(FORMAT),))
        conn.execute("INSERT INTO meta VALUES ('options', ?)", (json.dumps(options.to_dict()),))
        return cls(conn, options)

    def add(self, records: list[tuple[object, str]]) -> None:
        """Add ``(id, text)`` pairs."""
        toks = document_tokens_many([t for _, t in records])
        keys = document_keys(toks, self.options)
        cur = self.conn.execute("SELECT COALESCE(MAX(doc), -1) FROM docs")
        base = cur.fetchone()[0] + 1
        self.conn.executemany("INSERT INTO docs VALUES (?, ?, ?, ?)",
                              [(base + k, json.dumps(rid, default=str), text, t.tobytes())
                               for k, ((rid, text), t) in enumerate(zip(records, toks))])
        self.conn.executemany("INSERT INTO keys VALUES (?, ?)",
                              [(key, base + k) for k, ks in enumerate(keys) for key in _signed(ks)])

    def finish(self) -> None:
        self.conn.execute("CREATE INDEX IF NOT EXISTS keys_key ON keys (key)")
        self.conn.commit()

    # -- opening
    @classmethod
    def open(cls, path: str) -> "Index":
        if not is_index(path):
            raise InputError(f"{path} is not an unspin index (build one with: unspin index build CORPUS -o INDEX)")
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{path} is not an unspin index ({exc})") from None
        if meta.get("format") != str(FORMAT):
            raise InputError(f"{path} is an index of format {meta.get('format')!r}; this unspin reads format "
                             f"{FORMAT}: rebuild it with unspin index build")
        return cls(conn, ClusterOptions(**json.loads(meta["options"])))

    def __len__(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    def close(self) -> None:
        self.conn.close()

    # -- querying
    def candidates(self, keys: np.ndarray, limit: int = MAX_CANDIDATES) -> list[tuple[int, int]]:
        """(doc, shared keys) of the documents sharing keys with a query, most first."""
        if len(keys) == 0:
            return []
        values = _signed(keys)
        counts: dict[int, int] = {}
        for k in range(0, len(values), 500):
            chunk = values[k: k + 500]
            q = f"SELECT doc, COUNT(*) FROM keys WHERE key IN ({','.join('?' * len(chunk))}) GROUP BY doc"
            for doc, n in self.conn.execute(q, chunk):
                counts[doc] = counts.get(doc, 0) + n
        return sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:limit]

    def document(self, doc: int) -> tuple[object, str, np.ndarray]:
        rid, text, blob = self.conn.execute("SELECT id, text, tokens FROM docs WHERE doc = ?", (doc,)).fetchone()
        return json.loads(rid), text, np.frombuffer(blob, dtype=np.uint64)


def build_index(inputs: list[str], output: str, options: ClusterOptions | None = None,
                text_field: str = "text", id_field: str = "id", progress: bool = False) -> int:
    """Index the documents of ``inputs`` into the SQLite file ``output``; returns how many."""
    from ..scan.readers import detect
    from ..scan.shards import progress_bar

    if not inputs:
        raise InputError("no input given")
    sources = [detect(p) for p in inputs]
    for s in sources:
        if os.path.abspath(s.path) == os.path.abspath(output):
            raise InputError(f"the output {output} is also an input; choose another output")
    tmp = output + ".tmp"
    index = Index.create(tmp, options)
    bar = progress_bar(progress, None, 0, desc="unspin index")
    n = 0
    try:
        for source in sources:
            batch: list[tuple[object, str]] = []
            for item in _documents(source, text_field, id_field):
                batch.append(item)
                if len(batch) >= 512:
                    index.add(batch)
                    n += len(batch)
                    if bar is not None:
                        bar.update(len(batch))
                    batch = []
            if batch:
                index.add(batch)
                n += len(batch)
        index.finish()
        index.close()
        os.replace(tmp, output)
    finally:
        if bar is not None:
            bar.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    return n


def _documents(source, text_field: str, id_field: str):
    """(id, text) of each readable record of ``source``; unreadable records are skipped (an
    index holds references, not error records). A record without an id gets ``name:index``."""
    from ..scan.readers import RecordError, decode_raw, iter_raw

    for raw in iter_raw(source):
        try:
            record, text, _ = decode_raw(raw, source, text_field, id_field)
        except RecordError:
            continue
        rid = record.get(id_field)
        yield (f"{source.name}:{raw.index}" if rid is None else rid, text)


def open_reference(against: str, options: ClusterOptions | None = None, text_field: str = "text",
                   id_field: str = "id") -> Index:
    """An index file as it is, or a corpus (file or folder) indexed in memory."""
    if is_index(against):
        return Index.open(against)
    from ..scan.readers import detect

    index = Index.create(":memory:", options)
    if os.path.isfile(against) and against.lower().endswith(".txt"):  # one plain-text document
        from ..textio import read_input

        index.add([(os.path.basename(against), read_input(against)[0])])
        index.finish()
        return index
    batch = list(_documents(detect(against), text_field, id_field))
    if batch:
        index.add(batch)
    index.finish()
    return index


@dataclass
class TraceResult:
    """``source`` is the best verified candidate (or None); ``candidates`` every one checked."""

    source: dict | None
    candidates: list[dict]
    source_text: str | None = None
    note: str | None = None

    def to_dict(self) -> dict:
        d = {"source": self.source, "candidates": self.candidates}
        if self.note:
            d["note"] = self.note
        return d


def _char_blocks(fq, fs, blocks) -> list[list[int]]:
    """Matched runs as character ranges ``[query_start, query_end, source_start, source_end]``."""
    return [[int(fq.starts[i]), int(fq.ends[i + n - 1]), int(fs.starts[j]), int(fs.ends[j + n - 1])]
            for i, j, n in blocks]


def trace(text: str, index: Index, threshold: float | None = None, limit: int = MAX_CANDIDATES) -> TraceResult:
    """Find the source of ``text`` in ``index``: the candidate with the highest similarity
    among those :func:`unspin.cluster.verify.link` links (canonical containment at least
    ``threshold``, or skeleton evidence)."""
    opts = index.options if threshold is None else index.options.replace(threshold=threshold)
    doc = document_tokens(text)
    q = unpack(doc)[0]
    if len(q) < opts.min_tokens:
        return TraceResult(None, [], note=f"too short to trace ({len(q)} canonical tokens, at least "
                                          f"{opts.min_tokens} needed)")
    keys = document_keys([doc], opts)[0]
    cands = []
    best = None
    for d, shared in index.candidates(keys, limit):
        rid, stext, sdoc = index.document(d)
        stoks = unpack(sdoc)[0]
        al = align(q, stoks, opts.min_run)
        sim = link(doc, sdoc, opts)
        entry = {"id": rid, "similarity": round(al.containment if sim is None else sim, 4), "shared_keys": shared}
        cands.append(entry)
        if sim is not None and (best is None or sim > best[0] or (sim == best[0] and al.matched > best[1].matched)):
            best = (sim, al, rid, stext)
    cands.sort(key=lambda c: (-c["similarity"], -c["shared_keys"]))
    if best is None:
        return TraceResult(None, cands)
    sim, al, rid, stext = best
    fq, fs = fingerprint(text), fingerprint(stext)
    alignment = {**al.to_dict(), "blocks": _char_blocks(fq, fs, al.blocks)}
    return TraceResult({"id": rid, "similarity": round(sim, 4), "alignment": alignment}, cands, stext)
