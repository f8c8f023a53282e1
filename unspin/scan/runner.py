"""Running a scan job: shards, done markers, resuming, the local process pool, progress.

Layout. A job writes shards into a folder: the output folder itself, or ``OUTPUT.parts/`` next
to an output *file*, which is merged from the shards at the end. Shard ``part-FFFFF-KKKKKK``
holds the records of input file number ``FFFFF`` (in the order given) whose index lies in
``[KKKKKK * shard_size, (KKKKKK + 1) * shard_size)``. Shard assignment depends only on the
inputs, never on timing or the number of workers, so a resumed run writes the same shards as
an uninterrupted one and the merged output is identical.

Markers. A shard is written to ``*.tmp`` and renamed when whole; then ``part-...done`` is
written with the shard's counts. On a rerun, shards with a done marker are skipped. The folder
also holds ``_unspin_scan.json`` (the manifest: inputs and the options that change the output);
a rerun whose manifest differs is refused, so two different jobs never mix. After a merge the
shard files are removed and ``_merged`` is written; rerunning a finished job does nothing.

Local engine. The parent process reads the inputs in order and hands batches of raw records
to a pool of worker processes (``concurrent.futures.ProcessPoolExecutor``: a worker that dies
fails the run with a clear message instead of hanging it). At most a few batches per worker
are in flight, so memory stays bounded however large the input; results come back in
submission order and the parent writes them to the shard they belong to.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ..config import Config
from ..errors import InputError, UnspinError
from .options import COUNTERS, ScanOptions, ScanSummary
from .process import DocProcessor
from .readers import Source, count_records, detect, iter_raw
from .writers import ShardWriter, extension, format_of, merge

MANIFEST = "_unspin_scan.json"
MERGED = "_merged"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Layout:
    """Where a job's shards and markers go."""

    folder: str  # the shard folder
    fmt: str  # output format of every shard
    merged: str | None  # the output file the shards are merged into, or None

    def shard_path(self, name: str) -> str:
        return os.path.join(self.folder, name + extension(self.fmt))

    def done_path(self, name: str) -> str:
        return os.path.join(self.folder, name + ".done")


def shard_name(file_index: int, shard_index: int) -> str:
    return f"part-{file_index:05d}-{shard_index:06d}"


def layout_for(output: str, options: ScanOptions) -> Layout:
    fmt = format_of(output)
    if fmt is not None and not os.path.isdir(output):
        return Layout(output + ".parts", fmt, output)
    fmt = options.output_format or "jsonl"
    extension(fmt)  # validates
    return Layout(output, fmt, None)


def resolve_inputs(inputs: list[str]) -> list[Source]:
    if not inputs:
        raise InputError("no input given")
    return [detect(p) for p in inputs]


def _manifest(sources: list[Source], layout: Layout, options: ScanOptions, config: Config) -> dict:
    def size(path):
        if os.path.isdir(path):
            return None
        return os.path.getsize(path)

    return {
        "version": MANIFEST_VERSION,
        "inputs": [{"path": os.path.abspath(s.path), "format": s.format, "size": size(s.path)} for s in sources],
        "format": layout.fmt,
        "options": options.job_fields(),
        "config": json.loads(json.dumps(config.to_dict())),
    }


def _write_json(path: str, data: dict) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _clear(folder: str) -> None:
    """Remove a job's own files from ``folder`` (never anything else)."""
    for name in os.listdir(folder):
        if name.startswith("part-") or name in (MANIFEST, MERGED) or name.endswith(".tmp"):
            os.remove(os.path.join(folder, name))


