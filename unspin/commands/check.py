"""``unspin check``: is this text spun? A verdict, a calibrated score and the evidence."""

from __future__ import annotations

import json
import sys

from ..cli import Status, add_common, probability
from ..config import DEFAULT, TIERS
from ..probe import available as probe_available

#: Tokens the model tier reads for word-level evidence when checking one document.
EVIDENCE_TOKENS = 1024
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
    p.add_argument("--tier", choices=TIERS, default=None,
                   help="which detector decides: auto (default: the model tier when unspin[lm] and the model are "
                   "installed, else the fast tier), fast (lexicons only, no torch) or model (always the model tier)")
    p.add_argument("--deep", action="store_true", help="same as --tier model (kept for older scripts)")
    p.add_argument("--explain", action="store_true", help="with --json: also print the document features the score was computed from")
    p.add_argument("-q", "--quiet", action="store_true", help="no status lines on standard error while the language model loads")
    p.add_argument("--no-text", action="store_true", help="don't print the highlighted text, only the verdict and the span table")
    p.add_argument("--threshold", type=probability, default=None, metavar="P", help="score from 0 to 1 at or above which the verdict is 'spun' (default: the deciding tier's "
                   "own, set on real pages for at most 1%% of clean pages called spun)")
    p.set_defaults(func=run)


def run(args) -> int:
    import unspin

    tier = "model" if args.deep else (args.tier or DEFAULT.tier)
    # one document: read further for the token head's word-level evidence (costs well under a second)
    # and always let the model read it (no cascade skip): one pass costs well under a second
    config = DEFAULT.replace(tier=tier, model_evidence_tokens=EVIDENCE_TOKENS, cascade_read_all=True)
    if args.threshold is not None:
        config = config.replace(spun_threshold=args.threshold)
    text, notes = read_input(args.file, config.max_chars)  # stops reading at max_chars
    if tier != "fast" and probe_available():
        with Status(quiet=args.quiet)("checking with the model tier (the language model loads on first use)"):
            report = unspin.check(text, config)
    else:
        report = unspin.check(text, config)
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
