"""Running a scan job: the local process pool, progress, and the entry point :func:`scan`.

The output layout, manifest, lock, done markers and merge are :mod:`unspin.scan.shards`'
(shared with the other batch jobs). A scan's shard ``part-FFFFF-KKKKKK`` holds the records of
input file number ``FFFFF`` (in the order given) whose index lies in
``[KKKKKK * shard_size, (KKKKKK + 1) * shard_size)``; its done marker holds the shard's counts.
Shard assignment depends only on the inputs, never on timing or the number of workers, so a
resumed run writes the same shards as an uninterrupted one and the merged output is identical.

Local engine. The parent process reads the inputs in order and hands batches of raw records
to a pool of worker processes (``concurrent.futures.ProcessPoolExecutor``: a worker that dies
fails the run with a clear message instead of hanging it). At most a few batches per worker
are in flight, so memory stays bounded however large the input; results come back in
submission order and the parent writes them to the shard they belong to.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool

from ..config import Config
from ..errors import InputError, UnspinError
from .options import COUNTERS, ScanOptions, ScanSummary
from .process import DocProcessor, error_of
from .readers import Source, count_records, detect, iter_raw
from .shards import (Layout, OutputError, ShardedOutput, plan_output, process_pool, progress_bar, shard_batches, shard_name,
                     sum_markers, write_done)
from .writers import ShardWriter

JOB = "scan"
MANIFEST_VERSION = 1


def resolve_inputs(inputs: list[str]) -> list[Source]:
    if not inputs:
        raise InputError("no input given")
    return [detect(p) for p in inputs]


def manifest(sources: list[Source], layout: Layout, options: ScanOptions, config: Config) -> dict:
    """What a scan's output depends on: a rerun with a different manifest is refused."""
    def size(s: Source):
        if s.stdin or os.path.isdir(s.path):
            return None
        return os.path.getsize(s.path)

    return {
        "version": MANIFEST_VERSION,
        "inputs": [{"path": s.path if s.stdin else os.path.abspath(s.path), "format": s.format, "size": size(s)}
                   for s in sources],
        "format": layout.fmt,
        "options": options.job_fields(),
        "config": config.to_dict(),
    }


def _progress(options: ScanOptions, total: int | None, initial: int):
    return progress_bar(options.progress, total, initial, desc="unspin scan", status_every_s=options.status_every_s)


# ----------------------------------------------------------------------------- the local engine

_WORKER: dict = {}
_WARM_UP = "A short English sentence that makes the detector load everything it needs before work starts."


def _init_worker(options: ScanOptions, config: Config, as_dict: bool) -> None:
    # The model tier's torch threads: the cores shared among the workers, not all to each.
    os.environ.setdefault("UNSPIN_THREADS", str(max(1, (os.cpu_count() or 1) // options.n_workers)))
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
            # Load the lexicons, language detector and fast model once, before forking: the
            # workers share those pages instead of each loading its own copy (less memory,
            # faster start). Not the language model: torch's thread pools do not survive a
            # fork, so each worker loads its own when its first document needs it.
            DocProcessor(options, config.replace(tier="fast"), as_dict).analyse(_WARM_UP)
        pool = process_pool(workers, fork, _init_worker, (options, config, as_dict))
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
                    write_done(layout, name, writers.pop(name), counts.pop(name))
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
                if status == "error" and "first_error" not in c:
                    c["first_error"] = error_of(out)
                if out is not None:
                    writer.write(out)
            summary.processed += len(results)
            if bar is not None:
                bar.update(len(results))

    try:
        for fi, source in enumerate(sources):
            records = iter_raw(source, max_record_bytes=options.max_record_bytes)
            for kind, name, batch in shard_batches(records, lambda raw: shard_name(fi, raw.index // options.shard_size),
                                                   done, options.batch_size):
                inflight.append((kind, name, submit(source, batch) if kind == "batch" else None))
                drain(limit)
        drain(0)
    except BrokenProcessPool:
        raise UnspinError(
            "a worker process died (out of memory?); finished shards are kept: run the same command "
            "again to resume, perhaps with fewer --workers or a lower --max-record-bytes"
        ) from None
    except OSError as exc:  # the input side never raises (damage is an error record): writing
        raise OutputError(
            f"cannot write to {layout.folder}: {exc.strerror or exc}; finished shards are kept: "
            "run the same command again to resume"
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
    config = config or Config(keyword_anchors=False)  # corpus scale: no deletion test unless asked
    log = log or (lambda msg: None)
    sources = resolve_inputs(list(inputs))
    stdin = [s for s in sources if s.stdin]
    if len(stdin) > 1:
        raise InputError("standard input (-) can be given once")
    if stdin and options.engine == "ray":
        raise InputError("--engine ray cannot read standard input: give the input as a file")
    layout = plan_output(output, [s.path for s in sources], options.output_format or "jsonl")
    summary = ScanSummary(workers=options.n_workers, engine=options.engine)
    # Standard input is read once: a rerun reads new data, so it never resumes old shards.
    with ShardedOutput(layout, JOB, manifest(sources, layout, options, config),
                       overwrite=options.overwrite, resume=not stdin, log=log) as out:
        summary.resumed_shards = len(out.done)
        if not out.finished:
            if options.engine == "ray":
                from .ray_engine import run_ray

                run_ray(sources, layout, options, config, out.done, summary, log)
            else:
                run_local(sources, layout, options, config, out.done, summary)
        markers = out.markers()
        summary.counts = sum_markers(markers, COUNTERS)
        summary.shards = len(markers)
        summary.first_error = next((m["first_error"] for m in markers.values() if m.get("first_error")), None)
        out.merge()
    summary.output = layout.folder if layout.merged is None else layout.merged
    return summary