def prepare(sources: list[Source], layout: Layout, options: ScanOptions, config: Config, log) -> dict[str, dict]:
    """Create or check the shard folder; return the done markers already there (name -> counts)."""
    manifest = _manifest(sources, layout, options, config)
    if os.path.exists(layout.folder) and not os.path.isdir(layout.folder):
        raise InputError(f"{layout.folder} exists and is not a folder")
    os.makedirs(layout.folder, exist_ok=True)
    mpath = os.path.join(layout.folder, MANIFEST)
    if os.path.exists(mpath):
        try:
            with open(mpath, encoding="utf-8") as fh:
                old = json.load(fh)
        except (OSError, ValueError):
            old = None
        if old != manifest:
            if not options.overwrite:
                diff = sorted(k for k in manifest if old is None or old.get(k) != manifest[k])
                raise InputError(
                    f"{layout.folder} holds shards of a different scan (differs in: {', '.join(diff)}); "
                    "use another output, or --overwrite to discard them"
                )
            log(f"discarding the earlier scan's shards in {layout.folder}")
            _clear(layout.folder)
    elif options.overwrite:
        _clear(layout.folder)
    elif any(n.startswith("part-") for n in os.listdir(layout.folder)):
        raise InputError(f"{layout.folder} holds files that are not from an unspin scan with a manifest; "
                         "use another output, or --overwrite")
    _write_json(mpath, manifest)

    merged_marker = os.path.join(layout.folder, MERGED)
    if layout.merged and os.path.exists(merged_marker):
        with open(merged_marker, encoding="utf-8") as fh:
            info = json.load(fh)
        if not (os.path.exists(layout.merged) and os.path.getsize(layout.merged) == info.get("size")):
            log(f"{layout.merged} is missing or changed since it was merged; scanning again")
            _clear(layout.folder)
            _write_json(mpath, manifest)

    done: dict[str, dict] = {}
    merged_already = layout.merged and os.path.exists(merged_marker)
    for name in sorted(os.listdir(layout.folder)):
        if name.endswith(".tmp"):
            os.remove(os.path.join(layout.folder, name))  # a shard cut short by a killed run
            continue
        if not (name.startswith("part-") and name.endswith(".done")):
            continue
        shard = name[: -len(".done")]
        if not merged_already and not os.path.exists(layout.shard_path(shard)):
            os.remove(os.path.join(layout.folder, name))  # marker without its shard: redo it
            continue
        try:
            with open(os.path.join(layout.folder, name), encoding="utf-8") as fh:
                done[shard] = json.load(fh)
        except (OSError, ValueError):
            os.remove(os.path.join(layout.folder, name))
    return done


def finish_shard(layout: Layout, name: str, writer: ShardWriter, counts: dict) -> None:
    writer.close()
    _write_json(layout.done_path(name), {**counts, "written": writer.count})


def finalize(layout: Layout, summary: ScanSummary, log) -> None:
    """Sum the done markers into ``summary``; merge the shards into the output file if asked."""
    names = sorted(n[: -len(".done")] for n in os.listdir(layout.folder)
                   if n.startswith("part-") and n.endswith(".done"))
    totals = dict.fromkeys(COUNTERS, 0)
    for name in names:
        with open(layout.done_path(name), encoding="utf-8") as fh:
            counts = json.load(fh)
        for k in COUNTERS:
            totals[k] += counts.get(k, 0)
    summary.counts = totals
    summary.shards = len(names)
    if layout.merged is None:
        summary.output = layout.folder
        return
    summary.output = layout.merged
    marker = os.path.join(layout.folder, MERGED)
    if os.path.exists(marker):
        return
    merge([layout.shard_path(n) for n in names], layout.merged, layout.fmt)
    _write_json(marker, {"size": os.path.getsize(layout.merged), "shards": len(names)})
    for n in names:
        os.remove(layout.shard_path(n))
    log(f"merged {len(names)} shard(s) into {layout.merged}")


def _progress(options: ScanOptions, total: int | None, initial: int):
    if not options.progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, initial=initial, unit="doc", dynamic_ncols=True, smoothing=0.1,
                disable=None, file=sys.stderr, desc="unspin scan")


# ----------------------------------------------------------------------------- the local engine

_WORKER: dict = {}
_WARM_UP = "A short English sentence that makes the detector load everything it needs before work starts."


def _init_worker(options: ScanOptions, config: Config, as_dict: bool) -> None:
    _WORKER["processor"] = DocProcessor(options, config, as_dict)


def _run_batch(raws, source):
    return _WORKER["processor"].batch(raws, source)


class _Done:
    """A finished computation with the ``result()`` of a future (for one worker, in process)."""

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


