"""``unspin scan``: annotate a corpus (JSONL, Parquet, WARC, folders of .txt), resumably."""

from __future__ import annotations

import argparse
import json
import sys

DESCRIPTION = """\
Check every document of a corpus and write it back with an added "unspin" object
(score, verdict, reason, kinds, spans). Inputs: .jsonl/.jsonl.gz/.jsonl.zst, .parquet,
.warc/.warc.gz (HTML is turned into text), or folders of .txt files. OUTPUT is a .jsonl,
.jsonl.gz, .jsonl.zst or .parquet file, or a folder of shards.

INPUT "-" reads JSONL (plain, gzip or zstd) from standard input.

Work is written in shards with a done marker each: run the same command again after an
interruption and it carries on where it stopped (not with standard input, which is read
once). A document that cannot be read or checked, or the rest of a damaged (truncated,
corrupt) compressed file, is written with "unspin": {"error": ...}; the run goes on, and a
warning says so when more than half of the documents failed.
"""

EPILOG = """\
examples:
  unspin scan crawl/*.jsonl.gz -o annotated.jsonl
  unspin scan pages.parquet -o spun.parquet --only spun --workers 8
  unspin scan CC-MAIN-*.warc.gz -o out/ --format parquet --tier fast
  unspin scan big/*.jsonl -o out/ --engine ray --ray-address auto

exit status: 0 done (documents that failed are in the output, counted as errors), 1 internal
error, 2 bad usage, an input that cannot be read, an output that cannot be written or is in use
by another scan, or a run in which no document could be checked (all are error records),
3 a missing optional component, 130 interrupted (rerun to resume).
"""


def register(subparsers) -> None:
    from ..cli import add_common
    from ..config import TIERS

    p = subparsers.add_parser(
        "scan", help="annotate a corpus (JSONL, Parquet, WARC, .txt folders) in parallel, resumably",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="input files or folders of .txt files; - for JSONL on standard input")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="output file (.jsonl, .jsonl.gz, .jsonl.zst, .parquet) or folder of shards")

    g = p.add_argument_group("records")
    g.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text (default: text)")
    g.add_argument("--id-field", default="id", metavar="NAME", help="field holding the document id (default: id)")
    g.add_argument("--max-record-bytes", type=int, default=64 << 20, metavar="N",
                   help="records larger than this become error records (default: 64 MiB)")

    g = p.add_argument_group("what to write")
    g.add_argument("--only", metavar="VERDICT",
                   help="write only documents with this verdict (spun, unsure, clean, not_applicable; several "
                        "joined by commas), unannotated (failed records are still written)")
    g.add_argument("--restore", action="store_true",
                   help="add unspin.restored, the restored text, to spun documents (needs the language model)")
    g.add_argument("--format", dest="output_format", choices=["jsonl", "jsonl.gz", "jsonl.zst", "parquet"],
                   help="shard format when OUTPUT is a folder (default: jsonl)")

    g = p.add_argument_group("detection")
    g.add_argument("--tier", choices=TIERS, default=None,
                   help="which detector decides: auto (default: the fast tier for every document, the model tier "
                        "for those it cannot settle, when unspin[lm] and the model are installed), fast (lexicons "
                        "only: the fastest, no torch) or model (the model tier for every document)")
    g.add_argument("--deep", action="store_true", help="same as --tier model (kept for older scripts)")
    g.add_argument("--keyword-anchors", action="store_true",
                   help="in documents called spun or unsure, look for keyword anchors with the full language "
                        "model's deletion test (Config.keyword_anchors; about 10 CPU-seconds per 700-word "
                        "document it runs on, off by default)")
    g.add_argument("--deep-band", nargs=2, type=float, metavar=("LO", "HI"),
                   help="under --tier auto, the fast-tier scores that go on to the model tier: from LO "
                        "(Config.cascade_skip_below) up to HI (Config.fast_decides_above: at or above it the "
                        "fast tier's spun stands)")

    g = p.add_argument_group("execution")
    g.add_argument("-w", "--workers", type=int, metavar="N", help="worker processes or Ray tasks (default: all cores)")
    g.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local process pool (default) or Ray Data")
    g.add_argument("--ray-address", metavar="ADDR",
                   help="Ray cluster to use (auto, ray://HOST:10001; default: $RAY_ADDRESS or a local Ray)")
    g.add_argument("--shard-size", type=int, default=10_000, metavar="N",
                   help="documents per output shard (default: 10000)")
    g.add_argument("--overwrite", action="store_true",
                   help="discard shards of a different earlier scan in the output instead of refusing")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="no progress (a bar on a terminal, else a status line every --status-every seconds) "
                        "and no summary line; warnings are still printed")
    g.add_argument("--status-every", type=float, default=30.0, metavar="S",
                   help="seconds between status lines when standard error is not a terminal (default: 30)")
    add_common(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..config import Config
    from ..errors import InputError
    from ..scan import ScanOptions, scan

    config = Config(keyword_anchors=args.keyword_anchors)
    if args.deep or args.tier:
        config = config.replace(tier="model" if args.deep else args.tier)
    if args.deep_band is not None:
        lo, hi = args.deep_band
        if not 0.0 <= lo <= hi <= 1.0:
            raise InputError("--deep-band needs 0 <= LO <= HI <= 1")
        config = config.replace(cascade_skip_below=lo, fast_decides_above=hi)
    options = ScanOptions(
        text_field=args.text_field, id_field=args.id_field, shard_size=args.shard_size,
        restore=args.restore, only=args.only, max_record_bytes=args.max_record_bytes,
        output_format=args.output_format, workers=args.workers, engine=args.engine,
        ray_address=args.ray_address, overwrite=args.overwrite, progress=not args.quiet,
        status_every_s=args.status_every,
    )

    def log(msg: str) -> None:
        if args.verbose:
            print(f"unspin scan: {msg}", file=sys.stderr)

    summary = scan(args.inputs, args.output, options, config, log=log)
    if args.json:
        print(json.dumps(summary.to_dict()))
    if not args.quiet:
        print(f"unspin scan: {summary.line()} -> {summary.output}", file=sys.stderr)
    problem = summary.problem()
    if summary.documents and not summary.checked:  # nothing succeeded: not a success
        raise InputError(f"no document could be checked: {problem}")
    if problem:  # printed even with -q: failures must not pass silently
        print(f"unspin scan: warning: {problem}", file=sys.stderr)
    return 0
