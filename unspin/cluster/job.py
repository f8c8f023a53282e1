"""The ``unspin cluster`` job: cluster the documents of a corpus, resumably.

Stages (each one's result is kept on disk, so a killed run resumes where it stopped):

1. **signatures** (worker processes): read the inputs with ``unspin.scan``'s readers, compute
   every document's canonical tokens and LSH keys; written per input shard to
   ``OUTPUT/_cluster_work/sig-FFFFF-KKKKKK.npz`` with a done marker. Memory stays bounded:
   a few batches in flight, one shard's results held at a time.
2. **clusters**: bucket all keys (one numpy sort), verify candidate pairs by in-order
   containment (worker processes), build clusters, score the members with the fast detector
   (a document that already carries ``unspin.score`` from ``unspin scan`` keeps it), choose
   each cluster's source; written to ``_cluster_work/clusters.npz``.
3. **output**: read the inputs again and write every record with
   ``record["unspin"]["cluster"]`` added, in shards ``part-FFFFF-KKKKKK`` with done markers
   (:mod:`unspin.scan.shards`, the layout every batch job shares), merged into the output
   file at the end. In Parquet output the object is the column ``unspin_cluster`` instead
   (the ``unspin`` column has a fixed type shared with ``unspin scan``).

Shard names depend only on the inputs, so a resumed run gives the same output as an
uninterrupted one. A record that cannot be read is written with ``unspin.error`` and a
``unique`` cluster object; the job goes on.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field

import numpy as np

from ..config import Config
from ..errors import InputError, UnspinError
from ..scan.readers import RecordError, Source, count_records, decode_raw, detect, iter_raw
from ..scan.shards import Layout, ShardedOutput, plan_output, progress_bar, shard_batches, shard_name, write_done
from ..scan.writers import ShardWriter, encode_jsonl
from .fingerprint import warm_up
from .group import annotations, choose_sources, components
from .minhash import document_keys
from .options import ClusterOptions
from .tokens import document_tokens_and_stats
from .core import first_config, pairs_from_buckets, second_config, source_scores
from .verify import link, similarity as pair_similarity

JOB = "cluster"
WORK = "_cluster_work"
MANIFEST_VERSION = 2  # 2: packed document arrays (canonical tokens + skeleton)
ENGINES = ("local",)


@dataclass(frozen=True)
class JobOptions:
    """How to run a cluster job. *(job)* fields change the output and go in the manifest."""

    #: *(job)* Field holding the text.
    text_field: str = "text"
    #: *(job)* Field holding the document id (the ``source`` field names records by it;
    #: records without one are named ``FILE:INDEX``).
    id_field: str = "id"
    #: *(job)* Field holding a date (ISO text sorts in time order): the earlier of two
    #: equally clean members becomes the source.
    date_field: str = "date"
    #: *(job)* Documents per shard, per input file.
    shard_size: int = 10_000
    #: *(job)* Records larger than this become error records.
    max_record_bytes: int = 64 << 20
    #: *(job)* Shard format when the output is a folder.
    output_format: str | None = None
    #: Worker processes (``None``: all cores).
    workers: int | None = None
    #: ``"local"`` only for now.
    engine: str = "local"
    #: Documents sent to a worker at a time.
    batch_size: int = 256
    #: Discard a different earlier job's output instead of refusing.
    overwrite: bool = False
    #: Progress bars on standard error (when it is a terminal).
    progress: bool = True

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise InputError(
                f"--engine {self.engine!r} is not available for unspin cluster (engines: {', '.join(ENGINES)}); "
                "the local process pool runs every stage")
        if self.shard_size < 1 or self.batch_size < 1 or self.max_record_bytes < 1:
            raise InputError("--shard-size, batch size and --max-record-bytes must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise InputError("--workers must be at least 1")

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def job_fields(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in ("text_field", "id_field", "date_field", "shard_size", "max_record_bytes")}


@dataclass
class ClusterSummary:
    """What a cluster job did (``seconds`` holds each stage's time in this run)."""

    documents: int = 0
    errors: int = 0
    clusters: int = 0
    copies: int = 0
    unique: int = 0
    candidate_pairs: int = 0
    verified_pairs: int = 0
    resumed_shards: int = 0
    seconds: dict = field(default_factory=dict)
    workers: int = 1
    output: str = ""

    def to_dict(self) -> dict:
        return {**asdict(self), "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    def line(self) -> str:
        t = sum(self.seconds.values())
        text = (f"{self.documents:,} documents: {self.clusters:,} clusters ({self.copies:,} copies), "
                f"{self.unique:,} unique, {self.errors:,} errors; {self.candidate_pairs:,} candidate pairs, "
                f"{self.verified_pairs:,} verified; {t:,.1f} s ({self.workers} worker{'s' if self.workers != 1 else ''})")
        if self.resumed_shards:
            text += f"; {self.resumed_shards} shard(s) were already done"
        return text


# ----------------------------------------------------------------------------- per document

def _id_of(record: dict, id_field: str, source: Source, index: int):
    value = record.get(id_field)
    if value is None or isinstance(value, (dict, list)):
        return f"{source.name}:{index}"
    return value


def _score_hint(record: dict) -> float:
    """The spun score a record already carries (``unspin scan`` output), NaN when none."""
    u = record.get("unspin")
    if isinstance(u, dict) and isinstance(u.get("score"), (int, float)):
        return float(u["score"])
    return math.nan


class _Signer:
    def __init__(self, jopts: JobOptions, options: ClusterOptions):
        self.jopts = jopts
        self.options = options

    def batch(self, raws, source: Source) -> list[tuple]:
        jo = self.jopts
        rows, texts = [], []
        for raw in raws:
            try:
                record, text, _notes = decode_raw(raw, source, jo.text_field, jo.id_field, jo.max_record_bytes)
                date = record.get(jo.date_field)
                rows.append([raw.index, json.dumps(_id_of(record, jo.id_field, source, raw.index), default=str),
                             "" if date is None else str(date), 0, _score_hint(record), False, 0.0])
                texts.append(text)
            except RecordError as exc:
                record = exc.record or {}
                rows.append([raw.index, json.dumps(_id_of(record, jo.id_field, source, raw.index), default=str),
                             "", 0, math.nan, True, 0.0])
                texts.append(None)
        signed = iter(document_tokens_and_stats([t for t in texts if t is not None]))
        empty = np.zeros(0, dtype=np.uint64)
        toks = []
        for r, text in zip(rows, texts):
            if text is None:
                toks.append(empty)
                continue
            tokens, r[3], r[6] = next(signed)
            toks.append(tokens)
        keys = document_keys(toks, self.options)
        return [(*r, t, k) for r, t, k in zip(rows, toks, keys)]


def _save_signatures(path: str, rows: list[tuple]) -> None:
    tokens = [r[7] for r in rows]
    keys = [r[8] for r in rows]
    arrays = {
        "index": np.array([r[0] for r in rows], dtype=np.int64),
        "ids": np.array([r[1] for r in rows], dtype=str),
        "dates": np.array([r[2] for r in rows], dtype=str),
        "fixed": np.array([r[3] for r in rows], dtype=np.int64),
        "score": np.array([r[4] for r in rows], dtype=np.float64),
        "error": np.array([r[5] for r in rows], dtype=bool),
        "swapped": np.array([r[6] for r in rows], dtype=np.float64),
        "tokens": np.concatenate(tokens) if tokens else np.zeros(0, dtype=np.uint64),
        "toff": np.cumsum([0] + [len(t) for t in tokens]).astype(np.int64),
        "keys": np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64),
        "koff": np.cumsum([0] + [len(k) for k in keys]).astype(np.int64),
    }
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- the pool

_WORKER: dict = {}


def _init_signer(jopts, options):
    _WORKER["signer"] = _Signer(jopts, options)


def _sign(raws, source):
    return _WORKER["signer"].batch(raws, source)


def _verify_chunk(pairs, options):
    toks = _WORKER["tokens"]
    out = []
    for a, b in pairs:
        c = link(toks[a], toks[b], options)
        if c is not None:
            out.append((a, b, c))
    return out


def _score_batch(texts):
    return source_scores(texts, _WORKER.get("config"))


class _Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def _pool(workers: int, initializer=None, initargs=()):
    if workers <= 1:
        return None
    fork = "fork" in multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=initializer, initargs=initargs)


