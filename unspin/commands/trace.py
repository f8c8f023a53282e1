"""``unspin trace``: find the source of one text in a reference corpus or index."""

from __future__ import annotations

import json
import sys


def register(subparsers) -> None:
    from ..cli import add_common

    p = subparsers.add_parser(
        "trace", help="find the source of a (spun) text in a reference corpus or index",
        description="Find the original of FILE (a file, or - for standard input) in CORPUS: a saved index "
        "(unspin index build CORPUS -o INDEX), or any input unspin scan reads (indexed in memory for this one "
        "query). The documents sharing LSH keys with FILE are verified by in-order containment of their "
        "canonical tokens (names, numbers, rare terms, synonym classes); the best at or above the threshold is "
        "the source. --json prints {\"source\": {\"id\", \"similarity\", \"alignment\"} | null, \"candidates\": [...]}. "
        "--restore prints FILE restored from the source found (the aligned part from the source, the rest "
        "by the language model, or nothing with --source-only). Exit status 0 also when no source is found.",
    )
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="text file to trace, or - for standard input (default)")
    p.add_argument("--against", required=True, metavar="CORPUS", help="an index file, a corpus file or a folder of .txt files")
    p.add_argument("--threshold", type=float, default=None, metavar="C",
                   help="containment needed to call a candidate the source (default: the index's, 0.35)")
    p.add_argument("--text-field", default="text", metavar="NAME", help="text field of a corpus that is not an index")
    p.add_argument("--id-field", default="id", metavar="NAME", help="id field of a corpus that is not an index")
    g = p.add_argument_group("restoring")
    g.add_argument("--restore", action="store_true", help="print FILE restored from the source found")
    g.add_argument("--source-only", action="store_true", help="with --restore: change only the aligned part (no language model)")
    add_common(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cluster.index import open_reference, trace
    from ..errors import requires
    from ..textio import read_input

    requires("rensa", "cluster")
    text, notes = read_input(args.file)
    for n in notes:
        print(f"unspin: warning: {n}", file=sys.stderr)
    index = open_reference(args.against, text_field=args.text_field, id_field=args.id_field)
    try:
        result = trace(text, index, args.threshold)
    finally:
        index.close()
    restored = None
    if args.restore and result.source is not None:
        from ..source_restore import restore_with_source

        restored = restore_with_source(text, result.source_text, source_id=str(result.source["id"]),
                                       source_only=args.source_only)
    if args.json:
        out = result.to_dict()
        if args.restore:
            out["restored"] = None if restored is None else restored.to_dict()
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if args.restore:
        if restored is None:
            print("unspin: no source found; nothing restored", file=sys.stderr)
            sys.stdout.write(text)
        else:
            print(f"unspin: restored from {result.source['id']} (similarity {result.source['similarity']:.2f}, "
                  f"{len(restored.changes)} changes)", file=sys.stderr)
            sys.stdout.write(restored.text)
        return 0
    if result.source is None:
        print("no source found" + (f": {result.note}" if result.note else ""))
    else:
        s = result.source
        print(f"source  {s['id']}  similarity={s['similarity']:.2f}  "
              f"({s['alignment']['matched_tokens']} of {min(s['alignment']['tokens'])} canonical tokens in order)")
    shown = [c for c in result.candidates if result.source is None or c["id"] != result.source["id"]][: 3 + 5 * args.verbose]
    for c in shown:
        print(f"  candidate  {c['id']}  similarity={c['similarity']:.2f}  shared keys={c['shared_keys']}")
    return 0
