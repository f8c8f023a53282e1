"""``unspin check``: is this text spun? A verdict, a calibrated score and the evidence."""

from __future__ import annotations

import json
import sys

from ..cli import add_common, probability
from ..config import DEFAULT
from ..textio import read_input


def register(sub) -> None:
    p = sub.add_parser(
        "check",
        help="tell whether a text was spun, and show the evidence",
        description="Score a text (file or - for standard input): a calibrated probability that it "
        "was spun, a verdict (spun / unsure / clean / not_applicable) and each suspicious span with its "
        "likely original. Bytes that are not UTF-8 are decoded with replacement characters and a warning.",
    )
    p.add_argument("file", nargs="?", default="-", metavar="FILE", help="text file to check, or - for standard input (default)")
    add_common(p)
    p.add_argument("--deep", action="store_true", help="add language-model evidence when the fast score is in the unsure band (needs unspin[lm] and the model)")
    p.add_argument("--explain", action="store_true", help="with --json: also print the document features the score was computed from")
    p.add_argument("--no-text", action="store_true", help="don't print the highlighted text, only the verdict and the span table")
    p.add_argument("--threshold", type=probability, default=None, metavar="P", help=f"score from 0 to 1 at or above which the verdict is 'spun' (default {DEFAULT.spun_threshold})")
    p.set_defaults(func=run)


def run(args) -> int:
    import unspin

    config = DEFAULT if args.threshold is None else DEFAULT.replace(spun_threshold=args.threshold)
    text, notes = read_input(args.file, config.max_chars)  # stops reading at max_chars
    report = unspin.check(text, config)
    if args.deep and report.verdict != "not_applicable":
        lo, hi = config.deep_band
        if lo <= report.score <= hi:
            from ..deep import deep_check

            report = deep_check(text, config, report)
    for n in notes:
        report.reason += f"; {n}"
        print(f"unspin: warning: {n}", file=sys.stderr)
    if args.json:
        json.dump(report.to_dict(features=args.explain), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        from ..render import print_report

        print_report(report, text, source="" if args.file == "-" else args.file, show_text=not args.no_text, verbose=args.verbose)
    return 0
