"""Corpus-scale scanning: annotate JSONL, Parquet, WARC or ``.txt`` folders with unspin's
verdict, in parallel, resumably, on one machine or on Ray.

    >>> from unspin.scan import scan, ScanOptions
    >>> summary = scan(["crawl.jsonl.gz"], "annotated.jsonl", ScanOptions(workers=4))
    >>> summary.line()
    '10,000 documents: 412 spun, 9,310 clean, ...'

Each output record is the input record with one added object ``unspin``: ``score``,
``verdict``, ``reason``, ``kinds`` (evidence counts by kind) and ``spans``; ``restored`` with
``restore=True``; ``error`` and ``source`` instead when the document could not be checked.
Heavy dependencies (pyarrow, fastwarc, resiliparse, ray) load only when a format or engine
needs them: ``pip install 'unspin[scan]'`` / ``'unspin[ray]'``.

Submodules: ``readers`` (input formats), ``writers`` (shard formats, merge), ``shards`` (the
output layout, manifest, lock and done markers that every batch job shares), ``process`` (one
document), ``runner`` (the local engine), ``ray_engine``. Importing one of them does not load
the others: the names below are loaded on first use.
"""

__all__ = ["scan", "ScanOptions", "ScanSummary"]


def __getattr__(name):
    if name == "scan":
        from .runner import scan

        return scan
    if name in ("ScanOptions", "ScanSummary"):
        from . import options

        return getattr(options, name)
    raise AttributeError(f"module 'unspin.scan' has no attribute {name!r}")