def run_local(sources: list[Source], layout: Layout, options: ScanOptions, config: Config,
              done: dict[str, dict], summary: ScanSummary) -> None:
    as_dict = layout.fmt == "parquet"
    workers = options.n_workers
    total = 0
    for s in sources:
        n = count_records(s) if s.format != "warc" and s.compression is None else None
        total = None if (n is None or total is None) else total + n
    already = sum(c.get("documents", 0) for c in done.values())

    pool = None
    processor = None
    if workers > 1:
        fork = "fork" in multiprocessing.get_all_start_methods()
        if fork:
            # Load the lexicons, language detector and model once, before forking: the workers
            # share those pages instead of each loading its own copy (less memory, faster start).
            DocProcessor(options, config, as_dict).analyse(_WARM_UP)
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(options, config, as_dict))
    else:
        processor = DocProcessor(options, config, as_dict)
    bar = _progress(options, total, already)
    inflight: deque = deque()
    limit = workers * 4 if pool is not None else 0  # results in flight (bounded memory)
    writers: dict[str, ShardWriter] = {}
    counts: dict[str, dict] = {}
    start = time.perf_counter()

    def submit(source, raws):
        if pool is not None:
            return pool.submit(_run_batch, raws, source)
        return _Done(processor.batch(raws, source))

    def drain(until: int) -> None:
        while len(inflight) > until:
            kind, name, payload = inflight.popleft()
            if kind == "close":
                if name in writers:
                    finish_shard(layout, name, writers.pop(name), counts.pop(name))
                continue
            results = payload.result()
            writer = writers.get(name)
            if writer is None:
                writer = writers[name] = ShardWriter(layout.shard_path(name), layout.fmt)
                counts[name] = dict.fromkeys(COUNTERS[:-1], 0)
            c = counts[name]
            for status, out in results:
                c["documents"] += 1
                c["errors" if status == "error" else status] += 1
                if out is not None:
                    writer.write(out)
            summary.processed += len(results)
            if bar is not None:
                bar.update(len(results))

    try:
        for fi, source in enumerate(sources):
            current, batch = None, []
            for raw in iter_raw(source, max_record_bytes=options.max_record_bytes):
                name = shard_name(fi, raw.index // options.shard_size)
                if name in done:
                    continue
                if name != current:
                    if batch:
                        inflight.append(("batch", current, submit(source, batch)))
                        batch = []
                    if current is not None:
                        inflight.append(("close", current, None))
                        drain(limit)
                    current = name
                batch.append(raw)
                if len(batch) >= options.batch_size:
                    inflight.append(("batch", current, submit(source, batch)))
                    batch = []
                    drain(limit)
            if batch:
                inflight.append(("batch", current, submit(source, batch)))
            if current is not None:
                inflight.append(("close", current, None))
            drain(limit)
        drain(0)
    except BrokenProcessPool:
        raise UnspinError(
            "a worker process died (out of memory?); finished shards are kept: run the same command "
            "again to resume, perhaps with fewer --workers or a lower --max-record-bytes"
        ) from None
    finally:
        for w in writers.values():
            w.abort()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
        summary.seconds = time.perf_counter() - start


# ----------------------------------------------------------------------------- entry point

def scan(inputs: list[str], output: str, options: ScanOptions | None = None,
         config: Config | None = None, log=None) -> ScanSummary:
    """Scan ``inputs`` into ``output`` (a ``.jsonl``/``.jsonl.gz``/``.jsonl.zst``/``.parquet``
    file, or a folder of shards). Resumes an interrupted run of the same job. Returns the summary."""
    options = options or ScanOptions()
    config = config or Config()
    log = log or (lambda msg: None)
    sources = resolve_inputs(list(inputs))
    layout = layout_for(output, options)
    done = prepare(sources, layout, options, config, log)
    summary = ScanSummary(workers=options.n_workers, engine=options.engine)
    summary.resumed_shards = len(done)
    merged_done = layout.merged is not None and os.path.exists(os.path.join(layout.folder, MERGED))
    if not merged_done:
        if options.engine == "ray":
            from .ray_engine import run_ray

            run_ray(sources, layout, options, config, done, summary, log)
        else:
            run_local(sources, layout, options, config, done, summary)
    finalize(layout, summary, log)
    return summary