# ----------------------------------------------------------------------------- the job

class ClusterJob:
    def __init__(self, inputs: list[str], output: str, jopts: JobOptions, options: ClusterOptions,
                 config: Config, log):
        if not inputs:
            raise InputError("no input given")
        self.sources = [detect(p) for p in inputs]
        self.jopts = jopts
        self.options = options
        self.config = config
        self.log = log
        self.layout: Layout = plan_output(output, [s.path for s in self.sources], jopts.output_format or "jsonl")
        self.summary = ClusterSummary(workers=jopts.n_workers)

    def manifest(self) -> dict:
        def size(path):
            return None if os.path.isdir(path) else os.path.getsize(path)

        return {
            "version": MANIFEST_VERSION,
            "inputs": [{"path": os.path.abspath(s.path), "format": s.format, "size": size(s.path)} for s in self.sources],
            "format": self.layout.fmt,
            "options": self.jopts.job_fields(),
            "cluster": self.options.to_dict(),
            "config": self.config.to_dict(),
        }

    @property
    def work(self) -> str:
        return os.path.join(self.layout.folder, WORK)

    def _open_work(self, manifest: dict) -> None:
        """The work folder belongs to this manifest; anything else there is discarded."""
        path = os.path.join(self.work, "manifest.json")
        if os.path.isdir(self.work):
            try:
                with open(path, encoding="utf-8") as fh:
                    old = json.load(fh)
            except (OSError, ValueError):
                old = None
            if old != json.loads(json.dumps(manifest)):
                shutil.rmtree(self.work)
        os.makedirs(self.work, exist_ok=True)
        for name in os.listdir(self.work):
            if ".tmp" in name:
                os.remove(os.path.join(self.work, name))
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, sort_keys=True)
        os.replace(path + ".tmp", path)

    def run(self) -> ClusterSummary:
        manifest = self.manifest()
        with ShardedOutput(self.layout, JOB, manifest, overwrite=self.jopts.overwrite, log=self.log) as out:
            self.summary.output = self.layout.merged or self.layout.folder
            if out.finished:
                self._fill_summary_from_markers(out.markers())
                return self.summary
            self._open_work(manifest)
            complete = os.path.join(self.work, "complete.json")
            if out.done and os.path.exists(complete):  # a finished folder output: nothing to do
                self.summary.resumed_shards = len(out.done)
                self._fill_summary_from_markers(out.markers())
                return self.summary
            self.summary.resumed_shards = len(out.done)
            clusters_path = os.path.join(self.work, "clusters.npz")
            if not os.path.exists(clusters_path):
                t = time.perf_counter()
                self.signatures()
                self.summary.seconds["signatures"] = time.perf_counter() - t
                self.clusters(clusters_path)
            self.write(out.done, clusters_path)
            self._fill_summary_from_markers(out.markers())
            out.merge()
            # Keep only the manifest and a completion note: the work files are not needed again.
            for name in os.listdir(self.work):
                if name != "manifest.json":
                    os.remove(os.path.join(self.work, name))
            with open(complete, "w", encoding="utf-8") as fh:
                json.dump(self.summary.to_dict(), fh)
        return self.summary

    def _fill_summary_from_markers(self, markers: dict) -> None:
        s = self.summary
        for k in ("documents", "errors", "copies", "unique"):
            setattr(s, k, sum(m.get(k, 0) for m in markers.values()))
        s.clusters = sum(m.get("sources", 0) for m in markers.values())

    # -- stage 1
    def _sig_path(self, name: str) -> str:
        return os.path.join(self.work, name + ".npz")

    def signatures(self) -> None:
        jo = self.jopts
        done = {n[: -len(".done")] for n in os.listdir(self.work) if n.endswith(".done")
                and os.path.exists(self._sig_path(n[: -len(".done")]))}
        total = 0
        for s in self.sources:
            n = count_records(s) if s.format != "warc" and s.compression is None else None
            total = None if (n is None or total is None) else total + n
        workers = jo.n_workers
        warm_up()
        pool = _pool(workers, _init_signer, (jo, self.options))
        signer = _Signer(jo, self.options) if pool is None else None
        bar = progress_bar(jo.progress, total, 0, desc="unspin cluster: signatures")
        inflight: deque = deque()
        limit = workers * 4 if pool is not None else 0
        pending: dict[str, list] = {}

        def submit(source, raws):
            if pool is not None:
                return pool.submit(_sign, raws, source)
            return _Done(signer.batch(raws, source))

        def drain(until: int) -> None:
            while len(inflight) > until:
                kind, name, payload = inflight.popleft()
                if kind == "close":
                    rows = pending.pop(name, [])
                    _save_signatures(self._sig_path(name), rows)
                    with open(os.path.join(self.work, name + ".done"), "w", encoding="utf-8") as fh:
                        json.dump({"documents": len(rows)}, fh)
                    continue
                rows = payload.result()
                pending.setdefault(name, []).extend(rows)
                if bar is not None:
                    bar.update(len(rows))

        try:
            for fi, source in enumerate(self.sources):
                records = iter_raw(source, max_record_bytes=jo.max_record_bytes)
                for kind, name, batch in shard_batches(
                        records, lambda raw: shard_name(fi, raw.index // jo.shard_size, prefix="sig"), done,
                        jo.batch_size, on_skip=(lambda: bar.update(1)) if bar is not None else None):
                    inflight.append((kind, name, submit(source, batch) if kind == "batch" else None))
                    drain(limit)
            drain(0)
        except BrokenProcessPool:
            raise UnspinError("a worker process died (out of memory?); finished shards are kept: "
                              "run the same command again to resume, perhaps with fewer --workers") from None
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if bar is not None:
                bar.close()

    # -- stage 2
    def _load_signatures(self):
        names = sorted(n[: -len(".npz")] for n in os.listdir(self.work) if n.startswith("sig-") and n.endswith(".npz"))
        shards = []
        for n in names:
            with np.load(self._sig_path(n)) as z:
                shards.append((n, {k: z[k] for k in z.files}))
        return shards

    def clusters(self, path: str) -> None:
        opts, jo = self.options, self.jopts
        t = time.perf_counter()
        shards = self._load_signatures()
        tokens: list[np.ndarray] = []
        ids: list = []
        dates: list = []
        fixed: list[int] = []
        swapped: list[float] = []
        score = []
        keys, kdocs = [], []
        where = []  # global index -> (shard name, record index)
        for name, z in shards:
            toff, koff = z["toff"], z["koff"]
            base = len(tokens)
            for k in range(len(z["index"])):
                tokens.append(z["tokens"][toff[k]: toff[k + 1]])
                where.append((name, int(z["index"][k])))
            ids += [json.loads(x) for x in z["ids"].tolist()]
            dates += [d or None for d in z["dates"].tolist()]
            fixed += z["fixed"].tolist()
            swapped += z["swapped"].tolist()
            score += z["score"].tolist()
            keys.append(z["keys"])
            kdocs.append(np.repeat(np.arange(base, base + len(z["index"]), dtype=np.int64), np.diff(koff)))
        n = len(tokens)
        all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
        all_docs = np.concatenate(kdocs) if kdocs else np.zeros(0, dtype=np.int64)
        pairs = pairs_from_buckets(all_keys, all_docs, opts.max_bucket)
        del all_keys, all_docs, keys, kdocs
        self.summary.candidate_pairs = len(pairs)
        self.summary.seconds["buckets"] = time.perf_counter() - t

        t = time.perf_counter()
        verified = self._verify(pairs, tokens)
        self.summary.verified_pairs = len(verified)
        groups = components(n, [(a, b) for a, b, _ in verified])
        self.summary.seconds["verify"] = time.perf_counter() - t

        t = time.perf_counter()
        need = sorted(i for g in groups for i in g if math.isnan(score[i]))
        for i, s in self._score(need, where).items():
            score[i] = math.nan if s is None else s
        self.summary.seconds["scores"] = time.perf_counter() - t

        second = second_config(self.config)
        rescore = None if second is None else (lambda idx: self._score(idx, where, second))
        t = time.perf_counter()
        sources = choose_sources(groups, lambda i: None if math.isnan(score[i]) else score[i],
                                 lambda i: fixed[i], lambda i: dates[i], lambda i: swapped[i],
                                 rescore, opts.source_contenders)
        self.summary.seconds["scores"] += time.perf_counter() - t
        known = {(a, b): c for a, b, c in verified}

        def similarity(i: int, src: int) -> float:
            key = (min(i, src), max(i, src))
            return known[key] if key in known else pair_similarity(tokens[i], tokens[src], opts)

        marks = annotations(n, groups, sources, similarity, ids)
        roles = {"unique": 0, "source": 1, "copy": 2}
        arrays = {
            "shard": np.array([w[0] for w in where], dtype=str),
            "index": np.array([w[1] for w in where], dtype=np.int64),
            "role": np.array([roles[m["role"]] for m in marks], dtype=np.int8),
            "cid": np.array([-1 if m["id"] is None else m["id"] for m in marks], dtype=np.int64),
            "size": np.array([m["size"] for m in marks], dtype=np.int64),
            "sim": np.array([math.nan if m["similarity"] is None else m["similarity"] for m in marks]),
            "src": np.full(n, -1, dtype=np.int64),
            "ids": np.array([json.dumps(x, default=str) for x in ids], dtype=str),
        }
        for members, s in zip(groups, sources):
            for i in members:
                if i != s:
                    arrays["src"][i] = s
        tmp = path + ".tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)

    def _verify(self, pairs, tokens) -> list[tuple[int, int, float]]:
        opts = self.options
        workers = self.jopts.n_workers
        if workers <= 1 or len(pairs) < 2000:
            _WORKER["tokens"] = tokens
            try:
                return _verify_chunk(pairs, opts)
            finally:
                _WORKER.pop("tokens", None)
        _WORKER["tokens"] = tokens  # inherited by the forked workers
        try:
            pool = _pool(workers)
            step = max(500, len(pairs) // (workers * 8))
            out = []
            try:
                for part in pool.map(_verify_chunk, [pairs[k: k + step] for k in range(0, len(pairs), step)],
                                     [opts] * math.ceil(len(pairs) / step)):
                    out.extend(part)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            return out
        finally:
            _WORKER.pop("tokens", None)

    def _score(self, need: list[int], where, config: Config | None = None) -> dict[int, float | None]:
        """Spun scores of the documents ``need`` (cluster members that carry none; or the
        source contenders, for the second opinion ``config``), reading their texts again."""
        if not need:
            return {}
        jo = self.jopts
        wanted: dict[tuple[str, int], int] = {}
        for i in need:
            name, idx = where[i]
            wanted[(name, idx)] = i
        texts, order = [], []
        for fi, source in enumerate(self.sources):
            for raw in iter_raw(source, max_record_bytes=jo.max_record_bytes):
                key = (shard_name(fi, raw.index // jo.shard_size, prefix="sig"), raw.index)
                if key not in wanted:
                    continue
                try:
                    _, text, _ = decode_raw(raw, source, jo.text_field, jo.id_field, jo.max_record_bytes)
                except RecordError:
                    continue
                texts.append(text)
                order.append(wanted[key])
        _WORKER["config"] = config or first_config(self.config)
        pool = _pool(min(jo.n_workers, max(1, len(texts) // 64)))
        try:
            if pool is None:
                scores = _score_batch(texts)
            else:
                step = 64
                scores = [s for part in pool.map(_score_batch, [texts[k: k + step] for k in range(0, len(texts), step)])
                          for s in part]
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return dict(zip(order, scores))

    # -- stage 3
    def write(self, done: dict, clusters_path: str) -> None:
        jo, layout = self.jopts, self.layout
        t = time.perf_counter()
        with np.load(clusters_path) as z:
            c = {k: z[k] for k in z.files}
        ids = c["ids"].tolist()
        lookup: dict[tuple[str, int], int] = {}
        for g, (s, idx) in enumerate(zip(c["shard"].tolist(), c["index"].tolist())):
            lookup[(s, idx)] = g
        roles = ("unique", "source", "copy")
        as_dict = layout.fmt == "parquet"

        def mark(g: int) -> dict:
            role = roles[int(c["role"][g])]
            sim = float(c["sim"][g])
            src = int(c["src"][g])
            return {"id": None if role == "unique" else int(c["cid"][g]), "role": role,
                    "source": json.loads(ids[src]) if src >= 0 else None,
                    "similarity": None if math.isnan(sim) else sim, "size": int(c["size"][g])}

        bar = progress_bar(jo.progress, len(ids), 0, desc="unspin cluster: writing")
        writer, current, counts = None, None, None
        try:
            for fi, source in enumerate(self.sources):
                for raw in iter_raw(source, max_record_bytes=jo.max_record_bytes):
                    name = shard_name(fi, raw.index // jo.shard_size)
                    if bar is not None:
                        bar.update(1)
                    if name in done:
                        continue
                    if name != current:
                        if writer is not None:
                            write_done(layout, current, writer, counts)
                        writer = ShardWriter(layout.shard_path(name), layout.fmt)
                        counts = {"documents": 0, "errors": 0, "copies": 0, "sources": 0, "unique": 0}
                        current = name
                    g = lookup.get((shard_name(fi, raw.index // jo.shard_size, prefix="sig"), raw.index))
                    out = self._record(raw, source, None if g is None else mark(g), as_dict)
                    counts["documents"] += 1
                    info = out.get("unspin") or {}
                    if "error" in info:
                        counts["errors"] += 1
                    role = (out.get("unspin_cluster") if as_dict else info.get("cluster") or {}).get("role", "unique")
                    counts[{"copy": "copies", "source": "sources", "unique": "unique"}[role]] += 1
                    writer.write(out if as_dict else encode_jsonl(out))
            if writer is not None:
                write_done(layout, current, writer, counts)
                writer = None
        finally:
            if writer is not None:
                writer.abort()
            if bar is not None:
                bar.close()
        self.summary.seconds["write"] = time.perf_counter() - t

    def _record(self, raw, source: Source, cluster: dict | None, as_dict: bool) -> dict:
        jo = self.jopts
        cluster = cluster or {"id": None, "role": "unique", "source": None, "similarity": None, "size": 1}
        try:
            record, _text, _ = decode_raw(raw, source, jo.text_field, jo.id_field, jo.max_record_bytes)
            extra = None
        except RecordError as exc:
            record = dict(exc.record or {})
            extra = {"error": str(exc), "source": f"{source.path}:{raw.index}"}
        out = dict(record)
        info = dict(out["unspin"]) if isinstance(out.get("unspin"), dict) else {}
        if extra:
            info.update(extra)
        if as_dict:
            out["unspin_cluster"] = cluster
            if info:
                out["unspin"] = info
        else:
            info["cluster"] = cluster
            out["unspin"] = info
        return out


def cluster(inputs: list[str], output: str, jopts: JobOptions | None = None,
            options: ClusterOptions | None = None, config: Config | None = None, log=None) -> ClusterSummary:
    """Cluster the documents of ``inputs`` into ``output`` (a ``.jsonl``/``.jsonl.gz``/
    ``.jsonl.zst``/``.parquet`` file or a folder of shards); resumes an interrupted run."""
    job = ClusterJob(list(inputs), output, jopts or JobOptions(), options or ClusterOptions(),
                     config or Config(), log or (lambda m: None))
    return job.run()
