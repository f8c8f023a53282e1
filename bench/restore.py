"""Warm restore timing: load the model once, restore a file three times, print each time,
the LM work and the peak RSS.

    python bench/restore.py ../shared/samples/bride-network-news.txt [--diff OUT]

``--diff OUT`` also writes the inline diff of the last restoration (``unspin restore --diff``'s
view) to OUT. Before/after comparisons run this script from a worktree of the older commit
with ``PYTHONPATH`` set to that worktree (see BENCHMARKS.md)."""

import resource
import sys
import time
from collections import Counter

from unspin.lm import load
from unspin.restore import restore_with_stats

args = sys.argv[1:]
diff_out = None
if "--diff" in args:
    k = args.index("--diff")
    diff_out = args[k + 1]
    del args[k : k + 2]
text = open(args[0], encoding="utf-8").read()
t = time.time()
m = load()
load_s = time.time() - t
times = []
for _ in range(3):
    t = time.time()
    r, st = restore_with_stats(text, lm=m)
    times.append(time.time() - t)
kinds = Counter(c.kind for c in r.changes)
print(f"load {load_s:.1f}s; warm restore {', '.join(f'{x:.1f}' for x in times)} s; changes {len(r.changes)} "
      f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
      f"variants {st.variants}; tokens/run {m.tokens_scored // 3}; "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")
if diff_out:
    from unspin.diffview import inline

    with open(diff_out, "w", encoding="utf-8") as fh:
        fh.write(inline(r) + "\n")
