"""``unspin cluster``: group spun copies of one article and name the source of each group."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Find the documents of a corpus that are copies of one another, spun or not, and write every
record back with an added object unspin.cluster = {id, role, source, similarity, size}:
role is "source" (the member least likely to be spun: lowest spun score, then the most
names, numbers and rare terms, then the earliest date), "copy" (source names the record it
traces to, by its id, similarity is the share of the shorter text found in order in the
other) or "unique" (no partner). Inputs and outputs are those of unspin scan: .jsonl(.gz/.zst),
.parquet, .warc(.gz), folders of .txt; in Parquet output the object is the column
unspin_cluster. Clustering never calls a page spun: run unspin scan for verdicts (a scan's
output can be clustered; its scores are then reused).

The job is resumable: run the same command again after an interruption.
"""

EPILOG = """\
examples:
  unspin cluster crawl/*.jsonl.gz -o clustered.jsonl
  unspin scan pages.jsonl -o scanned.jsonl && unspin cluster scanned.jsonl -o clustered.parquet
  unspin cluster pages/ -o out/ --threshold 0.6 --workers 2

exit status: 0 done, 2 bad usage or unreadable input, 3 a missing optional component
(pip install 'unspin[cluster]'), 130 interrupted (rerun to resume).
"""


def register(subparsers) -> None:
    from ..cli import add_common

    p = subparsers.add_parser(
        "cluster", help="group spun copies of one article and trace each group to its source",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="input files or folders of .txt files")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="output file (.jsonl, .jsonl.gz, .jsonl.zst, .parquet) or folder of shards")
    g = p.add_argument_group("records")
    g.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text (default: text)")
    g.add_argument("--id-field", default="id", metavar="NAME", help="field holding the document id (default: id)")
    g.add_argument("--date-field", default="date", metavar="NAME",
                   help="field holding a date, the tie-break between equally clean sources (default: date)")
    g.add_argument("--max-record-bytes", type=int, default=64 << 20, metavar="N",
                   help="records larger than this become error records (default: 64 MiB)")
    g.add_argument("--format", dest="output_format", choices=["jsonl", "jsonl.gz", "jsonl.zst", "parquet"],
                   help="shard format when OUTPUT is a folder (default: jsonl)")
    g = p.add_argument_group("matching")
    g.add_argument("--threshold", type=float, default=None, metavar="C",
                   help="containment at or above which two documents are linked (default 0.35); "
                        "lower finds more heavily spun copies and links more near-topic pages")
    g.add_argument("--min-tokens", type=int, default=None, metavar="N",
                   help="documents with fewer canonical tokens stay unique (default 12)")
    g.add_argument("--source-tier", choices=["auto", "fast", "model"], default="auto",
                   help="detector that scores cluster members to choose each cluster's source: auto "
                        "(default: the larger of the fast and model tiers' scores when unspin[lm] and the "
                        "model are installed, else the fast tier; the model tier reads the 4 most source-like "
                        "members of each cluster), fast (for large corpora: on 10,000 short documents in "
                        "300 clusters the job took 12 s with fast and 62 s with auto, BENCHMARKS.md) "
                        "or model")
    g = p.add_argument_group("execution")
    g.add_argument("-w", "--workers", type=int, metavar="N", help="worker processes (default: all cores)")
    g.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local process pool (default); ray is not available for cluster yet")
    g.add_argument("--shard-size", type=int, default=10_000, metavar="N", help="documents per output shard (default: 10000)")
    g.add_argument("--overwrite", action="store_true",
                   help="discard a different earlier job's output in OUTPUT instead of refusing")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    add_common(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cluster.job import JobOptions, cluster
    from ..cluster.options import ClusterOptions
    from ..errors import requires

    requires("rensa", "cluster")
    changes = {}
    if args.threshold is not None:
        changes["threshold"] = args.threshold
    if args.min_tokens is not None:
        changes["min_tokens"] = args.min_tokens
    options = ClusterOptions(**changes)
    jopts = JobOptions(text_field=args.text_field, id_field=args.id_field, date_field=args.date_field,
                       shard_size=args.shard_size, max_record_bytes=args.max_record_bytes,
                       output_format=args.output_format, workers=args.workers, engine=args.engine,
                       overwrite=args.overwrite, progress=not args.quiet)

    def log(msg: str) -> None:
        if args.verbose:
            print(f"unspin cluster: {msg}", file=sys.stderr)

    from ..config import DEFAULT

    if args.source_tier == "model":
        requires("torch", "lm")
    summary = cluster(args.inputs, args.output, jopts, options, DEFAULT.replace(tier=args.source_tier), log=log)
    if args.json:
        print(json.dumps(summary.to_dict()))
    if not args.quiet:
        print(f"unspin cluster: {summary.line()} -> {summary.output}", file=sys.stderr)
    return 0
