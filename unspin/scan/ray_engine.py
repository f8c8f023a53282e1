"""The Ray engine: the same job, with each shard a task on Ray Data.

The driver plans the shards (counting each input's records once), drops those with a done
marker, and hands the rest to ``ray.data.Dataset.map`` over a pool of actors, each holding one
loaded detector. A task reads its own slice of its input file, writes its shard and the done
marker, and returns the shard's counts. Scheduling, retries and placement are Ray's; the shard
layout and the markers are the local engine's, so a job can be started on one engine and
resumed on the other, and the merged output is the same.

On a cluster every node must have unspin installed (``pip install 'unspin[ray]'``) and see the
input and output paths at the same place (a shared filesystem): tasks read and write paths,
not objects. Point the job at the cluster with ``--ray-address auto`` on a node of the cluster,
``--ray-address ray://HEAD:10001`` from outside it, or the ``RAY_ADDRESS`` environment variable.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import replace

from ..config import Config
from ..errors import UnspinError, requires
from .options import COUNTERS, ScanOptions, ScanSummary
from .process import DocProcessor, error_of
from .readers import Source, count_records, iter_raw
from .shards import progress_bar, shard_name, write_done
from .writers import ShardWriter


def plan_shards(sources: list[Source], options: ScanOptions, done: dict) -> list[dict]:
    specs = []
    for fi, source in enumerate(sources):
        n = count_records(source, exact=True) or 0
        for k in range((n + options.shard_size - 1) // options.shard_size):
            name = shard_name(fi, k)
            if name not in done:
                specs.append({"file": fi, "shard": k, "name": name})
    return specs


class ShardTask:
    """A Ray Data actor: runs whole shards (one row of the plan each)."""

    def __init__(self, sources: list[Source], layout, options: ScanOptions, config: Config):
        self.sources = sources
        self.layout = layout
        self.options = options
        self.processor = DocProcessor(options, config, as_dict=layout.fmt == "parquet")

    def __call__(self, row: dict) -> dict:
        opts = self.options
        source = self.sources[row["file"]]
        start = row["shard"] * opts.shard_size
        counts = dict.fromkeys(COUNTERS[:-1], 0)
        writer = None
        try:
            batch: list = []
            raws = iter_raw(source, start, start + opts.shard_size, opts.max_record_bytes)
            for raw in itertools.chain(raws, [None]):  # None: flush the last batch
                if raw is not None:
                    batch.append(raw)
                    if len(batch) < opts.batch_size:
                        continue
                if not batch:
                    continue
                if writer is None:
                    writer = ShardWriter(self.layout.shard_path(row["name"]), self.layout.fmt)
                for status, out in self.processor.batch(batch, source):
                    counts["documents"] += 1
                    counts["errors" if status == "error" else status] += 1
                    if status == "error" and "first_error" not in counts:
                        counts["first_error"] = error_of(out)
                    if out is not None:
                        writer.write(out)
                batch = []
            if writer is not None:
                write_done(self.layout, row["name"], writer, counts)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        counts.pop("first_error", None)
        return {"name": row["name"], **counts}


def _unspin_cause(exc: BaseException) -> UnspinError | None:
    """The :class:`UnspinError` (a missing component) behind Ray's wrapping, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, UnspinError):
            return exc
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


def run_ray(sources: list[Source], layout, options: ScanOptions, config: Config, done: dict,
            summary: ScanSummary, log) -> None:
    ray = requires("ray", "ray")
    requires("ray.data", "ray")
    # Tasks may run with another working directory (or on another node): use absolute paths.
    sources = [replace(s, path=os.path.abspath(s.path)) for s in sources]
    layout = layout.absolute()
    address = options.ray_address or os.environ.get("RAY_ADDRESS")
    started = False
    if not ray.is_initialized():
        kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"}
        if not address:
            kwargs["num_cpus"] = options.n_workers
        ray.init(address=address, **kwargs)
        started = True
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        specs = plan_shards(sources, options, done)
        summary.workers = options.n_workers
        if not specs:
            return
        log(f"ray: {len(specs)} shard(s) to run on {options.n_workers} actor(s)")
        bar = progress_bar(options.progress, None, 0, desc="unspin scan", status_every_s=options.status_every_s)
        start = time.perf_counter()
        ds = ray.data.from_items(specs, override_num_blocks=len(specs))
        ds = ds.map(ShardTask, fn_constructor_args=(sources, layout, options, config),
                    concurrency=min(options.n_workers, len(specs)), num_cpus=1)
        try:
            for row in ds.iter_rows():
                summary.processed += row["documents"]
                if bar is not None:
                    bar.update(row["documents"])
        except Exception as exc:
            cause = _unspin_cause(exc)
            if cause is not None:
                raise cause from None
            raise
        finally:
            summary.seconds = time.perf_counter() - start
            if bar is not None:
                bar.close()
    finally:
        if started:
            ray.shutdown()
