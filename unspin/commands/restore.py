"""``unspin restore``: put the original words back, and show every change."""

from __future__ import annotations

import json
import sys

from ..cli import Status, add_common, check_output_path, finite, write_output
from ..config import DEFAULT
from ..textio import read_input


def register(sub) -> None:
    p = sub.add_parser(
        "restore",
        help="restore the original wording of a spun text (needs the language model)",
        description="Restore a spun text (file or - for standard input) conservatively: undo filler "
        "such as 'and you may', swap back words where the lexicons and the offline language model agree, "
        "and leave names, numbers and quotes alone. Prints the restored text; every change can be shown "
        "with --diff, --json or --html. Needs: pip install 'unspin[lm]' && unspin models fetch.",
    )
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="text file to restore, or - for standard input (default)")
    add_common(p)
    out = p.add_argument_group("output")
    out.add_argument("--diff", action="store_true",
                     help="show the changes instead of the restored text: inline, [-removed-]{+inserted+}")
    out.add_argument("--side", action="store_true",
                     help="with --diff (implied): input and restored text side by side, paragraph by paragraph")
    out.add_argument("--html", metavar="OUT", default=None,
                     help="also write a self-contained HTML page (input and restored text side by side, each change with "
                          "its reason); - for standard output. The path is checked before the model runs")
    out.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="colour the diff (default: when printing to a terminal)")
    out.add_argument("-q", "--quiet", action="store_true",
                     help="no status lines on standard error (by default: while the model loads and the text is restored)")
    src = p.add_argument_group("from a known original")
    src.add_argument("--source", metavar="SOURCE_FILE", default=None,
                     help="the original of FILE (e.g. found by unspin trace): where FILE aligns with it, its wording "
                          "is put back (rule source:<SOURCE_FILE>:<start>-<end>); the language model restores the rest")
    src.add_argument("--source-only", action="store_true",
                     help="with --source: change only the aligned part (no language model needed)")
    tune = p.add_argument_group("tuning")
    tune.add_argument("--margin", type=finite, default=None, metavar="NATS",
                      help=f"log-probability margin a word swap must win by (default {DEFAULT.restore_margin}); higher is more conservative")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..diffview import html_page, inline, side_by_side, summary
    from ..restore import restore

    if args.html:
        check_output_path(args.html, "the HTML page")  # before the expensive work
    text, notes = read_input(args.file, DEFAULT.max_chars)
    for n in notes:
        print(f"unspin: warning: {n}", file=sys.stderr)
    config = DEFAULT if args.margin is None else DEFAULT.replace(restore_margin=args.margin)
    status = Status(quiet=args.quiet)
    name = "standard input" if args.file == "-" else args.file
    if args.source is not None:
        from ..source_restore import restore_with_source

        source_text, source_notes = read_input(args.source)
        for n in source_notes:
            print(f"unspin: warning: {args.source}: {n}", file=sys.stderr)
        with status(f"restoring {name} from {args.source}"):
            result = restore_with_source(text, source_text, config, source_id=args.source, source_only=args.source_only)
    elif args.source_only:
        from ..errors import InputError

        raise InputError("--source-only needs --source SOURCE_FILE")
    else:
        from ..lm import load

        with status("loading the language model"):
            lm = load()
        with status(f"restoring {name}, {len(text):,} characters"):
            result = restore(text, config, lm=lm)
    if args.html:
        title = "unspin restore" + ("" if args.file == "-" else f": {args.file}")
        write_output(args.html, html_page(result, title), "the HTML page")
        if args.html == "-":
            return 0
        print(f"unspin: wrote {args.html} ({len(result.changes)} changes)", file=sys.stderr)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
    if args.json:
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.side:
        print(side_by_side(result, color=color))
    elif args.diff:
        sys.stdout.write(inline(result, color=color))
        if not result.source.endswith("\n"):
            sys.stdout.write("\n")
        if args.verbose:
            print("\n" + summary(result))
    else:
        sys.stdout.write(result.text)
        if args.verbose:
            print("\n" + summary(result), file=sys.stderr)
    return 0
