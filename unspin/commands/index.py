"""``unspin index build``: a reference index on disk for ``unspin trace``."""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    from ..cli import add_common

    p = subparsers.add_parser("index", help="build a reference index for unspin trace",
                              description="Manage reference indexes (SQLite files) for unspin trace.")
    sub = p.add_subparsers(dest="index_command", metavar="ACTION")
    sub.required = True
    b = sub.add_parser("build", help="index a corpus once, then trace against it",
                       description="Read CORPUS (any input unspin scan reads: .jsonl(.gz/.zst), .parquet, .warc, "
                       "folders of .txt) and write INDEX, an SQLite file with every document's id, text, canonical "
                       "tokens and LSH keys. Then: unspin trace FILE --against INDEX.")
    b.add_argument("inputs", nargs="+", metavar="CORPUS", help="corpus files or folders")
    b.add_argument("-o", "--output", required=True, metavar="INDEX", help="index file to write (replaced if it exists)")
    b.add_argument("--text-field", default="text", metavar="NAME", help="field holding the text (default: text)")
    b.add_argument("--id-field", default="id", metavar="NAME", help="field holding the document id (default: id)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    add_common(b)
    b.set_defaults(func=run_build)


def run_build(args) -> int:
    import time

    from ..cluster.index import build_index
    from ..errors import requires

    requires("rensa", "cluster")
    t = time.perf_counter()
    n = build_index(args.inputs, args.output, text_field=args.text_field, id_field=args.id_field,
                    progress=not args.quiet)
    seconds = time.perf_counter() - t
    if args.json:
        print(json.dumps({"documents": n, "output": args.output, "seconds": round(seconds, 3)}))
    if not args.quiet:
        print(f"unspin index: {n:,} documents in {seconds:,.1f} s -> {args.output}", file=sys.stderr)
    return 0
