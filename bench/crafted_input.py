"""Time ``unspin.check`` on crafted input (issue 11): shapes that made the old tokeniser and
HTML masking take quadratic time.

    python bench/crafted_input.py [--sizes 20000,200000] [--cap 60] [--src LABEL=PATH ...]

Each (shape, size) runs in its own child process, killed after ``--cap`` seconds (reported
as ``>cap``), so an old checkout can be measured side by side without waiting hours:

    git worktree add --detach /tmp/old OLD_COMMIT; git worktree add --detach /tmp/new NEW_COMMIT
    python bench/crafted_input.py --src old=/tmp/old --src new=/tmp/new

Each ``--src`` checkout is put first on ``sys.path`` with the editable install's import hook
dropped (it would otherwise win over ``PYTHONPATH``); the cases of all checkouts are run
interleaved, so machine load hits them alike, and each line names the module it timed.
Without ``--src`` the installed unspin is timed.

Prints one line per case (shape, characters, seconds, verdict) and a Markdown table row set.
The shape ``@prose`` is a control: the bundled example texts repeated to the size. Where
``Config`` has tiers, the fast tier is timed (the stages these shapes were aimed at).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

SHAPES = ["a.", "1a", "a_", "a.b.c.d.e.f.g", "<script>x "]

_CHILD = """
import json, os, sys, time
src = os.environ.get("UNSPIN_BENCH_SRC")
if src:
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path.insert(0, src)
import unspin
shape, size = json.loads(sys.argv[1]), int(sys.argv[2])
unspin.check("a short warm-up text so the word lists are loaded before timing starts")
if shape == "@prose":  # a control: the bundled example texts, repeated
    here = os.path.join(os.environ["UNSPIN_BENCH_REPO"], "examples")
    shape = "\\n\\n".join(open(os.path.join(here, f), encoding="utf-8").read() for f in sorted(os.listdir(here)) if f.endswith(".txt"))
text = (shape * (size // len(shape) + 1))[:size]
# the fast tier (where there are tiers): the stages the crafted shapes were aimed at
config = unspin.Config(tier="fast") if "tier" in unspin.Config.__dataclass_fields__ else unspin.Config()
t = time.perf_counter()
r = unspin.check(text, config)
print(json.dumps({"seconds": time.perf_counter() - t, "verdict": r.verdict, "module": unspin.__file__}))
"""


def _time_one(shape: str, size: int, src: str, cap: float) -> dict:
    env = os.environ.copy()
    env["UNSPIN_BENCH_REPO"] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if src:
        env["UNSPIN_BENCH_SRC"] = os.path.abspath(src)
    try:
        p = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(shape), str(size)],
                           capture_output=True, text=True, timeout=cap + 10, env=env)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "verdict": f">{cap:g} s (stopped)"}
    if p.returncode != 0:
        return {"seconds": None, "verdict": f"exit {p.returncode}: {p.stderr.strip()[-200:]}"}
    return json.loads(p.stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="20000,200000", help="comma-separated text lengths in characters")
    ap.add_argument("--cap", type=float, default=60.0, help="seconds after which a case is stopped")
    ap.add_argument("--src", action="append", default=[], metavar="LABEL=PATH",
                    help="time the unspin package in this checkout (repeatable; e.g. worktrees of two commits)")
    ap.add_argument("--skip-over", type=float, default=None, metavar="S",
                    help="for each checkout, skip a shape at larger sizes once it took longer than S seconds")
    ap.add_argument("--shapes", default=None, help="JSON list of shapes (default: the five from issue 11)")
    args = ap.parse_args(argv)
    shapes = json.loads(args.shapes) if args.shapes else SHAPES
    sizes = [int(s) for s in args.sizes.split(",")]
    srcs = [tuple(x.split("=", 1)) for x in args.src] or [("installed", "")]
    print(f"# {platform.node()} {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    rows, slow = [], set()
    for size in sizes:
        for shape in shapes:
            for label, src in srcs:
                if (label, shape) in slow:
                    out = {"seconds": None, "verdict": f"not run (over {args.skip_over:g} s at a smaller size)"}
                else:
                    t0 = time.perf_counter()
                    out = _time_one(shape, size, src, args.cap)
                    if args.skip_over is not None and (out["seconds"] is None or out["seconds"] > args.skip_over):
                        slow.add((label, shape))
                    out["wall"] = time.perf_counter() - t0
                secs = "-" if out["seconds"] is None else f"{out['seconds']:.2f}"
                print(f"{label:9} {shape!r:18} {size:>9,} chars  {secs:>8} s  {out['verdict']}  "
                      f"({out.get('module', '')})", flush=True)
                rows.append((label, shape, size, secs, out["verdict"]))
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")
    print()
    for label, shape, size, secs, verdict in rows:
        print(f"| {label} | `{shape!r}` | {size:,} | {secs} | {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
