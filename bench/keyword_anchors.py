"""Cost of the keyword-anchor deletion test: ``unspin.check`` on the same texts with
``keyword_anchors`` off and on, side by side in one run (the test runs only where the
cascade says spun or unsure, and runs the full language model).

    UNSPIN_THREADS=1 python bench/keyword_anchors.py [--docs 24]

Documents are 700-word windows of UD English spun by the emulator (``eval/spinner.py``), so
that the cascade calls them spun or unsure and the test runs; CPU time is process time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=24)
    args = ap.parse_args(argv)
    os.environ.setdefault("UNSPIN_THREADS", "1")
    import unspin
    from eval.corpora import load_docs, windows
    from eval.spinner import families, spin
    from unspin import Config

    fams = families()
    ws = [d.text for d in windows(load_docs(("ewt", "gum"), split="test"), min_words=650, max_words=760)]
    texts = [spin(w, fams[i % len(fams)], seed=i).text for i, w in enumerate(ws[: args.docs])]
    off, on = Config(keyword_anchors=False), Config(keyword_anchors=True)
    unspin.check(texts[0], on)  # warm: lexicons, model tier and language model loaded
    rows = {}
    for name, cfg in (("off", off), ("on", on), ("off again", off), ("on again", on)):
        c0, w0 = time.process_time(), time.perf_counter()
        reports = [unspin.check(t, cfg) for t in texts]
        rows[name] = (time.process_time() - c0, time.perf_counter() - w0, reports)
    tested = sum(r.verdict in ("spun", "unsure") for r in rows["on"][2])
    found = sum(any(s.rule == "anchor:keyword:lm-deletion" for s in r.spans) for r in rows["on"][2])
    print(f"{len(texts)} documents, mean {sum(len(t.split()) for t in texts) / len(texts):.0f} words; "
          f"{tested} called spun or unsure (the test runs on those), {found} with a keyword span; "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| keyword_anchors | CPU s | CPU s/doc | wall s |")
    print("|---|---|---|---|")
    for name, (cpu, wall, _r) in rows.items():
        print(f"| {name} | {cpu:.1f} | {cpu / len(texts):.2f} | {wall:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
